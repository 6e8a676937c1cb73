#!/usr/bin/env bats
# Hostile names and paths: topic names that try to leave the data
# directory, and symlinks inside the data directory that point out of
# it.  No tool may read, create or delete anything outside.
#
# A NUL byte cannot be part of a name: argv strings are NUL-terminated, so
# no name with a NUL can be passed to a tool at all.

bats_require_minimum_version 1.5.0
load helper
load lib/torture

# OUT: a sentinel directory outside the data directory, holding a real
# partition (topic s, records SECRET-0..2), a topics directory and a file.
setup() {
	MQ_DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/mq-test.XXXXXX")
	export MQ_DIR
	unset XDG_DATA_HOME
	OUT=$(mktemp -d "${BATS_TMPDIR:-/tmp}/mq-out.XXXXXX")
	mq-create -d "$OUT" s
	printf 'SECRET-%d\n' 0 1 2 | mq-produce -d "$OUT" s
	mkdir "$OUT/topics" "$OUT/mq"
	cp "$OUT/.mq/topics/s.conf" "$OUT/topics/"
	echo keep >"$OUT/file"
	tree_sum "$OUT" >"$BATS_TEST_TMPDIR/out.sum"
}

teardown() {
	rm -rf "$MQ_DIR" "$OUT"
}

# outside_unchanged: fail if anything under OUT changed.
outside_unchanged() {
	diff "$BATS_TEST_TMPDIR/out.sum" <(tree_sum "$OUT")
}

# every_tool NAME STATUS: run every tool on topic NAME; each must exit
# with STATUS and create nothing.
every_tool() {
	local name=$1 want=$2 before
	before=$(tree_sum "$MQ_DIR")
	run mq-create -- "$name"
	[ "$status" -eq "$want" ] || { echo "create: $status $output"; return 1; }
	run mq-create --alter -p 2 -- "$name"
	[ "$status" -eq "$want" ] || { echo "alter: $status $output"; return 1; }
	run mq-produce -- "$name" <<<"x"
	[ "$status" -eq "$want" ] || { echo "produce: $status $output"; return 1; }
	run mq-produce --create -- "$name" <<<"x"
	[ "$status" -eq "$want" ] || { echo "produce --create: $status $output"; return 1; }
	run mq-consume -- "$name"
	[ "$status" -eq "$want" ] || { echo "consume: $status $output"; return 1; }
	run mq-inspect -- "$name"
	[ "$status" -eq "$want" ] || { echo "inspect: $status $output"; return 1; }
	run mq-inspect --verify -- "$name"
	[ "$status" -eq "$want" ] || { echo "verify: $status $output"; return 1; }
	run mq-create --delete -- "$name"
	[ "$status" -eq "$want" ] || { echo "delete: $status $output"; return 1; }
	[ "$(tree_sum "$MQ_DIR")" = "$before" ] || { echo "something was created"; return 1; }
}

@test "names that leave the data directory are usage errors for every tool" {
	local long
	long=$(printf 'a%.0s' {1..250})
	every_tool "a/b" 2
	every_tool "../x" 2
	every_tool ".." 2
	every_tool "." 2
	every_tool "s/../../x" 2
	every_tool "$OUT/s" 2
	every_tool $'a\nb' 2
	every_tool "a b" 2
	every_tool "" 2
	every_tool "$long" 2
	every_tool "$(printf 'a%.0s' {1..1000})" 2
	run mq-create -- "../x"
	[ "$output" = "mq-create: invalid topic name '../x' (use 1 to 249 of [A-Za-z0-9._-], not '.' or '..')" ] ||
		[[ "$output" == *"invalid topic name"* ]]
	outside_unchanged
}

@test "a NUL byte cannot reach a tool" {
	# Command substitution drops the NUL (with a warning), so the tool
	# sees "ok../../x", which is no valid name.
	local name
	name=$(printf 'ok\0../../x' 2>/dev/null) 2>/dev/null
	[ "$name" = "ok../../x" ]
	every_tool "$name" 2
	[ ! -e "$MQ_DIR/.mq/topics/ok.conf" ]
	outside_unchanged
}

@test "249 characters is the longest name, and it works everywhere" {
	local name
	name=$(printf 'b%.0s' {1..249})
	run -0 mq-create -- "$name"
	run -0 mq-produce --print-offsets -- "$name" <<<"hello"
	[ "$output" = "0	0" ]
	run -0 mq-consume -F '%t %o %s\n' -- "$name"
	[ "$output" = "$name 0 hello" ]
	run -0 mq-inspect --verify -- "$name"
	run -0 mq-create --delete -- "$name"
	[ ! -e "$MQ_DIR/$name-0" ]
	outside_unchanged
}

@test "a name with a leading dash works after --" {
	run mq-create -lead
	[ "$status" -eq 2 ]
	run -0 mq-create -- -lead
	run -0 mq-produce --print-offsets -- -lead <<<"dash"
	[ "$output" = "0	0" ]
	run -0 mq-consume -F '%t %s\n' -- -lead
	[ "$output" = "-lead dash" ]
	run -0 mq-inspect -- -lead
	[ "${lines[0]}" = "topic: -lead" ]
	run -0 mq-inspect --verify -- -lead
	run -0 mq-create --alter -p 2 -- -lead
	run -0 mq-create --delete -- -lead
	[ ! -e "$MQ_DIR/-lead-0" ]
	[ ! -e "$MQ_DIR/-lead-1" ]
}

