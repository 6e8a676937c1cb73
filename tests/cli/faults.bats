#!/usr/bin/env bats
# Damaged data and a hostile file system: bit and byte flips in segment
# and index files, truncated segments, a full disk, a read-only data
# directory, missing permissions, a segment that is a directory.
#
# Every tool run here must end with a documented exit status (0, 1, 4),
# never a signal or a hang, and no reader may print a record that is not
# the original one at its original offset.

bats_require_minimum_version 1.5.0
load helper
load lib/torture

# gen A B: JSON Lines records A..B-1, values "rec-I-<0..36 chars>",
# timestamps 1700000000000 + 10 * I, so that offsets and times are known.
gen() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		p = "abcdefghijklmnopqrstuvwxyz0123456789"
		for (i = a; i < b; i++)
			printf "{\"value\":\"rec-%d-%s\",\"timestamp\":%.0f}\n",
			    i, substr(p, 1, i % 37), 1700000000000 + i * 10
	}'
}

# expected A B: the consumer lines ("%o %T %s") of records A..B-1 as gen
# wrote them at offsets A..B-1.
expected() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		p = "abcdefghijklmnopqrstuvwxyz0123456789"
		for (i = a; i < b; i++)
			printf "%d %.0f rec-%d-%s\n", i, 1700000000000 + i * 10, i,
			    substr(p, 1, i % 37)
	}'
}

# The prepared topic t: 180 records in 4 segments (segment.bytes=3000) of
# about 100-byte batches, an index entry every 150 bytes; offsets 60..119
# are gzip batches.  The last segment is the active one.
setup_file() {
	export PREP="$BATS_FILE_TMPDIR/prep"
	# A private copy of the tools: many trials, and a rebuild must not
	# swap a binary in the middle of them.
	mkdir "$BATS_FILE_TMPDIR/bin"
	cp "$MQ_BIN"/mq-* "$BATS_FILE_TMPDIR/bin/"
	export PATH="$BATS_FILE_TMPDIR/bin:$PATH"
	mq-create -d "$PREP" -c segment.bytes=3000 -c index.interval.bytes=150 t
	gen 0 60 | mq-produce -d "$PREP" --json --batch-bytes 150 t
	gen 60 120 | mq-produce -d "$PREP" --json --batch-bytes 300 \
		--compression gzip t
	gen 120 180 | mq-produce -d "$PREP" --json --batch-bytes 150 t
	mq-consume -d "$PREP" -F '%o %T %s\n' t >"$BATS_FILE_TMPDIR/golden"
	# Batches, with paths relative to the partition directory.
	batch_table "$PREP/t-0" | sed "s|^$PREP/t-0/||" >"$BATS_FILE_TMPDIR/batches"
	mq-inspect -d "$PREP" --verify t >/dev/null
	# Topic cut: one segment whose last two batches are a one-record
	# batch (offset 30) and a gzip batch of two records (31, 32).
	mq-create -d "$PREP" -c index.interval.bytes=150 cut
	gen 0 30 | mq-produce -d "$PREP" --json --batch-bytes 150 cut
	gen 30 31 | mq-produce -d "$PREP" --json cut
	gen 31 33 | mq-produce -d "$PREP" --json --compression gzip cut
}

# golden_range LO HI: the expected consumer lines for offsets LO..HI-1.
golden_range() {
	awk -v lo="$1" -v hi="$2" '$1 >= lo && $1 < hi' "$BATS_FILE_TMPDIR/golden"
}

# lines_in_golden FILE: fail unless every line of FILE is a golden line
# (the original record at its original offset).
lines_in_golden() {
	awk 'NR == FNR { g[$0] = 1; next } !($0 in g) { print "not an original record: " $0; bad = 1 }
		END { exit bad }' "$BATS_FILE_TMPDIR/golden" "$1"
}

@test "prepared data is what the corruption tests assume" {
	[ "$(wc -l <"$BATS_FILE_TMPDIR/golden")" -eq 180 ]
	diff "$BATS_FILE_TMPDIR/golden" <(expected 0 180)
	[ "$(awk '{print $1}' "$BATS_FILE_TMPDIR/batches" | sort -u | wc -l)" -ge 3 ]
	run mq-inspect -d "$PREP" --verify t
	[ "$status" -eq 0 ]
	[ "$output" = "verified 1 partition of 1 topic: no problems" ]
}

