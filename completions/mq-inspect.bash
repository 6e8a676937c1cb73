# bash completion for mq-inspect(1).

_mq_inspect_topics()
{
	local dir="" i
	for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
		case ${COMP_WORDS[i]} in
		-d|--dir) dir=${COMP_WORDS[i + 1]} ;;
		--dir=*) dir=${COMP_WORDS[i]#--dir=} ;;
		esac
	done
	dir=${dir/#\~/$HOME}
	[ -n "$dir" ] || dir=${MQ_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/mq}
	local f
	for f in "$dir"/.mq/topics/*.conf; do
		[ -e "$f" ] || continue
		f=${f##*/}
		printf '%s\n' "${f%.conf}"
	done
}

_mq_inspect_groups()
{
	local dir="" i f
	for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
		case ${COMP_WORDS[i]} in
		-d|--dir) dir=${COMP_WORDS[i + 1]} ;;
		--dir=*) dir=${COMP_WORDS[i]#--dir=} ;;
		esac
	done
	dir=${dir/#\~/$HOME}
	[ -n "$dir" ] || dir=${MQ_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/mq}
	for f in "$dir"/.mq/groups/*/; do
		[ -d "$f" ] || continue
		f=${f%/}
		printf '%s\n' "${f##*/}"
	done
}

_mq_inspect()
{
	local cur prev w
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	case $prev in
	-d|--dir)
		COMPREPLY=($(compgen -d -- "$cur"))
		return
		;;
	-g|--group)
		COMPREPLY=($(compgen -W "$(_mq_inspect_groups)" -- "$cur"))
		return
		;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "-d --dir -j --json --dump --verify
		    --groups -g --group -h --help -V --version" -- "$cur"))
		return
	fi
	for w in "${COMP_WORDS[@]}"; do
		if [ "$w" = --dump ]; then
			# Segment files, index files and partition directories.
			COMPREPLY=($(compgen -f -X '!*@(.log|.index|.timeindex)' \
			    -- "$cur") $(compgen -d -- "$cur"))
			return
		fi
	done
	COMPREPLY=($(compgen -W "$(_mq_inspect_topics)" -- "$cur"))
}

complete -F _mq_inspect mq-inspect
