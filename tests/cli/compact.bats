#!/usr/bin/env bats
# mq-compact: latest value per key, offsets kept, tombstones, lag, keyless
# records, dirty ratio, dry runs, JSON figures, locks and crashes.

bats_require_minimum_version 1.5.0
load helper

# Compaction fsyncs every file it swaps in; a tmpfs, where available,
# keeps the suite fast.  A kill -9 is a kill on any file system.
setup() {
	local base=${BATS_TMPDIR:-/tmp}
	[ -d /dev/shm ] && [ -w /dev/shm ] && base=/dev/shm
	MQ_DIR=$(mktemp -d "$base/mq-test.XXXXXX")
	export MQ_DIR
	unset XDG_DATA_HOME
}

# kv TOPIC: every record as "OFFSET KEY=VALUE" (a null value prints "-").
kv() {
	mq-consume -F '%o %k=%s %S\n' "$1" | sed -e 's/= -1$/=-/' -e 's/ [0-9]*$//'
}

# now_ms: the time in milliseconds since the epoch.
now_ms() {
	date +%s%3N
}

# json_rec KEY VALUE TS: one mq-produce --json line ("-" key: none,
# "-" value: null).
json_rec() {
	local k=\"$1\" v=\"$2\"
	[ "$1" = - ] && k=null
	[ "$2" = - ] && v=null
	printf '{"key":%s,"value":%s,"timestamp":%s}\n' "$k" "$v" "$3"
}