# originals FILE KIND: lines_in_golden, whatever the damage: a changed
# baseOffset (not covered by the CRC) breaks the contiguity of offsets,
# which readers check, so they never print records at wrong offsets.
originals() {
	lines_in_golden "$1"
}

# seek_check X STATUS FILE: whether a reader that started at offset X
# (directly or through a time) did the right thing given the damage
# classified by corrupt_trial (uses its locals).  Prints why not.
seek_check() {
	local x=$1 st=$2 c=$3
	case $kind in
	index|epoch)
		[ "$st" -eq 0 ] || { echo "exit $st"; return 1; }
		diff <(golden_range "$x" 999) "$c" >/dev/null ||
			{ echo "wrong output"; return 1; }
		;;
	crc|magic|length)
		if [ $torn = 1 ]; then
			[ "$st" -eq 0 ] || { echo "exit $st"; return 1; }
			diff <(golden_range "$x" "$bbase") "$c" >/dev/null && return 0
			[ "$x" -gt "$blast" ] && diff <(golden_range "$x" 999) "$c" >/dev/null &&
				return 0
			echo "wrong output"
			return 1
		elif [ "$x" -le "$blast" ]; then
			# The damaged batch is at or after x: the records from
			# x up to it, then exit 4.
			[ "$st" -eq 4 ] || { echo "exit $st"; return 1; }
			diff <(golden_range "$x" "$bbase") "$c" >/dev/null ||
				{ echo "wrong output"; return 1; }
		elif [ "$st" -eq 0 ]; then
			# Past the damage: all of it, or (if the scan starts
			# before the damage) nothing and exit 4.
			diff <(golden_range "$x" 999) "$c" >/dev/null ||
				{ echo "wrong output"; return 1; }
		else
			[ "$st" -eq 4 ] && [ ! -s "$c" ] || { echo "exit $st"; return 1; }
		fi
		;;
	baseoffset)
		[ "$st" -eq 0 ] || [ "$st" -eq 4 ] || { echo "exit $st"; return 1; }
		;;
	esac
}

