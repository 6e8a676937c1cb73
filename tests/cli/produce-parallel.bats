#!/usr/bin/env bats
# mq-produce on a large regular file: two threads encode it in pieces
# (cmd/parallel.c, cmd/lane.c).  A pipe always takes the
# one-record-at-a-time path, so each test checks the file against the same
# bytes through a pipe, or against what the one-thread path is known to do.

bats_require_minimum_version 1.5.0
load helper

# lines FILE N [KEYED]: N lines "kM:N-xxx" (keyed) or "N-xxx", 20 to 120
# bytes, about 70 bytes each: 100000 lines are some 7 MiB, several pieces.
lines() {
	awk -v n="$2" -v keyed="${3:-}" 'BEGIN {
		x = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
		for (i = 1; i <= n; i++) {
			v = i "-" substr(x, 1, 10 + (i * 7919) % 100);
			print (keyed ? "k" (i * 31) % 1009 ":" : "") v;
		}
	}' >"$1"
}

# same_partitions T U N: topics T and U hold the same keys and values in
# each of their N partitions.
same_partitions() {
	local p
	for p in $(seq 0 $(($3 - 1))); do
		mq-consume -p "$p" -F '%k:%s\n' "$1" >"$BATS_TEST_TMPDIR/$1.$p"
		mq-consume -p "$p" -F '%k:%s\n' "$2" >"$BATS_TEST_TMPDIR/$2.$p"
		cmp "$BATS_TEST_TMPDIR/$1.$p" "$BATS_TEST_TMPDIR/$2.$p"
	done
}

# file_and_pipe N IN: topics "file" and "pipe" of N partitions, file IN
# produced (-K:) to the first as a file and to the second through a pipe;
# they must hold the same records.
file_and_pipe() {
	mq-create -p "$1" file
	mq-create -p "$1" pipe
	mq-produce -K: file "$2"
	cat "$2" | mq-produce -K: pipe
	same_partitions file pipe "$1"
}

# records T N: how many records the N partitions of topic T hold.
records() {
	local p args=()
	for p in $(seq 0 $(($2 - 1))); do
		args+=(-p "$p")
	done
	mq-consume -F '%o\n' -o -1 "${args[@]}" "$1" |
		awk '{ n += $1 + 1 } END { print n }'
}

# batches T N: how many batches the N partitions of topic T hold.
batches() {
	local n=0 p
	for p in $(seq 0 $(($2 - 1))); do
		n=$((n + $(mq-inspect --dump "$MQ_DIR/$1-$p" | grep -c ^baseOffset)))
	done
	echo "$n"
}

# one_thread T IN N: topic T of N partitions made from file IN by the
# one-thread path (--print-offsets keeps to it), the same records as
# topic "file".
one_thread() {
	mq-create -p "$3" "$1"
	mq-produce -K: --print-offsets "$1" "$2" >/dev/null
	same_partitions file "$1" "$3"
}

# too_big_at N: $BATS_TEST_TMPDIR/in, keyed, with line N 3000 bytes longer,
# and topics "file" and "pipe" of 2 partitions taking records up to 2000
# bytes.
too_big_at() {
	lines "$BATS_TEST_TMPDIR/in" 100000 keyed
	sed -i "$1s/\$/$(head -c 3000 /dev/zero | tr '\0' y)/" \
		"$BATS_TEST_TMPDIR/in"
	mq-create -p 2 -c max.message.bytes=2000 file
	mq-create -p 2 -c max.message.bytes=2000 pipe
}

@test "produce from a large file: keyed records land as from a pipe, in order" {
	local d=$BATS_TEST_TMPDIR
	lines "$d/in" 100000 keyed
	file_and_pipe 4 "$d/in"
	# The file went in pieces: a batch per piece and partition, where the
	# one-thread path fills 1 MiB batches.
	one_thread one "$d/in" 4
	[ "$(mq-inspect --dump "$MQ_DIR/file-0" | grep -c ^baseOffset)" -ge 6 ]
	[ "$(mq-inspect --dump "$MQ_DIR/one-0" | grep -c ^baseOffset)" -le 3 ]
	[ "$(records file 4)" = 100000 ]
	# Timestamps never go back within a partition.
	for p in 0 1 2 3; do
		mq-consume -p "$p" -F '%T\n' file | sort -n -c
	done
	mq-inspect --verify file
}

