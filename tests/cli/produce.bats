#!/usr/bin/env bats
# mq-produce: framing, keys, partitions, batching, errors and durability.

bats_require_minimum_version 1.5.0
load helper

# all_bytes FILE: the 256 byte values 0x00..0xff, in order, into FILE.
all_bytes() {
	local fmt
	printf -v fmt '\\x%02x' {0..255}
	printf "$fmt" >"$1"
}

# be32 N: N as 4 big-endian bytes.
be32() {
	printf "\\x$(printf %02x $(($1 >> 24 & 255)))\\x$(printf %02x $(($1 >> 16 & 255)))"
	printf "\\x$(printf %02x $(($1 >> 8 & 255)))\\x$(printf %02x $(($1 & 255)))"
}

# consume TOPIC: every record as "PARTITION OFFSET KEY VALUE".
consume() {
	mq-consume -F '%p %o %k %s\n' "$1"
}

# batches TOPIC PARTITION: the number of batches stored.
batches() {
	mq-inspect --dump "$MQ_DIR/$1-$2" | grep -c '^baseOffset:'
}

@test "produce --help and --version print on stdout and exit 0" {
	run --separate-stderr mq-produce --help
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "usage: mq-produce [options] TOPIC [FILE...]" ]
	[ "$stderr" = "" ]
	run -0 mq-produce -h
	[ "${lines[0]}" = "usage: mq-produce [options] TOPIC [FILE...]" ]
	run --separate-stderr mq-produce --version
	[ "$status" -eq 0 ]
	[ "$output" = "mq-produce (mq) 0.1.0" ]
	run -0 mq-produce -V
	[ "$output" = "mq-produce (mq) 0.1.0" ]
}

@test "produce: bad options and arguments are usage errors (exit 2)" {
	mq-create t
	run mq-produce --bogus t
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "mq-produce: unrecognized option '--bogus'" ]
	[ "${lines[1]}" = "Try 'mq-produce --help' for more information." ]
	run mq-produce
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "mq-produce: missing topic" ]
	run mq-produce -p x t
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "mq-produce: invalid partition 'x'" ]
	run mq-produce -p -1 t
	[ "$status" -eq 2 ]
	run mq-produce --sync=later t
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "mq-produce: invalid sync mode 'later' (expected exit, batch or none)" ]
	run mq-produce --compression lz4 t
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "mq-produce: invalid compression 'lz4' (expected gzip or none)" ]
	run mq-produce -0 --json t
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "mq-produce: only one of -D, -0, --length-prefixed and --json may be given" ]
	run mq-produce --json -K : t
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "mq-produce: --key-delimiter cannot be used with --json" ]
	run mq-produce -D '\q' t
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "mq-produce: invalid escape in delimiter '\\q'" ]
	run mq-produce -D '' t
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "mq-produce: empty delimiter" ]
	run mq-produce -H novalue t
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "mq-produce: invalid header 'novalue' (expected NAME=VALUE)" ]
	run mq-produce --batch-bytes 0 t
	[ "$status" -eq 2 ]
	run mq-produce --linger-ms -1 t
	[ "$status" -eq 2 ]
	run mq-produce --partitions 3 t
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "mq-produce: --partitions needs --create" ]
	run mq-produce 'bad/name' </dev/null
	[ "$status" -eq 2 ]
}

@test "produce: an unknown topic is an error; --create makes it" {
	run --separate-stderr mq-produce nope <<<"a"
	[ "$status" -eq 1 ]
	[ "$stderr" = "mq-produce: no such topic 'nope' in $MQ_DIR" ]
	[ ! -e "$MQ_DIR/.mq/topics/nope.conf" ]
	run mq-produce --create nope <<<"a"
	[ "$status" -eq 0 ]
	run -0 consume nope
	[ "$output" = "0 0  a" ]
	run mq-produce --create --partitions 3 -p 2 three <<<"b"
	[ "$status" -eq 0 ]
	[ -d "$MQ_DIR/three-2" ]
	run -0 consume three
	[ "$output" = "2 0  b" ]
}

@test "produce: seq 1 10 gives ten records in order" {
	mq-create t
	seq 1 10 | mq-produce t
	run -0 mq-consume -F '%o:%s ' t
	[ "$output" = "0:1 1:2 2:3 3:4 4:5 5:6 6:7 7:8 8:9 9:10 " ]
}