# corrupt_trial N: copy the prepared data, damage one byte of one file, and
# check every tool against it.  Prints what it did and fails on the first
# broken promise.
corrupt_trial() {
	local d="$BATS_TEST_TMPDIR/trial" part files f size pos old new mode
	rm -rf "$d"
	cp -a "$PREP" "$d"
	local -x MQ_DIR="$d"
	part="$d/t-0"
	# Logs twice as often as each kind of index.
	case $(( ((RANDOM << 15) | RANDOM) % 4 )) in
	0|1) files=("$part"/*.log) ;;
	2) files=("$part"/*.index) ;;
	3) files=("$part"/*.timeindex) ;;
	esac
	f=${files[$(( ((RANDOM << 15) | RANDOM) % ${#files[@]} ))]}
	size=$(stat -c %s "$f")
	[ "$size" -gt 0 ] || return 0
	pos=$(( ((RANDOM << 15) | RANDOM) % $size ))
	old=$(byte_at "$f" "$pos")
	if [ $(( ((RANDOM << 15) | RANDOM) % 2 )) -eq 0 ]; then
		mode="bit"
		new=$((old ^ (1 << $(( ((RANDOM << 15) | RANDOM) % 8 )))))
	else
		mode="byte"
		new=$(( ((RANDOM << 15) | RANDOM) % 256 ))
		[ "$new" -ne "$old" ] || new=$(((old + 1) % 256))
	fi
	put_byte "$f" "$pos" "$new"
	local name=${f##*/} last_seg
	last_seg=$(awk '{print $1}' "$BATS_FILE_TMPDIR/batches" | tail -1)
	echo "# trial $1: $mode flip $old -> $new at $name:$pos"

	# Classify the flip.  In a .log: which field of which batch.
	local kind=index bpos=0 bsize=0 bbase=-1 blast=-1 lastbatch=0 closed=1
	[ "$name" = "$last_seg" ] && closed=0
	[ "$name" != "${last_seg%.log}.index" ] &&
		[ "$name" != "${last_seg%.log}.timeindex" ] || closed=0
	if [ "${name%.log}" != "$name" ]; then
		read -r bpos bsize bbase blast lastbatch < <(awk -v f="$name" -v p="$pos" '
			$1 == f && p >= $2 && p < $2 + $3 { hit = $2 " " $3 " " $4 " " $5 }
			$1 == f { lastpos = $2 }
			END { split(hit, h, " "); print hit, (h[1] == lastpos) }' \
			"$BATS_FILE_TMPDIR/batches")
		local fld=$((pos - bpos))
		if [ $fld -lt 8 ]; then kind=baseoffset
		elif [ $fld -lt 12 ]; then kind=length
		elif [ $fld -lt 16 ]; then kind=epoch
		elif [ $fld -eq 16 ]; then kind=magic
		else kind=crc
		fi
	fi
	KINDS[$kind]=$((${KINDS[$kind]:-0} + 1))
	echo "# kind=$kind batch=$bpos+$bsize offsets $bbase..$blast last=$lastbatch closed=$closed"
	# A batch of the active segment whose length now reaches past the end
	# of the file looks exactly like a torn tail (a batch not yet
	# written): readers stop there cleanly.
	local torn=0
	if [ $kind = length ] && [ $closed = 0 ]; then
		local b0 b1 b2 b3 l
		b0=$(byte_at "$f" $((bpos + 8))); b1=$(byte_at "$f" $((bpos + 9)))
		b2=$(byte_at "$f" $((bpos + 10))); b3=$(byte_at "$f" $((bpos + 11)))
		l=$(( (b0 << 24) | (b1 << 16) | (b2 << 8) | b3 ))
		[ $l -ge 49 ] && [ $l -le 2147483647 ] &&
			[ $((bpos + l + 12)) -gt "$(stat -c %s "$f")" ] && torn=1
	fi

	# mq-inspect --verify: every flip that lands in a batch is reported at
	# that batch's position.
	local st out
	out=$(timeout 20 mq-inspect --verify t 2>&1) && st=0 || st=$?
	no_signal_death $st
	case $kind in
	crc|magic|length)
		if [ $torn = 1 ] && [ "$lastbatch" = 1 ]; then
			[ $st -eq 0 ] || { echo "verify: $st on a torn-looking tail: $out"; return 1; }
		else
			# Also a batch that looks torn but that valid batches
			# follow: the writer's rule makes that corruption.
			[ $st -eq 4 ] || { echo "verify missed it: $st $out"; return 1; }
			grep -q "^$f:$bpos: " <<<"$out" ||
				{ echo "verify did not name $f:$bpos: $out"; return 1; }
		fi
		;;
	baseoffset)
		[ $st -eq 4 ] || { echo "verify missed a changed baseOffset: $st $out"; return 1; }
		;;
	epoch)
		# partitionLeaderEpoch is outside the CRC, as in Kafka; it does
		# not change any record.
		[ $st -eq 0 ] || { echo "verify: $st for a leader epoch change: $out"; return 1; }
		;;
	index)
		[ $st -eq 0 ] || [ $st -eq 4 ] || { echo "verify: $st: $out"; return 1; }
		if [ $st -eq 4 ]; then
			# Only the damaged file may be named.
			if grep -v '^verified\|^mq-inspect: hint:' <<<"$out" | grep -qv "^$f:"; then
				echo "verify blamed another file: $out"
				return 1
			fi
		fi
		;;
	esac

	# A reader from the start: exactly the records before the damaged
	# batch, then exit 4; everything when nothing a reader uses changed.
	local c="$BATS_TEST_TMPDIR/c" e="$BATS_TEST_TMPDIR/e"
	timeout 20 mq-consume -F '%o %T %s\n' t >"$c" 2>"$e" && st=0 || st=$?
	no_signal_death $st
	originals "$c" $kind || { cat "$e"; return 1; }
	case $kind in
	crc|magic|length)
		if [ $torn = 1 ]; then
			[ $st -eq 0 ] || { echo "consume: $st"; cat "$e"; return 1; }
		else
			[ $st -eq 4 ] || { echo "consume: $st, expected 4"; cat "$e"; return 1; }
			[ -s "$e" ] || { echo "consume: exit 4 without a message"; return 1; }
		fi
		diff <(golden_range 0 "$bbase") "$c" >/dev/null ||
			{ echo "consume: not the prefix before offset $bbase"; cat "$e"; return 1; }
		;;
	baseoffset)
		# Offsets are contiguous: the damaged batch does not follow
		# its predecessor, and the reader stops there.
		[ $st -eq 4 ] || { echo "consume: $st, expected 4"; cat "$e"; return 1; }
		[ -s "$e" ] || { echo "consume: exit 4 without a message"; return 1; }
		diff <(golden_range 0 "$bbase") "$c" >/dev/null ||
			{ echo "consume: not the prefix before offset $bbase"; cat "$e"; return 1; }
		;;
	*)
		[ $st -eq 0 ] || { echo "consume: $st"; cat "$e"; return 1; }
		diff "$BATS_FILE_TMPDIR/golden" "$c" >/dev/null ||
			{ echo "consume: output differs"; return 1; }
		;;
	esac

	# Readers that seek (by offset, which uses the .index, and by time,
	# which uses the .timeindex) never trust a damaged entry.
	local k x why
	for k in 1 3; do
		x=$(( ((RANDOM << 15) | RANDOM) % 181 ))
		if [ $k = 3 ]; then
			# The first record at or after time T is offset x.
			timeout 20 mq-consume -o "@$((1700000000000 + x * 10 - $(( ((RANDOM << 15) | RANDOM) % 10 ))))" \
				-F '%o %T %s\n' t >"$c" 2>"$e" && st=0 || st=$?
		else
			timeout 20 mq-consume -o "$x" -F '%o %T %s\n' t >"$c" 2>"$e" &&
				st=0 || st=$?
		fi
		no_signal_death $st
		originals "$c" $kind || { cat "$e"; return 1; }
		why=$(seek_check "$x" "$st" "$c") && continue
		echo "seek to $x ($k): $why"
		cat "$e"
		return 1
	done

	# The next writer: it rebuilds damaged indexes of the active segment,
	# truncates a damaged last batch as a torn tail (it cannot tell one
	# from the other), refuses to write after damage in the middle of the
	# active segment, and ignores closed segments.
	local before after
	before=$(stat -c %s "$part/$last_seg")
	out=$(echo after | timeout 20 mq-produce --print-offsets t 2>"$e") && st=0 || st=$?
	no_signal_death $st
	case $kind in
	crc|magic|length)
		if [ $closed = 1 ]; then
			[ $st -eq 0 ] && [ "$out" = "0	180" ] ||
				{ echo "produce after closed damage: $st $out"; cat "$e"; return 1; }
		elif [ "$lastbatch" = 1 ]; then
			# The damaged last batch is dropped as a torn tail.
			[ $st -eq 0 ] && [ "$out" = "0	$bbase" ] ||
				{ echo "produce after damaged last batch: $st $out"; cat "$e"; return 1; }
		elif [ $st -eq 0 ]; then
			# The writer scans only from the last index entry, so
			# damage before it goes unnoticed by writers.
			[ "$out" = "0	180" ] ||
				{ echo "produce after mid-segment damage: $out"; cat "$e"; return 1; }
		else
			# Damage it scans over is corruption: nothing written.
			[ $st -eq 4 ] && [ -z "$out" ] ||
				{ echo "produce after mid-segment damage: $st $out"; cat "$e"; return 1; }
			after=$(stat -c %s "$part/$last_seg")
			[ "$before" = "$after" ] || { echo "produce changed the segment"; return 1; }
		fi
		;;
	index|epoch)
		[ $st -eq 0 ] && [ "$out" = "0	180" ] ||
			{ echo "produce: $st $out"; cat "$e"; return 1; }
		out=$(timeout 20 mq-inspect --verify t 2>&1) && st=0 || st=$?
		if [ $closed = 0 ]; then
			# The writer held every entry of the active segment's
			# indexes against the log and rebuilt what was off.
			[ $st -eq 0 ] ||
				{ echo "verify after produce: $st $out"; return 1; }
		elif [ $st -ne 0 ]; then
			# A damaged index of a closed segment stays (writers
			# and readers never touch it) until mq-repair.
			[ $st -eq 4 ] && ! grep -v '^verified\|^mq-inspect: hint:' <<<"$out" | grep -qv "^$f:" ||
				{ echo "verify after produce: $st $out"; return 1; }
			if command -v mq-repair >/dev/null; then
				timeout 20 mq-repair t >"$e" 2>&1 ||
					{ echo "mq-repair: $?"; cat "$e"; return 1; }
				out=$(timeout 20 mq-inspect --verify t 2>/dev/null) ||
					{ echo "verify after mq-repair: $out"; return 1; }
			else
				echo "# mq-repair not built yet"
			fi
		fi
		;;
	baseoffset)
		[ $st -eq 0 ] || [ $st -eq 4 ] || { echo "produce: $st"; cat "$e"; return 1; }
		;;
	esac
	# Whatever happened, readers still print only original records (and
	# the new one at the offset it was given).
	timeout 20 mq-consume -F '%o %T %s\n' t >"$c" 2>"$e" && st=0 || st=$?
	no_signal_death $st
	[ $st -eq 0 ] || [ $st -eq 4 ] || { echo "consume after produce: $st"; return 1; }
	grep -v ' after$' "$c" >"$c.old" || true
	originals "$c.old" $kind
}