@test "produce from a large file: records longer than one read, across pieces" {
	local d=$BATS_TEST_TMPDIR
	# Every 5000th line is 250 to 900 KiB long: it takes several reads
	# (256 KiB each), and the unfinished record moves to the buffer's
	# start.
	awk 'BEGIN {
		y = "y";
		while (length(y) < 1200000)
			y = y y;
		for (i = 1; i <= 60000; i++) {
			v = "k" (i * 31) % 1009 ":" i "-xx";
			if (i % 5000 == 0)
				v = v substr(y, 1, i * 12 + 200000);
			print v;
		}
	}' >"$d/in"
	file_and_pipe 3 "$d/in"
	[ "$(records file 3)" = 60000 ]
	mq-inspect --verify file
	# It went in pieces: more batches than the one-thread path makes.
	one_thread one "$d/in" 3
	[ "$(batches file 3)" -gt "$(batches one 3)" ]
}

@test "produce from a large file: keyless records go round-robin, across files" {
	local d=$BATS_TEST_TMPDIR
	lines "$d/in" 100000
	mq-create -p 3 t
	# The counter goes on from the file into standard input.
	seq 100001 100005 | sed 's/$/-tail/' | mq-produce t "$d/in" -
	local starts=""
	for p in 0 1 2; do
		mq-consume -p "$p" -F '%s\n' t | cut -d- -f1 >"$d/p$p"
		# Every third record of the input, in order.
		awk 'NR > 1 && $1 != prev + 3 { print "gap at " NR ": " prev " " $1; bad = 1 }
		     { prev = $1 } END { exit bad }' "$d/p$p"
		starts="$starts$(head -n1 "$d/p$p") "
	done
	[ "$(cat "$d/p0" "$d/p1" "$d/p2" | wc -l)" -eq 100005 ]
	[ "$(echo $starts | tr ' ' '\n' | sort -n | tr '\n' ' ')" = "1 2 3 " ]
}

@test "produce -p and -k from a large file: one partition, in file order" {
	local d=$BATS_TEST_TMPDIR
	lines "$d/in" 100000
	mq-create -p 3 t
	mq-produce -p 2 --sync=batch t "$d/in"
	run -0 mq-consume -F '%p\n' -o -1 t
	[ "$output" = 2 ]
	mq-consume -p 2 t | cmp - "$d/in"
	mq-create -p 3 u
	mq-produce -k same u <"$d/in"
	mq-consume -F '%k:%s\n' u | sed 's/^same://' | cmp - "$d/in"
}

@test "produce from a large file: a keyless record among keyed ones changes nothing" {
	local d=$BATS_TEST_TMPDIR
	lines "$d/in" 100000 keyed
	# Line 60000, some 4 MiB in, has no key: its piece and the rest go the
	# one-record-at-a-time way.
	sed -i '60000s/^k[0-9]*://' "$d/in"
	mq-create -p 4 file
	mq-create -p 4 pipe
	mq-produce -K: file <"$d/in"
	cat "$d/in" | mq-produce -K: pipe
	# Where the keyless record goes depends on a random start; drop it.
	for t in file pipe; do
		mq-consume -F '%p %k:%s\n' "$t" | grep -v '^[0-9] :60000-' |
			sort -s -k1,1n >"$d/$t.all"
	done
	cmp "$d/file.all" "$d/pipe.all"
	run -0 mq-consume -F '%k|%s\n' file
	[ "$(echo "$output" | grep -c '^|60000-')" -eq 1 ]
	[ "${#lines[@]}" -eq 100000 ]
	# The pieces after it went the parallel way too (a batch each).
	[ "$(mq-inspect --dump "$MQ_DIR/file-0" | grep -c ^baseOffset)" -ge 7 ]
}