@test "produce: newline framing rules" {
	mq-create t
	run mq-produce t </dev/null
	[ "$status" -eq 0 ]
	run -0 mq-consume -F '%o:%s|' t
	[ "$output" = "" ]
	printf 'a\n\nb\nlast' | mq-produce t
	run -0 mq-consume -F '%o:%S:%s|' t
	[ "$output" = "0:1:a|1:0:|2:1:b|3:4:last|" ]
	printf '\n' | mq-produce t
	run -0 mq-consume -o 4 -F '%o:%S:%s|' t
	[ "$output" = "4:0:|" ]
}

@test "produce -D: multi-byte delimiters with escapes" {
	mq-create t
	printf 'one<>two<><>three<' | mq-produce -D '<>' t
	run -0 mq-consume -F '%s|' t
	[ "$output" = "one|two||three<|" ]
	printf 'x\r\ny\r\n' | mq-produce --delimiter '\r\n' t
	printf 'p\tq\t' | mq-produce -D '\t' t
	printf 'r\x01\x02s' | mq-produce -D '\x01\x02' t
	run -0 mq-consume -o 4 -F '%s|' t
	[ "$output" = "x|y|p|q|r|s|" ]
}

@test "produce: newline framing carries every byte but the newline" {
	mq-create t
	all_bytes "$BATS_TEST_TMPDIR/all"
	tr -d '\n' <"$BATS_TEST_TMPDIR/all" >"$BATS_TEST_TMPDIR/nonl"
	# The key delimiter ff fe does not occur in 00..ff.
	{ cat "$BATS_TEST_TMPDIR/nonl"; printf '\xff\xfe'
	  cat "$BATS_TEST_TMPDIR/nonl"; printf '\n'; } |
		mq-produce -K '\xff\xfe' t
	mq-consume -F '%k' t >"$BATS_TEST_TMPDIR/k"
	mq-consume -F '%s' t >"$BATS_TEST_TMPDIR/v"
	[ "$(bytes_hex "$BATS_TEST_TMPDIR/k")" = "$(bytes_hex "$BATS_TEST_TMPDIR/nonl")" ]
	[ "$(bytes_hex "$BATS_TEST_TMPDIR/v")" = "$(bytes_hex "$BATS_TEST_TMPDIR/nonl")" ]
	[ "$(wc -c <"$BATS_TEST_TMPDIR/v")" -eq 255 ]
}

@test "produce -0: NUL framing carries every byte but NUL" {
	mq-create t
	all_bytes "$BATS_TEST_TMPDIR/all"
	tr -d '\000' <"$BATS_TEST_TMPDIR/all" >"$BATS_TEST_TMPDIR/nonul"
	{ cat "$BATS_TEST_TMPDIR/nonul"; printf '\xff\xfe'
	  cat "$BATS_TEST_TMPDIR/nonul"; printf '\0'
	  printf 'second\0'; } | mq-produce -0 -K '\xff\xfe' t
	mq-consume -c 1 -F '%k' t >"$BATS_TEST_TMPDIR/k"
	mq-consume -c 1 -F '%s' t >"$BATS_TEST_TMPDIR/v"
	[ "$(bytes_hex "$BATS_TEST_TMPDIR/k")" = "$(bytes_hex "$BATS_TEST_TMPDIR/nonul")" ]
	[ "$(bytes_hex "$BATS_TEST_TMPDIR/v")" = "$(bytes_hex "$BATS_TEST_TMPDIR/nonul")" ]
	run -0 mq-consume -o 1 -F '%K %s' t
	[ "$output" = "-1 second" ]
}

@test "produce --length-prefixed: all 256 bytes in keys and values, round trip" {
	mq-create t
	mq-create u
	all_bytes "$BATS_TEST_TMPDIR/all"
	[ "$(wc -c <"$BATS_TEST_TMPDIR/all")" -eq 256 ]
	{ be32 514; cat "$BATS_TEST_TMPDIR/all"; printf '\xff\xfe'
	  cat "$BATS_TEST_TMPDIR/all"; be32 0; be32 3; printf 'a\nb'; } |
		mq-produce --length-prefixed -K '\xff\xfe' t
	mq-consume -c 1 -F '%k' t >"$BATS_TEST_TMPDIR/k"
	mq-consume -c 1 -F '%s' t >"$BATS_TEST_TMPDIR/v"
	[ "$(bytes_hex "$BATS_TEST_TMPDIR/k")" = "$(bytes_hex "$BATS_TEST_TMPDIR/all")" ]
	[ "$(bytes_hex "$BATS_TEST_TMPDIR/v")" = "$(bytes_hex "$BATS_TEST_TMPDIR/all")" ]
	run -0 mq-consume -o 1 -F '%o %K %S|' t
	[ "$output" = "1 -1 0|2 -1 3|" ]
	# mq-consume -F '%R%s' output is mq-produce --length-prefixed input.
	mq-consume -F '%R%s' t >"$BATS_TEST_TMPDIR/t.bin"
	mq-produce --length-prefixed u "$BATS_TEST_TMPDIR/t.bin"
	mq-consume -F '%R%s' u >"$BATS_TEST_TMPDIR/u.bin"
	[ "$(bytes_hex "$BATS_TEST_TMPDIR/u.bin")" = "$(bytes_hex "$BATS_TEST_TMPDIR/t.bin")" ]
}

