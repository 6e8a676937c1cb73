#!/usr/bin/env bats
# mq-repair: options and errors, its exact report, and randomized trials
# that damage one byte of a segment and check what the repair keeps.
#
# The trial count is REPAIR_TRIALS (default 20, which keeps `make check`
# fast); tests/long/run.sh sets more.  MQ_SEED repeats a run.

bats_require_minimum_version 1.5.0
load helper
load lib/torture

: "${REPAIR_TRIALS:=20}"

# gen A B: JSON Lines records A..B-1 with fixed timestamps, so that batch
# sizes and positions are the same in every run.
gen() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		for (i = a; i < b; i++)
			printf "{\"value\":\"rec-%d\",\"timestamp\":%.0f}\n", i,
			    1700000000000 + i * 10
	}'
}

# make_t: topic t, 100 records of fixed size in batches of a few records,
# in at least 5 segments of at least 3 batches.  The expected reports are
# computed from the batch table, so they do not depend on how mq-produce
# happens to cut batches.
make_t() {
	mq-create -c segment.bytes=600 -c index.interval.bytes=150 t
	gen 0 100 | mq-produce --json --batch-bytes 200 t
	batch_table "$MQ_DIR/t-0" | sed "s|^$MQ_DIR/t-0/||" >"$BATS_TEST_TMPDIR/table"
	SEGS=($(awk '{print $1}' "$BATS_TEST_TMPDIR/table" | uniq))
	[ "${#SEGS[@]}" -ge 5 ]
	for f in "${SEGS[@]}"; do
		[ "$(grep -c "^$f " "$BATS_TEST_TMPDIR/table")" -ge 3 ]
	done
}

# damage_active: make_t, then flip a bit in the CRC-covered part of the
# active segment's second batch.  Sets name and f (the segment), and pos,
# size, bo and lo (that batch's position, size, first and last offset).
damage_active() {
	make_t
	name=${SEGS[-1]}
	f=$MQ_DIR/t-0/$name
	read -r pos size bo lo < <(batch "$name" 2)
	put_byte "$f" $((pos + 30)) $(( $(byte_at "$f" $((pos + 30))) ^ 4 ))
}

# batch FILE K: "POSITION SIZE BASE LAST" of the Kth batch (from 1; -1 is
# the last) of segment FILE.
batch() {
	awk -v f="$1" '$1 == f { print $2, $3, $4, $5 }' "$BATS_TEST_TMPDIR/table" |
		if [ "$2" -lt 0 ]; then tail -1; else sed -n "$2p"; fi
}