@test "corruption: random bit and byte flips in .log, .index and .timeindex" {
	seed_random
	local i k
	declare -gA KINDS=()
	for ((i = 0; i < MQ_FLIPS; i++)); do
		corrupt_trial "$i"
	done
	for k in "${!KINDS[@]}"; do
		echo "# flips of kind $k: ${KINDS[$k]}"
	done
}

@test "corruption: a flip in a closed segment stops a time seek with exit 4" {
	# Offsets 41..42 are a batch of the closed segment 37; damage its
	# records, then look for the time of offset 43.
	cp -a "$PREP" "$MQ_DIR/d"
	local f="$MQ_DIR/d/t-0/00000000000000000037.log" pos
	pos=$(awk '$1 == "00000000000000000037.log" && $4 == 41 { print $2 + 40 }' \
		"$BATS_FILE_TMPDIR/batches")
	put_byte "$f" "$pos" $(( $(byte_at "$f" "$pos") ^ 1 ))
	run --separate-stderr mq-consume -d "$MQ_DIR/d" -o @1700000000425 -F '%o\n' t
	echo "status $status, first record ${lines[0]:-none}: $stderr"
	# Offsets 43..99 live in segment 37, after the damaged batch; a
	# reader that skipped to segment 100 would print 100 first.
	[ "$status" -eq 4 ]
	[ "$output" = "" ]
}