@test "produce --length-prefixed: a length of -1 is a null value" {
	mq-create t
	{ printf '\xff\xff\xff\xff'; be32 1; printf 'x'; } |
		mq-produce --length-prefixed t
	run -0 mq-consume -F '%S:%s|' t
	[ "$output" = "-1:|1:x|" ]
}

@test "produce --length-prefixed: a truncated record names the record" {
	mq-create t
	run --separate-stderr mq-produce --length-prefixed t \
		< <(be32 2; printf 'ab'; be32 5; printf 'abc')
	[ "$status" -eq 1 ]
	[ "$stderr" = "mq-produce: record 2: truncated record: 3 of 5 bytes" ]
	run -0 mq-consume -F '%s|' t
	[ "$output" = "ab|" ]
	run --separate-stderr mq-produce --length-prefixed t \
		< <(be32 1; printf 'c'; printf '\0\0')
	[ "$status" -eq 1 ]
	[ "$stderr" = "mq-produce: record 2: truncated length prefix: 2 of 4 bytes" ]
	run -0 mq-consume -F '%s|' t
	[ "$output" = "ab|c|" ]
}

@test "produce --json: all 256 bytes through key_b64 and value_b64" {
	mq-create t
	all_bytes "$BATS_TEST_TMPDIR/all"
	b=$(base64 -w0 "$BATS_TEST_TMPDIR/all")
	printf '{"key_b64":"%s","value_b64":"%s"}\n' "$b" "$b" |
		mq-produce --json t
	mq-consume -F '%k' t >"$BATS_TEST_TMPDIR/k"
	mq-consume -F '%s' t >"$BATS_TEST_TMPDIR/v"
	[ "$(bytes_hex "$BATS_TEST_TMPDIR/k")" = "$(bytes_hex "$BATS_TEST_TMPDIR/all")" ]
	[ "$(bytes_hex "$BATS_TEST_TMPDIR/v")" = "$(bytes_hex "$BATS_TEST_TMPDIR/all")" ]
}

@test "produce --json: escapes, nulls, headers, partition, timestamp" {
	mq-create -p 2 t
	mq-produce --json t <<'EOF'
{"key":"k\"1\\","value":"\u00e9\ud83d\ude00\n\t\/","partition":1,"timestamp":1700000000000}
{"value":"v","headers":{"a":"1","n":null,"a":"2","bin":{"b64":"AQI="}},"partition":0}
{"key":null,"value":null,"partition":0,"timestamp":null}
{ "partition" : 1 , "key" : "" , "value" : "" }
EOF
	run -0 mq-consume -p 1 -F '%o %T [%k] [%s]|' t
	[ "$output" = "$(printf '0 1700000000000 [k"1\\] [\xc3\xa9\xf0\x9f\x98\x80\n\t/]|1 %s [] []|' \
		"$(mq-consume -p 1 -o 1 -F %T t)")" ]
	run -0 mq-consume -p 0 -F '%o %K %S %s %h|' t
	bin=$'\x01\x02'
	[ "$output" = "0 -1 1 v a=1,n,a=2,bin=$bin|1 -1 -1  |" ]
}

@test "produce --json: unknown members are ignored, so consume --json round-trips" {
	mq-create -p 3 t
	mq-create -p 3 u
	printf 'a:1\nb:2\nc:3\n' | mq-produce -K : -H h=v t
	mq-produce --json t <<'EOF'
{"topic":"elsewhere","offset":99,"extra":[1,2.5e3,{"x":[true,false,null]}],"key":"d","value":"4"}
EOF
	mq-consume --json t | mq-produce --json u
	[ "$(mq-consume --json u | sed 's/"topic":"u"/"topic":"t"/')" = "$(mq-consume --json t)" ]
}

