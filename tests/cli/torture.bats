#!/usr/bin/env bats
# Torture: producers killed with SIGKILL at random moments, concurrent
# writers on one partition and on several, readers following the log
# while writers append and segments roll.

bats_require_minimum_version 1.5.0
load helper
load lib/torture

setup_file() {
	# A private copy of the tools, so that a rebuild cannot swap a binary
	# in the middle of a long run.
	mkdir "$BATS_FILE_TMPDIR/bin"
	cp "$MQ_BIN"/mq-* "$BATS_FILE_TMPDIR/bin/"
	export PATH="$BATS_FILE_TMPDIR/bin:$PATH"
}

# Background jobs close descriptor 3 (else a failed test's follower would
# keep bats waiting on it forever); the helper's teardown ends them.

# gen RUN [N]: records "RUN I PAD" for I = 0.. (forever without N), PAD
# being 0..49 characters that depend on RUN and I, so that every record
# can be checked on its own.
gen() {
	awk -v r="$1" -v n="${2:--1}" 'BEGIN {
		p = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		for (i = 0; n < 0 || i < n; i++)
			printf "%d %d %s\n", r, i, substr(p, 1, (i * 7 + r) % 50)
	}'
}

# check_pads FILE FIELD: every line's fields FIELD.. are "RUN I PAD" with
# the PAD gen wrote.
check_pads() {
	awk -v f="$2" 'BEGIN { p = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" }
		{
			r = $f; i = $(f + 1); pad = (NF > f + 1) ? $(f + 2) : ""
			if (pad != substr(p, 1, (i * 7 + r) % 50) || NF > f + 2) {
				print "damaged record: " $0; exit 1
			}
		}' "$1"
}

# whole_lines FILE: FILE without a last line that lacks its newline (the
# tail of a write cut short by SIGKILL).
whole_lines() {
	if [ -s "$1" ] && [ "$(tail -c 1 "$1" | od -An -tx1 | tr -d ' ')" != 0a ]; then
		head -n -1 "$1"
	else
		cat "$1"
	fi
}

@test "crash torture: producers killed with SIGKILL lose no acknowledged record" {
	seed_random
	mq-create -c segment.bytes=4096 -c index.interval.bytes=256 k
	local w="$BATS_TEST_TMPDIR" kills=0 r=0 pids runs p st
	while [ $kills -lt "$MQ_KILLS" ]; do
		# One producer, or two at once, each killed at its own moment.
		pids=() runs=()
		local np=$((1 + RANDOM % 3 / 2))
		for ((p = 0; p < np; p++)); do
			mq-produce --sync=batch --print-offsets --batch-bytes 200 \
				--linger-ms 1 k < <(gen $r) >"$w/ack.$r" 2>"$w/err.$r" 3>&- &
			pids+=($!)
			runs+=($r)
			r=$((r + 1))
		done
		for p in "${!pids[@]}"; do
			local ms=$((10 + RANDOM % 150))
			sleep "0.$(printf %03d $ms)"
			kill -KILL "${pids[$p]}"
			wait "${pids[$p]}" && st=0 || st=$?
			# Killed, not failed on its own.
			[ $st -eq 137 ] || { echo "run ${runs[$p]}: exit $st"; cat "$w/err.${runs[$p]}"; return 1; }
			[ ! -s "$w/err.${runs[$p]}" ] || { cat "$w/err.${runs[$p]}"; return 1; }
			kills=$((kills + 1))
		done
	done
	# A last producer runs to the end on whatever the kills left.
	gen $r 100 | mq-produce --sync=batch --print-offsets --batch-bytes 200 k \
		>"$w/ack.$r"
	[ "$(wc -l <"$w/ack.$r")" -eq 100 ]
	echo "# $kills kills, $r runs"

	run mq-inspect --verify k
	[ "$status" -eq 0 ]
	[ "$output" = "verified 1 partition of 1 topic: no problems" ]

	mq-consume -F '%o %s\n' k >"$w/all"
	check_pads "$w/all" 2
	local acked=0
	for ((p = 0; p <= r; p++)); do
		whole_lines "$w/ack.$p" | sed "s/^/$p /" >>"$w/acks"
	done
	acked=$(wc -l <"$w/acks")
	echo "# $(wc -l <"$w/all") records stored, $acked acknowledged"
	[ "$acked" -gt 100 ]
	# Offsets are contiguous from 0; each run's records are stored as a
	# prefix of what it sent (never a record twice, never a gap); every
	# acknowledged offset holds exactly the record acknowledged.
	awk '
		NR == FNR {
			if ($1 != NR - 1) { print "offset " $1 " at line " NR; bad = 1; exit }
			if ($3 != next_i[$2] + 0) { print "run " $2 " record " $3 " after " next_i[$2] - 1; bad = 1; exit }
			next_i[$2]++
			rec[$1] = $2 " " $3
			next
		}
		{
			# "RUN 0<TAB>OFFSET", the Nth line of RUN acknowledging record N-1.
			n[$1]++
			if (rec[$3] != $1 " " (n[$1] - 1)) {
				print "acknowledged offset " $3 " of run " $1 " record " n[$1] - 1 " holds " rec[$3]
				bad = 1; exit
			}
		}
		END { exit bad }' "$w/all" "$w/acks"
}

