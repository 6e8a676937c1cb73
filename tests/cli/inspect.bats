#!/usr/bin/env bats
# mq-inspect: listing, detail, JSON, dumping and verifying, read-only.

bats_require_minimum_version 1.5.0
load helper

# 2026-11-23T09:00:00.000Z in milliseconds.
T0=1795424400000

# produce_t: topic t (one partition) with three records at T0, +1 s, +2 s,
# in one batch of 90 bytes (61 header + 9 + 10 + 10).
produce_t() {
	mq-create t
	printf '%s\n' \
		"{\"key\":\"a\",\"value\":\"1\",\"timestamp\":$T0}" \
		"{\"key\":\"b\",\"value\":\"2\",\"timestamp\":$((T0 + 1000))}" \
		"{\"key\":\"c\",\"value\":\"3\",\"timestamp\":$((T0 + 2000))}" |
		mq-produce --json t
}

# produce_s: topic s whose segments hold two one-record batches of 72
# bytes each (segment.bytes=200), with an index entry for every batch
# after the first of a segment (index.interval.bytes=0): k1..k4 at
# T0 + 1 s .. T0 + 4 s, offsets 0..3, segments 0 and 2.
produce_s() {
	mq-create -c index.interval.bytes=0 -c segment.bytes=200 s
	for i in 1 2 3 4; do
		echo "{\"key\":\"k$i\",\"value\":\"v$i\",\"timestamp\":$((T0 + i * 1000))}" |
			mq-produce --json s
	done
}

# checksums: every file of the data directory with its MD5.
checksums() {
	find "$MQ_DIR" -type f -exec md5sum {} + | sort
}