@test "produce --json: an invalid line names the record and stops there" {
	mq-create t
	run --separate-stderr mq-produce --json t <<'EOF'
{"value":"one"}
{"value":"two"}
{"value":"three",}
{"value":"four"}
EOF
	[ "$status" -eq 1 ]
	[ "$stderr" = "mq-produce: record 3: invalid JSON: expected a string, found '}' at byte 18" ]
	run -0 mq-consume -F '%s|' t
	[ "$output" = "one|two|" ]
}

@test "produce --json: syntax errors are reported precisely" {
	mq-create -p 3 t
	check() {
		run --separate-stderr mq-produce --json t <<<"$1"
		[ "$status" -eq 1 ]
		[ "$stderr" = "mq-produce: record 1: $2" ]
	}
	check '' "invalid JSON: expected '{', found end of line at byte 1"
	check '[]' "invalid JSON: expected '{', found '[' at byte 1"
	check '{"key":1}' "invalid JSON: expected a string, found '1' at byte 8"
	check '{"key":"a"} x' "invalid JSON: expected end of line, found 'x' at byte 13"
	check '{"key":"a"' "invalid JSON: expected ',', found end of line at byte 11"
	check '{"value":"\ud800"}' "invalid JSON: lone high surrogate \\ud800 at byte 12"
	check '{"value":"\x"}' "invalid JSON: invalid escape '\\x' at byte 12"
	check '{"value":"abc' "invalid JSON: unterminated string at byte 14"
	check '{"value_b64":"abc"}' "invalid JSON: invalid base64 at byte 19"
	check '{"key":"a","key_b64":"YQ=="}' 'invalid JSON: more than one of "key" and "key_b64" at byte 22'
	check '{"timestamp":1.5}' "invalid JSON: expected an integer, found a fraction at byte 14"
	check '{"partition":99999999999999999999}' "invalid JSON: integer out of range at byte 14"
	check '{"partition":3}' "partition 3 out of range (topic 't' has 3 partitions)"
	check '{"partition":-1}' "partition -1 out of range (topic 't' has 3 partitions)"
	check '{"headers":{"h":{"hex":"00"}}}' 'invalid JSON: expected "b64" in a binary header value at byte 23'
	check '{"x":tru}' "invalid JSON: expected a value, found 't' at byte 6"
	run -0 mq-consume -F '%s|' t
	[ "$output" = "" ]
}

@test "produce -K: multi-byte key delimiter; a record without it has a null key" {
	mq-create t
	printf 'k1::v1\nnokey\n::empty key\nk2::v::2\n' | mq-produce -K '::' t
	run -0 mq-consume -F '%K [%k] [%s]|' t
	[ "$output" = "2 [k1] [v1]|-1 [] [nokey]|0 [] [empty key]|2 [k2] [v::2]|" ]
}

@test "produce -k gives every record the key; with -K only the undelimited ones" {
	mq-create t
	printf 'a\nb\n' | mq-produce -k K t
	printf 'x=1\ny\n' | mq-produce -K = -k D t
	run -0 mq-consume -F '%k=%s|' t
	[ "$output" = "K=a|K=b|x=1|D=y|" ]
}

@test "produce -H adds headers to every record, after the JSON ones" {
	mq-create t
	printf 'a\nb\n' | mq-produce -H src=test -H 'eq=a=b' -H empty= t
	echo '{"value":"c","headers":{"j":"1"}}' | mq-produce --json -H h=2 t
	run -0 mq-consume -F '%s %h|' t
	[ "$output" = "a src=test,eq=a=b,empty=|b src=test,eq=a=b,empty=|c j=1,h=2|" ]
}

@test "produce -Z: an empty value is stored as null" {
	mq-create t
	printf 'k:\nk:v\n\n' | mq-produce -Z -K : t
	echo '{"key":"j","value":""}' | mq-produce -Z --json t
	run -0 mq-consume -F '%k %S|' t
	[ "$output" = "k -1|k 1| -1|j -1|" ]
}