@test "produce from a large file: keyed and keyless records in turn, in order" {
	local d=$BATS_TEST_TMPDIR
	lines "$d/in" 100000 keyed
	# Every other line from 20000 to 20020 has no key: a few switches
	# for the parallel path.  From 60000 to 60400, too many for it: that
	# piece and the rest go record by record.
	sed -i -e '20000,20020{s/^k[0-9]*://;n}' \
		-e '60000,60400{s/^k[0-9]*://;n}' "$d/in"
	mq-create -p 3 file
	mq-create -p 3 pipe
	mq-produce -K: file "$d/in"
	cat "$d/in" | mq-produce -K: pipe
	# Keyless records start at a random partition: compare the keyed
	# ones per partition and the keyless ones in order.
	for t in file pipe; do
		mq-consume -F '%p %k|%s\n' "$t" | grep -v '^[0-9] |' |
			sort -s -k1,1n >"$d/$t.keyed"
		for p in 0 1 2; do
			mq-consume -p "$p" -F '%k|%s\n' "$t" | grep '^|' |
				cut -d- -f1 | tr -d '|' >"$d/$t.keyless.$p"
		done
	done
	cmp "$d/file.keyed" "$d/pipe.keyed"
	[ "$(cat "$d"/file.keyless.* | wc -l)" -eq 212 ]
	# Every third keyless record, in order, in each partition.
	for p in 0 1 2; do
		tr '\n' ' ' <"$d/file.keyless.$p" >"$d/got"
		grep -n . "$d/in" | grep -v ':k[0-9]*:' | cut -d: -f1 |
			awk -v p="$(head -n1 "$d/file.keyless.$p")" '
				$1 == p { on = 1 } on && (n++ % 3 == 0) { printf "%s ", $1 }' >"$d/want"
		cmp "$d/got" "$d/want"
	done
}

@test "produce from a large file: keyed and keyless records in turn take little memory" {
	local d=$BATS_TEST_TMPDIR
	[ -x "$MQ_BIN/tests/maxrss" ]
	# Groups of 250 keyed and 250 keyless lines: each switch closes every
	# batch filling, so a piece makes some 45 batches a partition.  The
	# extra batches must not each get a piece's room up front.
	awk 'BEGIN {
		for (i = 1; i <= 80000; i++) {
			k = int((i - 1) / 250) % 2 ? "" : "k" (i * 31) % 1009 ":";
			print k i "-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
		}
	}' >"$d/in"
	mq-create -p 8 file
	mq-create -p 8 pipe
	"$MQ_BIN/tests/maxrss" "$d/rss.file" mq-produce -K: file "$d/in"
	cat "$d/in" | "$MQ_BIN/tests/maxrss" "$d/rss.pipe" mq-produce -K: pipe
	echo "peak RSS: file $(cat "$d/rss.file") KiB, pipe $(cat "$d/rss.pipe") KiB"
	[ "$(cat "$d/rss.file")" -lt $(($(cat "$d/rss.pipe") + 32768)) ]
	# The file went in pieces: many more batches than through the pipe.
	local nf np
	nf=$(batches file 8)
	np=$(batches pipe 8)
	echo "batches: file $nf, pipe $np"
	[ "$nf" -gt $((np * 4)) ]
	[ "$(records file 8)" = 80000 ]
}

