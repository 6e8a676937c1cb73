# bash completion for the mq tools: mq-create(1), mq-produce(1),
# mq-consume(1), mq-inspect(1), mq-retain(1), mq-compact(1), mq-repair(1).
# One file for all of them; `make install` installs it under each tool's
# name, so bash-completion's lazy loader finds it for any of them.

# _mq_dir prints the data directory named on the command line (-d DIR,
# -dDIR, --dir DIR, --dir=DIR), else $MQ_DIR, else the XDG default.
_mq_dir()
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

# _mq_topics prints the topic names of that data directory.  Symbolic
# links inside it are not followed (as the tools do not follow them).
_mq_topics()
{
	local dir f
	dir=$(_mq_dir)
	[[ -L $dir/.mq || -L $dir/.mq/topics ]] && return
	for f in "$dir"/.mq/topics/*.conf; do
		[[ -f $f && ! -L $f ]] || continue
		f=${f##*/}
		printf '%s\n' "${f%.conf}"
	done
}

# _mq_groups prints its consumer group names.
_mq_groups()
{
	local dir f
	dir=$(_mq_dir)
	[[ -L $dir/.mq || -L $dir/.mq/groups ]] && return
	for f in "$dir"/.mq/groups/*/; do
		f=${f%/}
		[[ -d $f && ! -L $f ]] || continue
		printf '%s\n' "${f##*/}"
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
		COMPREPLY=($(compgen -W "$(_mq_topics)" -- "$cur"))
}

complete -F _mq_create mq-create


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
		COMPREPLY=($(compgen -W "$(_mq_topics)" -- "$cur"))
	else
		COMPREPLY=($(compgen -f -- "$cur"))
	fi
}

complete -F _mq_produce mq-produce


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
		COMPREPLY=($(compgen -W "$(_mq_groups)" -- "$cur"))
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
		COMPREPLY=($(compgen -W "$(_mq_topics)" -- "$cur"))
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
	for t in $(_mq_topics); do
		[[ $t == "$last"* ]] && COMPREPLY+=("$head$t")
	done
}

complete -F _mq_consume mq-consume


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
		COMPREPLY=($(compgen -W "$(_mq_groups)" -- "$cur"))
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
	COMPREPLY=($(compgen -W "$(_mq_topics)" -- "$cur"))
}

complete -F _mq_inspect mq-inspect


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
		COMPREPLY=($(compgen -W "$(_mq_groups)" -- "$cur"))
		return
		;;
	--delete-before)
		# TOPIC: first; the partition and offset are numbers.
		if [[ $cur != *:* ]]; then
			compopt -o nospace 2>/dev/null
			COMPREPLY=($(compgen -W "$(_mq_topics)" -S : -- "$cur"))
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
	COMPREPLY=($(compgen -W "$(_mq_topics)" -- "$cur"))
}

complete -F _mq_retain mq-retain


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
	COMPREPLY=($(compgen -W "$(_mq_topics)" -- "$cur"))
}

complete -F _mq_compact mq-compact


_mq_repair()
{
	local cur prev
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	case $prev in
	-d|--dir)
		COMPREPLY=($(compgen -d -- "$cur"))
		return
		;;
	-p|--partition)
		return
		;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "-d --dir -p --partition -n --no-wait
		    --dry-run -h --help -V --version" -- "$cur"))
		return
	fi
	COMPREPLY=($(compgen -W "$(_mq_topics)" -- "$cur"))
}

complete -F _mq_repair mq-repair