@test "a damaged index of a closed segment: verify names it, readers ignore it, mq-repair rebuilds it" {
	cp -a "$PREP" "$MQ_DIR/d"
	local p="$MQ_DIR/d/t-0" seg idx tidx x b
	seg=$(awk '{print $1}' "$BATS_FILE_TMPDIR/batches" | head -1)
	idx="$p/${seg%.log}.index"
	tidx="$p/${seg%.log}.timeindex"
	# Entry 1 of each: the .index position one byte on, the low byte of
	# the .timeindex timestamp lowered by 5 (a seek would skip records).
	b=$(byte_at "$idx" 15)
	put_byte "$idx" 15 $(((b + 1) % 256))
	b=$(byte_at "$tidx" 19)
	put_byte "$tidx" 19 $(((b + 251) % 256))
	run -4 --separate-stderr mq-inspect -d "$MQ_DIR/d" --verify t
	[[ "${lines[0]}" == "$idx:8: index entry 1 points at position "*", where no batch starts" ]]
	[[ "${lines[1]}" == "$tidx:12: timeindex entry 1 says "* ]]
	[ "${lines[2]}" = "verified 1 partition of 1 topic: 2 problems" ]
	# Readers check the entries they use against the log.
	run -0 mq-consume -d "$MQ_DIR/d" -F '%o %T %s\n' t
	[ "$output" = "$(cat "$BATS_FILE_TMPDIR/golden")" ]
	for ((x = 0; x < 40; x++)); do
		run -0 mq-consume -d "$MQ_DIR/d" -o "$x" -c 1 -F '%o %T %s\n' t
		[ "$output" = "$(golden_range "$x" $((x + 1)))" ]
		run -0 mq-consume -d "$MQ_DIR/d" -o "@$((1700000000000 + x * 10 - 5))" \
			-c 1 -F '%o %T %s\n' t
		[ "$output" = "$(golden_range "$x" $((x + 1)))" ]
	done
	# Writers leave closed segments alone.
	run -0 mq-produce -d "$MQ_DIR/d" --print-offsets t <<<"after"
	[ "$output" = "0	180" ]
	run -4 --separate-stderr mq-inspect -d "$MQ_DIR/d" --verify t
	[ "${lines[2]}" = "verified 1 partition of 1 topic: 2 problems" ]
	command -v mq-repair >/dev/null || skip "mq-repair not built yet"
	run -0 mq-repair -d "$MQ_DIR/d" t
	run -0 mq-inspect -d "$MQ_DIR/d" --verify t
	cmp "$idx" "$PREP/t-0/${seg%.log}.index"
	cmp "$tidx" "$PREP/t-0/${seg%.log}.timeindex"
}

