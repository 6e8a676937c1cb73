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

# Symbolic links inside the data directory are never followed: a tool
# that meets one stops with one line naming it and exit status 1, and
# nothing outside is read, written or removed.  The data directory itself
# may be a link.

# refused LINK TOOL ARG...: run the tool, which must stop at LINK: exit 1,
# nothing secret on stdout, and one line on stderr naming the link.
refused() {
	local link=$1
	shift
	run --separate-stderr "$@"
	echo "$*: $status: $stderr"
	[ "$status" -eq 1 ]
	[[ "$output" != *SECRET* ]]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == "${1}: "*"'$link' is a symbolic link; refusing to follow it" ]]
}

@test "symlink: a partition directory pointing outside" {
	mq-create t
	mq-create -c cleanup.policy=compact c
	rm -r "$MQ_DIR/t-0" "$MQ_DIR/c-0"
	ln -s "$OUT/s-0" "$MQ_DIR/t-0"
	ln -s "$OUT/s-0" "$MQ_DIR/c-0"
	local link="$MQ_DIR/t-0"
	# Readers do not show what is outside.
	refused "$link" mq-consume t
	[ "$stderr" = "mq-consume: cannot read t/0: '$link' is a symbolic link; refusing to follow it" ]
	refused "$link" mq-consume -o 0 t
	refused "$link" mq-inspect t
	refused "$link" mq-inspect --verify t
	# Writers, retention and compaction do not write or delete there.
	refused "$link" mq-produce t <<<"planted"
	[ "$stderr" = "mq-produce: '$link' is a symbolic link; refusing to follow it" ]
	refused "$link" mq-produce -k key t <<<"planted"
	refused "$link" mq-retain t
	refused "$link" mq-retain --delete-before t:0:2
	refused "$MQ_DIR/c-0" mq-compact c
	[ "$stderr" = "mq-compact: cannot compact 'c' partition 0: '$MQ_DIR/c-0' is a symbolic link; refusing to follow it" ]
	# The listing names each topic it cannot read and goes on.
	run --separate-stderr mq-inspect
	[ "$status" -eq 1 ]
	[ "${#stderr_lines[@]}" -eq 2 ]
	[[ "${stderr_lines[0]}" == *"'$MQ_DIR/c-0' is a symbolic link; refusing to follow it" ]]
	[[ "${stderr_lines[1]}" == *"'$link' is a symbolic link; refusing to follow it" ]]
	outside_unchanged
	# Delete removes the link, never what it points to.
	run -0 mq-create --delete t
	[ ! -e "$MQ_DIR/t-0" ] && [ ! -L "$MQ_DIR/t-0" ]
	run -0 mq-create --delete c
	[ ! -L "$MQ_DIR/c-0" ]
	outside_unchanged
}

@test "symlink: a later partition directory pointing outside" {
	mq-create -p 2 t
	rm -r "$MQ_DIR/t-1"
	ln -s "$OUT/s-0" "$MQ_DIR/t-1"
	refused "$MQ_DIR/t-1" mq-consume -p 1 t
	refused "$MQ_DIR/t-1" mq-produce -p 1 t <<<"planted"
	# Creating a topic does not adopt a link in its way, and leaves
	# nothing behind.
	ln -s "$OUT/s-0" "$MQ_DIR/u-1"
	refused "$MQ_DIR/u-1" mq-create -p 2 u
	[ "$stderr" = "mq-create: cannot create topic 'u': '$MQ_DIR/u-1' is a symbolic link; refusing to follow it" ]
	[ ! -e "$MQ_DIR/u-0" ] && [ ! -e "$MQ_DIR/.mq/topics/u.conf" ]
	[ -L "$MQ_DIR/u-1" ]
	outside_unchanged
	# Partition 0 is untouched by all this.
	run -0 mq-produce -p 0 --print-offsets t <<<"fine"
	[ "$output" = "0	0" ]
}