@test "crash torture: a large file encoded on two threads, killed with SIGKILL, leaves every partition a prefix of it" {
	seed_random
	local w="$BATS_TEST_TMPDIR" n=$((MQ_KILLS / 2)) mid=0 k t0 us at pid st p got
	# 1,000,000 keyed lines (some 33 MiB): the parallel path.  A whole
	# run first, timed, and the reference: where each record goes.
	awk 'BEGIN { for (i = 0; i < 1000000; i++) printf "k%d:%d %s\n", i % 97, i, "abcdefghijklmnopqrstuvwxyz" }' >"$w/in"
	mq-create -p 3 ref
	t0=${EPOCHREALTIME/./}
	mq-produce -K: ref "$w/in"
	us=$((${EPOCHREALTIME/./} - t0))
	for p in 0 1 2; do
		mq-consume -p "$p" -F '%s\n' ref >"$w/ref.$p"
	done
	for ((k = 0; k < n; k++)); do
		mq-create -p 3 "c$k"
		mq-produce -K: "c$k" "$w/in" 2>"$w/err" 3>&- &
		pid=$!
		# Kills spread evenly over the length of a whole run, each
		# within its own slice of it at random.
		at=$((us * (1000 * k + ((RANDOM << 15) | RANDOM) % 1000) / (1000 * n)))
		sleep "$((at / 1000000)).$(printf %06d $((at % 1000000)))"
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null && st=0 || st=$?
		[ $st -eq 137 ] || [ $st -eq 0 ] || { cat "$w/err"; return 1; }
		# Readers see, in every partition, the first records the file
		# sends there, in order: never a gap, never a damaged record.
		for p in 0 1 2; do
			mq-consume -p "$p" -F '%s\n' "c$k" >"$w/got.$p"
			head -n "$(wc -l <"$w/got.$p")" "$w/ref.$p" | cmp - "$w/got.$p"
		done
		got=$(cat "$w"/got.[012] | wc -l)
		[ "$got" -eq 0 ] || [ "$got" -eq 1000000 ] || mid=$((mid + 1))
		# The next writer recovers each partition, and all verifies.
		for p in 0 1 2; do
			echo "tail:after" | mq-produce -p "$p" "c$k" 2>/dev/null
		done
		run mq-inspect --verify "c$k"
		[ "$status" -eq 0 ]
		for p in 0 1 2; do
			mq-consume -p "$p" -F '%s\n' "c$k" >"$w/after.$p"
			[ "$(tail -n 1 "$w/after.$p")" = "tail:after" ]
			head -n -1 "$w/after.$p" | cmp - "$w/got.$p"
		done
		echo "# kill $k after $((at / 1000)) of $((us / 1000)) ms: exit $st, $got records"
		rm -rf "${MQ_DIR:?}/c$k"-*
	done
	# Some kills did land while records were being appended.
	[ "$mid" -gt 0 ]
}

# check_writers FILE N: FILE holds "P W I PAD" lines (P a partition):
# each writer W wrote I = 0..N-1 exactly once, in its order within every
# partition.
check_writers() {
	awk -v n="$2" '
		{
			if ((($1, $2) in last) && $3 <= last[$1, $2]) { print "writer " $2 " out of order in partition " $1 ": " $3; bad = 1; exit }
			last[$1, $2] = $3
			if (($2, $3) in seen) { print "twice: " $0; bad = 1; exit }
			seen[$2, $3] = 1
			count[$2]++
		}
		END {
			if (bad)
				exit 1
			for (w = 0; w < 4; w++)
				if (count[w] != n) { print "writer " w ": " count[w] + 0 " records"; exit 1 }
		}' "$1"
}