@test "truncation: a segment cut at every byte of its last two batches" {
	local part="$PREP/cut-0" seg n p1 p2 size c want st out
	seg="$part/00000000000000000000.log"
	size=$(stat -c %s "$seg")
	read -r p1 p2 < <(batch_table "$part" | awk '{ p[NR] = $2 } END { print p[NR - 1], p[NR] }')
	[ "$(batch_table "$part" | tail -2 | awk '{print $4, $5}' | tr '\n' ' ')" = "30 30 31 32 " ]
	mq-consume -d "$PREP" -F '%o %T %s\n' cut >"$BATS_TEST_TMPDIR/g"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/g")" -eq 33 ]
	local d="$BATS_TEST_TMPDIR/d"
	for ((c = p1; c < size; c++)); do
		# make check samples every MQ_CUT_STEP-th byte, and always the
		# bytes around the batch boundaries.
		if [ $(((c - p1) % MQ_CUT_STEP)) -ne 0 ] && [ $((c - p2)) -gt 1 -o $((c - p2)) -lt -1 ] &&
			[ $c -ne $((size - 1)) ] && [ $c -ne $((p1 + 1)) ]; then
			continue
		fi
		# The records of the complete batches: offsets below want.
		if [ $c -ge $p2 ]; then want=31; else want=30; fi
		rm -rf "$d"
		cp -a "$PREP" "$d"
		truncate -s "$c" "$d/cut-0/00000000000000000000.log"
		# Readers stop cleanly at the last complete batch.
		out=$(mq-consume -d "$d" -F '%o %T %s\n' cut) && st=0 || st=$?
		[ $st -eq 0 ] || { echo "cut at $c: consume exit $st"; return 1; }
		[ "$out" = "$(head -n $want "$BATS_TEST_TMPDIR/g")" ] ||
			{ echo "cut at $c: consume output"; return 1; }
		out=$(mq-consume -d "$d" -o 25 -F '%o\n' cut | tr '\n' ' ') && st=0 || st=$?
		[ "$out" = "$(seq -s ' ' 25 $((want - 1))) " ] ||
			{ echo "cut at $c: seek output '$out'"; return 1; }
		# An incomplete tail is not a problem for verify; index entries
		# past the end of the cut .log are.
		out=$(mq-inspect -d "$d" --verify cut) ||
			! grep -v '^verified' <<<"$out" | grep -qv 'index:' ||
			{ echo "cut at $c: verify: $out"; return 1; }
		# The next writer drops the torn tail and continues right after
		# the last complete batch.
		out=$(echo new | mq-produce -d "$d" --print-offsets cut) ||
			{ echo "cut at $c: produce failed"; return 1; }
		[ "$out" = "0	$want" ] || { echo "cut at $c: produce gave '$out'"; return 1; }
		out=$(mq-inspect -d "$d" --verify cut) ||
			{ echo "cut at $c: verify after produce: $out"; return 1; }
		out=$(mq-consume -d "$d" -o -2 -F '%o %s\n' cut)
		[ "$out" = "$(tail -n 1 <(head -n $want "$BATS_TEST_TMPDIR/g") | cut -d' ' -f1,3)
$want new" ] || { echo "cut at $c: after produce: $out"; return 1; }
	done
	echo "# $((size - p1)) bytes, every $MQ_CUT_STEP"
}

@test "truncation: the active .index and .timeindex cut at every byte" {
	local part="$PREP/cut-0" ext size c out d="$BATS_TEST_TMPDIR/d"
	mq-consume -d "$PREP" -F '%o %s\n' cut >"$BATS_TEST_TMPDIR/g"
	for ext in index timeindex; do
		size=$(stat -c %s "$part/00000000000000000000.$ext")
		[ "$size" -gt 8 ]
		for ((c = 0; c < size; c++)); do
			[ $((c % MQ_CUT_STEP)) -eq 0 ] || [ $((c % 4)) -eq 0 -a $c -lt 16 ] ||
				continue
			rm -rf "$d"
			cp -a "$PREP" "$d"
			truncate -s "$c" "$d/cut-0/00000000000000000000.$ext"
			out=$(mq-consume -d "$d" -o $((c % 33)) -F '%o %s\n' cut)
			[ "$out" = "$(tail -n +$((c % 33 + 1)) "$BATS_TEST_TMPDIR/g")" ] ||
				{ echo "$ext cut at $c: seek output"; return 1; }
			out=$(echo new | mq-produce -d "$d" --print-offsets cut)
			[ "$out" = "0	33" ] || { echo "$ext cut at $c: produce '$out'"; return 1; }
			# The writer repaired or rebuilt the index.
			out=$(mq-inspect -d "$d" --verify cut) ||
				{ echo "$ext cut at $c: verify after produce: $out"; return 1; }
			# Lost entries are written again, as they were.
			cmp -s "$part/00000000000000000000.$ext" \
				<(head -c "$size" "$d/cut-0/00000000000000000000.$ext") ||
				{ echo "$ext cut at $c: not rebuilt to the original"; return 1; }
		done
	done
}

