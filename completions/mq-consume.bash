# bash completion for mq-consume(1).

_mq_consume_dir()
{
	local dir="" i
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-d|--dir)
			dir=${COMP_WORDS[i + 1]}
			# bash splits --dir=DIR into three words.
			[[ $dir == = ]] && dir=${COMP_WORDS[i + 2]}
			;;
		--dir=*) dir=${COMP_WORDS[i]#--dir=} ;;
		-d?*) dir=${COMP_WORDS[i]#-d} ;;
		esac
	done
	dir=${dir/#\~/$HOME}
	[[ -z $dir ]] && dir=${MQ_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/mq}
	printf '%s\n' "$dir"
}

_mq_consume_groups()
{
	local dir f
	dir=$(_mq_consume_dir)
	for f in "$dir"/.mq/groups/*/; do
		[[ -d $f ]] || continue
		f=${f%/}
		printf '%s\n' "${f##*/}"
	done
}

_mq_consume_topics()
{
	local dir f
	dir=$(_mq_consume_dir)
	for f in "$dir"/.mq/topics/*.conf; do
		[[ -e $f ]] || continue
		f=${f##*/}
		printf '%s\n' "${f%.conf}"
	done
}

_mq_consume()
{
	local cur prev
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	# bash splits --opt=value at '='; complete the value of --opt.
	if [[ $prev == = && $COMP_CWORD -ge 2 ]]; then
		prev=${COMP_WORDS[COMP_CWORD - 2]}
	elif [[ $cur == = ]]; then
		prev=${COMP_WORDS[COMP_CWORD - 1]}
		cur=
	fi
	case $prev in
	-d|--dir)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -d -- "$cur"))
		return
		;;
	-o|--offset)
		COMPREPLY=($(compgen -W 'beginning end' -- "$cur"))
		return
		;;
	-g|--group|--delete-group)
		COMPREPLY=($(compgen -W "$(_mq_consume_groups)" -- "$cur"))
		return
		;;
	--reset)
		COMPREPLY=($(compgen -W 'earliest latest none' -- "$cur"))
		return
		;;
	--sync)
		COMPREPLY=($(compgen -W 'batch exit none' -- "$cur"))
		return
		;;
	--reset-offsets)
		COMPREPLY=($(compgen -W 'to-earliest to-latest to-offset
			shift-by to-datetime' -- "$cur"))
		return
		;;
	--exec)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -c -- "$cur"))
		return
		;;
	--dead-letter)
		COMPREPLY=($(compgen -W "$(_mq_consume_topics)" -- "$cur"))
		return
		;;
	-p|--partition|-c|--count|-F|--format|--commit-interval|--exec-batch|\
	--retries|to-offset|shift-by|to-datetime)
		COMPREPLY=()
		return
		;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W '-d --dir -p --partition -o --offset
			-c --count -f --follow -F --format -0 --null --json
			-g --group --reset --commit-interval --sync --exec
			--exec-batch --retries --dead-letter --reset-offsets
			--execute --delete-group -h --help -V --version' -- "$cur"))
		return
	fi
	# Complete the last name of a comma-separated list.
	local head="" last=$cur
	if [[ $cur == *,* ]]; then
		head=${cur%,*},
		last=${cur##*,}
	fi
	local t
	COMPREPLY=()
	for t in $(_mq_consume_topics); do
		[[ $t == "$last"* ]] && COMPREPLY+=("$head$t")
	done
}

complete -F _mq_consume mq-consume
