# bash completion for mq-create(1).

_mq_create_topics()
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

_mq_create()
{
	local cur prev
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	case $prev in
	-d|--dir)
		COMPREPLY=($(compgen -d -- "$cur"))
		return
		;;
	-p|--partitions)
		return
		;;
	-c|--config)
		local keys="partitions segment.bytes segment.ms retention.ms
		    retention.bytes cleanup.policy delete.retention.ms
		    min.cleanable.dirty.ratio min.compaction.lag.ms
		    max.message.bytes compression.type message.timestamp.type
		    index.interval.bytes flush.messages flush.ms"
		compopt -o nospace 2>/dev/null
		COMPREPLY=($(compgen -W "$keys" -S = -- "$cur"))
		return
		;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "-d --dir -p --partitions -c --config
		    --if-not-exists --if-exists --alter --delete -n --no-wait
		    -v --verbose -h --help -V --version" -- "$cur"))
		return
	fi
	local w mode=create
	for w in "${COMP_WORDS[@]}"; do
		case $w in
		--alter|--delete) mode=existing ;;
		esac
	done
	# New topic names cannot be guessed; existing ones help with --alter
	# and --delete.
	[ "$mode" = existing ] &&
		COMPREPLY=($(compgen -W "$(_mq_create_topics)" -- "$cur"))
}

complete -F _mq_create mq-create
