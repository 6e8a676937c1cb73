#!/bin/sh
# compact.sh - mq-compact over RECORDS records and KEYS distinct keys.
#
# usage: sh bench/compact.sh [BUILD_DIR]      (BUILD_DIR defaults to build)
#
# Builds bench/compact-gen.c against BUILD_DIR/libmq.a and generates, in a
# temporary directory under ${TMPDIR:-/tmp}, a compacted one-partition
# topic (segment.bytes 64 MiB) holding RECORDS records over KEYS keys, every
# key used at least once, all cleanable.  Then runs
# "mq-compact --force" once (bench/measure.sh) and reports the wall time,
# records per second (records read) and the peak resident memory, which
# should stay under 200 MiB at the default --buffer-mb of 128.
# Environment: RECORDS (10000000), KEYS (1000000), BUFFER_MB (128).
set -eu

build=${1:-build}
RECORDS=${RECORDS:-10000000}
KEYS=${KEYS:-1000000}
BUFFER_MB=${BUFFER_MB:-128}
cd "$(dirname "$0")/.."

if [ ! -x "$build/mq-compact" ] || [ ! -f "$build/libmq.a" ]; then
	echo "compact.sh: $build/mq-compact is missing; run make first" >&2
	exit 1
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mq-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
. bench/measure.sh

cc -O2 -D_GNU_SOURCE -I libmq -o "$tmp/compact-gen" bench/compact-gen.c \
	"$build/libmq.a" -lz -linih
"$build/mq-create" -d "$tmp/data" -c cleanup.policy=compact \
	-c segment.bytes=67108864 bench
t0=$(date +%s.%N)
"$tmp/compact-gen" "$tmp/data" bench "$RECORDS" "$KEYS"
t1=$(date +%s.%N)
bytes=$(cat "$tmp"/data/bench-0/*.log | wc -c)
echo "input: $RECORDS records, $KEYS keys, $bytes bytes, generated in" \
	"$(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }") s"

measure "exec '$build/mq-compact' -d '$tmp/data' --force --buffer-mb \
	'$BUFFER_MB' bench"
wall=$secs
rss_kb=$kib
"$build/mq-inspect" -d "$tmp/data" --verify bench >/dev/null
kept=$("$build/mq-consume" -d "$tmp/data" -F '%o\n' bench | wc -l)
echo "compacted: $kept records kept (expected $((KEYS + 1)))"
awk -v w="$wall" -v r="$RECORDS" -v m="$rss_kb" 'BEGIN {
	printf "wall time %.2f s, %.0f records/s, peak RSS %.1f MiB\n",
	       w, r / w, m / 1024
}'