# log_bytes TOPIC: the sum of the partition's .log sizes.
log_bytes() {
	local n=0 f
	for f in "$MQ_DIR/$1-0"/*.log; do
		n=$((n + $(stat -c %s "$f")))
	done
	echo "$n"
}

# latest_per_key: "KEY VALUE" lines in, the last value of k0..k39 out.
latest_per_key() {
	awk '{v[$1] = $2} END {for (i = 0; i < 40; i++) print "k" i, v["k" i]}'
}

# compacted TOPIC: a compacted topic with tiny segments (two or three
# single-record batches each).
compacted() {
	mq-create -c cleanup.policy=compact -c segment.bytes=200 "$@"
}

# twelve TOPIC: records 0..11 over keys a, b, c (value = offset), old
# timestamps, one per batch; the active segment holds the last ones.
twelve() {
	local keys=abc i
	for ((i = 0; i < 12; i++)); do
		json_rec "${keys:i % 3:1}" "v$i" $((1000 + i))
	done | mq-produce --json --batch-bytes 1 "$1"
}

@test "compact --help and --version print on stdout and exit 0" {
	run --separate-stderr mq-compact --help
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "usage: mq-compact "* ]]
	[ -z "$stderr" ]
	run mq-compact --version
	[ "$status" -eq 0 ]
	[ "$output" = "mq-compact (mq) 0.1.0" ]
}

@test "compact usage errors exit 2" {
	run mq-compact --buffer-mb 0
	[ "$status" -eq 2 ]
	[[ "$output" == *"invalid --buffer-mb '0'"* ]]
	run mq-compact --buffer-mb x
	[ "$status" -eq 2 ]
	run mq-compact --bogus
	[ "$status" -eq 2 ]
	run mq-compact 'bad/name'
	[ "$status" -eq 2 ]
	[[ "$output" == *"invalid topic name 'bad/name'"* ]]
}

@test "compact: a missing or non-compacted topic is an error, others are skipped" {
	mq-create plain
	compacted c
	run --separate-stderr mq-compact nope
	[ "$status" -eq 1 ]
	[ "$stderr" = "mq-compact: topic 'nope' does not exist" ]
	run --separate-stderr mq-compact plain
	[ "$status" -eq 1 ]
	[ "$stderr" = "mq-compact: topic 'plain' is not compacted (cleanup.policy lacks compact)" ]
	run mq-compact
	[ "$status" -eq 0 ]
	[ "$output" = "c-0: skipped: dirty ratio 0.00 is below 0.50" ]
}

@test "compact keeps the latest value per key with offsets and order unchanged" {
	compacted c
	twelve c
	run mq-compact c
	[ "$status" -eq 0 ]
	[[ "$output" == "c-0: compacted 12 -> "*" records, "*" (dirty ratio 1.00, 1 pass)" ]]
	# The cleanable log ends where the active segment starts.
	active=$(ls "$MQ_DIR/c-0" | grep '\.log$' | tail -1)
	first_unclean=$((10#${active%.log}))
	run kv c
	[ "$status" -eq 0 ]
	# Below the active segment each key appears once, with its latest value
	# there; the active segment is untouched.
	expect=""
	keys=abc
	for ((i = 0; i < 12; i++)); do
		k=${keys:i % 3:1}
		if [ "$i" -ge "$first_unclean" ] || [ $((i + 3)) -ge "$first_unclean" ]; then
			expect="$expect$i $k=v$i"$'\n'
		fi
	done
	[ "$output" = "${expect%$'\n'}" ]
	run mq-inspect --verify c
	[ "$status" -eq 0 ]
	# A consumer starting in a gap gets the next record.
	run mq-consume -o 1 -c 1 -F '%o\n' c
	[ "$status" -eq 0 ]
	[ "$output" -ge 1 ]
	# Appending goes on at the old log end.
	echo 'a:new' | mq-produce -K: c
	run mq-consume -o -1 -F '%o %k=%s\n' c
	[ "$output" = "12 a=new" ]
}

@test "compact: tombstones go after delete.retention.ms, younger ones stay" {
	compacted c -c delete.retention.ms=3600000
	now=$(now_ms)
	{
		json_rec a 1 1000
		json_rec b 2 1000
		json_rec a - 2000                   # old tombstone: goes
		json_rec b - "$((now - 60000))"     # young tombstone: stays
		for i in 1 2 3 4 5 6; do json_rec "x$i" y "$now"; done
	} | mq-produce --json --batch-bytes 1 c
	run mq-compact c
	[ "$status" -eq 0 ]
	run kv c
	[ "${lines[0]}" = "3 b=-" ]
	[[ "$output" != *" a="* ]]
	run mq-inspect --verify c
	[ "$status" -eq 0 ]
}

@test "compact: records within min.compaction.lag.ms are not touched" {
	compacted c -c min.compaction.lag.ms=3600000
	now=$(now_ms)
	{
		json_rec a old1 1000
		json_rec a old2 1000
		json_rec a old3 1000
		json_rec a new1 "$now"
		json_rec a new2 "$now"
		json_rec a new3 "$now"
		json_rec a new4 "$now"
	} | mq-produce --json --batch-bytes 1 c
	run mq-compact c
	[ "$status" -eq 0 ]
	# old1 and old2 are superseded by old3; old3 is not superseded by the
	# records still within the lag.
	run kv c
	[ "$output" = "2 a=old3
3 a=new1
4 a=new2
5 a=new3
6 a=new4" ]
}

@test "compact drops records without a key" {
	compacted c
	{
		json_rec - k1 1000
		json_rec a 1 1000
		json_rec - k2 1000
		json_rec b 2 1000
		json_rec - k3 1000
		json_rec - k4 1000
		json_rec - k5 1000
	} | mq-produce --json --batch-bytes 1 c
	run mq-compact c
	[ "$status" -eq 0 ]
	run mq-consume -F '%o %s\n' c
	# Keyless records below the active segment are gone.
	[ "${lines[0]}" = "1 1" ]
	[ "${lines[1]}" = "3 2" ]
	[[ "$output" != *"k1"* && "$output" != *"k2"* ]]
}

@test "compact handles cleanup.policy=compact,delete" {
	compacted c -c cleanup.policy=compact,delete
	twelve c
	run mq-compact c
	[ "$status" -eq 0 ]
	[[ "$output" == "c-0: compacted 12 -> "* ]]
	run mq-inspect --verify c
	[ "$status" -eq 0 ]
}

@test "compact runs only at min.cleanable.dirty.ratio unless --force" {
	compacted c
	twelve c
	mq-compact -q c
	[ "$(cat "$MQ_DIR/c-0/mq.cleaner-checkpoint")" -gt 0 ]
	# A little new data: the dirty ratio stays low.
	json_rec a z "$(now_ms)" | mq-produce --json c
	run mq-compact c
	[ "$status" -eq 0 ]
	[[ "$output" == "c-0: skipped: dirty ratio "*" is below 0.50" ]]
	run mq-compact --force c
	[ "$status" -eq 0 ]
	[[ "$output" == "c-0: compacted "* ]]
	# A topic that asks for a ratio of 0.99 is skipped at 0.5.
	compacted d -c min.cleanable.dirty.ratio=0.99
	twelve d
	mq-compact -q d
	twelve d
	run mq-compact d
	[[ "$output" == "d-0: skipped: dirty ratio "*" is below 0.99" ]]
}

@test "compact --dry-run changes nothing and predicts the figures" {
	compacted c
	twelve c
	before=$(cat "$MQ_DIR"/c-0/*.log "$MQ_DIR"/c-0/*index | md5sum)
	run mq-compact --dry-run --json c
	[ "$status" -eq 0 ]
	dry=$output
	[ "$(cat "$MQ_DIR"/c-0/*.log "$MQ_DIR"/c-0/*index | md5sum)" = "$before" ]
	[ ! -e "$MQ_DIR/c-0/mq.cleaner-checkpoint" ]
	run mq-compact --dry-run c
	[[ "$output" == "c-0: would compact 12 -> "* ]]
	run mq-compact --json c
	[ "$output" = "${dry/\"dry_run\":true/\"dry_run\":false}" ]
}

@test "compact --json reports exact records and bytes" {
	compacted c
	twelve c
	bytes=$(log_bytes c)
	active=$(ls "$MQ_DIR"/c-0/*.log | tail -1)
	dirty=$((bytes - $(stat -c %s "$active")))
	for f in "$MQ_DIR"/c-0/*.log; do md5sum < "$f"; done > sums
	run mq-compact --json c
	[ "$status" -eq 0 ]
	after=$(log_bytes c)
	kept=$(mq-consume -F '%o\n' c | wc -l)
	changed=$(for f in "$MQ_DIR"/c-0/*.log; do md5sum < "$f"; done |
		paste -d' ' sums - | awk '$1 != $3' | wc -l)
	[ "$changed" -gt 0 ]
	[ "$kept" -lt 12 ]
	[ "$output" = "{\"topic\":\"c\",\"partition\":0,\"compacted\":true,\"dry_run\":false,\"dirty_ratio\":1.0000,\"clean_bytes\":0,\"dirty_bytes\":$dirty,\"passes\":1,\"segments_rewritten\":$changed,\"records_before\":12,\"records_after\":$kept,\"bytes_before\":$bytes,\"bytes_after\":$after}" ]
	# Nothing left to do: skipped, the same figures before and after.
	clean=$((after - $(stat -c %s "$active")))
	run mq-compact --json c
	[ "$output" = "{\"topic\":\"c\",\"partition\":0,\"compacted\":false,\"dry_run\":false,\"dirty_ratio\":0.0000,\"clean_bytes\":$clean,\"dirty_bytes\":0,\"passes\":0,\"segments_rewritten\":0,\"records_before\":$kept,\"records_after\":$kept,\"bytes_before\":$after,\"bytes_after\":$after}" ]
}

@test "compact with a tiny key map takes several passes to the same result" {
	compacted c
	compacted d
	for i in $(seq 0 39); do json_rec "k$((i % 8))" "v$i" 1000; done > in.json
	mq-produce --json --batch-bytes 1 c < in.json
	mq-produce --json --batch-bytes 1 d < in.json
	rm in.json
	run mq-compact --buffer-mb 0.0001 c
	[ "$status" -eq 0 ]
	[[ "$output" == *"passes)" ]]
	mq-compact -q d
	[ "$(kv c)" = "$(kv d)" ]
	run mq-inspect --verify c
	[ "$status" -eq 0 ]
}

@test "compact -n exits 3 while a lock is held" {
	compacted c
	twelve c
	hold_lock "$MQ_DIR/c-0/mq.lock"
	run mq-compact -n c
	release_lock
	[ "$status" -eq 3 ]
	[[ "$output" == *"is locked by another process"* ]]
	hold_lock "$MQ_DIR/c-0/mq.cleaner.lock"
	run mq-compact -n c
	[ "$status" -eq 3 ]
	[[ "$output" == *"locked by another mq-compact"* ]]
	# A busy lock and a missing topic in one run: the error outranks it.
	run mq-compact -n c nosuch
	release_lock
	[ "$status" -eq 1 ]
	[[ "$output" == *"locked by another mq-compact"* ]]
	[[ "$output" == *"'nosuch'"* ]]
	run mq-compact -n c
	[ "$status" -eq 0 ]
}

@test "compact killed with SIGKILL at any point leaves a log with every latest value" {
	mq-create -c cleanup.policy=compact -c segment.bytes=1500 \
		-c index.interval.bytes=200 c
	for i in $(seq 0 1999); do
		json_rec "k$((i % 40))" "v$i" 1000
	done > "$BATS_TEST_TMPDIR/in.json"
	mq-produce --json --batch-bytes 150 c < "$BATS_TEST_TMPDIR/in.json"
	latest=$(for ((i = 1960; i < 2000; i++)); do echo "k$((i % 40)) v$i"; done |
		sort -k1,1V)
	cp -a "$MQ_DIR" "$MQ_DIR.orig"
	# With a 13-slot key map a compaction takes about 180 passes.
	for round in $(seq 20); do
		rm -rf "$MQ_DIR"
		cp -a "$MQ_DIR.orig" "$MQ_DIR"
		mq-compact --force --buffer-mb 0.0003 c >/dev/null 3>&- &
		pid=$!
		sleep "0.0$((RANDOM % 10))$((RANDOM % 10))"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" || true
		mq-inspect --verify c >/dev/null
		got=$(mq-consume -F '%k %s\n' c | latest_per_key)
		[ "$got" = "$latest" ]
		mq-compact -q --force c
		[ -z "$(compgen -G "$MQ_DIR/c-0/*.cleaned"; compgen -G "$MQ_DIR/c-0/*.swap")" ]
		mq-inspect --verify c >/dev/null
		got=$(mq-consume -F '%k %s\n' c | latest_per_key)
		[ "$got" = "$latest" ]
	done
	rm -rf "$MQ_DIR.orig"
}

@test "mq-inspect shows the dirty ratio of compacted partitions" {
	compacted c
	twelve c
	run mq-inspect c
	[[ "${lines[1]}" == "PARTITION  START  END  RECORDS  SIZE  SEGMENTS  "*"  DIRTY-RATIO" ]]
	[[ "${lines[2]}" == *" 1.00" ]]
	mq-compact -q c
	run mq-inspect c
	[[ "${lines[2]}" == *" 0.00" ]]
	run mq-inspect --json c
	[[ "$output" == *'"dirty_ratio":0.0000,"segments":'* ]]
	mq-create plain
	run mq-inspect plain
	[[ "${lines[1]}" == *"LAST-TIMESTAMP" ]]
}

@test "a compacted topic altered to cleanup.policy=delete reads, verifies and grows as before" {
	compacted c
	twelve c
	mq-compact -q c
	before=$(kv c)
	# Compaction left gaps between the offsets of a segment's batches.
	[ "$(wc -l <<<"$before")" -lt 12 ]
	[ -e "$MQ_DIR/c-0/mq.cleaner-checkpoint" ]
	run -0 mq-create --alter -c cleanup.policy=delete c
	# The partition was compacted once, so its gaps stay legitimate.
	run -0 kv c
	[ "$output" = "$before" ]
	run -0 mq-consume -o 5 -F '%o\n' c
	[ "$output" = "$(awk '$1 >= 5 { print $1 }' <<<"$before")" ]
	run -0 mq-consume -o @1005 -F '%o\n' c
	[ "$output" = "$(awk '$1 >= 5 { print $1 }' <<<"$before")" ]
	run -0 mq-inspect --verify c
	run -0 mq-repair c
	[ "$(kv c)" = "$before" ]
	run -0 mq-produce --print-offsets c <<<"new"
	[ "$output" = "0	12" ]
	run -0 mq-consume -o 12 -F '%o %s\n' c
	[ "$output" = "12 new" ]
}