# flip FILE POS: replace the byte at POS with its complement, in place.
flip() {
	local b
	b=$(od -An -v -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	[ -n "$b" ] || return 1
	printf "\\$(printf %03o $((b ^ 255)))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# crc32c FILE: the CRC-32C (Castagnoli) of the file, as 8 hex digits,
# computed bit by bit with the reflected polynomial 0x82f63b78.  Plain awk
# (mawk has no xor()) and od, so it runs on a minimal Debian.
crc32c() {
	od -An -v -tu1 "$1" | awk '
	# bxor A B: the bitwise exclusive or of two non-negative integers.
	function bxor(a, b,    r, p) {
		r = 0
		for (p = 1; a > 0 || b > 0; p *= 2) {
			if (a % 2 != b % 2)
				r += p
			a = int(a / 2)
			b = int(b / 2)
		}
		return r
	}
	BEGIN { crc = 4294967295; poly = 2197175160 }	# 0xffffffff, 0x82f63b78
	{
		for (i = 1; i <= NF; i++) {
			crc = bxor(crc, $i)
			for (k = 0; k < 8; k++)
				crc = crc % 2 ? bxor((crc - 1) / 2, poly) : crc / 2
		}
	}
	END {
		crc = bxor(crc, 4294967295)
		for (k = 0; k < 8; k++) {
			hex = substr("0123456789abcdef", crc % 16 + 1, 1) hex
			crc = int(crc / 16)
		}
		print hex
	}'
}

# kafka_segment FILE: a RecordBatch v2 laid out by hand as Kafka writes
# one, base offset 100, two records:
#   100  ts 1700000000000  key "k1"  value "hello"      header h=x
#   101  ts 1700000000005  key null  value "a\tb\xff"   no headers
kafka_segment() {
	local body=$BATS_TEST_TMPDIR/body crc
	{
		printf '\x00\x00'                       # attributes
		printf '\x00\x00\x00\x01'               # lastOffsetDelta 1
		printf '\x00\x00\x01\x8b\xcf\xe5\x68\x00' # baseTimestamp
		printf '\x00\x00\x01\x8b\xcf\xe5\x68\x05' # maxTimestamp
		printf '\xff\xff\xff\xff\xff\xff\xff\xff' # producerId -1
		printf '\xff\xff'                       # producerEpoch -1
		printf '\xff\xff\xff\xff'               # baseSequence -1
		printf '\x00\x00\x00\x02'               # records 2
		# Record 0: length 17, attributes, timestampDelta 0,
		# offsetDelta 0, key "k1", value "hello", 1 header h=x.
		printf '\x22\x00\x00\x00\x04k1\x0ahello\x02\x02h\x02x'
		# Record 1: length 10, attributes, timestampDelta 5,
		# offsetDelta 1, null key, value "a\tb\xff", no headers.
		printf '\x14\x00\x0a\x02\x01\x08a\tb\xff\x00'
	} >"$body"
	crc=$(crc32c "$body")
	{
		printf '\x00\x00\x00\x00\x00\x00\x00\x64' # baseOffset 100
		printf '\x00\x00\x00\x4e'               # batchLength 78
		printf '\x00\x00\x00\x00'               # partitionLeaderEpoch
		printf '\x02'                           # magic
		printf "\\x${crc:0:2}\\x${crc:2:2}\\x${crc:4:2}\\x${crc:6:2}"
		cat "$body"
	} >"$1"
	echo "$crc"
}

@test "list: no topics gives the header alone" {
	mq-create -d "$MQ_DIR" x
	mq-create --delete x
	run mq-inspect
	[ "$status" -eq 0 ]
	[ "$output" = "TOPIC  PARTITIONS  SIZE  RECORDS  START  END  FIRST-TIMESTAMP  LAST-TIMESTAMP" ]
}

@test "list: one line per topic with sizes, offsets and timestamps" {
	produce_t
	mq-create -p 2 u
	echo '{"value":"x","timestamp":1795424410000}' | mq-produce --json -p 1 u
	echo '{"value":"y","timestamp":1795424405000}' | mq-produce --json -p 0 u
	echo '{"value":"z","timestamp":1795424420000}' | mq-produce --json -p 0 u
	mq-create empty
	run --separate-stderr mq-inspect
	[ "$status" -eq 0 ]
	[ "$stderr" = "" ]
	[ "${lines[0]}" = "TOPIC  PARTITIONS  SIZE  RECORDS  START  END  FIRST-TIMESTAMP           LAST-TIMESTAMP" ]
	[ "${lines[1]}" = "empty           1     0        0      0    0  -                         -" ]
	[ "${lines[2]}" = "t               1    90        3      0    3  2026-11-23T09:00:00.000Z  2026-11-23T09:00:02.000Z" ]
	[ "${lines[3]}" = "u               2   207        3      0    3  2026-11-23T09:00:05.000Z  2026-11-23T09:00:20.000Z" ]
	[ "${#lines[@]}" -eq 4 ]
}

@test "detail: partitions, segments and the whole config" {
	produce_s
	run --separate-stderr mq-inspect s
	[ "$status" -eq 0 ]
	[ "$stderr" = "" ]
	expected="topic: s

PARTITION  START  END  RECORDS  SIZE  SEGMENTS  FIRST-TIMESTAMP           LAST-TIMESTAMP
        0      0    4        4   328         2  2026-11-23T09:00:01.000Z  2026-11-23T09:00:04.000Z

PARTITION  BASE  NEXT  RECORDS  BATCHES  LOG  INDEX  TIMEINDEX  FIRST-TIMESTAMP           MAX-TIMESTAMP
        0     0     2        2        2  144      8         12  2026-11-23T09:00:01.000Z  2026-11-23T09:00:02.000Z
        0     2     4        2        2  144      8         12  2026-11-23T09:00:03.000Z  2026-11-23T09:00:04.000Z

# config
partitions = 1
segment.bytes = 200
segment.ms = 604800000
retention.ms = 604800000
retention.bytes = -1
cleanup.policy = delete
delete.retention.ms = 86400000
min.cleanable.dirty.ratio = 0.5
min.compaction.lag.ms = 0
max.message.bytes = 1048588
compression.type = producer
message.timestamp.type = CreateTime
index.interval.bytes = 0
flush.messages = 9223372036854775807
flush.ms = 9223372036854775807"
	[ "$output" = "$expected" ]
}

@test "detail: several topics, multi-partition sums" {
	produce_t
	mq-create -p 2 u
	echo '{"value":"x","timestamp":1795424410000}' | mq-produce --json -p 1 u
	run mq-inspect u t
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "topic: u" ]
	[ "${lines[1]}" = "PARTITION  START  END  RECORDS  SIZE  SEGMENTS  FIRST-TIMESTAMP           LAST-TIMESTAMP" ]
	[ "${lines[2]}" = "        0      0    0        0     0         1  -                         -" ]
	[ "${lines[3]}" = "        1      0    1        1    69         1  2026-11-23T09:00:10.000Z  2026-11-23T09:00:10.000Z" ]
	[ "${lines[4]}" = "PARTITION  BASE  NEXT  RECORDS  BATCHES  LOG  INDEX  TIMEINDEX  FIRST-TIMESTAMP           MAX-TIMESTAMP" ]
	[ "${lines[5]}" = "        0     0     0        0        0    0      0          0  -                         -" ]
	[ "${lines[6]}" = "        1     0     1        1        1   69      0          0  2026-11-23T09:00:10.000Z  2026-11-23T09:00:10.000Z" ]
	[ "${lines[7]}" = "# config" ]
	[ "${lines[8]}" = "partitions = 2" ]
	# bats drops empty lines from $lines: the second topic follows the
	# first one's config.
	n=$(printf '%s\n' "${lines[@]}" | grep -c '^topic: ')
	[ "$n" -eq 2 ]
	[ "$(printf '%s\n' "${lines[@]}" | grep '^topic: ' | tail -1)" = "topic: t" ]
	[[ "$output" == *"

topic: t
"* ]]
}

@test "--json: the list parses and has the numbers" {
	produce_t
	mq-create -p 2 u
	run --separate-stderr mq-inspect --json
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	# Every field of both topics, in order: t with its numbers, u empty
	# with null timestamps.
	t='{"topic":"t","partition_count":1,"size":90,"records":3,"start":0,"end":3,"first_timestamp":1795424400000,"last_timestamp":1795424402000}'
	u='{"topic":"u","partition_count":2,"size":0,"records":0,"start":0,"end":0,"first_timestamp":null,"last_timestamp":null}'
	[ "$output" = "{\"topics\":[$t,$u]}" ]
}

@test "--json: the detail parses and has partitions, segments, config" {
	produce_s
	run --separate-stderr mq-inspect -j s
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	# The topic's sums, its one partition, both segments and all 15
	# config keys, in order.
	seg0='{"base_offset":0,"next_offset":2,"records":2,"batches":2,"log_bytes":144,"index_bytes":8,"timeindex_bytes":12,"first_timestamp":1795424401000,"max_timestamp":1795424402000}'
	seg1='{"base_offset":2,"next_offset":4,"records":2,"batches":2,"log_bytes":144,"index_bytes":8,"timeindex_bytes":12,"first_timestamp":1795424403000,"max_timestamp":1795424404000}'
	part='{"partition":0,"start":0,"end":4,"records":4,"size":328,"first_timestamp":1795424401000,"last_timestamp":1795424404000,"segments":['"$seg0,$seg1"']}'
	conf='{"partitions":"1","segment.bytes":"200","segment.ms":"604800000","retention.ms":"604800000","retention.bytes":"-1","cleanup.policy":"delete","delete.retention.ms":"86400000","min.cleanable.dirty.ratio":"0.5","min.compaction.lag.ms":"0","max.message.bytes":"1048588","compression.type":"producer","message.timestamp.type":"CreateTime","index.interval.bytes":"0","flush.messages":"9223372036854775807","flush.ms":"9223372036854775807"}'
	topic='{"topic":"s","partition_count":1,"size":328,"records":4,"start":0,"end":4,"first_timestamp":1795424401000,"last_timestamp":1795424404000,"partitions":['"$part"'],"config":'"$conf"'}'
	[ "$output" = "{\"topics\":[$topic]}" ]
}

@test "--dump of a segment file: one line per batch and per record" {
	produce_t
	f=$MQ_DIR/t-0/00000000000000000000.log
	run --separate-stderr mq-inspect --dump "$f"
	[ "$status" -eq 0 ]
	[ "$stderr" = "" ]
	[ "$output" = "Dumping $f
baseOffset: 0 lastOffset: 2 count: 3 position: 0 size: 90 magic: 2 compression: none timestampType: CreateTime baseTimestamp: 1795424400000 maxTimestamp: 1795424402000 producerId: -1 producerEpoch: -1 baseSequence: -1 leaderEpoch: 0 isTransactional: false isControl: false crc: 0x63144923 crcValid: true
| offset: 0 timestamp: 1795424400000 keySize: 1 valueSize: 1 key: a value: 1 headers: []
| offset: 1 timestamp: 1795424401000 keySize: 1 valueSize: 1 key: b value: 2 headers: []
| offset: 2 timestamp: 1795424402000 keySize: 1 valueSize: 1 key: c value: 3 headers: []" ]
}

@test "--dump escapes bytes and shows nulls and headers" {
	mq-create e
	printf '%s\n' \
		'{"key":"k\tx","value":null,"headers":{"h1":"v1","h2":null},"timestamp":1795424400000}' \
		'{"key":null,"value":"caf\u00e9 \\ end","timestamp":1795424400001}' |
		mq-produce --json e
	run mq-inspect --dump "$MQ_DIR/e-0/00000000000000000000.log"
	[ "$status" -eq 0 ]
	[ "${lines[2]}" = '| offset: 0 timestamp: 1795424400000 keySize: 3 valueSize: -1 key: k\x09x value: null headers: [h1=v1,h2=null]' ]
	[ "${lines[3]}" = '| offset: 1 timestamp: 1795424400001 keySize: -1 valueSize: 11 key: null value: caf\xc3\xa9 \x5c end headers: []' ]
}

@test "--dump of a partition directory: every segment by base offset" {
	produce_s
	run --separate-stderr mq-inspect --dump "$MQ_DIR/s-0/"
	[ "$status" -eq 0 ]
	[ "$stderr" = "" ]
	b="magic: 2 compression: none timestampType: CreateTime"
	p="producerId: -1 producerEpoch: -1 baseSequence: -1 leaderEpoch: 0 isTransactional: false isControl: false"
	[ "$output" = "Dumping $MQ_DIR/s-0/00000000000000000000.log
baseOffset: 0 lastOffset: 0 count: 1 position: 0 size: 72 $b baseTimestamp: 1795424401000 maxTimestamp: 1795424401000 $p crc: 0x10d1f843 crcValid: true
| offset: 0 timestamp: 1795424401000 keySize: 2 valueSize: 2 key: k1 value: v1 headers: []
baseOffset: 1 lastOffset: 1 count: 1 position: 72 size: 72 $b baseTimestamp: 1795424402000 maxTimestamp: 1795424402000 $p crc: 0xe8d4d72c crcValid: true
| offset: 1 timestamp: 1795424402000 keySize: 2 valueSize: 2 key: k2 value: v2 headers: []
Dumping $MQ_DIR/s-0/00000000000000000002.log
baseOffset: 2 lastOffset: 2 count: 1 position: 0 size: 72 $b baseTimestamp: 1795424403000 maxTimestamp: 1795424403000 $p crc: 0x3e14c24f crcValid: true
| offset: 2 timestamp: 1795424403000 keySize: 2 valueSize: 2 key: k3 value: v3 headers: []
baseOffset: 3 lastOffset: 3 count: 1 position: 72 size: 72 $b baseTimestamp: 1795424404000 maxTimestamp: 1795424404000 $p crc: 0x63bfc80e crcValid: true
| offset: 3 timestamp: 1795424404000 keySize: 2 valueSize: 2 key: k4 value: v4 headers: []" ]
}

@test "--dump of .index and .timeindex files" {
	produce_s
	run mq-inspect --dump "$MQ_DIR/s-0/00000000000000000002.index" \
		"$MQ_DIR/s-0/00000000000000000002.timeindex"
	[ "$status" -eq 0 ]
	[ "$output" = "Dumping $MQ_DIR/s-0/00000000000000000002.index
offset: 3 position: 72
Dumping $MQ_DIR/s-0/00000000000000000002.timeindex
timestamp: 1795424404000 offset: 3" ]
}

@test "--dump of an index stops at preallocated zeros; a torn entry is exit 4" {
	f=$BATS_TEST_TMPDIR/00000000000000000010.index
	printf '\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00\x10\x00' >"$f"
	head -c 80 /dev/zero >>"$f"
	run mq-inspect --dump "$f"
	[ "$status" -eq 0 ]
	[ "$output" = "Dumping $f
offset: 10 position: 0
offset: 15 position: 4096" ]
	g=$BATS_TEST_TMPDIR/00000000000000000010.timeindex
	printf '\x00\x00\x01\x8b\xcf\xe5\x68\x00\x00\x00\x00\x03\x00\x00' >"$g"
	run --separate-stderr mq-inspect --dump "$g"
	[ "$status" -eq 4 ]
	[ "$output" = "Dumping $g
timestamp: 1700000000000 offset: 13" ]
	[ "$stderr" = "mq-inspect: $g:12: 2 trailing bytes are not a whole entry" ]
}

@test "--dump of a hand-made Kafka segment" {
	mkdir "$MQ_DIR/kafka-0"
	f=$MQ_DIR/kafka-0/00000000000000000100.log
	crc=$(kafka_segment "$f")
	[ "$(stat -c %s "$f")" -eq 90 ]
	run --separate-stderr mq-inspect --dump "$f"
	[ "$status" -eq 0 ]
	[ "$stderr" = "" ]
	[ "$output" = "Dumping $f
baseOffset: 100 lastOffset: 101 count: 2 position: 0 size: 90 magic: 2 compression: none timestampType: CreateTime baseTimestamp: 1700000000000 maxTimestamp: 1700000000005 producerId: -1 producerEpoch: -1 baseSequence: -1 leaderEpoch: 0 isTransactional: false isControl: false crc: 0x$crc crcValid: true
| offset: 100 timestamp: 1700000000000 keySize: 2 valueSize: 5 key: k1 value: hello headers: [h=x]
| offset: 101 timestamp: 1700000000005 keySize: -1 valueSize: 4 key: null value: a\\x09b\\xff headers: []" ]
	# Dropped into a data directory, it is a topic like any other.
	run mq-inspect
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "kafka           1    90        2    100  102  2023-11-14T22:13:20.000Z  2023-11-14T22:13:20.005Z" ]
}

@test "--dump: a batch failing its CRC is shown, skipped, and exit 4" {
	produce_s
	f=$MQ_DIR/s-0/00000000000000000000.log
	# The last byte of the first batch is in its record's value.
	flip "$f" 70
	run --separate-stderr mq-inspect --dump "$f"
	[ "$status" -eq 4 ]
	[ "${#lines[@]}" -eq 4 ]
	[[ "${lines[1]}" == "baseOffset: 0 lastOffset: 0 count: 1 position: 0 size: 72 "*" crc: 0x10d1f843 crcValid: false" ]]
	[[ "${lines[2]}" == "baseOffset: 1 lastOffset: 1 "*"crcValid: true" ]]
	[ "${lines[3]}" = "| offset: 1 timestamp: 1795424402000 keySize: 2 valueSize: 2 key: k2 value: v2 headers: []" ]
	[ "$stderr" = "mq-inspect: $f:0: CRC mismatch in batch at offset 0 (stored 0x10d1f843); its records are skipped" ]
}

@test "--dump: a missing file is exit 1; an empty directory too" {
	run --separate-stderr mq-inspect --dump "$MQ_DIR/none.log"
	[ "$status" -eq 1 ]
	[ "$stderr" = "mq-inspect: cannot open '$MQ_DIR/none.log': No such file or directory" ]
	mkdir "$MQ_DIR/d"
	run --separate-stderr mq-inspect --dump "$MQ_DIR/d"
	[ "$status" -eq 1 ]
	[ "$stderr" = "mq-inspect: no segment files (*.log) in '$MQ_DIR/d'" ]
}

@test "--verify: clean data is exit 0" {
	produce_s
	produce_t
	mq-create -p 3 u
	run --separate-stderr mq-inspect --verify
	[ "$status" -eq 0 ]
	[ "$output" = "verified 5 partitions of 3 topics: no problems" ]
	run mq-inspect --verify t
	[ "$status" -eq 0 ]
	[ "$output" = "verified 1 partition of 1 topic: no problems" ]
}

@test "--verify: a flipped byte in a closed segment is exit 4 naming file and position" {
	produce_s
	produce_t
	f=$MQ_DIR/s-0/00000000000000000000.log
	flip "$f" 140
	run --separate-stderr mq-inspect --verify
	[ "$status" -eq 4 ]
	[ "$output" = "$f:72: CRC mismatch in batch at offset 1 (stored 0xe8d4d72c)
verified 2 partitions of 2 topics: 1 problem" ]
	[ "$stderr" = "mq-inspect: hint: mq-repair(1) sets damaged batches aside and rebuilds damaged indexes" ]
	# Verifying only the healthy topic is clean.
	run mq-inspect --verify t
	[ "$status" -eq 0 ]
}

@test "--verify: a corrupt .index is reported" {
	produce_s
	f=$MQ_DIR/s-0/00000000000000000000.index
	# Entry 0 (offset 1, position 72) now points at position 73.
	printf '\x00\x00\x00\x01\x00\x00\x00\x49' >"$f"
	run --separate-stderr mq-inspect --verify s
	[ "$status" -eq 4 ]
	[[ "${lines[0]}" == "$f:0: "* ]]
	[ "${lines[-1]}" = "verified 1 partition of 1 topic: 1 problem" ]
}

@test "mq-inspect never modifies the data directory" {
	produce_s
	produce_t
	mkdir "$MQ_DIR/kafka-0"
	kafka_segment "$MQ_DIR/kafka-0/00000000000000000100.log" >/dev/null
	flip "$MQ_DIR/s-0/00000000000000000002.log" 140
	before=$(checksums)
	mq-inspect >/dev/null
	mq-inspect s t kafka >/dev/null
	mq-inspect --json >/dev/null
	mq-inspect --json s t kafka >/dev/null
	mq-inspect --dump "$MQ_DIR/s-0" "$MQ_DIR/kafka-0" >/dev/null 2>&1 || true
	mq-inspect --dump "$MQ_DIR"/s-0/*.index "$MQ_DIR"/s-0/*.timeindex >/dev/null
	mq-inspect --verify >/dev/null 2>&1 || true
	[ "$(checksums)" = "$before" ]
	[ ! -e "$MQ_DIR/kafka-0/mq.lock" ]
}

@test "errors: missing topic exit 1, the others still shown" {
	produce_t
	run --separate-stderr mq-inspect nosuch t
	[ "$status" -eq 1 ]
	[ "$stderr" = "mq-inspect: topic 'nosuch' does not exist" ]
	[ "${lines[0]}" = "topic: t" ]
	run --separate-stderr mq-inspect --verify nosuch
	[ "$status" -eq 1 ]
	[ "$stderr" = "mq-inspect: topic 'nosuch' does not exist" ]
	[ "$output" = "verified 0 partitions of 0 topics: no problems" ]
}

@test "errors: invalid names and bad options are exit 2" {
	produce_t
	for name in "a/b" ".." "."; do
		run --separate-stderr mq-inspect "$name"
		[ "$status" -eq 2 ]
		[ "$output" = "" ]
		[ "$stderr" = "mq-inspect: invalid topic name '$name' (use 1 to 249 of [A-Za-z0-9._-], not '.' or '..')" ]
	done
	run --separate-stderr mq-inspect --verify "a b"
	[ "$status" -eq 2 ]
	run --separate-stderr mq-inspect --bogus
	[ "$status" -eq 2 ]
	[ "$stderr" = "mq-inspect: unrecognized option '--bogus'
Try 'mq-inspect --help' for more information." ]
	run --separate-stderr mq-inspect --dump
	[ "$status" -eq 2 ]
	[ "$stderr" = "mq-inspect: --dump needs a file or directory
Try 'mq-inspect --help' for more information." ]
	run --separate-stderr mq-inspect --dump --verify x
	[ "$status" -eq 2 ]
	run --separate-stderr mq-inspect --json --dump x
	[ "$status" -eq 2 ]
	[ "$stderr" = "mq-inspect: --json applies only to the topic list and detail
Try 'mq-inspect --help' for more information." ]
}

@test "errors: a missing data directory is exit 1 and is not created" {
	run --separate-stderr mq-inspect -d "$MQ_DIR/none"
	[ "$status" -eq 1 ]
	[[ "$stderr" == "mq-inspect: cannot open data directory '$MQ_DIR/none': "* ]]
	[ ! -e "$MQ_DIR/none" ]
}

@test "-d and MQ_DIR choose the data directory" {
	mq-create -d "$MQ_DIR/a" one
	mq-create -d "$MQ_DIR/b" two
	run mq-inspect --dir "$MQ_DIR/a"
	[ "${lines[1]}" = "one             1     0        0      0    0  -                -" ]
	[ "${#lines[@]}" -eq 2 ]
	MQ_DIR=$MQ_DIR/b run mq-inspect
	[[ "${lines[1]}" == "two "* ]]
	[ "${#lines[@]}" -eq 2 ]
}

@test "--help and --version print on stdout" {
	run --separate-stderr mq-inspect --help
	[ "$status" -eq 0 ]
	[ "$stderr" = "" ]
	[[ "${lines[0]}" == "usage: mq-inspect "* ]]
	run --separate-stderr mq-inspect -V
	[ "$status" -eq 0 ]
	[ "$output" = "mq-inspect (mq) 0.1.0" ]
}

@test "a Kafka-copied partition may have compaction gaps; without the broker's files a gap is corruption" {
	mkdir "$MQ_DIR/kafka-0"
	# Segment base 90, first batch at offset 100: as Kafka's cleaner leaves it.
	kafka_segment "$MQ_DIR/kafka-0/00000000000000000090.log" >/dev/null
	run --separate-stderr mq-consume -F '%o %s\n' kafka
	[ "$status" -eq 4 ]
	[ "$output" = "" ]
	# The broker's files mark a partition copied from Kafka, whose
	# cleanup.policy mq cannot know: gaps are allowed there.
	printf '0\n0\n' >"$MQ_DIR/kafka-0/leader-epoch-checkpoint"
	run --separate-stderr mq-consume -F '%o %s\n' kafka
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "100 hello" ]
	[ "${#lines[@]}" -eq 2 ]
	run mq-inspect --verify kafka
	[ "$status" -eq 0 ]
}