@test "produce -p: an explicit partition, checked before reading" {
	mq-create -p 3 t
	printf 'a:1\nb:2\n' | mq-produce -K : -p 2 t
	echo '{"partition":0,"value":"3"}' | mq-produce --json -p 1 t
	run -0 consume t
	[ "$output" = "1 0  3
2 0 a 1
2 1 b 2" ]
	run --separate-stderr mq-produce -p 3 t < <(echo never)
	[ "$status" -eq 1 ]
	[ "$stderr" = "mq-produce: partition 3 out of range (topic 't' has 3 partitions)" ]
	mq-create one
	run --separate-stderr mq-produce -p 1 one </dev/null
	[ "$stderr" = "mq-produce: partition 1 out of range (topic 'one' has 1 partition)" ]
}

@test "produce: keyed records land where Kafka's partitioner puts them" {
	# Expected partitions from Kafka's Utils.murmur2, toPositive(h) % 3.
	mq-create -p 3 t
	printf '%s\n' a:1 b:2 c:3 d:4 e:5 f:6 g:7 h:8 user-1:9 order-42:10 abcde:11 |
		mq-produce -K : t
	run -0 mq-consume -p 0 -F '%k ' t
	[ "$output" = "f g order-42 " ]
	run -0 mq-consume -p 1 -F '%k ' t
	[ "$output" = "a c h abcde " ]
	run -0 mq-consume -p 2 -F '%k ' t
	[ "$output" = "b d e user-1 " ]
}

@test "produce: records without a key go round-robin" {
	mq-create -p 3 t
	seq 1 9 | mq-produce t
	for p in 0 1 2; do
		run -0 mq-consume -p "$p" -F '%s ' t
		set -- $output
		[ "$#" -eq 3 ]
		[ $(($2 - $1)) -eq 3 ] && [ $(($3 - $2)) -eq 3 ]
	done
}

@test "produce --print-offsets: partition and offset per record, in input order" {
	mq-create -p 3 t
	run --separate-stderr mq-produce --print-offsets -K : t <<<"a:1
b:2
f:3
a:4"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '1\t0\n2\t0\n0\t0\n1\t1')" ]
	for s in exit batch none; do
		run -0 mq-produce --print-offsets --sync "$s" -K : t <<<"c:x
g:y"
		[ "${lines[*]}" = "$(printf '1\t%d 0\t%d' $((2 + ${n:-0})) $((1 + ${n:-0})))" ]
		n=$((${n:-0} + 1))
	done
}

@test "produce --print-offsets --sync batch: offsets come as batches are synced" {
	mq-create t
	mkfifo "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/out"
	mq-produce --sync batch --print-offsets t <"$BATS_TEST_TMPDIR/in" \
		>"$BATS_TEST_TMPDIR/out" 3>&- &
	pid=$!
	exec 6>"$BATS_TEST_TMPDIR/in" 7<"$BATS_TEST_TMPDIR/out"
	echo a >&6
	read -t 20 -r line <&7
	[ "$line" = "$(printf '0\t0')" ]
	echo b >&6
	exec 6>&-
	read -t 20 -r line <&7
	[ "$line" = "$(printf '0\t1')" ]
	exec 7<&-
	wait "$pid"
}

@test "produce --print-offsets: a failed write to stdout is an error" {
	[ -w /dev/full ] || skip "no /dev/full"
	mq-create t
	run bash -c 'echo a | mq-produce --print-offsets t >/dev/full'
	[ "$status" -eq 1 ]
	[ "$output" = "mq-produce: cannot write to standard output: No space left on device" ]
}

@test "produce: a record over max.message.bytes stops with its number" {
	mq-create -c max.message.bytes=200 t
	big=$(head -c 300 /dev/zero | tr '\0' x)
	run --separate-stderr mq-produce t <<<"one
two
$big
four"
	[ "$status" -eq 1 ]
	[ "$stderr" = "mq-produce: record 3: 370 bytes exceeds max.message.bytes (200) of topic 't'" ]
	run -0 mq-consume -F '%s|' t
	[ "$output" = "one|two|" ]
}

@test "produce: record numbers count across files, which are named" {
	mq-create -c max.message.bytes=200 t
	printf 'a\nb\n' >"$BATS_TEST_TMPDIR/f1"
	{ echo c; head -c 500 /dev/zero | tr '\0' y; echo; echo e; } >"$BATS_TEST_TMPDIR/f2"
	run --separate-stderr mq-produce t "$BATS_TEST_TMPDIR/f1" "$BATS_TEST_TMPDIR/f2"
	[ "$status" -eq 1 ]
	[ "$stderr" = "mq-produce: $BATS_TEST_TMPDIR/f2: record 4: 570 bytes exceeds max.message.bytes (200) of topic 't'" ]
	run -0 mq-consume -F '%s|' t
	[ "$output" = "a|b|c|" ]
}

@test "produce: a huge record is counted, not slurped" {
	mq-create -c max.message.bytes=1000 t
	run --separate-stderr mq-produce --skip-invalid t \
		< <(echo a; head -c 5000000 /dev/zero; echo; echo b)
	[ "$status" -eq 0 ]
	[ "$stderr" = "mq-produce: record 2: 5000074 bytes exceeds max.message.bytes (1000) of topic 't'" ]
	run -0 mq-consume -F '%s|' t
	[ "$output" = "a|b|" ]
}

