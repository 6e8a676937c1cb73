#!/usr/bin/env bats
# mq-retain: time and size retention, rolling a quiet active segment,
# --delete-before, --respect-groups, --dry-run, --json, -n, errors, and
# retention running in a loop while a producer and a consumer work.

bats_require_minimum_version 1.5.0
load helper

# Background processes close descriptor 3 (or bats would wait for them);
# the helper's teardown ends those of a failed test.

# 2001-09-09T01:46:40Z: older than any retention.ms used here.
OLD=1000000000000

# old N FIRST: N JSON records "r<FIRST>".. with the old timestamp.  Every
# record is its own batch of 78 bytes with mq-produce --batch-bytes 1, so
# with segment.bytes=300 a segment holds 3 batches (234 bytes; 246 with
# its sealed .timeindex entry).
old() {
	local i
	for ((i = $2; i < $2 + $1; i++)); do
		printf '{"timestamp":%s,"value":"record-%03d"}\n' "$OLD" "$i"
	done | mq-produce --json --batch-bytes 1 t
}

# new N FIRST: likewise, timestamped now.
new() {
	local i
	for ((i = $2; i < $2 + $1; i++)); do
		printf '{"value":"record-%03d"}\n' "$i"
	done | mq-produce --json --batch-bytes 1 t
}

offsets() {
	mq-consume -F '%o\n' "$@" t | tr '\n' ' '
}

checksums() {
	find "$MQ_DIR" -type f -exec md5sum {} + | sort
}

@test "time retention deletes closed segments whose newest record is too old" {
	mq-create -c segment.bytes=300 -c retention.ms=60000 t
	old 9 0
	new 3 9
	run mq-retain
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "t/0: deleted segment 0 (offsets 0-2, 246 bytes): retention.ms" ]
	[ "${lines[1]}" = "t/0: deleted segment 3 (offsets 3-5, 246 bytes): retention.ms" ]
	[ "${lines[2]}" = "t/0: deleted segment 6 (offsets 6-8, 246 bytes): retention.ms" ]
	[ "${lines[3]}" = "t/0: log start offset moved from 0 to 9" ]
	[ "${#lines[@]}" -eq 4 ]
	[ ! -e "$MQ_DIR/t-0/00000000000000000000.log" ]
	[ ! -e "$MQ_DIR/t-0/00000000000000000006.timeindex" ]
	[ "$(cat "$MQ_DIR/t-0/mq.log-start")" = 9 ]
	run offsets
	[ "$output" = "9 10 11 " ]
	# Nothing more to do: quiet.
	run mq-retain t
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
}

