# bash completion for mq-retain(1).

_mq_retain_dir()
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
	printf '%s\n' "$dir"
}

_mq_retain_topics()
{
	local dir f
	dir=$(_mq_retain_dir)
	for f in "$dir"/.mq/topics/*.conf; do
		[ -e "$f" ] || continue
		f=${f##*/}
		printf '%s\n' "${f%.conf}"
	done
}

_mq_retain_groups()
{
	local dir f
	dir=$(_mq_retain_dir)
	for f in "$dir"/.mq/groups/*/; do
		[ -d "$f" ] || continue
		f=${f%/}
		printf '%s\n' "${f##*/}"
	done
}

_mq_retain()
{
	local cur prev
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	case $prev in
	-d|--dir)
		COMPREPLY=($(compgen -d -- "$cur"))
		return
		;;
	-g|--group)
		COMPREPLY=($(compgen -W "$(_mq_retain_groups)" -- "$cur"))
		return
		;;
	--delete-before)
		# TOPIC: first; the partition and offset are numbers.
		if [[ $cur != *:* ]]; then
			compopt -o nospace 2>/dev/null
			COMPREPLY=($(compgen -W "$(_mq_retain_topics)" -S : -- "$cur"))
		fi
		return
		;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "-d --dir --delete-before --respect-groups
		    -g --group --dry-run -j --json -q --quiet -n --no-wait
		    -h --help -V --version" -- "$cur"))
		return
	fi
	COMPREPLY=($(compgen -W "$(_mq_retain_topics)" -- "$cur"))
}

complete -F _mq_retain mq-retain