@test "produce: a huge record's key is where its delimiter is, however far in" {
	mq-create -c max.message.bytes=1000 t
	# A 300000-byte key: more than a pipe's first read holds, less
	# than a file's.  Its size counts the key split off: 300076.
	{ head -c 300000 /dev/zero | tr '\0' q; echo ':tail'; echo 'a:b'; } \
		>"$BATS_TEST_TMPDIR/in"
	run --separate-stderr mq-produce -K: --skip-invalid t "$BATS_TEST_TMPDIR/in"
	[ "$status" -eq 0 ]
	[ "$stderr" = "mq-produce: $BATS_TEST_TMPDIR/in: record 1: 300076 bytes exceeds max.message.bytes (1000) of topic 't'" ]
	run --separate-stderr mq-produce -K: --skip-invalid t \
		< <(cat "$BATS_TEST_TMPDIR/in")
	[ "$stderr" = "mq-produce: record 1: 300076 bytes exceeds max.message.bytes (1000) of topic 't'" ]
	# With no key delimiter, the next record's, read with it, does not
	# count: 2070 (length-prefixed, 2000 bytes).
	{ printf '\000\000\007\320'; head -c 2000 /dev/zero | tr '\0' q
	  printf '\000\000\000\003a:b'; } >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr mq-produce --length-prefixed -K: --skip-invalid t \
		"$BATS_TEST_TMPDIR/in"
	[ "$stderr" = "mq-produce: $BATS_TEST_TMPDIR/in: record 1: 2070 bytes exceeds max.message.bytes (1000) of topic 't'" ]
	run -0 mq-consume -F '%k=%s|' t
	[ "$output" = "a=b|a=b|a=b|" ]
}

@test "produce: a two-byte key delimiter across reads of a huge record" {
	mq-create t
	{ head -c 1048575 /dev/zero | tr '\0' q; printf '::'
	  head -c 1000 /dev/zero | tr '\0' v; echo; } >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr mq-produce -K:: t "$BATS_TEST_TMPDIR/in"
	[ "$status" -eq 1 ]
	[ "$stderr" = "mq-produce: $BATS_TEST_TMPDIR/in: record 1: 1049649 bytes exceeds max.message.bytes (1048588) of topic 't'" ]
	run --separate-stderr mq-produce -K:: t < <(cat "$BATS_TEST_TMPDIR/in")
	[ "$status" -eq 1 ]
	[ "$stderr" = "mq-produce: record 1: 1049649 bytes exceeds max.message.bytes (1048588) of topic 't'" ]
	# The same record length-prefixed.
	run --separate-stderr mq-produce --length-prefixed -K:: t \
		< <(printf '\000\020\003\351'; head -c 1048577 "$BATS_TEST_TMPDIR/in"
		    head -c 1000 /dev/zero | tr '\0' v)
	[ "$status" -eq 1 ]
	[ "$stderr" = "mq-produce: record 1: 1049649 bytes exceeds max.message.bytes (1048588) of topic 't'" ]
}

@test "produce --skip-invalid reports bad records and goes on" {
	mq-create -p 2 -c max.message.bytes=100 t
	run --separate-stderr mq-produce --skip-invalid --json --print-offsets t <<EOF
{"value":"1","partition":0}
not json
{"value":"$(head -c 200 /dev/zero | tr '\0' z)"}
{"value":"4","partition":5}
{"value":"5","partition":1}
EOF
	[ "$status" -eq 0 ]
	[ "${stderr_lines[0]}" = "mq-produce: record 2: invalid JSON: expected '{', found 'n' at byte 1" ]
	[ "${stderr_lines[1]}" = "mq-produce: record 3: 270 bytes exceeds max.message.bytes (100) of topic 't'" ]
	[ "${stderr_lines[2]}" = "mq-produce: record 4: partition 5 out of range (topic 't' has 2 partitions)" ]
	[ "$output" = "$(printf '0\t0\n1\t0')" ]
	run -0 mq-consume -F '%s|' t
	[ "$output" = "1|5|" ]
}

@test "produce: an unreadable file is reported, the others are read (exit 1)" {
	mq-create t
	echo a >"$BATS_TEST_TMPDIR/a"
	run --separate-stderr mq-produce t "$BATS_TEST_TMPDIR/missing" "$BATS_TEST_TMPDIR/a" - <<<"b"
	[ "$status" -eq 1 ]
	[ "$stderr" = "mq-produce: cannot open '$BATS_TEST_TMPDIR/missing': No such file or directory" ]
	run -0 mq-consume -F '%s|' t
	[ "$output" = "a|b|" ]
}