@test "produce from a large file: the small pieces at its end, records across them" {
	local d=$BATS_TEST_TMPDIR
	# 6 MiB + 100 KiB: 1 MiB pieces up to 4 MiB, then 256 KiB ones
	# (boundaries at 4 MiB + N * 256 KiB).  Records start right at the
	# first, second and seventh boundary, one byte after the fifth and one
	# byte before the sixth; a 600 KiB record spans the third and fourth.
	awk 'function line(n,   k, v) {
			k = "k" (i * 31) % 1009 ":" i++ "-";
			v = substr(x, 1, n - length(k) - 1);
			printf "%s%s\n", k, v;
			pos += n;
		}
		function upto(t) {
			while (pos + 150 < t)
				line(20 + (i * 7919) % 100);
			line(t - pos);
		}
		BEGIN {
			m = 1048576; k = 1024; i = 1;
			x = "x";
			while (length(x) < 700000)
				x = x x;
			upto(4 * m);
			upto(4 * m + 256 * k);
			upto(4 * m + 300 * k);
			line(600 * k);
			upto(5 * m + 1);
			upto(5 * m + 256 * k - 1);
			upto(5 * m + 512 * k);
			upto(6 * m + 100 * k);
		}' >"$d/in"
	[ "$(wc -c <"$d/in")" -eq $((6 * 1048576 + 102400)) ]
	file_and_pipe 3 "$d/in"
	[ "$(records file 3)" = "$(wc -l <"$d/in")" ]
	mq-inspect --verify file
	# It went in pieces up to the end: some 20 more batches than the
	# one-thread path makes.
	one_thread one "$d/in" 3
	[ "$(batches file 3)" -ge $(($(batches one 3) + 20)) ]
}

