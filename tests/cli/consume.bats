#!/usr/bin/env bats
# mq-consume: reading records back as lines, formats, JSON, offsets, follow.

bats_require_minimum_version 1.5.0
load helper

# Timestamps used below: 2026-11-23T10:00:00Z, 2026-11-23T10:15:30Z and
# 2026-11-24T00:00:00Z in milliseconds.
T1=1795428000000
T2=1795428930000
T3=1795478400000

# abc: topic t with three plain records a, b, c.
abc() {
	mq-create t
	printf 'a\nb\nc\n' | mq-produce t
}

# wait_lines FILE N: wait up to 10 s for FILE to hold N lines (generous: a
# loaded machine under ASan can stall a follower for seconds).
wait_lines() {
	local i
	for i in $(seq 200); do
		[ "$(wc -l < "$1")" -ge "$2" ] && return 0
		sleep 0.05
	done
	return 1
}

# watching PID: mq-consume -f PID has set up its inotify watches, which it
# does after opening its partitions (and resolving -o) and before its first
# read; waits up to 10 s.
watching() {
	local i
	for i in $(seq 200); do
		grep -qs '^inotify wd:' /proc/"$1"/fdinfo/* && return 0
		sleep 0.05
	done
	return 1
}

# one_per_batch TOPIC N: append records r0..rN-1, one batch each.
one_per_batch() {
	local i
	for ((i = 0; i < $2; i++)); do
		echo "r$i" | mq-produce "$1"
	done
}

@test "--help prints usage on stdout and exits 0" {
	run --separate-stderr mq-consume --help
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Usage: mq-consume [OPTION]... TOPIC[,TOPIC...]..." ]
	[ "$stderr" = "" ]
	run mq-consume -h
	[ "$status" -eq 0 ]
}

@test "--version prints the version" {
	run mq-consume --version
	[ "$status" -eq 0 ]
	[ "$output" = "mq-consume (mq) 0.1.0" ]
	run mq-consume -V
	[ "$output" = "mq-consume (mq) 0.1.0" ]
}

@test "an unknown option is a usage error" {
	run --separate-stderr mq-consume --bogus t
	[ "$status" -eq 2 ]
	[ "$output" = "" ]
	[ "${stderr_lines[0]}" = "mq-consume: unrecognized option '--bogus'" ]
	[ "${stderr_lines[1]}" = "Try 'mq-consume --help' for more information." ]
}

@test "no topic is a usage error" {
	run mq-consume
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "mq-consume: no topic given" ]
}

@test "an invalid topic name is a usage error" {
	run mq-consume 'bad/name'
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "mq-consume: invalid topic name 'bad/name'" ]
	run mq-consume 'a,,b'
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "mq-consume: invalid topic name ''" ]
}

@test "a missing topic is an error" {
	mq-create t
	run mq-consume t,nope
	[ "$status" -eq 1 ]
	[ "$output" = "mq-consume: topic 'nope' does not exist" ]
}

@test "a pattern that matches nothing is an error" {
	mq-create t
	run mq-consume 'logs.*'
	[ "$status" -eq 1 ]
	[ "$output" = "mq-consume: no topic matches 'logs.*'" ]
}

@test "an empty topic prints nothing" {
	mq-create t
	run mq-consume t
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
}

@test "default output is each value and a newline" {
	abc
	run mq-consume t
	[ "$status" -eq 0 ]
	[ "$output" = $'a\nb\nc' ]
	mq-consume t > "$BATS_TEST_TMPDIR/out"
	[ "$(bytes_hex "$BATS_TEST_TMPDIR/out")" = "610a620a630a" ]
}

@test "-d selects the data directory" {
	abc
	dir=$MQ_DIR
	MQ_DIR=/nonexistent run mq-consume -d "$dir" t
	[ "$status" -eq 0 ]
	[ "$output" = $'a\nb\nc' ]
	run mq-consume --dir="$dir" t
	[ "$output" = $'a\nb\nc' ]
}

@test "-F writes each token" {
	mq-create t
	echo '{"key":"k1","value":"v1","timestamp":1795428930000,"headers":{"h1":"x","h2":"y"}}' |
		mq-produce --json t
	run mq-consume -F '%t|%p|%o|%k|%s|%T|%h|%K|%S|%%\n' t
	[ "$status" -eq 0 ]
	[ "$output" = "t|0|0|k1|v1|1795428930000|h1=x,h2=y|2|2|%" ]
	run mq-consume --format='[%s]' t
	[ "$output" = "[v1]" ]
}

@test "-F with null key, tombstone and null header" {
	mq-create t
	echo '{"key":null,"value":null,"timestamp":1000,"headers":{"h":null}}' |
		mq-produce --json t
	run mq-consume -F '<%k><%s><%K><%S><%h>\n' t
	[ "$status" -eq 0 ]
	[ "$output" = "<><><-1><-1><h>" ]
}

@test "-F %R writes the value length as 4 big-endian bytes" {
	mq-create t
	printf 'abc\n\n' | mq-produce t
	echo '{"value":null}' | mq-produce --json t
	mq-consume -F '%R%s' t > "$BATS_TEST_TMPDIR/out"
	[ "$(bytes_hex "$BATS_TEST_TMPDIR/out")" = "0000000361626300000000ffffffff" ]
}

@test "-F escapes" {
	abc
	mq-consume -c 1 -F '%s\t\r\0\\\n' t > "$BATS_TEST_TMPDIR/out"
	[ "$(bytes_hex "$BATS_TEST_TMPDIR/out")" = "61090d005c0a" ]
}

@test "-F rejects an unknown token or escape" {
	abc
	run mq-consume -F '%x' t
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "mq-consume: unknown format token '%x'" ]
	[ "${lines[1]}" = "Try 'mq-consume --help' for more information." ]
	run mq-consume -F '\q' t
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "mq-consume: unknown escape '\\q' in format" ]
	run mq-consume -F 'x%' t
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "mq-consume: format ends in a lone '%'" ]
}

@test "-F, -0 and --json exclude each other" {
	abc
	run mq-consume -0 --json t
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "mq-consume: -F, -0 and --json exclude each other" ]
}

@test "-0 ends each value with NUL" {
	abc
	mq-consume -0 t > "$BATS_TEST_TMPDIR/out"
	[ "$(bytes_hex "$BATS_TEST_TMPDIR/out")" = "610062006300" ]
	mq-consume --null t > "$BATS_TEST_TMPDIR/out"
	[ "$(bytes_hex "$BATS_TEST_TMPDIR/out")" = "610062006300" ]
}

@test "--json writes one exact object per record" {
	mq-create t
	mq-produce --json t <<-'EOF'
	{"key":"k","value":"v","timestamp":1000}
	{"key":null,"value":"no key","timestamp":2000}
	{"key":"gone","value":null,"timestamp":3000}
	{"value":"h","timestamp":4000,"headers":{"a":"1","b":null,"c":{"b64":"/w=="}}}
	{"value_b64":"/wA=","timestamp":5000}
	{"value":"q\"\\\n\t\u0001é","timestamp":6000}
	EOF
	run mq-consume --json t
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = '{"topic":"t","partition":0,"offset":0,"timestamp":1000,"key":"k","value":"v","headers":{}}' ]
	[ "${lines[1]}" = '{"topic":"t","partition":0,"offset":1,"timestamp":2000,"key":null,"value":"no key","headers":{}}' ]
	[ "${lines[2]}" = '{"topic":"t","partition":0,"offset":2,"timestamp":3000,"key":"gone","value":null,"headers":{}}' ]
	[ "${lines[3]}" = '{"topic":"t","partition":0,"offset":3,"timestamp":4000,"key":null,"value":"h","headers":{"a":"1","b":null,"c":{"b64":"/w=="}}}' ]
	[ "${lines[4]}" = '{"topic":"t","partition":0,"offset":4,"timestamp":5000,"key":null,"value_b64":"/wA=","headers":{}}' ]
	[ "${lines[5]}" = '{"topic":"t","partition":0,"offset":5,"timestamp":6000,"key":null,"value":"q\"\\\n\t\u0001é","headers":{}}' ]
	[ "${#lines[@]}" -eq 6 ]
}

@test "--json output feeds mq-produce --json unchanged" {
	mq-create t
	mq-create u
	mq-produce --json t <<-'EOF'
	{"key":"k","value":"v","timestamp":1000,"headers":{"a":"1","b":null,"c":{"b64":"/w=="}}}
	{"key_b64":"gA==","value":null,"timestamp":2000}
	EOF
	mq-consume --json t | mq-produce --json u
	run mq-consume --json u
	[ "${lines[0]}" = '{"topic":"u","partition":0,"offset":0,"timestamp":1000,"key":"k","value":"v","headers":{"a":"1","b":null,"c":{"b64":"/w=="}}}' ]
	[ "${lines[1]}" = '{"topic":"u","partition":0,"offset":1,"timestamp":2000,"key_b64":"gA==","value":null,"headers":{}}' ]
}

@test "-p restricts partitions" {
	mq-create -p 3 t
	echo p0 | mq-produce -p 0 t
	echo p1 | mq-produce -p 1 t
	echo p2 | mq-produce -p 2 t
	run mq-consume -p 1 t
	[ "$status" -eq 0 ]
	[ "$output" = "p1" ]
	run mq-consume -F '%p:%s\n' -p 2 --partition 0 -p 2 t
	[ "$output" = $'2:p2\n0:p0' ]
	run mq-consume -F '%p:%s\n' t
	[ "$output" = $'0:p0\n1:p1\n2:p2' ]
}

@test "-p out of range is an error, a bad -p a usage error" {
	mq-create -p 2 t
	run mq-consume -p 2 t
	[ "$status" -eq 1 ]
	[ "$output" = "mq-consume: topic 't' has no partition 2 (it has 2)" ]
	run mq-consume -p -1 t
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "mq-consume: invalid partition '-1'" ]
	run mq-consume -p x t
	[ "$status" -eq 2 ]
}

@test "partitions interleave and each stays in offset order" {
	mq-create -p 2 t
	seq 1 1000 | mq-produce -p 0 t
	seq 1001 2000 | mq-produce -p 1 t
	run mq-consume -F '%p %o %s\n' t
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2000 ]
	# Both partitions appear before either is finished.
	[ "$(printf '%s\n' "${lines[@]:0:1000}" | cut -d' ' -f1 | sort -u | wc -l)" -eq 2 ]
	# Within each partition the offsets run 0..999 in order.
	[ "$(printf '%s\n' "${lines[@]}" | awk '$1 == 0 { print $2 }' | tr '\n' ' ')" = "$(seq -s ' ' 0 999) " ]
	[ "$(printf '%s\n' "${lines[@]}" | awk '$1 == 1 { print $3 }' | tr '\n' ' ')" = "$(seq -s ' ' 1001 2000) " ]
}

@test "-o beginning, end, N and -N" {
	mq-create t
	seq 0 9 | mq-produce t
	run mq-consume -o beginning t
	[ "$output" = "$(seq 0 9)" ]
	run mq-consume -o end t
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
	run mq-consume -o 7 t
	[ "$output" = $'7\n8\n9' ]
	run mq-consume --offset=-2 t
	[ "$output" = $'8\n9' ]
	run mq-consume -o -20 t
	[ "$output" = "$(seq 0 9)" ]
	run mq-consume -o 20 t
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
}

@test "-o -N counts from the end of each partition" {
	mq-create -p 2 t
	seq 0 4 | mq-produce -p 0 t
	seq 10 12 | mq-produce -p 1 t
	run mq-consume -o -2 -F '%p:%o:%s\n' t
	[ "$(printf '%s\n' "${lines[@]}" | sort)" = $'0:3:3\n0:4:4\n1:1:11\n1:2:12' ]
}

@test "-o rejects a bad offset or timestamp" {
	abc
	run mq-consume -o middle t
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "mq-consume: invalid offset 'middle'" ]
	run mq-consume -o @2026-13-01 t
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "mq-consume: invalid timestamp '2026-13-01'" ]
	run mq-consume -o @yesterday t
	[ "$status" -eq 2 ]
}

@test "-o @TIME finds the first record at or after TIME" {
	mq-create t
	mq-produce --json t <<-EOF
	{"value":"one","timestamp":$T1}
	{"value":"two","timestamp":$T2}
	{"value":"three","timestamp":$T3}
	EOF
	run mq-consume -o @$T2 t
	[ "$status" -eq 0 ]
	[ "$output" = $'two\nthree' ]
	run mq-consume -o @$((T2 + 1)) t
	[ "$output" = "three" ]
	run mq-consume -o @0 t
	[ "$output" = $'one\ntwo\nthree' ]
	run mq-consume -o @2026-11-23T10:15:30Z t
	[ "$output" = $'two\nthree' ]
	run mq-consume -o @2026-11-23T10:15:30.001Z t
	[ "$output" = "three" ]
	run mq-consume -o @2026-11-23T11:15:30+01:00 t
	[ "$output" = $'two\nthree' ]
	run mq-consume -o @2026-11-23T05:00:00-05:00 t
	[ "$output" = $'one\ntwo\nthree' ]
	run mq-consume -o @2026-11-24 t
	[ "$output" = "three" ]
	run mq-consume -o @2026-11-25 t
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
}

@test "-c stops after N records in total" {
	mq-create -p 2 t
	seq 1 5 | mq-produce -p 0 t
	seq 6 9 | mq-produce -p 1 t
	run mq-consume -c 2 -p 0 t
	[ "$output" = $'1\n2' ]
	run mq-consume --count 7 t
	[ "${#lines[@]}" -eq 7 ]
	run mq-consume -c 0 t
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
	run mq-consume -c -1 t
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "mq-consume: invalid count '-1'" ]
}

@test "patterns and comma lists name several topics, each once" {
	mq-create logs.a
	mq-create logs.b
	mq-create other
	echo A | mq-produce logs.a
	echo B | mq-produce logs.b
	echo O | mq-produce other
	run mq-consume -F '%t:%s\n' 'logs.*'
	[ "$status" -eq 0 ]
	[ "$output" = $'logs.a:A\nlogs.b:B' ]
	run mq-consume -F '%t:%s\n' other,logs.b
	[ "$output" = $'other:O\nlogs.b:B' ]
	run mq-consume -F '%t:%s\n' other 'logs.?,other' logs.a
	[ "$output" = $'other:O\nlogs.a:A\nlogs.b:B' ]
	run mq-consume -F '%t:%s\n' '[lo]*'
	[ "$output" = $'logs.a:A\nlogs.b:B\nother:O' ]
}

@test "-f sees records appended after it started, SIGTERM ends it cleanly" {
	abc
	out=$BATS_TEST_TMPDIR/out
	mq-consume -f t > "$out" 2> "$BATS_TEST_TMPDIR/err" 3>&- &
	pid=$!
	wait_lines "$out" 3
	echo d | mq-produce t
	wait_lines "$out" 4
	echo e | mq-produce t
	wait_lines "$out" 5
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	[ "$status" -eq 0 ]
	[ "$(cat "$out")" = $'a\nb\nc\nd\ne' ]
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
}

@test "-f -o end shows only new records, SIGINT ends it cleanly" {
	abc
	out=$BATS_TEST_TMPDIR/out
	mq-consume -f -o end -F '%o:%s\n' t > "$out" 3>&- &
	pid=$!
	# Wait until it has found the end before appending.
	watching "$pid"
	echo new | mq-produce t
	wait_lines "$out" 1
	kill -INT "$pid"
	status=0
	wait "$pid" || status=$?
	[ "$status" -eq 0 ]
	[ "$(cat "$out")" = "3:new" ]
}

@test "-f -c N exits after N records, including later ones" {
	abc
	out=$BATS_TEST_TMPDIR/out
	mq-consume -f -c 4 t > "$out" 3>&- &
	pid=$!
	wait_lines "$out" 3
	echo d | mq-produce t
	# Bounded: a follower that missed d would otherwise hang the suite.
	wait_lines "$out" 4
	status=0
	wait "$pid" || status=$?
	[ "$status" -eq 0 ]
	[ "$(cat "$out")" = $'a\nb\nc\nd' ]
}

@test "a closed pipe ends mq-consume quietly with status 0" {
	mq-create t
	seq 1 200000 | mq-produce t
	run --separate-stderr bash -c 'mq-consume t | head -1; echo "status ${PIPESTATUS[0]}"'
	[ "$output" = $'1\nstatus 0' ]
	[ "$stderr" = "" ]
	# Following too: a reader that goes away ends the wait.
	run --separate-stderr timeout 20 bash -c 'mq-consume -f t | head -1; echo "status ${PIPESTATUS[0]}"'
	[ "$output" = $'1\nstatus 0' ]
	[ "$stderr" = "" ]
}

@test "a write error on stdout exits 1" {
	abc
	run bash -c 'mq-consume t > /dev/full'
	[ "$status" -eq 1 ]
	[ "$output" = "mq-consume: cannot write to standard output: No space left on device" ]
}

@test "offsets run on across segment rolls" {
	mq-create -c segment.bytes=200 t
	one_per_batch t 10
	[ "$(ls "$MQ_DIR"/t-0/*.log | wc -l)" -gt 2 ]
	run mq-consume -F '%o:%s\n' t
	[ "$status" -eq 0 ]
	[ "$output" = "$(for i in $(seq 0 9); do echo "$i:r$i"; done)" ]
	run mq-consume -o 5 -F '%o:%s\n' t
	[ "$output" = $'5:r5\n6:r6\n7:r7\n8:r8\n9:r9' ]
	run mq-consume -o -3 t
	[ "$output" = $'r7\nr8\nr9' ]
}

@test "an offset removed by retention starts at the log start with a warning" {
	mq-create -c segment.bytes=200 t
	one_per_batch t 10
	first=$(ls "$MQ_DIR"/t-0/*.log | head -1)
	second=$(ls "$MQ_DIR"/t-0/*.log | sed -n 2p)
	start=$(basename "$second" .log)
	start=$((10#$start))
	rm -f "${first%.log}".*
	run --separate-stderr mq-consume -o 0 -F '%o\n' t
	[ "$status" -eq 0 ]
	[ "$stderr" = "mq-consume: warning: offset 0 of t/0 is no longer available; starting at log start $start" ]
	[ "${lines[0]}" = "$start" ]
	[ "${lines[-1]}" = "9" ]
	run --separate-stderr mq-consume -F '%o\n' t
	[ "$stderr" = "" ]
	[ "${lines[0]}" = "$start" ]
}

@test "all 256 byte values survive in values (%R%s) and keys (key_b64)" {
	mq-create t
	all=$BATS_TEST_TMPDIR/all.bin
	fmt=$(printf '\\%03o' $(seq 0 255))
	printf "$fmt" > "$all"
	[ "$(bytes_hex "$all" | cut -c1-8)" = "00010203" ]
	[ "$(stat -c %s "$all")" -eq 256 ]
	# The value, "hi", and a null value (length ffffffff).
	{ printf '\0\0\1\0'; cat "$all"; printf '\0\0\0\2hi\377\377\377\377'; } > "$BATS_TEST_TMPDIR/framed"
	mq-produce --length-prefixed t < "$BATS_TEST_TMPDIR/framed"
	mq-consume -F '%R%s' t > "$BATS_TEST_TMPDIR/out"
	cmp "$BATS_TEST_TMPDIR/framed" "$BATS_TEST_TMPDIR/out"
	run mq-consume -F '%S\n' t
	[ "$output" = $'256\n2\n-1' ]
	# And through a second topic, as a copy pipeline would.
	mq-create copy
	mq-consume -F '%R%s' t | mq-produce --length-prefixed copy
	mq-consume -F '%R%s' copy > "$BATS_TEST_TMPDIR/out2"
	cmp "$BATS_TEST_TMPDIR/framed" "$BATS_TEST_TMPDIR/out2"

	mq-create u
	b64=$(base64 -w0 "$all")
	echo "{\"key_b64\":\"$b64\",\"value\":\"x\",\"timestamp\":7}" | mq-produce --json u
	mq-consume -F '%k' u > "$BATS_TEST_TMPDIR/key"
	cmp "$all" "$BATS_TEST_TMPDIR/key"
	run mq-consume --json u
	[ "$output" = "{\"topic\":\"u\",\"partition\":0,\"offset\":0,\"timestamp\":7,\"key_b64\":\"$b64\",\"value\":\"x\",\"headers\":{}}" ]
}

@test "corruption: records before the damage, then the message and exit 4" {
	mq-create -c segment.bytes=200 t
	one_per_batch t 10
	second=$(ls "$MQ_DIR"/t-0/*.log | sed -n 2p)
	base=$(basename "$second" .log)
	base=$((10#$base))
	# Change the value of the first record of the second segment: its
	# batch header is 61 bytes, then come the record's length, attributes,
	# deltas, key and value lengths, and the value "r2" at byte 67.
	[ "$(dd if="$second" bs=1 skip=67 count=2 status=none)" = "r$base" ]
	printf 'X' | dd of="$second" bs=1 seek=68 conv=notrunc status=none
	run --separate-stderr mq-consume -F '%o\n' t
	[ "$status" -eq 4 ]
	[ "$output" = "$(seq 0 $((base - 1)))" ]
	[[ $stderr == "mq-consume: "*"'t'"*"partition 0"*"offset $base"* ]]
	[ "${#stderr_lines[@]}" -eq 1 ]
}

@test "-f follows several partitions across segment rolls" {
	mq-create -p 2 -c segment.bytes=200 t
	out=$BATS_TEST_TMPDIR/out
	mq-consume -f -F '%p:%o:%s\n' t > "$out" 3>&- &
	pid=$!
	for i in 0 1 2 3 4 5 6 7; do
		echo "r$i" | mq-produce -p $((i % 2)) t
	done
	wait_lines "$out" 8
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	[ "$status" -eq 0 ]
	[ "$(ls "$MQ_DIR"/t-1/*.log | wc -l)" -gt 1 ]
	[ "$(sort "$out" | tr '\n' ' ')" = "0:0:r0 0:1:r2 0:2:r4 0:3:r6 1:0:r1 1:1:r3 1:2:r5 1:3:r7 " ]
}