@test "produce: each file is framed on its own; - reads stdin" {
	mq-create t
	printf 'a\nb' >"$BATS_TEST_TMPDIR/f1"
	printf 'c\n' >"$BATS_TEST_TMPDIR/f2"
	echo s | mq-produce t "$BATS_TEST_TMPDIR/f1" - "$BATS_TEST_TMPDIR/f2"
	run -0 mq-consume -F '%s|' t
	[ "$output" = "a|b|s|c|" ]
}

# big_lines FILE: about 9.5 MiB of "N:xxx..." lines, every seventh longer
# than 64 KiB, so that mq-produce reads FILE ahead in 1 MiB pieces and
# records straddle the pieces, some too long to be joined in front of one.
big_lines() {
	awk 'BEGIN {
		x = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
		while (length(x) < 140000)
			x = x x;
		for (i = 0; total < 9.5 * 1048576; i++) {
			n = i % 7 == 3 ? 65536 + (i * 977) % 70000 : (i * 7919) % 300;
			line = i ":" substr(x, 1, n);
			print line;
			total += length(line) + 1;
		}
	}' >"$1"
}

@test "produce: a large file read ahead round-trips in every framing" {
	local d=$BATS_TEST_TMPDIR
	big_lines "$d/big"
	mq-create t
	mq-produce -K: t "$d/big"
	mq-consume -F '%k:%s\n' t >"$d/out"
	cmp "$d/big" "$d/out"
	# NUL-delimited, from standard input.
	tr '\n' '\0' <"$d/big" >"$d/big0"
	mq-create u
	mq-produce -0 u <"$d/big0"
	mq-consume -0 u >"$d/out0"
	cmp "$d/big0" "$d/out0"
	# Length-prefixed: what mq-consume -F '%R%s' prints.
	mq-consume -F '%R%s' t >"$d/big.lp"
	mq-create v
	mq-produce --length-prefixed v "$d/big.lp"
	mq-consume -F '%R%s' v >"$d/out.lp"
	cmp "$d/big.lp" "$d/out.lp"
	run -0 mq-consume -F '%o\n' -o -1 v
	[ "$output" = "$(($(wc -l <"$d/big") - 1))" ]
}

@test "produce: large and small files and a pipe in one run, in order" {
	local d=$BATS_TEST_TMPDIR
	big_lines "$d/big"
	seq 1 3 >"$d/small"
	mq-create t
	# The read-ahead starts and stops per large file while the same
	# thread appends; standard input (a pipe) is read directly.
	echo from-pipe | mq-produce -K: t "$d/big" "$d/small" - "$d/big"
	cat "$d/big" "$d/small" - "$d/big" <<<from-pipe >"$d/want"
	mq-consume -F '%k:%s\n' t | sed 's/^://' >"$d/out"
	cmp "$d/want" "$d/out"
}

@test "produce --sync: each mode stores the records" {
	mq-create t
	for s in exit batch none; do
		echo "$s" | mq-produce --sync "$s" t
		echo "$s=" | mq-produce --sync="$s" t
	done
	run -0 mq-consume -F '%s|' t
	[ "$output" = "exit|exit=|batch|batch=|none|none=|" ]
}

@test "produce --compression gzip stores compressed batches" {
	mq-create t
	mq-create g
	mq-create -c compression.type=gzip tg
	seq 1 2000 | mq-produce t
	seq 1 2000 | mq-produce --compression gzip g
	seq 1 2000 | mq-produce tg
	seq 1 10 | mq-produce --compression none tg
	run -0 mq-inspect --dump "$MQ_DIR/g-0"
	[[ "${lines[1]}" == *" count: 2000 "*"compression: gzip "* ]]
	[ "$(stat -c %s "$MQ_DIR/g-0/00000000000000000000.log")" -lt \
	  "$(stat -c %s "$MQ_DIR/t-0/00000000000000000000.log")" ]
	run -0 mq-inspect --dump "$MQ_DIR/tg-0"
	[ "$(grep -c 'compression: gzip' <<<"$output")" -eq 1 ]
	[ "$(grep -c 'compression: none' <<<"$output")" -eq 1 ]
	[ "$(mq-consume -F '%s\n' g | tail -1)" = 2000 ]
}

@test "produce --batch-bytes: small batches make several appends" {
	mq-create t
	seq 1 100 | mq-produce t
	[ "$(batches t 0)" -eq 1 ]
	seq 101 200 | mq-produce --batch-bytes 200 t
	[ "$(batches t 0)" -gt 10 ]
	run -0 mq-consume -F '%s\n' t
	[ "${#lines[@]}" -eq 200 ]
	[ "${lines[199]}" = 200 ]
}

