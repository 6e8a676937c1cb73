#!/bin/sh
# libmq.sh - append and read throughput of libmq against cat and gzip.
#
# usage: sh bench/libmq.sh [BUILD_DIR]      (BUILD_DIR defaults to build)
#
# Builds bench/libmq-bench.c against BUILD_DIR/libmq.a, then, in a temporary
# directory under ${TMPDIR:-/tmp}:
#
#   1. appends RECORDS records of SIZE bytes to a one-partition topic in
#      batches of about 1 MiB (mq_batch_add + mq_append, then mq_sync), and
#      reads them back with mq_reader_next;
#   2. times cat over the resulting segment file (the same bytes, framing
#      included): "cat log > copy && sync copy" (what mq_sync makes the
#      append pay), plain "cat log > copy", and "cat log > /dev/null";
#   3. repeats 1 with gzip batches, against "gzip -c" and "gzip -dc" of the
#      same segment file (libmq uses zlib's default level, as gzip does).
#
# Every figure is the best of RUNS runs.  Ratios are libmq time divided by
# baseline time: 1.0x means as fast as the baseline, 2.0x twice as slow.
# Environment: RECORDS (2000000), SIZE (100), RUNS (3).
# The timing helpers set their result variables with eval.
# shellcheck disable=SC2154
set -eu

build=${1:-build}
RECORDS=${RECORDS:-2000000}
SIZE=${SIZE:-100}
RUNS=${RUNS:-3}
cd "$(dirname "$0")/.."

if [ ! -f "$build/libmq.a" ]; then
	echo "libmq.sh: $build/libmq.a is missing; run make first" >&2
	exit 1
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mq-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

cc -O2 -D_GNU_SOURCE -I libmq -o "$tmp/libmq-bench" bench/libmq-bench.c \
	"$build/libmq.a" -lz -linih

now() { date +%s.%N; }

# best VAR SECONDS: keeps the smaller of $VAR and SECONDS in VAR.
best() {
	eval "_b=\${$1:-}"
	if [ -z "$_b" ] || awk "BEGIN { exit !($2 < $_b) }"; then
		eval "$1=$2"
	fi
}

# timeit VAR CMD [SETUP]: runs CMD (through sh -c) RUNS times, best time in
# VAR; SETUP runs, untimed, before each run.
timeit() {
	_v=$1
	eval "$_v="
	_i=0
	while [ $_i -lt "$RUNS" ]; do
		[ -n "${3:-}" ] && sh -c "$3"
		_t0=$(now)
		sh -c "$2"
		_t1=$(now)
		best "$_v" "$(awk "BEGIN { print $_t1 - $_t0 }")"
		_i=$((_i + 1))
	done
}

# field LINE KEY: the value of KEY=VALUE in LINE.
field() {
	printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# mqrun COMPRESSION: runs libmq-bench RUNS times; sets app, rd, logbytes,
# logpath (a kept copy of the last run's segment file).
mqrun() {
	app=
	rd=
	_i=0
	while [ $_i -lt "$RUNS" ]; do
		rm -rf "$tmp/data"
		sync
		_out=$("$tmp/libmq-bench" "$tmp/data" "$RECORDS" "$SIZE" "$1")
		best app "$(field "$(echo "$_out" | grep '^append')" seconds)"
		best rd "$(field "$(echo "$_out" | grep '^read')" seconds)"
		_i=$((_i + 1))
	done
	_log=$(echo "$_out" | grep '^log')
	logbytes=$(field "$_log" bytes)
	mv "$(field "$_log" path)"/00000000000000000000.log "$tmp/$1.log"
	rm -rf "$tmp/data"
}

# row NAME SECONDS RECORDS BYTES BASENAME BASESECONDS
row() {
	awk -v n="$1" -v s="$2" -v r="$3" -v b="$4" -v bn="$5" -v bs="$6" \
	    'BEGIN {
		rs = r > 0 ? sprintf("%.2fM", r / s / 1e6) : "-";
		printf "  %-24s %8.3f %11s %9.1f   %-20s %7.3f %6.2fx\n",
		    n, s, rs, b / s / 1e6, bn, bs, s / bs
	    }'
}

echo "libmq: $RECORDS records x $SIZE bytes, 1 partition, ~1 MiB batches;" \
	"best of $RUNS; $(nproc) CPUs; $(date -u +%Y-%m-%d)"
vbytes=$((RECORDS * SIZE))

mqrun none
nonelog=$logbytes
# Each write baseline starts from no output file and no dirty pages, as
# each libmq run starts from an empty data directory.
nocopy="rm -f '$tmp/copy' && sync"
timeit cat_fsync "cat '$tmp/none.log' > '$tmp/copy' && sync '$tmp/copy'" \
	"$nocopy"
timeit cat_plain "cat '$tmp/none.log' > '$tmp/copy'" "$nocopy"
rm -f "$tmp/copy"
timeit cat_read "cat '$tmp/none.log' > /dev/null"

printf '  %-24s %8s %11s %9s   %-20s %7s %7s\n' "" seconds records/s \
	MB/s baseline seconds ratio
row "append+sync (none)" "$app" "$RECORDS" "$vbytes" "cat+fsync" "$cat_fsync"
row "" "$app" 0 "$vbytes" "cat (no fsync)" "$cat_plain"
row "read (none)" "$rd" "$RECORDS" "$vbytes" "cat >/dev/null" "$cat_read"

mqrun gzip
gziplog=$logbytes
timeit gz "gzip -c '$tmp/none.log' > '$tmp/none.gz'" \
	"rm -f '$tmp/none.gz' && sync"
timeit gunz "gzip -dc '$tmp/none.gz' > /dev/null"
row "append+sync (gzip)" "$app" "$RECORDS" "$vbytes" "gzip -c" "$gz"
row "read (gzip)" "$rd" "$RECORDS" "$vbytes" "gzip -dc >/dev/null" "$gunz"
row "" "$rd" 0 "$vbytes" "cat >/dev/null" "$cat_read"

echo "  MB/s counts value bytes ($vbytes).  Segment file: $nonelog bytes"
echo "  uncompressed, $gziplog bytes gzip; every baseline runs over the"
echo "  uncompressed one.  Ratio = libmq seconds / baseline seconds."