@test "consume: a pattern cannot match outside the data directory" {
	mq-create t
	run mq-consume '../*'
	[ "$status" -eq 1 ] || [ "$status" -eq 2 ]
	[[ "$output" != *SECRET* ]]
	run mq-consume "$OUT/*"
	[ "$status" -eq 1 ] || [ "$status" -eq 2 ]
	[[ "$output" != *SECRET* ]]
	outside_unchanged
}

# gap_unless_clean TEXT OK: when OK is not 0, a known gap (fails only
# with MQ_STRICT=1).
gap_unless_clean() {
	[ "$2" = 0 ] && return 0
	! known_gap "$1"
}

@test "symlink: a partition directory pointing outside" {
	mq-create t
	rm -r "$MQ_DIR/t-0"
	ln -s "$OUT/s-0" "$MQ_DIR/t-0"
	local bad=0
	# Readers must not show what is outside.
	run mq-consume t
	echo "consume: $status $output"
	[ "$status" -lt 124 ]
	[[ "$output" != *SECRET* ]] || bad=1
	run mq-inspect --verify t
	[ "$status" -lt 124 ]
	run mq-inspect t
	[ "$status" -lt 124 ]
	# Writers must not write there.
	run mq-produce t <<<"planted"
	echo "produce: $status $output"
	[ "$status" -lt 124 ]
	outside_unchanged || bad=1
	gap_unless_clean "a symlinked partition directory is followed: readers read and writers append outside the data directory" $bad
	# Delete removes the link, never what it points to.
	tree_sum "$OUT" >"$BATS_TEST_TMPDIR/out.sum"
	run -0 mq-create --delete t
	[ ! -e "$MQ_DIR/t-0" ] && [ ! -L "$MQ_DIR/t-0" ]
	outside_unchanged
}

@test "symlink: segment files pointing outside" {
	mq-create t
	local p="$MQ_DIR/t-0" seg=00000000000000000000 bad=0
	rm "$p/$seg.log"
	ln -s "$OUT/s-0/$seg.log" "$p/$seg.log"
	run mq-produce t <<<"planted"
	echo "produce: $status $output"
	[ "$status" -eq 1 ]
	outside_unchanged
	run mq-consume t
	echo "consume: $status $output"
	[ "$status" -lt 124 ]
	[[ "$output" != *SECRET* ]] || bad=1
	run mq-inspect --verify t
	[ "$status" -lt 124 ]
	gap_unless_clean "a symlinked .log is followed by readers (mq-consume prints what it points to)" $bad
	# Dangling index links: nothing gets created at their target.
	rm "$p/$seg.log"
	: >"$p/$seg.log"
	rm -f "$p/$seg.index" "$p/$seg.timeindex"
	ln -s "$OUT/new-index" "$p/$seg.index"
	ln -s "$OUT/new-timeindex" "$p/$seg.timeindex"
	run mq-produce t <<<"x"
	echo "produce: $status $output"
	[ "$status" -lt 124 ]
	run mq-consume -o 0 t
	[ "$status" -lt 124 ]
	[ ! -e "$OUT/new-index" ] && [ ! -e "$OUT/new-timeindex" ]
	outside_unchanged
	# Delete unlinks the links only.
	run -0 mq-create --delete t
	[ ! -e "$p" ]
	outside_unchanged
}

@test "symlink: the lock files pointing outside" {
	mq-create t
	ln -sf "$OUT/new-lock" "$MQ_DIR/t-0/mq.lock"
	rm -f "$MQ_DIR/.mq/admin.lock"
	ln -s "$OUT/new-admin" "$MQ_DIR/.mq/admin.lock"
	run mq-produce t <<<"x"
	[ "$status" -eq 1 ]
	run mq-create u
	[ "$status" -eq 1 ]
	run mq-create --delete t
	[ "$status" -lt 124 ]
	[ ! -e "$OUT/new-lock" ] && [ ! -e "$OUT/new-admin" ]
	outside_unchanged
}

@test "symlink: .mq/topics and .mq pointing outside" {
	local bad=0
	mkdir "$MQ_DIR/.mq"
	ln -s "$OUT/topics" "$MQ_DIR/.mq/topics"
	run mq-create newt
	[ "$status" -eq 1 ]
	run mq-create --delete s
	[ "$status" -lt 124 ]
	run mq-produce --create s <<<"x"
	[ "$status" -lt 124 ]
	outside_unchanged
	# The topics listed are those of the data directory only.
	run mq-inspect
	echo "inspect: $status $output"
	[ "$status" -lt 124 ]
	[[ "$output" != *" s "* ]] && [[ "$output" != *"'s'"* ]] || bad=1
	run mq-consume s
	echo "consume: $status $output"
	[[ "$output" != *SECRET* ]]
	gap_unless_clean "topic configs are read through a symlinked .mq/topics (mq-inspect lists the topics outside)" $bad
	rm "$MQ_DIR/.mq/topics"
	rmdir "$MQ_DIR/.mq"
	ln -s "$OUT/mq" "$MQ_DIR/.mq"
	run mq-create x
	[ "$status" -eq 1 ]
	run mq-produce --create x <<<"x"
	[ "$status" -lt 124 ]
	outside_unchanged
}