@test "produce: batches never exceed max.message.bytes" {
	mq-create -c max.message.bytes=300 t
	seq 1 1000 | mq-produce t
	[ "$(batches t 0)" -gt 10 ]
	run -0 mq-inspect --dump "$MQ_DIR/t-0"
	sed -n 's/.* size: \([0-9]*\) .*/\1/p' <<<"$output" |
		awk '$1 > 300 { bad = 1 } END { exit bad }'
	[ "$(mq-consume -F '%s\n' t | wc -l)" -eq 1000 ]
}

@test "produce: pending records are appended when the input pauses" {
	mq-create t
	mkfifo "$BATS_TEST_TMPDIR/in"
	mq-produce t <"$BATS_TEST_TMPDIR/in" 3>&- &
	pid=$!
	exec 6>"$BATS_TEST_TMPDIR/in"
	echo a >&6
	# Bounded at about 10 s, for a loaded machine under ASan.
	seen=
	for ((i = 0; i < 200; i++)); do
		seen=$(mq-consume -F '%s|' t 2>/dev/null)
		[ -n "$seen" ] && break
		sleep 0.05
	done
	[ "$seen" = "a|" ]
	echo b >&6
	exec 6>&-
	wait "$pid"
	run -0 mq-consume -F '%s|' t
	[ "$output" = "a|b|" ]
}

@test "produce --no-wait: a held partition lock is exit 3" {
	mq-create t
	echo first | mq-produce -n t
	exec 9>"$MQ_DIR/t-0/mq.lock"
	flock 9
	run --separate-stderr mq-produce --no-wait t <<<"x"
	exec 9>&-
	[ "$status" -eq 3 ]
	[[ "$stderr" == "mq-produce: topic 't' partition 0: "*"locked"* ]]
	run -0 mq-consume -F '%s|' t
	[ "$output" = "first|" ]
}

@test "produce --print-offsets: after a failure the output names exactly the records stored" {
	mq-create -p 2 t
	echo first | mq-produce -p 1 t
	exec 9>"$MQ_DIR/t-1/mq.lock"
	flock 9
	# r1 cannot be stored (its partition is locked); r2..r6 can, in
	# batches of one or two records, and only those are printed.
	run --separate-stderr mq-produce -n --json --batch-bytes 80 \
		--print-offsets t <<<'{"partition":1,"value":"r1"}
{"partition":0,"value":"r2"}
{"partition":0,"value":"r3"}
{"partition":0,"value":"r4"}
{"partition":0,"value":"r5"}
{"partition":0,"value":"r6"}'
	exec 9>&-
	[ "$status" -eq 3 ]
	[ "$output" = "$(printf '0\t0\n0\t1\n0\t2\n0\t3\n0\t4')" ]
	run -0 mq-consume -F '%p %o %s\n' t
	[ "$output" = "0 0 r2
0 1 r3
0 2 r4
0 3 r5
0 4 r6
1 0 first" ]
}

@test "produce --json: binary header names round-trip through mq-consume --json" {
	mq-create t
	printf '{"value":"v","headers":{"b64:/w==":"x","b64:YjY0Omxp":"y","plain":"z"}}\n' |
		mq-produce --json t
	run mq-consume --json t
	[ "$status" -eq 0 ]
	case "$output" in
	*'"headers":{"b64:/w==":"x","b64:YjY0Omxp":"y","plain":"z"}'*) ;;
	*) echo "$output"; false ;;
	esac
	mq-consume --json t | mq-produce --json t
	run mq-consume -F '%h\n' -o 1 t
	[ "$status" -eq 0 ]
	[ "$(printf '%s' "$output" | od -An -tx1 | tr -d ' \n')" = "$(printf '\377=x,b64:li=y,plain=z' | od -An -tx1 | tr -d ' \n')" ]
}

@test "produce: a torn tail left by a crashed writer is dropped and reported" {
	mq-create t
	seq 1 5 | mq-produce t
	printf 'garbage-tail' >> "$MQ_DIR/t-0/00000000000000000000.log"
	run --separate-stderr mq-produce --print-offsets t <<<6
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '0\t5')" ]
	[ "$stderr" = "mq-produce: warning: recovered topic 't' partition 0: dropped 12 bytes (incomplete batch) after the last valid batch at position 101 of 00000000000000000000.log" ]
	run mq-consume t
	[ "$output" = "$(seq 1 6)" ]
	mq-inspect --verify
}
