# bash completion for mq-compact(1).

_mq_compact_topics()
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

_mq_compact()
{
	local cur prev
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	case $prev in
	-d|--dir)
		COMPREPLY=($(compgen -d -- "$cur"))
		return
		;;
	-b|--buffer-mb)
		COMPREPLY=($(compgen -W "16 64 128 256 512" -- "$cur"))
		return
		;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "-d --dir -f --force --dry-run -j --json
		    -b --buffer-mb -n --no-wait -q --quiet -h --help
		    -V --version" -- "$cur"))
		return
	fi
	COMPREPLY=($(compgen -W "$(_mq_compact_topics)" -- "$cur"))
}

complete -F _mq_compact mq-compact
