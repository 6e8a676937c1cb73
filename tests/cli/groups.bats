#!/usr/bin/env bats
# Consumer groups: mq-consume -g (committed offsets, shared partitions,
# hand-over, --exec, dead letters, offset administration) and
# mq-inspect --groups / -g.

bats_require_minimum_version 1.5.0
load helper

# start OUT ARGS...: run mq-consume ARGS in the background, stdout to OUT.
start() {
	local out=$1
	shift
	mq-consume "$@" > "$out" 2>> "$MQ_DIR/err" 3>&- &
	LAST=$!
}

# Members the test did not wait for are killed: bash's job list names
# them, so no process id that was since reused is ever killed.
teardown() {
	local p
	for p in $(jobs -p); do
		kill -9 "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	# Shown when a test fails: what the background members said.
	[ -s "$MQ_DIR/err" ] && cat "$MQ_DIR/err"
	[ -n "${MQ_DIR:-}" ] && rm -rf "$MQ_DIR"
}

# owners GROUP: the PID column of mq-inspect -g GROUP, one per partition.
owners() {
	mq-inspect -g "$1" | awk 'NR > 1 { print $6 }'
}

# eventually CMD...: run CMD until it succeeds, at most 10 s (generous:
# on a loaded machine a joiner's mkdir or a hand-over's fsync can stall).
eventually() {
	local i
	for i in $(seq 200); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

# each_owns GROUP N PID...: every PID owns exactly N partitions.
each_owns() {
	local g=$1 n=$2 p o
	shift 2
	o=$(owners "$g")
	for p in "$@"; do
		[ "$(grep -cx "$p" <<< "$o")" -eq "$n" ] || return 1
	done
}

# members GROUP N: mq-inspect --groups shows N live members in GROUP.
members() {
	[ "$(mq-inspect --groups | awk -v g="$1" '$1 == g { print $2 }')" = "$2" ]
}

# caught_up GROUP: mq-inspect -g GROUP shows a lag of 0 in every
# partition (the member committed all it delivered).
caught_up() {
	mq-inspect -g "$1" |
		awk 'NR > 1 { n++; if ($5 != "0") bad = 1 } END { exit bad || !n }'
}

# lines_at_least N FILE...: the files hold N lines or more together.
lines_at_least() {
	local n=$1
	shift
	[ "$(cat "$@" | wc -l)" -ge "$n" ]
}

# distinct_at_least N FILE...: the files hold N distinct lines or more.
distinct_at_least() {
	local n=$1
	shift
	[ "$(sort -u "$@" | wc -l)" -ge "$n" ]
}

@test "two groups each receive every record" {
	mq-create -p 3 t
	seq 1 30 | mq-produce t
	run -0 sh -c 'mq-consume -g a t | sort -n'
	[ "$output" = "$(seq 1 30)" ]
	run -0 sh -c 'mq-consume -g b t | sort -n'
	[ "$output" = "$(seq 1 30)" ]
	run -0 mq-consume -g a t
	[ "$output" = "" ]
	run -0 mq-inspect --groups
	[ "${lines[0]}" = "GROUP  MEMBERS  TOPICS" ]
	[ "${lines[1]}" = "a            0  t" ]
	[ "${lines[2]}" = "b            0  t" ]
	run -0 mq-inspect --groups --json
	[ "$output" = '{"groups":[{"group":"a","members":0,"topics":["t"]},{"group":"b","members":0,"topics":["t"]}]}' ]
}

@test "a restarted consumer resumes with no gap and no duplicate" {
	mq-create t
	seq 1 10 | mq-produce t
	run -0 mq-consume -g g -c 4 t
	[ "$output" = "$(seq 1 4)" ]
	run -0 mq-consume -g g -c 3 t
	[ "$output" = "$(seq 5 7)" ]
	seq 11 12 | mq-produce t
	run -0 mq-consume -g g t
	[ "$output" = "$(seq 8 12)" ]
	[ "$(cat "$MQ_DIR/.mq/groups/g/t/0.offset")" = 12 ]
}

@test "three members on six partitions own two each and deliver every record once" {
	mq-create -p 6 t
	seq 1 600 | mq-produce t
	start "$MQ_DIR/o1" -g g -f t; p1=$LAST
	start "$MQ_DIR/o2" -g g -f t; p2=$LAST
	start "$MQ_DIR/o3" -g g -f t; p3=$LAST
	eventually each_owns g 2 "$p1" "$p2" "$p3"
	seq 601 1200 | mq-produce t
	eventually lines_at_least 1200 "$MQ_DIR"/o[123]
	each_owns g 2 "$p1" "$p2" "$p3"
	kill -TERM "$p1" "$p2" "$p3"
	wait "$p1" "$p2" "$p3"
	run -0 sh -c 'cat "$MQ_DIR"/o[123] | sort -n'
	[ "$output" = "$(seq 1 1200)" ]
	# Everything was committed on the way out.
	run -0 mq-consume -g g t
	[ "$output" = "" ]
}

@test "a member killed with SIGKILL loses its partitions within a second; --exec is at-least-once" {
	mq-create -p 4 t
	seq 1 200 | mq-produce t
	export SEEN=$MQ_DIR/seen
	cmd='cat >> "$SEEN"; sleep 0.02'
	start /dev/null -g g -f --exec "$cmd" --exec-batch 5 t; a=$LAST
	eventually each_owns g 4 "$a"
	start /dev/null -g g -f --exec "$cmd" --exec-batch 5 t; b=$LAST
	eventually each_owns g 2 "$a" "$b"
	eventually lines_at_least 20 "$SEEN"
	t0=$(date +%s%3N)
	kill -9 "$a"
	eventually each_owns g 4 "$b"
	# The product's own clock: when b claimed the last partition (the
	# polling above adds its own start-up times, large under ASan).
	taken=$(mq-inspect -g g --json | grep -o '"since":[0-9]*' |
		cut -d: -f2 | sort -n | tail -1)
	echo "took over in $((taken - t0)) ms"
	[ $((taken - t0)) -lt 1000 ]
	eventually distinct_at_least 200 "$SEEN"
	kill -TERM "$b"
	wait "$b"
	run -0 sh -c 'sort -n -u "$SEEN"'
	[ "$output" = "$(seq 1 200)" ]
	run -0 mq-consume -g g t
	[ "$output" = "" ]
}

@test "a fourth member on three partitions stays idle and takes over when another exits" {
	mq-create -p 3 t
	seq 1 30 | mq-produce t
	start "$MQ_DIR/o1" -g g -f t; p1=$LAST
	eventually each_owns g 3 "$p1"
	start "$MQ_DIR/o2" -g g -f t; p2=$LAST
	start "$MQ_DIR/o3" -g g -f t; p3=$LAST
	eventually each_owns g 1 "$p1" "$p2" "$p3"
	start "$MQ_DIR/o4" -g g -f t; p4=$LAST
	eventually members g 4
	sleep 0.5
	each_owns g 1 "$p1" "$p2" "$p3"
	each_owns g 0 "$p4"
	kill -TERM "$p2"
	wait "$p2"
	eventually each_owns g 1 "$p1" "$p3" "$p4"
	seq 31 60 | mq-produce t
	eventually lines_at_least 60 "$MQ_DIR"/o[1234]
	kill -TERM "$p1" "$p3" "$p4"
	wait "$p1" "$p3" "$p4"
	run -0 sh -c 'cat "$MQ_DIR"/o[1234] | sort -n'
	[ "$output" = "$(seq 1 60)" ]
}

@test "reset-offsets: the dry run changes nothing, --execute does" {
	mq-create -p 2 t
	seq 1 10 | mq-produce -p 0 t
	seq 11 14 | mq-produce -p 1 t
	mq-consume -g g -c 3 t > /dev/null
	run -0 mq-consume -g g --reset-offsets to-earliest t
	[ "${lines[0]}" = "TOPIC  PARTITION  CURRENT  NEW" ]
	[ "${lines[1]}" = "t              0        3    0" ]
	[ "${lines[2]}" = "t              1        0    0" ]
	[ "$(cat "$MQ_DIR/.mq/groups/g/t/0.offset")" = 3 ]
	run -0 mq-consume -g g --reset-offsets to-offset 7 --execute t:0
	[ "${lines[1]}" = "t              0        3    7" ]
	[ "${#lines[@]}" -eq 2 ]
	[ "$(cat "$MQ_DIR/.mq/groups/g/t/0.offset")" = 7 ]
	run -0 mq-consume -g g --reset-offsets shift-by -2 --execute t:0,1
	[ "${lines[1]}" = "t              0        7    5" ]
	[ "${lines[2]}" = "t              1        0    0" ]
	run -0 mq-consume -g g --reset-offsets to-latest t
	[ "${lines[1]}" = "t              0        5   10" ]
	[ "${lines[2]}" = "t              1        0    4" ]
	run -0 mq-consume -g g --reset-offsets to-offset 99 t:1
	[ "${lines[1]}" = "t              1        0    4" ]
	run -0 mq-consume -g new --reset-offsets to-datetime 2000-01-01 t:1
	[ "${lines[1]}" = "t              1        -    0" ]
	run -0 sh -c 'mq-consume -g g t | sort -n'
	[ "$output" = "$(seq 6 14)" ]
	run -2 mq-consume -g g --reset-offsets to-nowhere t
	run -1 mq-consume -g g --reset-offsets to-earliest nosuch
	run -1 mq-consume -g g --reset-offsets to-earliest t:5
}

@test "reset-offsets --execute and --delete-group are refused while a member lives" {
	mq-create t
	seq 1 3 | mq-produce t
	start /dev/null -g g -f t; p=$LAST
	eventually each_owns g 1 "$p"
	run -3 --separate-stderr mq-consume -g g --reset-offsets to-earliest --execute t
	[ "$stderr" = "mq-consume: cannot reset offsets: group 'g' has 1 live member" ]
	run -3 --separate-stderr mq-consume --delete-group g
	[ "$stderr" = "mq-consume: cannot delete group 'g': group 'g' has 1 live member" ]
	kill -TERM "$p"
	wait "$p"
	run -0 mq-consume --delete-group g
	[ ! -e "$MQ_DIR/.mq/groups/g" ]
	run -1 mq-consume --delete-group g
	run -0 mq-consume -g g t
	[ "$output" = "$(seq 1 3)" ]
}

@test "--exec gets the records on stdin and their coordinates in the environment" {
	mq-create t
	printf 'k1=a\nk2=b\n=c\n' | mq-produce -K = t
	export LOG=$MQ_DIR/log
	run -0 mq-consume -g g --exec 'printf "%s %s %s %s %s:" "$MQ_TOPIC" "$MQ_PARTITION" "$MQ_OFFSET" "${MQ_KEY-unset}" "$MQ_COUNT" >> "$LOG"; cat >> "$LOG"' t
	[ "$(cat "$LOG")" = "$(printf 't 0 0 k1 1:a\nt 0 1 k2 1:b\nt 0 2  1:c')" ]
	mq-produce -Z t <<< ''
	: > "$LOG"
	run -0 mq-consume -g h --exec-batch 2 --exec 'echo "$MQ_OFFSET ${MQ_KEY-unset} $MQ_COUNT" >> "$LOG"' -F '%o\n' t
	[ "$(cat "$LOG")" = "$(printf '0 k1 2\n2  2')" ]
}

@test "--exec failure: retries, then stops with nothing committed past it" {
	mq-create t
	seq 1 5 | mq-produce t
	export LOG=$MQ_DIR/log
	run -1 --separate-stderr mq-consume -g g --retries 2 --exec 'v=$(cat); echo "$v" >> "$LOG"; [ "$v" != 3 ]' t
	[ "$stderr" = "mq-consume: command failed on t/0 offset 2: exit status 1; stopping" ]
	[ "$(cat "$LOG")" = "$(printf '1\n2\n3\n3\n3')" ]
	[ "$(cat "$MQ_DIR/.mq/groups/g/t/0.offset")" = 2 ]
	run -0 mq-consume -g g t
	[ "$output" = "$(seq 3 5)" ]
}

@test "--exec failure with --dead-letter moves the record and goes on" {
	mq-create t
	mq-create dead
	printf 'k=1\nk=2\nk=3\n' | mq-produce -K = -H h=x t
	run -0 --separate-stderr mq-consume -g g --retries 0 --dead-letter dead --exec '[ "$(cat)" != 2 ]' t
	[ "$stderr" = "mq-consume: command failed on t/0 offset 1: exit status 1; moved to 'dead'" ]
	[ "$(cat "$MQ_DIR/.mq/groups/g/t/0.offset")" = 3 ]
	run -0 mq-consume -F '%k %s %h\n' dead
	[ "$output" = "k 2 h=x,mq.origin.topic=t,mq.origin.partition=0,mq.origin.offset=1,mq.error=exit status 1" ]
	run -1 mq-consume -g g2 --dead-letter nosuch --exec true t
}

@test "mq-inspect -g: lag is the log end minus the committed offset" {
	mq-create -p 2 t
	seq 1 10 | mq-produce -p 0 t
	seq 1 7 | mq-produce -p 1 t
	# A member commits where it starts in each partition it took.
	mq-consume -g g -c 4 t > /dev/null
	run -0 mq-inspect -g g
	[ "${lines[0]}" = "TOPIC  PARTITION  COMMITTED  LOG-END  LAG  PID  HOST  SINCE" ]
	[ "${lines[1]}" = "t              0          4       10    6    -  -     -" ]
	[ "${lines[2]}" = "t              1          0        7    7    -  -     -" ]
	mq-consume -g h --reset-offsets to-offset 3 --execute t:0 > /dev/null
	run -0 mq-inspect -g h --json
	[ "$output" = '{"group":"h","members":0,"partitions":[{"topic":"t","partition":0,"committed":3,"log_end":10,"lag":7,"owner":null},{"topic":"t","partition":1,"committed":null,"log_end":7,"lag":null,"owner":null}]}' ]
	run -0 mq-inspect -g h
	[ "${lines[2]}" = "t              1          -        7    -    -  -     -" ]
	start /dev/null -g g -f t; p=$LAST
	eventually each_owns g 2 "$p"
	# It commits every second (--commit-interval's default).
	eventually caught_up g
	run -0 mq-inspect -g g --json
	[[ $output == *'"committed":10,"log_end":10,"lag":0,"owner":{"pid":'$p',"host":'* ]]
	run -0 mq-inspect -g g
	[[ ${lines[2]} == "t              1          7        7    0  $p  "* ]]
	run -1 mq-inspect -g nosuch
}

@test "--reset decides where a group without a committed offset starts" {
	mq-create t
	seq 1 3 | mq-produce t
	run -1 --separate-stderr mq-consume -g g --reset none t
	[ "$stderr" = "mq-consume: group 'g' has no committed offset for t/0 (--reset none)" ]
	run -0 mq-consume -g g --reset latest t
	[ "$output" = "" ]
	seq 4 5 | mq-produce t
	run -0 mq-consume -g g --reset none t
	[ "$output" = "$(seq 4 5)" ]
}

@test "invalid group names and option combinations are usage errors" {
	mq-create t
	run -2 --separate-stderr mq-consume -g 'a/b' t
	[ "${stderr_lines[0]}" = "mq-consume: invalid group name 'a/b' (use 1 to 249 of [A-Za-z0-9._-], not '.' or '..')" ]
	run -2 mq-consume -g .. t
	run -2 mq-consume -g "$(printf 'x%.0s' $(seq 250))" t
	run -2 mq-consume --delete-group 'x y'
	run -2 mq-inspect -g ''
	run -2 mq-consume -g g -p 0 t
	run -2 mq-consume -g g -o end t
	run -2 mq-consume --reset latest t
	run -2 mq-consume -g g --exec-batch 0 --exec true t
	run -2 mq-consume -g g --sync sometimes t
	run -2 mq-consume -g g --dead-letter d t
	run -2 mq-inspect --groups t
	[ ! -e "$MQ_DIR/.mq/groups" ]
}

@test "standard output closing early commits only what was written" {
	mq-create t
	seq 1 100000 | mq-produce t
	run -0 sh -c 'mq-consume -g g t | head -1'
	[ "$output" = 1 ]
	run -0 cat "$MQ_DIR/.mq/groups/g/t/0.offset"
	[ "$output" -lt 100000 ]
	run -0 sh -c 'mq-consume -g g t | wc -l'
	[ "$output" -gt 0 ]
	[ "$(cat "$MQ_DIR/.mq/groups/g/t/0.offset")" = 100000 ]
}