# Unmount what a test mounted, then the helper's cleanup.
teardown() {
	if [ -n "${MNT:-}" ]; then
		umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true
	fi
	[ -z "${MQ_DIR:-}" ] || rm -rf "$MQ_DIR"
}

# small_fs SIZE: mount a tmpfs of SIZE on $MNT, or skip the test.
small_fs() {
	[ "$(id -u)" = 0 ] || skip "not root: cannot mount a small file system"
	MNT="$BATS_TEST_TMPDIR/mnt"
	mkdir -p "$MNT"
	mount -t tmpfs -o "size=$1" tmpfs "$MNT" 2>/dev/null || {
		MNT=
		skip "cannot mount a tmpfs here"
	}
}

@test "disk full: the producer fails cleanly, acknowledged records stay, space freed works again" {
	small_fs 1m
	local d="$MNT/data" w="$BATS_TEST_TMPDIR" st avail acked
	mq-create -d "$d" full
	gen 0 100 | mq-produce -d "$d" --json full
	# Leave about 24 KiB free, then try to append about 200 KiB.
	avail=$(df --output=avail -B1 "$MNT" | tail -1)
	head -c $((avail - 24576)) /dev/zero >"$MNT/filler"
	gen 100 3000 | mq-produce -d "$d" --json --sync=batch --print-offsets \
		--batch-bytes 2000 full >"$w/acks" 2>"$w/err" && st=0 || st=$?
	cat "$w/err"
	[ $st -eq 1 ]
	grep -q 'No space left on device' "$w/err"
	[ "$(wc -l <"$w/err")" -eq 1 ]
	# Acknowledged: a contiguous run from offset 100.
	acked=$(wc -l <"$w/acks")
	echo "# $acked records acknowledged before the disk filled"
	[ "$acked" -gt 0 ]
	[ "$(cut -f2 "$w/acks")" = "$(seq 100 $((99 + acked)))" ]
	# Exactly those are stored, whole; no partial batch is visible.
	run mq-inspect -d "$d" --verify full
	[ "$status" -eq 0 ]
	[ "$output" = "verified 1 partition of 1 topic: no problems" ]
	mq-consume -d "$d" -F '%o %T %s\n' full >"$w/out"
	diff "$w/out" <(expected 0 $((100 + acked)))
	# Once space is freed, appending continues right after them.
	rm "$MNT/filler"
	run -0 mq-produce -d "$d" --print-offsets full <<<"again"
	[ "$output" = "0	$((100 + acked))" ]
	run mq-inspect -d "$d" --verify full
	[ "$status" -eq 0 ]
}

@test "read-only data directory: writers fail with a message, readers work" {
	small_fs 1m
	local d="$MNT/data"
	mq-create -d "$d" ro
	gen 0 10 | mq-produce -d "$d" --json ro
	mount -o remount,ro "$MNT" || skip "cannot remount read-only"
	run --separate-stderr mq-produce -d "$d" ro <<<"x"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"Read-only file system"* ]]
	run --separate-stderr mq-create -d "$d" other
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"Read-only file system"* ]]
	run --separate-stderr mq-create -d "$d" --delete ro
	[ "$status" -eq 1 ]
	run -0 mq-consume -d "$d" -F '%o\n' ro
	[ "$output" = "$(seq 0 9)" ]
	run -0 mq-inspect -d "$d" --verify
	run -0 mq-inspect -d "$d"
	mount -o remount,rw "$MNT"
	run -0 mq-produce -d "$d" --print-offsets ro <<<"x"
	[ "$output" = "0	10" ]
}