@test "produce from a large file: a record over max.message.bytes stops with its number" {
	local d=$BATS_TEST_TMPDIR
	too_big_at 70000
	run --separate-stderr mq-produce -K: file <"$d/in"
	[ "$status" -eq 1 ]
	[[ "$stderr" = "mq-produce: record 70000: "*" bytes exceeds max.message.bytes (2000) of topic 'file'" ]]
	want=${stderr/\'file\'/\'pipe\'}
	run --separate-stderr mq-produce -K: pipe < <(cat "$d/in")
	[ "$status" -eq 1 ]
	[ "$stderr" = "$want" ]
	# Everything before it is stored, nothing after it.
	same_partitions file pipe 2
	run -0 mq-consume -F '%s\n' file
	[ "${#lines[@]}" -eq 69999 ]
}

@test "produce --skip-invalid from a large file: the bad record is skipped, the rest stored in order" {
	local d=$BATS_TEST_TMPDIR
	too_big_at 30000
	run --separate-stderr mq-produce --skip-invalid -K: file "$d/in"
	[ "$status" -eq 0 ]
	[[ "$stderr" = "mq-produce: $d/in: record 30000: "*" bytes exceeds"* ]]
	cat "$d/in" | mq-produce --skip-invalid -K: pipe 2>/dev/null
	same_partitions file pipe 2
}

@test "produce from two large files at once: neither waits for the other for ever, both in order" {
	local d=$BATS_TEST_TMPDIR f round
	# Each producer keeps the locks of the partitions it appends to for a
	# while; one that finds a lock busy lets go of the others first.
	lines "$d/in" 100000 keyed
	for f in a b; do
		sed "s/:/:$f/" "$d/in" >"$d/$f"
		mq-create -p 4 "$f"
		mq-produce -K: "$f" <"$d/$f"
	done
	mq-create -p 4 both
	for round in 1 2 3; do
		timeout 60 mq-produce --sync=none -K: both "$d/a" &
		timeout 60 mq-produce --sync=none -K: both "$d/b" &
		wait %1
		wait %2
	done
	for p in 0 1 2 3; do
		mq-consume -p "$p" -F '%k:%s\n' both >"$d/both.$p"
		for f in a b; do
			mq-consume -p "$p" -F '%k:%s\n' "$f" >"$d/$f.$p"
			grep ":$f" "$d/both.$p" | cmp - <(cat "$d/$f.$p" "$d/$f.$p" "$d/$f.$p")
		done
	done
	mq-inspect --verify both
}

@test "produce from a large file: a stalled read does not keep other writers out" {
	local d=$BATS_TEST_TMPDIR i late
	[ -f "$MQ_BIN/tests/stallread.so" ]
	lines "$d/in" 300000 keyed
	mq-create t
	# The read of the piece at 6 MiB stalls for 3 s; the partition lock
	# the appends keep from one to the next is let go meanwhile.
	LD_PRELOAD=$MQ_BIN/tests/stallread.so STALL_AT=6291456 STALL_MS=3000 \
	STALL_LOG=$d/stall.log \
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
		mq-produce --sync=none -K: t "$d/in" &
	for ((i = 0; i < 100; i++)); do
		[ -f "$d/stall.log" ] && break
		sleep 0.1
	done
	[ -f "$d/stall.log" ]
	late=$(echo late | timeout 2 mq-produce --print-offsets t)
	wait %1
	# The late record went in during the stall, among the file's.
	[ "$(records t 1)" -eq 300001 ]
	[ "${late%%$'\t'*}" -eq 0 ]
	[ "${late#*$'\t'}" -lt 300000 ]
	[ "$(mq-consume -o "${late#*$'\t'}" -c 1 t)" = late ]
	mq-inspect --verify t
}

@test "produce from a large file: numbers go on into the next file" {
	local d=$BATS_TEST_TMPDIR
	lines "$d/in" 100000 keyed
	{ echo a:1; head -c 3000 /dev/zero | tr '\0' y; echo; } >"$d/bad"
	mq-create -p 2 -c max.message.bytes=2000 t
	run --separate-stderr mq-produce -K: t "$d/in" "$d/bad"
	[ "$status" -eq 1 ]
	[ "$stderr" = "mq-produce: $d/bad: record 100002: 3070 bytes exceeds max.message.bytes (2000) of topic 't'" ]
}

@test "produce from a large file: starts at the file offset and leaves it at the end" {
	local d=$BATS_TEST_TMPDIR
	lines "$d/in" 100000
	mq-create t
	# bash's read leaves the offset just after the first line.
	{ read -r first; mq-produce t; cat; } <"$d/in" >"$d/rest"
	[ ! -s "$d/rest" ]
	mq-consume t | cmp - <(tail -n +2 "$d/in")
}

@test "produce from a large file: the last record needs no delimiter" {
	local d=$BATS_TEST_TMPDIR
	lines "$d/in" 100000 keyed
	printf 'k1:last' >>"$d/in"
	mq-create -p 2 t
	mq-produce -K: t "$d/in"
	run -0 mq-consume -F '%k:%s\n' t
	[ "${#lines[@]}" -eq 100001 ]
	[ "$(mq-consume -F '%k:%s\n' -p 0 -p 1 -o -1 t | grep -c '^k1:last$')" -eq 1 ]
}

@test "produce from a large file: -0, -D and gzip as from a pipe" {
	local d=$BATS_TEST_TMPDIR
	lines "$d/in" 100000 keyed
	tr '\n' '\0' <"$d/in" >"$d/in0"
	tr '\n' ',' <"$d/in" >"$d/inc"
	mq-create -p 3 a
	mq-create -p 3 b
	mq-produce -0 -K: a "$d/in0"
	cat "$d/in0" | mq-produce -0 -K: b
	same_partitions a b 3
	mq-create -p 3 c
	mq-produce -D, -K: c "$d/inc"
	same_partitions a c 3
	mq-create -p 3 g
	mq-produce --compression gzip -K: g "$d/in"
	same_partitions a g 3
	run -0 mq-inspect --dump "$MQ_DIR/g-0"
	[[ "$output" = *"compression: gzip"* ]]
	mq-inspect --verify a b c g
}

# no_thread CMD...: runs CMD with pthread_create failing (tests/shims), so
# that mq-produce does everything in its one thread.
no_thread() {
	LD_PRELOAD=$MQ_BIN/tests/nothread.so \
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
		"$@"
}

@test "produce without a second thread: files and pipes store the same records" {
	local d=$BATS_TEST_TMPDIR
	[ -f "$MQ_BIN/tests/nothread.so" ]
	lines "$d/in" 100000 keyed
	mq-create -p 4 one
	mq-create -p 4 two
	no_thread mq-produce -K: one "$d/in"
	mq-produce -K: two "$d/in"
	same_partitions one two 4
	# No thread, no pieces: 1 MiB batches, as the one-thread path cuts.
	[ "$(mq-inspect --dump "$MQ_DIR/one-0" | grep -c ^baseOffset)" -le 3 ]
	[ "$(mq-inspect --dump "$MQ_DIR/two-0" | grep -c ^baseOffset)" -ge 6 ]
	# A pipe with offsets printed, and gzip.
	mq-create -p 4 p1
	mq-create -p 4 p2
	head -n 5000 "$d/in" | no_thread mq-produce -K: --print-offsets \
		--compression gzip p1 >"$d/off1"
	head -n 5000 "$d/in" | mq-produce -K: --print-offsets p2 >"$d/off2"
	cmp "$d/off1" "$d/off2"
	[ "$(wc -l <"$d/off1")" -eq 5000 ]
	same_partitions p1 p2 4
	mq-inspect --verify one p1
}

@test "produce from a large file: key delimiters of every kind, as from a pipe" {
	local d=$BATS_TEST_TMPDIR k n
	lines "$d/in" 100000 keyed
	# A key delimiter byte over 0x7f; two bytes; the record delimiter
	# itself (no record has a key then: one partition, as keyless
	# records start round-robin at random); NUL, in records ending in
	# \x01.
	tr ':' '\376' <"$d/in" >"$d/high"
	sed 's/:/::/' "$d/in" >"$d/two"
	tr '\n' ',' <"$d/in" >"$d/comma"
	tr ':\n' '\0\001' <"$d/in" >"$d/nul"
	for k in high two comma nul; do
		n=3
		case $k in
		high) set -- -K '\xfe' ;;
		two) set -- -K '::' ;;
		comma) set -- -D , -K , ; n=1 ;;
		nul) set -- -D '\x01' -K '\0' ;;
		esac
		mq-create -p "$n" "f$k"
		mq-create -p "$n" "p$k"
		mq-produce "$@" "f$k" "$d/$k"
		cat "$d/$k" | mq-produce "$@" "p$k"
		same_partitions "f$k" "p$k" "$n"
		[ "$(records "f$k" "$n")" -eq 100000 ]
	done
	# The keys were split off (but not at the record delimiter).
	[ "$(mq-consume -c 1 -p 0 -F '%K' fhigh)" -gt 0 ]
	[ "$(mq-consume -c 1 -p 0 -F '%K' fnul)" -gt 0 ]
	[ "$(mq-consume -c 1 -p 0 -F '%K' fcomma)" -eq -1 ]
}

