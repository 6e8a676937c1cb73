#!/bin/sh
# mk/demo.sh - a short tour of mq on a fresh data directory.
#
# Usage: sh mk/demo.sh BUILD_DIR   (what `make demo` runs after building)
#
# Each step prints a comment saying what it shows and the command, prefixed
# with "+", then runs it.  The data directory is BUILD_DIR/demo-data; it is
# removed and recreated first, and left behind for you to explore.
# Commands are shown as written, so some are single-quoted on purpose.
# shellcheck disable=SC2016
set -e

build=${1:-build}
if [ ! -x "$build/mq-produce" ]; then
	echo "demo: no tools in '$build'; run 'make' first" >&2
	exit 1
fi
bin=$(cd "$build" && pwd)
PATH=$bin:$PATH
MQ_DIR=$bin/demo-data
export PATH MQ_DIR
rm -rf "$MQ_DIR"
mkdir -p "$MQ_DIR"

# say prints an explanation; run prints a command line, then runs it.
say() {
	printf '\n# %s\n' "$*"
}
run() {
	printf '+ %s\n' "$1"
	eval "$1" || {
		status=$?
		echo "demo: the command above failed (exit $status)" >&2
		exit "$status"
	}
}

echo "mq demo: data directory MQ_DIR=$MQ_DIR"

say "Create a topic with 3 partitions."
run 'mq-create -v -p 3 orders'

say "Append keyed lines; the text before ':' is the key, which picks the partition as Kafka's client would (murmur2)."
run "printf 'alice:login\\nbob:login\\ncarol:login\\ndave:login\\nalice:add book\\ncarol:add pen\\nalice:checkout\\n' | mq-produce -K: orders"

say "The partitions are Kafka partition directories: segment files named by base offset."
run 'ls "$MQ_DIR" "$MQ_DIR/orders-0"'

say "Read everything back: partition/offset key=value (each partition in offset order)."
run "mq-consume -F '%p/%o %k=%s\\n' orders"

say "Read partition 0 from offset 2 on."
run "mq-consume -p 0 -o 2 -F '%p/%o %k=%s\\n' orders"

# A second wave whose records carry their own timestamps (JSON lines), one
# millisecond after the newest record so far, so that reading from that
# moment shows exactly this wave.
last=$(mq-consume -F '%T\n' orders | sort -n | tail -n 1)
since=$((last + 1))
say "Append JSON lines with explicit timestamps (ms since the epoch)."
run "printf '{\"key\":\"bob\",\"value\":\"checkout\",\"timestamp\":$since}\\n{\"key\":\"dave\",\"value\":\"logout\",\"timestamp\":$since}\\n' | mq-produce --json orders"

say "Read from a point in time: the first record at or after @$since in each partition."
run "mq-consume -o @$since -F '%T %p/%o %k=%s\\n' orders"

say "The last record of every partition, as JSON."
run 'mq-consume -o -1 --json orders'

say "Overview of the data directory."
run 'mq-inspect'

say "One topic: partitions, segments and configuration."
run 'mq-inspect orders'

say "Dump a segment file, batch by batch, like Kafka's DumpLogSegments."
run 'mq-inspect --dump "$MQ_DIR/orders-0/00000000000000000000.log"'

say "Check every CRC, every offset and every index entry (exit 4 on corruption)."
run 'mq-inspect --verify'

printf '\n# Done.  Explore further with: export MQ_DIR=%s\n' "$MQ_DIR"