@test "size retention keeps at least retention.bytes" {
	mq-create -c segment.bytes=300 -c retention.bytes=500 t
	new 10 0
	# 234 + 234 + 234 + 78 = 780 bytes: dropping segment 0 leaves 546.
	run mq-retain
	[ "$status" -eq 0 ]
	[ "$output" = "t/0: deleted segment 0 (offsets 0-2, 246 bytes): retention.bytes
t/0: log start offset moved from 0 to 3" ]
	run offsets
	[ "$output" = "3 4 5 6 7 8 9 " ]
	run mq-retain
	[ "$output" = "" ]
}

@test "the active segment of a quiet topic is rolled when it alone is too old" {
	mq-create -c segment.bytes=300 -c retention.ms=60000 t
	old 2 0
	run mq-retain t
	[ "$status" -eq 0 ]
	[ "$output" = "t/0: rolled the active segment 0 (offsets 0-1)
t/0: deleted segment 0 (offsets 0-1, 168 bytes): retention.ms
t/0: log start offset moved from 0 to 2" ]
	[ -e "$MQ_DIR/t-0/00000000000000000002.log" ]
	run offsets
	[ "$output" = "" ]
	run mq-produce --print-offsets t <<<"later"
	[ "$output" = "0	2" ]
	run mq-retain t
	[ "$output" = "" ]
	run offsets
	[ "$output" = "2 " ]
}

@test "topics without delete in cleanup.policy are left alone" {
	mq-create -c segment.bytes=300 -c retention.ms=60000 -c cleanup.policy=compact t
	old 9 0
	run mq-retain
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
	run offsets
	[ "${output:0:6}" = "0 1 2 " ]
}

@test "--delete-before moves the log start and deletes segments below it" {
	mq-create -c segment.bytes=300 t
	mq-create -c segment.bytes=300 other
	new 10 0
	run mq-retain --delete-before t:0:4
	[ "$status" -eq 0 ]
	[ "$output" = "t/0: deleted segment 0 (offsets 0-2, 246 bytes): below the log start offset
t/0: log start offset moved from 0 to 4" ]
	# Segment 3 still holds offset 3, but no reader sees it.
	[ -e "$MQ_DIR/t-0/00000000000000000003.log" ]
	run offsets
	[ "$output" = "4 5 6 7 8 9 " ]
	run --separate-stderr offsets -o 1
	[ "$status" -eq 0 ]
	[ "$output" = "4 5 6 7 8 9 " ]
	[ "$stderr" = "mq-consume: warning: offset 1 of t/0 is no longer available; starting at log start 4" ]
	run mq-inspect --json t
	[[ "$output" == *'"partition":0,"start":4,"end":10'* ]]
	# Never backwards.
	run mq-retain --delete-before t:0:2
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
	# Beyond the log end: an error, nothing changes.
	run --separate-stderr mq-retain --delete-before t:0:11
	[ "$status" -eq 1 ]
	[ "$stderr" = "mq-retain: topic 't' partition 0: offset 11 is beyond the log end offset 10" ]
	run mq-retain --delete-before t:1:5
	[ "$status" -eq 1 ]
	[ "$output" = "mq-retain: topic 't' has no partition 1 (it has 1)" ]
	# Up to the log end: everything goes, the active segment rolled first.
	run mq-retain --delete-before t:0:10 --json
	[ "$status" -eq 0 ]
	[ "$output" = '{"dry_run":false,"segments_deleted":3,"bytes_freed":582,"partitions":[{"topic":"t","partition":0,"log_start_offset_before":4,"log_start_offset":10,"log_end_offset":10,"rolled":true,"segments_deleted":3,"bytes_freed":582,"deleted":[{"base_offset":3,"next_offset":6,"bytes":246,"reason":"below the log start offset"},{"base_offset":6,"next_offset":9,"bytes":246,"reason":"below the log start offset"},{"base_offset":9,"next_offset":10,"bytes":90,"reason":"below the log start offset"}],"kept":null}]}' ]
	run offsets
	[ "$output" = "" ]
}

@test "--respect-groups keeps what a consumer group has not committed" {
	mq-create -c segment.bytes=300 -c retention.ms=60000 t
	old 10 0
	mkdir -p "$MQ_DIR/.mq/groups/g1/t" "$MQ_DIR/.mq/groups/g2/t" \
		"$MQ_DIR/.mq/groups/g3/elsewhere"
	echo 5 > "$MQ_DIR/.mq/groups/g1/t/0.offset"
	echo 8 > "$MQ_DIR/.mq/groups/g2/t/0.offset"
	run mq-retain --respect-groups --dry-run
	[ "$status" -eq 0 ]
	[ "$output" = "t/0: would delete segment 0 (offsets 0-2, 246 bytes): retention.ms
t/0: would keep segment 3 (offsets 3-5): group 'g1' has committed offset 5
t/0: log start offset would move from 0 to 3" ]
	run mq-retain --respect-groups
	[ "$output" = "t/0: deleted segment 0 (offsets 0-2, 246 bytes): retention.ms
t/0: kept segment 3 (offsets 3-5): group 'g1' has committed offset 5
t/0: log start offset moved from 0 to 3" ]
	# Only g2 counts: it has consumed up to 7.
	run mq-retain -g g2 --json
	[ "$output" = '{"dry_run":false,"segments_deleted":1,"bytes_freed":246,"partitions":[{"topic":"t","partition":0,"log_start_offset_before":3,"log_start_offset":6,"log_end_offset":10,"rolled":false,"segments_deleted":1,"bytes_freed":246,"deleted":[{"base_offset":3,"next_offset":6,"bytes":246,"reason":"retention.ms"}],"kept":{"base_offset":6,"group":"g2","committed":8}}]}' ]
	# A group that reads t but has committed nothing for partition 0.
	mkdir -p "$MQ_DIR/.mq/groups/g0/t"
	run mq-retain --respect-groups
	[ "$output" = "t/0: kept segment 6 (offsets 6-8): group 'g0' has committed nothing here" ]
	# A group that does not read t holds nothing.
	run --separate-stderr mq-retain -g g3 -g nosuch
	[ "$status" -eq 0 ]
	[ "$stderr" = "mq-retain: warning: group 'nosuch' has no committed offsets" ]
	[ "${lines[0]}" = "t/0: rolled the active segment 9 (offsets 9-9)" ]
	[ "${lines[3]}" = "t/0: log start offset moved from 6 to 10" ]
	run mq-retain -g 'bad/name'
	[ "$status" -eq 2 ]
}

@test "--dry-run changes nothing" {
	mq-create -c segment.bytes=300 -c retention.ms=60000 t
	old 4 0
	before=$(checksums)
	run mq-retain --dry-run
	[ "$status" -eq 0 ]
	[ "$output" = "t/0: would roll the active segment 3 (offsets 3-3)
t/0: would delete segment 0 (offsets 0-2, 246 bytes): retention.ms
t/0: would delete segment 3 (offsets 3-3, 78 bytes): retention.ms
t/0: log start offset would move from 0 to 4" ]
	run mq-retain --dry-run --delete-before t:0:2 --json
	[ "$output" = '{"dry_run":true,"segments_deleted":0,"bytes_freed":0,"partitions":[{"topic":"t","partition":0,"log_start_offset_before":0,"log_start_offset":2,"log_end_offset":4,"rolled":false,"segments_deleted":0,"bytes_freed":0,"deleted":[],"kept":null}]}' ]
	[ "$(checksums)" = "$before" ]
	[ ! -e "$MQ_DIR/t-0/mq.log-start" ]
}

@test "--json reports exact figures for every partition" {
	mq-create -p 2 -c segment.bytes=300 -c retention.ms=60000 t
	for i in 0 1 2 3 4 5; do
		printf '{"timestamp":%s,"value":"record-%03d"}\n' "$OLD" "$i"
	done | mq-produce --json --batch-bytes 1 -p 0 t
	echo recent | mq-produce -p 0 t
	echo recent | mq-produce -p 1 t
	run mq-retain --json t
	[ "$status" -eq 0 ]
	[ "$output" = '{"dry_run":false,"segments_deleted":2,"bytes_freed":492,"partitions":[{"topic":"t","partition":0,"log_start_offset_before":0,"log_start_offset":6,"log_end_offset":7,"rolled":false,"segments_deleted":2,"bytes_freed":492,"deleted":[{"base_offset":0,"next_offset":3,"bytes":246,"reason":"retention.ms"},{"base_offset":3,"next_offset":6,"bytes":246,"reason":"retention.ms"}],"kept":null},{"topic":"t","partition":1,"log_start_offset_before":0,"log_start_offset":0,"log_end_offset":1,"rolled":false,"segments_deleted":0,"bytes_freed":0,"deleted":[],"kept":null}]}' ]
}

@test "-n exits 3 when a partition lock is held" {
	mq-create -c segment.bytes=300 -c retention.ms=60000 t
	old 4 0
	hold_lock "$MQ_DIR/t-0/mq.lock"
	run --separate-stderr mq-retain -n t
	release_lock
	[ "$status" -eq 3 ]
	[ "$output" = "" ]
	[[ "$stderr" == "mq-retain: topic 't' partition 0: '$MQ_DIR/t-0/mq.lock' is locked by another process" ]]
}

@test "usage and lookup errors" {
	mq-create t
	run mq-retain nope
	[ "$status" -eq 1 ]
	[ "$output" = "mq-retain: topic 'nope' does not exist" ]
	run mq-retain --delete-before nope:0:1
	[ "$status" -eq 1 ]
	for bad in t:0 t t:x:1 t:0:-1 t:0:1x 't/x:0:1' :0:1 t::1; do
		run --separate-stderr mq-retain --delete-before "$bad"
		[ "$status" -eq 2 ]
	done
	run --separate-stderr mq-retain --delete-before t:0
	[ "$stderr" = "mq-retain: invalid --delete-before 't:0': expected TOPIC:PARTITION:OFFSET
Try 'mq-retain --help' for more information." ]
	run mq-retain 'bad name'
	[ "$status" -eq 2 ]
	run mq-retain --bogus
	[ "$status" -eq 2 ]
	run mq-retain --help
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "usage: mq-retain [-nqj] [-d DIR] [--dry-run] [--respect-groups] [-g GROUP]..." ]
	run mq-retain --version
	[ "$output" = "mq-retain (mq) 0.1.0" ]
}

@test "retention in a loop while a producer appends and a consumer follows" {
	# 1 KB records, 3 to a segment; retention keeps about 8 KB.  The
	# consumer's output goes through a slow reader, so it falls behind and
	# retention deletes segments it has not read yet.
	mq-create -c segment.bytes=4096 -c retention.bytes=8192 t
	local tmp=$BATS_TEST_TMPDIR pad
	pad=$(printf '%01000d' 0)
	mkfifo "$tmp/pipe"
	while read -r o _; do
		echo "$o"
		if ((o % 4 == 0)); then sleep 0.01; fi
	done <"$tmp/pipe" >"$tmp/seen" 3>&- &
	reader=$!
	mq-consume -f -F '%o %s\n' t >"$tmp/pipe" 2>"$tmp/errors" 3>&- &
	consumer=$!
	(
		for ((i = 0; i < 300; i++)); do
			echo "$pad-$i"
			((i % 20 == 0)) && sleep 0.05
		done
	) 3>&- | mq-produce --batch-bytes 1 --linger-ms 0 t 3>&- &
	producer=$!
	for ((k = 0; k < 15; k++)); do
		mq-retain -q t
		sleep 0.2
	done
	wait "$producer"
	mq-retain -q t
	# The consumer catches up with the log end (offset 299), then stops.
	for _ in $(seq 400); do
		[ "$(tail -n 1 "$tmp/seen")" = 299 ] && break
		sleep 0.05
	done
	kill "$consumer"
	wait "$consumer" || true
	wait "$reader"
	[ "$(tail -n 1 "$tmp/seen")" = 299 ]
	# Offsets strictly increase; the only complaint is the warning, once
	# for every gap, naming exactly the offsets skipped.
	awk 'NR > 1 && $1 <= prev { exit 1 } { prev = $1 }' "$tmp/seen"
	run grep -v ': warning: ' "$tmp/errors"
	[ "$output" = "" ]
	gaps=$(awk 'BEGIN { prev = -1 }
		$1 != prev + 1 { print prev + 1 "-" $1 - 1, $1 } { prev = $1 }' \
		"$tmp/seen")
	warned=$(sed -n 's/^mq-consume: warning: offsets \([0-9]*-[0-9]*\) of t\/0 are no longer available; continuing at log start \([0-9]*\)$/\1 \2/p' \
		"$tmp/errors")
	echo "gaps: $gaps"
	echo "warnings: $warned"
	# (A consumer that opened after a deletion starts at the log start
	# without a warning.)
	[ "$gaps" = "$warned" ] || [ "$(sed '1{/^0-/d}' <<<"$gaps")" = "$warned" ]
	run mq-inspect --verify t
	[ "$status" -eq 0 ]
	# Retention did its job: the oldest records are gone.
	run mq-consume -c 1 -F '%o\n' t
	[ "$output" -ge 290 ]
}