@test "concurrent writers: 4 producers on one partition and on 4 partitions" {
	local n=$MQ_WRITERS_N w="$BATS_TEST_TMPDIR" i t pids
	for i in 0 1 2 3; do
		gen $i "$n" >"$w/in.$i"
	done
	mq-create one
	mq-create -p 4 four
	for t in one four; do
		pids=()
		for i in 0 1 2 3; do
			mq-produce --batch-bytes 1000 "$t" "$w/in.$i" 3>&- &
			pids+=($!)
		done
		for i in 0 1 2 3; do
			wait "${pids[$i]}"
		done
		run mq-inspect --verify "$t"
		[ "$status" -eq 0 ]
		mq-consume -F '%p %o %s\n' "$t" >"$w/out.$t"
		[ "$(wc -l <"$w/out.$t")" -eq $((4 * n)) ]
		check_pads "$w/out.$t" 3
		cut -d' ' -f1,3- "$w/out.$t" >"$w/pwi.$t"
		check_writers "$w/pwi.$t" "$n"
		# Offsets are contiguous in every partition.
		sort -s -n -k1,1 "$w/out.$t" |
			awk '{ if ($2 != next_o[$1] + 0) { print "partition " $1 " offset " $2; exit 1 } next_o[$1]++ }'
	done
	# Several batches of each writer really were interleaved.
	[ "$(awk 'NR > 1 && $1 != prev { c++ } { prev = $1 } END { print c + 0 }' \
		<(cut -d' ' -f3 "$w/out.one"))" -gt 8 ]
	# The 4 partitions were all used.
	[ "$(cut -d' ' -f1 "$w/out.four" | sort -u | wc -l)" -eq 4 ]
}

@test "readers during writes: followers see every record once, in order" {
	local n=$MQ_FOLLOW_N w="$BATS_TEST_TMPDIR" i pids fpids total got
	mq-create -p 2 -c segment.bytes=2048 -c index.interval.bytes=256 f
	for i in 0 1 2; do
		gen $i "$n" >"$w/in.$i"
	done
	fpids=()
	for i in 0 1 2; do
		mq-consume -f -F '%p %o %s\n' f >"$w/f.$i" 2>"$w/fe.$i" 3>&- &
		fpids+=($!)
	done
	pids=()
	for i in 0 1 2; do
		mq-produce --batch-bytes 300 --linger-ms 0 f "$w/in.$i" 3>&- &
		pids+=($!)
	done
	# One more follower joins while the producers run.
	sleep 0.05
	mq-consume -f -F '%p %o %s\n' f >"$w/f.3" 2>"$w/fe.3" 3>&- &
	fpids+=($!)
	for i in 0 1 2; do
		wait "${pids[$i]}"
	done
	total=$((3 * n))
	mq-consume -F '%p %o %s\n' f >"$w/all"
	[ "$(wc -l <"$w/all")" -eq $total ]
	# The segments did roll.
	[ "$(ls "$MQ_DIR"/f-0/*.log | wc -l)" -gt 5 ]
	# Wait (bounded) for the followers to catch up, then stop them.
	for ((i = 0; i < 600; i++)); do
		got=$(cat "$w"/f.[0-3] | wc -l)
		[ "$got" -lt $((4 * total)) ] || break
		sleep 0.1
	done
	for i in 0 1 2 3; do
		kill -TERM "${fpids[$i]}"
		wait "${fpids[$i]}"
	done
	sort -s -n -k1,1 "$w/all" >"$w/all.sorted"
	awk '{ if ($2 != next_o[$1] + 0) { print "partition " $1 " offset " $2; exit 1 } next_o[$1]++ }' \
		"$w/all.sorted"
	check_pads "$w/all" 3
	for i in 0 1 2 3; do
		[ ! -s "$w/fe.$i" ] || { cat "$w/fe.$i"; return 1; }
		sort -s -n -k1,1 "$w/f.$i" | cmp - "$w/all.sorted" ||
			{ echo "follower $i: $(wc -l <"$w/f.$i") of $total lines"; return 1; }
	done
}