@test "symlink: segment files pointing outside" {
	mq-create t
	local p="$MQ_DIR/t-0" seg=00000000000000000000
	rm "$p/$seg.log"
	ln -s "$OUT/s-0/$seg.log" "$p/$seg.log"
	run mq-produce t <<<"planted"
	echo "produce: $status $output"
	[ "$status" -eq 1 ]
	outside_unchanged
	run mq-consume t
	echo "consume: $status $output"
	[ "$status" -lt 124 ]
	[[ "$output" != *SECRET* ]]
	run mq-inspect --verify t
	[ "$status" -lt 124 ]
	[[ "$output" != *SECRET* ]]
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

@test "symlink: retention removes links to segment files, not their targets" {
	mq-create -c segment.bytes=100 t
	local p="$MQ_DIR/t-0" i
	for i in 0 1 2; do
		mq-produce t <<<"rec$i"
	done
	ln -sf "$OUT/file" "$p/00000000000000000000.index"
	ln -sf "$OUT/s-0/00000000000000000000.log" "$p/00000000000000000001.timeindex"
	run -0 mq-retain --delete-before t:0:2
	[ ! -L "$p/00000000000000000000.index" ]
	[ ! -L "$p/00000000000000000001.timeindex" ]
	[ ! -e "$p/00000000000000000000.log" ]
	run -0 mq-consume t
	[ "$output" = "rec2" ]
	outside_unchanged
}

@test "symlink: mq.log-start pointing outside" {
	mq-create t
	mq-produce t <<<"a"
	echo 1 >"$OUT/log-start"
	tree_sum "$OUT" >"$BATS_TEST_TMPDIR/out.sum"
	local link="$MQ_DIR/t-0/mq.log-start"
	ln -s "$OUT/log-start" "$link"
	refused "$link" mq-consume t
	refused "$link" mq-inspect t
	refused "$link" mq-retain --delete-before t:0:1
	outside_unchanged
	[ -L "$link" ]
}

@test "symlink: the lock files pointing outside" {
	mq-create t
	ln -sf "$OUT/new-lock" "$MQ_DIR/t-0/mq.lock"
	rm -f "$MQ_DIR/.mq/admin.lock"
	ln -s "$OUT/new-admin" "$MQ_DIR/.mq/admin.lock"
	refused "$MQ_DIR/t-0/mq.lock" mq-produce t <<<"x"
	refused "$MQ_DIR/.mq/admin.lock" mq-create u
	run mq-create --delete t
	[ "$status" -lt 124 ]
	[ ! -e "$OUT/new-lock" ] && [ ! -e "$OUT/new-admin" ]
	outside_unchanged
}

@test "symlink: .mq/topics and .mq pointing outside" {
	mkdir "$MQ_DIR/.mq"
	ln -s "$OUT/topics" "$MQ_DIR/.mq/topics"
	local link="$MQ_DIR/.mq/topics"
	refused "$link" mq-create newt
	refused "$link" mq-create --delete s
	refused "$link" mq-produce --create s <<<"x"
	refused "$link" mq-consume s
	refused "$link" mq-inspect s
	# The listing does not show the topics outside.
	refused "$link" mq-inspect
	[ "$output" = "" ]
	outside_unchanged
	rm "$MQ_DIR/.mq/topics"
	rmdir "$MQ_DIR/.mq"
	ln -s "$OUT/mq" "$MQ_DIR/.mq"
	refused "$MQ_DIR/.mq" mq-create x
	refused "$MQ_DIR/.mq" mq-produce --create x <<<"x"
	outside_unchanged
}

@test "symlink: a topic config file pointing outside" {
	mkdir -p "$MQ_DIR/.mq/topics"
	local link="$MQ_DIR/.mq/topics/s.conf"
	ln -s "$OUT/topics/s.conf" "$link"
	refused "$link" mq-consume s
	refused "$link" mq-produce s <<<"x"
	refused "$link" mq-inspect s
	refused "$link" mq-inspect
	# Deleting the topic removes the link only.
	run -0 mq-create --delete s
	[ ! -L "$link" ]
	outside_unchanged
	# mq.conf is not followed either.
	ln -s "$OUT/topics/s.conf" "$MQ_DIR/mq.conf"
	refused "$MQ_DIR/mq.conf" mq-create u
	[ "$stderr" = "mq-create: cannot open data directory '$MQ_DIR': '$MQ_DIR/mq.conf' is a symbolic link; refusing to follow it" ]
	outside_unchanged
}

@test "symlink: consumer group directories and files pointing outside" {
	mq-create t
	mq-produce t <<<"a"
	mkdir -p "$OUT/g/t" "$OUT/g/members"
	echo 0 >"$OUT/g/t/0.offset"
	tree_sum "$OUT" >"$BATS_TEST_TMPDIR/out.sum"
	local groups="$MQ_DIR/.mq/groups"
	mkdir -p "$groups"
	# A group directory.
	ln -s "$OUT/g" "$groups/g"
	refused "$groups/g" mq-consume -g g t
	refused "$groups/g" mq-inspect --group g
	refused "$groups/g" mq-consume --delete-group g
	run -0 mq-inspect --groups
	[[ "$output" != *" g "* ]]
	outside_unchanged
	rm "$groups/g"
	# A topic directory and an offset file inside a real group.
	run -0 mq-consume -g g t
	[ "$output" = "a" ]
	rm "$groups/g/t/0.offset"
	ln -s "$OUT/g/t/0.offset" "$groups/g/t/0.offset"
	refused "$groups/g/t/0.offset" mq-consume -g g t
	refused "$groups/g/t/0.offset" mq-inspect --group g
	refused "$groups/g/t/0.offset" mq-retain --respect-groups t
	rm -r "$groups/g/t"
	ln -s "$OUT/g/t" "$groups/g/t"
	refused "$groups/g/t" mq-consume -g g t
	refused "$groups/g/t" mq-consume -g g --reset-offsets to-earliest --execute t
	# The members directory.
	rm -r "$groups/g/members"
	ln -s "$OUT/g/members" "$groups/g/members"
	refused "$groups/g/members" mq-consume -g g t
	refused "$groups/g/members" mq-consume --delete-group g
	outside_unchanged
	# .mq/groups itself.
	rm -r "$groups"
	ln -s "$OUT/g" "$groups"
	refused "$groups" mq-consume -g h t
	refused "$groups" mq-inspect --groups
	refused "$groups" mq-retain --respect-groups t
	outside_unchanged
}

@test "the data directory itself may be a symbolic link" {
	mkdir "$MQ_DIR/real"
	ln -s real "$MQ_DIR/link"
	run -0 mq-create -d "$MQ_DIR/link" t
	run -0 mq-produce -d "$MQ_DIR/link/" --print-offsets t <<<"via link"
	[ "$output" = "0	0" ]
	run -0 mq-consume -d "$MQ_DIR/link" t
	[ "$output" = "via link" ]
	run -0 mq-inspect --verify -d "$MQ_DIR/link" t
	run -0 mq-retain -d "$MQ_DIR/link" t
	run -0 mq-consume -d "$MQ_DIR/link" -g g t
	[ "$output" = "via link" ]
	[ -d "$MQ_DIR/real/t-0" ] && [ -d "$MQ_DIR/real/.mq/groups/g" ]
	run -0 mq-create -d "$MQ_DIR/link" --delete t
	[ ! -e "$MQ_DIR/real/t-0" ] && [ -L "$MQ_DIR/link" ]
}