@test "missing permissions: a user who may not write gets a clear error" {
	[ "$(id -u)" = 0 ] || skip "not root: cannot switch to another user"
	command -v setpriv >/dev/null || skip "setpriv is missing"
	local as="setpriv --reuid=nobody --regid=nogroup --clear-groups"
	$as true 2>/dev/null || skip "cannot run as nobody"
	chmod 755 "$MQ_DIR"
	mq-create perm
	seq 0 4 | mq-produce perm
	local b="$MQ_BIN"
	$as test -x "$b/mq-produce" || skip "nobody cannot run $b/mq-produce"
	run --separate-stderr $as "$b/mq-produce" -d "$MQ_DIR" perm <<<"x"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"Permission denied"* ]]
	run --separate-stderr $as "$b/mq-create" -d "$MQ_DIR" other
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"Permission denied"* ]]
	run --separate-stderr $as "$b/mq-create" -d "$MQ_DIR" --delete perm
	[ "$status" -eq 1 ]
	[ -e "$MQ_DIR/.mq/topics/perm.conf" ]
	# Reading needs no write permission.
	run -0 $as "$b/mq-consume" -d "$MQ_DIR" perm
	[ "$output" = "$(seq 0 4)" ]
	run -0 $as "$b/mq-inspect" -d "$MQ_DIR" --verify perm
	# A partition directory it may not read.
	chmod 700 "$MQ_DIR/perm-0"
	run --separate-stderr $as "$b/mq-consume" -d "$MQ_DIR" perm
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"Permission denied"* ]]
	run --separate-stderr $as "$b/mq-inspect" -d "$MQ_DIR" --verify perm
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"Permission denied"* ]]
	# Nothing changed.
	chmod 755 "$MQ_DIR/perm-0"
	run -0 mq-consume perm
	[ "$output" = "$(seq 0 4)" ]
}

@test "a segment file replaced by a directory: clear errors, no crash" {
	mq-create -c segment.bytes=200 dir
	seq 0 19 | mq-produce --batch-bytes 100 dir
	local p="$MQ_DIR/dir-0" active first
	active=$(ls "$p"/*.log | tail -1)
	first=$(ls "$p"/*.log | head -1)
	[ "$active" != "$first" ]
	# The active segment's .log.
	rm "$active"
	mkdir "$active"
	run --separate-stderr mq-produce dir <<<"x"
	echo "$status $stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"${active##*/}"* ]]
	run --separate-stderr mq-consume dir
	echo "$status $stderr"
	[ "$status" -eq 1 ] || [ "$status" -eq 4 ]
	[ -n "$stderr" ]
	run --separate-stderr mq-inspect --verify dir
	echo "$status $stderr"
	[ "$status" -eq 1 ] || [ "$status" -eq 4 ]
	run --separate-stderr mq-inspect dir
	echo "$status $stderr"
	[ "$status" -eq 1 ] || [ "$status" -eq 4 ] || [ "$status" -eq 0 ]
	rmdir "$active"
	# A closed segment's .index: readers do not need it.
	rm "${first%.log}.index"
	mkdir "${first%.log}.index"
	run --separate-stderr mq-consume -o 3 -F '%o\n' dir
	echo "$status $stderr"
	[ "$status" -eq 0 ]
	run --separate-stderr mq-inspect --verify dir
	echo "$status $output $stderr"
	[ "$status" -eq 4 ]
	[ "${lines[0]}" = "${first%.log}.index:0: not a regular file but a directory; it is ignored, and writers cannot rebuild it" ]
	[ "${lines[1]}" = "verified 1 partition of 1 topic: 1 problem" ]
	# A symbolic link and a FIFO likewise, and no tool follows or
	# waits for them.
	rmdir "${first%.log}.index"
	ln -s /etc/passwd "${first%.log}.index"
	mkfifo "${first%.log}.timeindex.new"
	mv -f "${first%.log}.timeindex.new" "${first%.log}.timeindex"
	run -0 timeout 10 mq-consume -o @0 -F '%o\n' dir
	[ "${lines[0]}" = 0 ]
	run --separate-stderr timeout 10 mq-inspect --verify dir
	echo "$status $output $stderr"
	[ "$status" -eq 4 ]
	[ "${lines[0]}" = "${first%.log}.index:0: not a regular file but a symbolic link; it is ignored, and writers cannot rebuild it" ]
	[ "${lines[1]}" = "${first%.log}.timeindex:0: not a regular file but a FIFO; it is ignored, and writers cannot rebuild it" ]
}
