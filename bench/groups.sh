#!/bin/sh
# groups.sh - consumer groups (issue 4's benchmark): what being a group
# member and committing costs mq-consume.
#
# usage: sh bench/groups.sh [BUILD_DIR]   (BUILD_DIR defaults to build)
#
# In a temporary directory under ${TMPDIR:-/tmp}, appends LINES records of
# 100 bytes spread over a 4-partition topic, then times, each the best of
# RUNS runs, writing every record to /dev/null:
#
#   plain      mq-consume bench                  (no group, the baseline)
#   group x1   mq-consume -g G bench             (one member; defaults:
#                                                  commit every 1 s, fsync)
#   group x1 none   the same with --sync none    (commits not fsynced)
#   group x2   two members of a fresh group started together, each
#              exiting at the end of the partitions it owns; the time is
#              until both have exited, and the committed offsets are
#              checked to add up to LINES.
#
# Records/s is LINES divided by the time; the overhead is the time over
# the plain run's.  Every group run uses a new group, so it starts at
# offset 0.  Environment: LINES (2000000), RUNS (3).
# The timing helper sets its result variable with eval.
# shellcheck disable=SC2154
set -eu

build=${1:-build}
LINES=${LINES:-2000000}
RUNS=${RUNS:-3}
cd "$(dirname "$0")/.."
bin=$(cd "$build" && pwd)

for t in mq-create mq-produce mq-consume mq-inspect; do
	if [ ! -x "$bin/$t" ]; then
		echo "groups.sh: $bin/$t is missing; run make first" >&2
		exit 1
	fi
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mq-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
MQ_DIR=$tmp/data
export MQ_DIR
PATH=$bin:$PATH

now() { date +%s.%N; }

awk -v n="$LINES" 'BEGIN {
	pad = sprintf("%90s", ""); gsub(/ /, "x", pad)
	for (i = 0; i < n; i++) printf "%09d%s\n", i, pad
}' > "$tmp/input"
mq-create -p 4 bench
mq-produce --sync none bench < "$tmp/input"
rm -f "$tmp/input"

seq_no=0
# best VAR CMD: the shortest of RUNS wall times of sh -c CMD, in VAR.
# "@G@" in CMD becomes a fresh group name for each run.
best() {
	var=$1
	cmd=$2
	b=
	i=0
	while [ "$i" -lt "$RUNS" ]; do
		seq_no=$((seq_no + 1))
		c=$(printf '%s' "$cmd" | sed "s/@G@/g$seq_no/g")
		t0=$(now)
		sh -c "$c"
		t=$(awk "BEGIN { print $(now) - $t0 }")
		if [ -z "$b" ] || awk "BEGIN { exit !($t < $b) }"; then
			b=$t
		fi
		i=$((i + 1))
	done
	eval "$var=\$b"
}

# committed GROUP: the sum of the group's committed offsets.
committed() {
	mq-inspect -j -g "$1" | tr ',' '\n' |
	    awk -F: '/"committed"/ { s += $2 } END { print s + 0 }'
}

best plain 'mq-consume bench > /dev/null'
best g1 'mq-consume -g @G@ bench > /dev/null'
best g1n 'mq-consume -g @G@ --sync none bench > /dev/null'
best g2 'mq-consume -g @G@ bench > /dev/null & mq-consume -g @G@ bench > /dev/null & wait'
last=g$seq_no
sum=$(committed "$last")
if [ "$sum" -ne "$LINES" ]; then
	echo "groups.sh: group $last committed $sum offsets, not $LINES" >&2
	exit 1
fi

report() {
	printf '%-16s %8.3f s %12.0f records/s %+7.1f%%\n' "$1" "$2" \
	    "$(awk "BEGIN { print $LINES / $2 }")" \
	    "$(awk "BEGIN { print ($2 / $plain - 1) * 100 }")"
}

echo "groups.sh: $LINES records of 100 bytes in 4 partitions, to /dev/null," \
    "best of $RUNS"
report "plain" "$plain"
report "group x1" "$g1"
report "group x1 none" "$g1n"
report "group x2" "$g2"
echo "group x2: committed offsets add up to $sum"