# fail_mmap LEN NTH CMD...: runs CMD with its NTH mmap(2) of LEN bytes
# failing (0: all of them), each failure noted in $BATS_TEST_TMPDIR/mmap.log.
fail_mmap() {
	local len=$1 nth=$2
	shift 2
	LD_PRELOAD=$MQ_BIN/tests/failmmap.so FAIL_MMAP_LEN=$len \
	FAIL_MMAP_NTH=$nth FAIL_MMAP_LOG=$BATS_TEST_TMPDIR/mmap.log \
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
		"$@"
}

@test "produce from a large file: a thread without its buffer leaves the pieces to the other" {
	local d=$BATS_TEST_TMPDIR nth
	[ -f "$MQ_BIN/tests/failmmap.so" ]
	lines "$d/in" 100000 keyed
	file_and_pipe 3 "$d/in"
	# Each thread maps a buffer of a piece, the look-ahead and a byte
	# (BUF_BYTES in cmd/lane.c): 2 MiB + 1.  The first or second
	# thread to ask goes without, or both do (then the one-thread path
	# does it all).
	for nth in 1 2 0; do
		rm -f "$d/mmap.log"
		mq-create -p 3 "f$nth"
		fail_mmap 2097153 "$nth" mq-produce -K: "f$nth" "$d/in"
		[ "$(wc -l <"$d/mmap.log")" -eq $((nth ? 1 : 2)) ]
		same_partitions file "f$nth" 3
	done
	mq-inspect --verify f1 f2 f0
}
