# bash completion for mq-produce(1).

_mq_produce_topics()
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

_mq_produce()
{
	local cur prev
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	case $prev in
	-d|--dir)
		COMPREPLY=($(compgen -d -- "$cur"))
		return
		;;
	--compression)
		COMPREPLY=($(compgen -W "gzip none" -- "$cur"))
		return
		;;
	--sync)
		COMPREPLY=($(compgen -W "exit batch none" -- "$cur"))
		return
		;;
	-D|--delimiter|-K|--key-delimiter|-k|--key|-H|--header|-p|--partition|\
	--batch-bytes|--linger-ms|--partitions)
		return
		;;
	esac
	case $cur in
	--compression=*)
		COMPREPLY=($(compgen -W "gzip none" -- "${cur#*=}"))
		return
		;;
	--sync=*)
		COMPREPLY=($(compgen -W "exit batch none" -- "${cur#*=}"))
		return
		;;
	-*)
		COMPREPLY=($(compgen -W "-d --dir -D --delimiter -0 --null
		    --length-prefixed --json -K --key-delimiter -k --key
		    -H --header -Z --empty-is-null -p --partition
		    --batch-bytes --linger-ms --compression --sync
		    --print-offsets --skip-invalid --create --partitions
		    -n --no-wait -h --help -V --version" -- "$cur"))
		return
		;;
	esac
	# The first operand is the topic; the rest are input files.
	local i nargs=0 w
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		-d|--dir|-D|--delimiter|-K|--key-delimiter|-k|--key|\
		-H|--header|-p|--partition|--batch-bytes|--linger-ms|\
		--compression|--sync|--partitions)
			((i++)) ;;
		-*) ;;
		*) ((nargs++)) ;;
		esac
	done
	if ((nargs == 0)); then
		COMPREPLY=($(compgen -W "$(_mq_produce_topics)" -- "$cur"))
	else
		COMPREPLY=($(compgen -f -- "$cur"))
	fi
}

complete -F _mq_produce mq-produce