# base FILE: the segment's base offset.
base() {
	echo $((10#${1%.log}))
}

# plural N WORD: "N WORD" or "N WORDs" ("batch" gives "batches").
plural() {
	if [ "$1" -eq 1 ]; then echo "$1 $2"
	elif [ "$2" = batch ]; then echo "$1 batches"
	else echo "$1 ${2}s"
	fi
}

@test "mq-repair --help and --version" {
	run mq-repair --help
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "usage: mq-repair [-n] [--dry-run] [-d DIR] [-p PARTITION]... TOPIC..." ]
	run mq-repair -h
	[ "$status" -eq 0 ]
	run mq-repair --version
	[ "$status" -eq 0 ]
	[ "$output" = "mq-repair (mq) 0.1.0" ]
	run mq-repair -V
	[ "$output" = "mq-repair (mq) 0.1.0" ]
}

@test "mq-repair usage errors exit 2" {
	mq-create t
	run --separate-stderr mq-repair
	[ "$status" -eq 2 ]
	[ "$stderr" = "mq-repair: no topic given
Try 'mq-repair --help' for more information." ]
	run --separate-stderr mq-repair 'bad/name'
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "mq-repair: invalid topic name 'bad/name'" ]
	for p in x -1 1x '' 99999999999; do
		run --separate-stderr mq-repair -p "$p" t
		[ "$status" -eq 2 ]
		[ "${stderr_lines[0]}" = "mq-repair: invalid partition '$p'" ]
	done
	run mq-repair --bogus t
	[ "$status" -eq 2 ]
	run mq-repair -d
	[ "$status" -eq 2 ]
}

@test "mq-repair: an unknown topic or partition exits 1 and changes nothing" {
	mq-create -p 2 t
	run --separate-stderr mq-repair t nope
	[ "$status" -eq 1 ]
	[ "$stderr" = "mq-repair: topic 'nope' does not exist" ]
	[ "$output" = "" ]
	run --separate-stderr mq-repair -p 2 t
	[ "$status" -eq 1 ]
	[ "$stderr" = "mq-repair: topic 't' has no partition 2 (it has 2)" ]
	run --separate-stderr mq-repair -d "$MQ_DIR/nowhere" t
	[ "$status" -eq 1 ]
}

@test "mq-repair: clean partitions, -p, several topics, -d" {
	mq-create -p 3 t
	mq-create u
	echo a | mq-produce t
	run --separate-stderr mq-repair t u
	[ "$status" -eq 0 ]
	[ "$output" = "t-0: clean
t-1: clean
t-2: clean
u-0: clean" ]
	[ "$stderr" = "" ]
	run mq-repair -p 2 -p 0 t
	[ "$output" = "t-0: clean
t-2: clean" ]
	d=$MQ_DIR
	MQ_DIR=/nonexistent run mq-repair --dir "$d" --dry-run u
	[ "$status" -eq 0 ]
	[ "$output" = "u-0: clean" ]
}

@test "mq-repair: damage in a closed segment, exact report, dry run first" {
	make_t
	name=${SEGS[1]}
	f=$MQ_DIR/t-0/$name
	# The fourth batch of the second segment.
	read -r pos size bo lo < <(batch "$name" 4)
	put_byte "$f" $((pos + 30)) $(( $(byte_at "$f" $((pos + 30))) ^ 1 ))
	cp "$f" "$BATS_TEST_TMPDIR/flipped"
	run mq-inspect --verify t
	[ "$status" -eq 4 ]
	moved=$(($(stat -c %s "$f") - pos))
	kept="3 batches, $(plural $((bo - $(base "$name"))) record)"
	stem=${name%.log}
	before=$(tree_sum "$MQ_DIR")
	run --separate-stderr mq-repair --dry-run t
	[ "$status" -eq 0 ]
	[ "$output" = "t-0: $name: damage at byte $pos (offset $bo, CRC mismatch): would keep $kept; would move $moved bytes to $name.damaged-$pos
t-0: would rebuild $stem.index (the log was cut)
t-0: would rebuild $stem.timeindex (the log was cut)" ]
	[ "$stderr" = "" ]
	[ "$(tree_sum "$MQ_DIR")" = "$before" ]
	run --separate-stderr mq-repair --dry-run -n t
	[ "${lines[0]}" = "t-0: $name: damage at byte $pos (offset $bo, CRC mismatch): would keep $kept; would move $moved bytes to $name.damaged-$pos" ]
	run --separate-stderr mq-repair t
	[ "$status" -eq 0 ]
	[ "$output" = "t-0: $name: damage at byte $pos (offset $bo, CRC mismatch): kept $kept; moved $moved bytes to $name.damaged-$pos
t-0: rebuilt $stem.index (the log was cut)
t-0: rebuilt $stem.timeindex (the log was cut)" ]
	[ "$stderr" = "" ]
	# Nothing lost: the kept part and the set-aside part are the file.
	cat "$f" "$f.damaged-$pos" | cmp - "$BATS_TEST_TMPDIR/flipped"
	[ "$(stat -c %s "$f")" -eq "$pos" ]
	run mq-inspect --verify t
	[ "$status" -eq 0 ]
	[ "$output" = "verified 1 partition of 1 topic: no problems" ]
	# Readers skip the offsets set aside, as in a compacted topic.
	next=$(base "${SEGS[2]}")
	run mq-consume -F '%o %s\n' t
	[ "$status" -eq 0 ]
	[ "$output" = "$(for i in $(seq 0 $((bo - 1))) $(seq "$next" 99); do echo "$i rec-$i"; done)" ]
	run mq-consume -F '%o %s\n' -o "$bo" -c 1 t
	[ "$output" = "$next rec-$next" ]
	run mq-repair t
	[ "$output" = "t-0: clean" ]
	run mq-produce --print-offsets t <<<"after"
	[ "$output" = "0	100" ]
	# Without the set-aside file the gap is reported as damage.
	mv "$f.damaged-$pos" "$BATS_TEST_TMPDIR/aside"
	run mq-inspect --verify t
	[ "$status" -eq 4 ]
	[ "${lines[0]}" = "$MQ_DIR/t-0/${SEGS[2]}:0: offsets $bo..$((next - 1)) are missing before this segment" ]
}

@test "mq-repair: damage in the active segment; the writer goes on after the kept records" {
	damage_active
	# Before the repair, readers stop at the damage.
	run mq-consume t
	[ "$status" -eq 4 ]
	moved=$(($(stat -c %s "$f") - pos))
	stem=${name%.log}
	run mq-repair t
	[ "$status" -eq 0 ]
	[ "$output" = "t-0: $name: damage at byte $pos (offset $bo, CRC mismatch): kept 1 batch, $(plural $((bo - $(base "$name"))) record); moved $moved bytes to $name.damaged-$pos
t-0: rebuilt $stem.index (the log was cut)
t-0: rebuilt $stem.timeindex (the log was cut)" ]
	run mq-produce --print-offsets t <<<"after"
	[ "$status" -eq 0 ]
	[ "$output" = "0	$bo" ]
	run mq-consume -F '%o %s\n' -o $((bo - 1)) t
	[ "$output" = "$((bo - 1)) rec-$((bo - 1))
$bo after" ]
	run mq-inspect --verify t
	[ "$status" -eq 0 ]
}

@test "mq-repair: a torn tail is cut, damaged indexes are rebuilt" {
	make_t
	name=${SEGS[-1]}
	f=$MQ_DIR/t-0/$name
	read -r pos size bo lo < <(batch "$name" -1)
	nb=$(grep -c "^$name " "$BATS_TEST_TMPDIR/table")
	cut=$(($(stat -c %s "$f") - 7))
	truncate -s "$cut" "$f"
	s0=${SEGS[0]%.log} s2=${SEGS[2]%.log} s3=${SEGS[3]%.log} stem=${name%.log}
	rm "$MQ_DIR/t-0/$s0.index"
	echo junk >"$MQ_DIR/t-0/$s2.timeindex"
	rm "$MQ_DIR/t-0/$s3.index"
	mkdir "$MQ_DIR/t-0/$s3.index"
	run --separate-stderr mq-repair t
	[ "$status" -eq 0 ]
	[ "$output" = "t-0: rebuilt $s0.index (missing)
t-0: rebuilt $s2.timeindex (size 5 is not a multiple of 12)
t-0: rebuilt $s3.index (not a regular file; moved it to $s3.index.damaged)
t-0: $name: torn tail at byte $pos (offset $bo, incomplete batch): kept $(plural $((nb - 1)) batch), $(plural $((bo - $(base "$name"))) record); cut $((cut - pos)) bytes
t-0: rebuilt $stem.index (the log was cut)
t-0: rebuilt $stem.timeindex (the log was cut)" ]
	[ -d "$MQ_DIR/t-0/$s3.index.damaged" ]
	[ -z "$(find "$MQ_DIR/t-0" -name '*.log.damaged*')" ]
	run mq-inspect --verify t
	[ "$status" -eq 0 ]
	run mq-repair t
	[ "$output" = "t-0: clean" ]
	run mq-produce --print-offsets t <<<"after"
	[ "$output" = "0	$bo" ]
}

@test "mq-repair: a cut segment's index that is a directory goes aside first" {
	damage_active
	stem=${name%.log}
	rm "$MQ_DIR/t-0/$stem.index"
	mkdir "$MQ_DIR/t-0/$stem.index"
	run --separate-stderr mq-repair t
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "t-0: rebuilt $stem.index (the log was cut; moved it to $stem.index.damaged)" ]
	[ -d "$MQ_DIR/t-0/$stem.index.damaged" ]
	[ -f "$MQ_DIR/t-0/$stem.index" ]
	run mq-inspect --verify t
	[ "$status" -eq 0 ]
}

@test "mq-repair --no-wait exits 3 while a writer holds the lock" {
	make_t
	rm "$MQ_DIR/t-0/00000000000000000000.index"
	hold_lock "$MQ_DIR/t-0/mq.lock"
	run --separate-stderr mq-repair --no-wait t
	release_lock
	[ "$status" -eq 3 ]
	[ "$output" = "" ]
	[ "$stderr" = "mq-repair: topic 't' partition 0: '$MQ_DIR/t-0/mq.lock' is locked by another process" ]
	[ ! -e "$MQ_DIR/t-0/00000000000000000000.index" ]
	run mq-repair -n t
	[ "$status" -eq 0 ]
	[ "$output" = "t-0: rebuilt 00000000000000000000.index (missing)" ]
}

# The randomized trials share one prepared topic: about 200 records of
# random values in batches of 1-4 records over several segments.
prepare_trials() {
	# A private copy of the tools: a rebuild must not swap a binary in
	# the middle of the trials.
	mkdir "$BATS_TEST_TMPDIR/bin"
	cp "$MQ_BIN"/mq-* "$BATS_TEST_TMPDIR/bin/"
	PATH="$BATS_TEST_TMPDIR/bin:$PATH"
	PREP=$BATS_TEST_TMPDIR/prep
	mkdir -p "$PREP"
	mq-create -d "$PREP" -c segment.bytes=2500 -c index.interval.bytes=200 t
	local i
	: >"$BATS_TEST_TMPDIR/golden"
	for ((i = 0; i < 200; i++)); do
		printf '%d rec-%d-%d%d\n' "$i" "$i" "$RANDOM" "$RANDOM" \
			>>"$BATS_TEST_TMPDIR/golden"
	done
	cut -d' ' -f2 "$BATS_TEST_TMPDIR/golden" |
		mq-produce -d "$PREP" --batch-bytes 250 t
	[ "$(mq-consume -d "$PREP" -F '%o %s\n' t)" = "$(cat "$BATS_TEST_TMPDIR/golden")" ]
	batch_table "$PREP/t-0" | sed "s|^$PREP/t-0/||" >"$BATS_TEST_TMPDIR/batches"
	[ "$(awk '{print $1}' "$BATS_TEST_TMPDIR/batches" | sort -u | wc -l)" -ge 4 ]
	LAST_SEG=$(awk '{print $1}' "$BATS_TEST_TMPDIR/batches" | tail -1)
}

# repair_trial N: damage one byte of a copy of the prepared topic, repair
# it, and check the promises.  Prints what it did; fails on the first
# broken promise.
repair_trial() {
	local d=$BATS_TEST_TMPDIR/trial files f name size pos old new
	rm -rf "$d"
	cp -a "$PREP" "$d"
	local -x MQ_DIR=$d
	files=("$d"/t-0/*.log)
	f=${files[$(( ((RANDOM << 15) | RANDOM) % ${#files[@]} ))]}
	name=${f##*/}
	size=$(stat -c %s "$f")
	pos=$(( ((RANDOM << 15) | RANDOM) % size ))
	old=$(byte_at "$f" "$pos")
	new=$(( ((RANDOM << 15) | RANDOM) % 256 ))
	[ "$new" -ne "$old" ] || new=$(((old + 1) % 256))
	put_byte "$f" "$pos" "$new"
	cp "$f" "$BATS_TEST_TMPDIR/flipped"
	echo "# trial $1: $old -> $new at $name:$pos"

	local out rep st
	rep=$(mq-repair t 2>&1) && st=0 || st=$?
	local l
	while read -r l; do echo "#   $l"; done <<<"$rep"
	[ "$st" -eq 0 ] || { echo "mq-repair exit $st"; return 1; }
	out=$(mq-inspect --verify t 2>&1) ||
		{ echo "verify after repair: $out"; return 1; }
	local c=$BATS_TEST_TMPDIR/c
	mq-consume -F '%o %s\n' t >"$c" ||
		{ echo "consume after repair failed"; return 1; }
	# Every record still readable is the original at its offset, and
	# every batch before the damage is still readable: all batches of
	# the other segments, and those of this one that end before pos.
	awk -v f="$name" -v p="$pos" '
		FILENAME == ARGV[1] { g[$0] = 1; next }
		FILENAME == ARGV[2] {
			if (!($0 in g)) { print "not an original record: " $0; bad = 1 }
			have[$1] = 1
			next
		}
		$1 != f || $2 + $3 <= p {
			for (o = $4; o <= $5; o++)
				if (!(o in have)) {
					print "lost offset " o " of the batch at " $1 ":" $2
					bad = 1
				}
		}
		END { exit bad }' "$BATS_TEST_TMPDIR/golden" "$c" \
		"$BATS_TEST_TMPDIR/batches" || return 1
	# What was cut is in the set-aside file, or was a torn tail.
	local aside next=200
	aside=$(compgen -G "$d/t-0/$name.damaged-*") || true
	if [ -n "$aside" ]; then
		local at=${aside##*.damaged-}
		[ "$at" -le "$pos" ] || { echo "cut after the damage: $aside"; return 1; }
		cat "$f" "$aside" | cmp -s - "$BATS_TEST_TMPDIR/flipped" ||
			{ echo "kept + set aside differ from the damaged file"; return 1; }
		grep -q "^t-0: $name: damage at byte $at " <<<"$rep" ||
			{ echo "no report of the cut at $at"; return 1; }
	elif grep -q "torn tail" <<<"$rep"; then
		[ "$name" = "$LAST_SEG" ] || { echo "torn tail in a closed segment"; return 1; }
	else
		# Nothing cut: the flip did not change what readers check
		# (partitionLeaderEpoch is outside the CRC, as in Kafka).
		cmp -s "$f" "$BATS_TEST_TMPDIR/flipped" || { echo "file changed"; return 1; }
		[ "$(wc -l <"$c")" -eq 200 ] || { echo "records lost without a cut"; return 1; }
	fi
	if [ "$name" = "$LAST_SEG" ]; then
		next=$(tail -1 "$c" | awk '{print $1 + 1}')
	fi
	# A second repair finds nothing; a new record gets the next offset.
	out=$(mq-repair t) && [ "$out" = "t-0: clean" ] ||
		{ echo "second repair: $out"; return 1; }
	out=$(echo "new-$1" | mq-produce --print-offsets t) ||
		{ echo "produce after repair failed"; return 1; }
	[ "$out" = "0	$next" ] || { echo "produce after repair: $out, expected $next"; return 1; }
	[ "$(mq-consume -F '%o %s\n' -o "$next" t)" = "$next new-$1" ] ||
		{ echo "the new record is not readable at $next"; return 1; }
}

@test "mq-repair: random byte flips keep every batch before the damage" {
	seed_random
	prepare_trials
	local i
	for ((i = 0; i < REPAIR_TRIALS; i++)); do
		repair_trial "$i"
	done
}
