#!/usr/bin/env bats
# Concurrency: two producers, a follower, mq-retain and mq-compact all at
# once on one compacted topic for a bounded time; afterwards every key's
# latest value is there, the follower saw nothing corrupt or out of order,
# and the log verifies clean.

bats_require_minimum_version 1.5.0
load helper

# How long the writers, the retainer and the compactor run, in seconds.
RUN_SECS=6

# Compaction fsyncs every file it swaps in; a tmpfs, where available,
# keeps the test fast.
setup() {
	local base=${BATS_TMPDIR:-/tmp}
	[ -d /dev/shm ] && [ -w /dev/shm ] && base=/dev/shm
	MQ_DIR=$(mktemp -d "$base/mq-test.XXXXXX")
	export MQ_DIR
	unset XDG_DATA_HOME
}

# children PID: the ids of PID's child processes, read from /proc (ps is
# in procps, which a minimal Debian lacks).
children() {
	local s line state ppid rest
	for s in /proc/[0-9]*/stat; do
		read -r line 2>/dev/null <"$s" || continue
		# The fields after the parenthesized command: state, ppid, ...
		line=${line##*) }
		read -r state ppid rest <<<"$line"
		[ "$ppid" = "$1" ] && echo "${s//[!0-9]/}"
	done
	return 0
}

# Every background job the test did not wait for is ended by its id, with
# its children.  bash's job list names them, so no process id that was
# since reused is ever killed.
teardown() {
	local pid child pids
	pids=$(jobs -p)
	for pid in $pids; do
		for child in $(children "$pid"); do
			kill -KILL "$child" 2>/dev/null || true
		done
		kill -KILL "$pid" 2>/dev/null || true
	done
	for pid in $pids; do
		wait "$pid" 2>/dev/null || true
	done
	[ -n "${MQ_DIR:-}" ] && rm -rf "$MQ_DIR"
}

# producer P DEADLINE: until SECONDS reaches DEADLINE, append small batches
# of records "kN:vM" over the keys N with N % 2 == P (so each key has one
# writer), M counting up per producer; then write "kN M" for the last M
# written per key to $T/last.P.  A failed append goes to $T/fail.
producer() {
	local p=$1 deadline=$2 m=0 i n batch
	local -A last=()
	while ((SECONDS < deadline)); do
		batch=
		for ((i = 0; i < 20; i++)); do
			n=$((2 * (m * 7 % 25) + p))
			m=$((m + 1))
			batch+="k$n:v$m"$'\n'
			last[k$n]=$m
		done
		if ! printf '%s' "$batch" | mq-produce -K: t 2>> "$T/produce.$p.err"
		then
			echo "producer $p: mq-produce failed" >> "$T/fail"
			return 1
		fi
	done
	for n in "${!last[@]}"; do
		echo "$n ${last[$n]}"
	done > "$T/last.$p"
}

# every TOOL DEADLINE: run mq-TOOL on t every 0.3 s until DEADLINE; a
# failure goes to $T/fail.
every() {
	local tool=$1 deadline=$2 rc
	shift 2
	while ((SECONDS < deadline)); do
		rc=0
		"$tool" -q "$@" t 2>> "$T/$tool.err" || rc=$?
		[ "$rc" -eq 0 ] || echo "$tool exited $rc" >> "$T/fail"
		sleep 0.3
	done
}

# check_order FILE: every "PARTITION OFFSET KEY VALUE" line is well formed,
# per partition offsets strictly increase, a key stays in one partition and
# its versions only go up.
check_order() {
	awk '
		NF != 4 || $1 !~ /^[01]$/ || $2 !~ /^[0-9]+$/ ||
		    $3 !~ /^k[0-9]+$/ || $4 !~ /^v[0-9]+$/ {
			print "bad line " NR ": " $0; bad = 1; exit
		}
		($1 in off) && $2 + 0 <= off[$1] {
			print "offset not increasing at line " NR ": " $0; bad = 1; exit
		}
		($3 in part) && part[$3] != $1 {
			print "key in two partitions at line " NR ": " $0; bad = 1; exit
		}
		{ v = substr($4, 2) + 0 }
		($3 in ver) && v <= ver[$3] {
			print "version not increasing at line " NR ": " $0; bad = 1; exit
		}
		{ off[$1] = $2 + 0; part[$3] = $1; ver[$3] = v }
		END { exit bad }' "$1"
}

# reader DEADLINE: read the whole topic from the start every 0.2 s until
# DEADLINE; a failed read, a message other than the documented warning or
# a read out of order goes to $T/fail.
reader() {
	local deadline=$1 rc
	while ((SECONDS < deadline)); do
		rc=0
		mq-consume -F '%p %o %k %s\n' t > "$T/snap" 2> "$T/snap.err" || rc=$?
		[ "$rc" -eq 0 ] || echo "reader: mq-consume exited $rc" >> "$T/fail"
		if grep -Ev "$WARNING" "$T/snap.err" >> "$T/fail"; then
			echo "reader: unexpected message" >> "$T/fail"
		fi
		check_order "$T/snap" >> "$T/fail" || echo "reader: out of order" >> "$T/fail"
		sleep 0.2
	done
}

# The one message a reader may print while retention runs.
WARNING='^mq-consume: warning: offsets [0-9]+-[0-9]+ of t/[01] are no longer available; continuing at log start [0-9]+$'

@test "producers, a follower, mq-retain and mq-compact at once" {
	T=$BATS_TEST_TMPDIR
	mq-create -p 2 -c cleanup.policy=compact,delete -c segment.bytes=2000 \
	    -c min.cleanable.dirty.ratio=0.01 -c retention.ms=-1 \
	    -c retention.bytes=-1 t

	mq-consume -f -F '%p %o %k %s\n' t > "$T/follow" 2> "$T/follow.err" 3>&- &
	follower=$!

	deadline=$((SECONDS + RUN_SECS))
	producer 0 "$deadline" 3>&- &
	p0=$!
	producer 1 "$deadline" 3>&- &
	p1=$!
	every mq-retain "$deadline" 3>&- &
	r=$!
	every mq-compact "$deadline" --force 3>&- &
	c=$!
	reader "$deadline" 3>&- &
	rd=$!
	wait "$p0" "$p1" "$r" "$c" "$rd"

	# No writer, reader, retainer or compactor failed or complained.
	[ ! -s "$T/fail" ] || { cat "$T/fail"; false; }
	for f in "$T"/produce.*.err "$T"/mq-retain.err "$T"/mq-compact.err; do
		[ ! -s "$f" ] || { echo "$f:"; cat "$f"; false; }
	done

	# Let the follower catch up with the last record of each partition
	# (the newest record of its key, so compaction keeps it).
	mq-consume -o -1 -F '%p %o\n' t > "$T/ends"
	[ "$(wc -l < "$T/ends")" -eq 2 ]
	caught=0
	for i in $(seq 100); do
		awk 'NR == FNR { want[$1] = $2; next }
		     { got[$1] = $2 }
		     END { for (p in want) if (got[p] != want[p]) exit 1 }' \
		    "$T/ends" "$T/follow" && { caught=1; break; }
		sleep 0.1
	done
	kill -TERM "$follower"
	status=0
	wait "$follower" || status=$?
	[ "$caught" -eq 1 ] || { echo "follower did not catch up"; cat "$T/ends"; false; }
	[ "$status" -eq 0 ]

	# The follower's stderr holds nothing but the documented warning.
	if grep -Ev "$WARNING" "$T/follow.err"; then
		false
	fi

	# The follower saw every record in order (see check_order).
	check_order "$T/follow"

	# Both producers wrote, and over all fifty keys.
	cat "$T/last.0" "$T/last.1" | sort > "$T/want"
	[ "$(wc -l < "$T/want")" -eq 50 ]

	# After the run the topic holds each key's latest version, and no key
	# a version beyond it; the follower saw it too.
	mq-consume -F '%k %s\n' t > "$T/final"
	awk '{ v = substr($2, 2) + 0; if (v > max[$1]) max[$1] = v }
	     END { for (k in max) print k, max[k] }' "$T/final" | sort > "$T/have"
	diff "$T/want" "$T/have"
	awk '{ v = substr($4, 2) + 0; if (v > max[$3]) max[$3] = v }
	     END { for (k in max) print k, max[k] }' "$T/follow" | sort > "$T/seen"
	diff "$T/want" "$T/seen"

	# Compaction did run: fewer records are left than were written.
	written=$(awk '{ n += $2 + 1 } END { print n }' "$T/ends")
	[ "$(wc -l < "$T/final")" -lt "$written" ]
	echo "# written $written, left $(wc -l < "$T/final"), follower saw $(wc -l < "$T/follow"), warnings $(wc -l < "$T/follow.err")" >&3

	run --separate-stderr mq-inspect --verify t
	[ "$status" -eq 0 ] || { echo "$output"; echo "$stderr"; false; }
}

# mq-inspect --verify takes no lock, so it must tell a partition being
# written from a damaged one: index entries for batches appended after it
# read the .log, a batch half written at the end of the active segment,
# segments that retention removes after it listed them.
@test "mq-inspect --verify next to writers and mq-retain: no false problems" {
	T=$BATS_TEST_TMPDIR
	# Small segments that roll and go often, an index entry every batch
	# or two.
	mq-create -c segment.bytes=4000 -c index.interval.bytes=100 \
	    -c retention.bytes=40000 v
	mq-produce --sync=none --batch-bytes 200 --linger-ms 0 v \
	    < <(yes rec-0-abcdefghijklmnopqrstuvwxyz) 2> "$T/w0.err" 3>&- &
	w0=$!
	mq-produce --sync=none --batch-bytes 300 --linger-ms 0 v \
	    < <(yes rec-1-abcdefghijk) 2> "$T/w1.err" 3>&- &
	w1=$!
	(
		while [ ! -e "$T/stop" ]; do
			mq-retain -q v 2>> "$T/retain.err" ||
				echo "mq-retain exited $?" >> "$T/fail"
			sleep 0.02
		done
	) 3>&- &
	r=$!

	# Wait (bounded, about 10 s) until segments have rolled and some were
	# removed.
	for i in $(seq 200); do
		[ "$(mq-consume -o -1 -F '%o' v)" -gt 2000 ] && break
		sleep 0.05
	done
	start=$(mq-consume -o -1 -F '%o' v)
	[ "$start" -gt 2000 ]

	# Every verify meanwhile is clean, and so is every listing of the
	# segments.
	bad=0
	for ((i = 0; i < 40; i++)); do
		mq-inspect v > "$T/out" 2>&1 ||
			{ echo "inspect $i:"; head -5 "$T/out"; bad=$((bad + 1)); }
		mq-inspect --verify v > "$T/out" 2>&1 && continue
		echo "verify $i:"; head -5 "$T/out"
		bad=$((bad + 1))
	done
	# The writers wrote all along and are still running; retention
	# removed segments.
	[ "$(mq-consume -o -1 -F '%o' v)" -gt "$start" ]
	kill -TERM "$w0" "$w1"
	touch "$T/stop"
	wait "$r"
	wait "$w0" "$w1" || true
	[ "$(ls "$MQ_DIR"/v-0/*.log | head -1)" != "$MQ_DIR/v-0/00000000000000000000.log" ]
	echo "# $bad of 40 listings and verifies failed" >&3
	[ "$bad" -eq 0 ]
	[ ! -s "$T/fail" ] || { cat "$T/fail"; false; }
	[ ! -s "$T/retain.err" ] || { cat "$T/retain.err"; false; }

	# At rest, it verifies clean.
	run --separate-stderr mq-inspect --verify v
	[ "$status" -eq 0 ] || { echo "$output"; echo "$stderr"; false; }
	[ "$output" = "verified 1 partition of 1 topic: no problems" ]
}
