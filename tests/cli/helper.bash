# Shared setup for the BATS suites: a fresh data directory per test and the
# freshly built tools first on PATH.  MQ_BIN is set by mk/check.sh; when a
# suite is run by hand it defaults to ./build.
: "${MQ_BIN:=$BATS_TEST_DIRNAME/../../build}"
export PATH="$MQ_BIN:$PATH"

setup() {
	MQ_DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/mq-test.XXXXXX")
	export MQ_DIR
	unset XDG_DATA_HOME
}

teardown() {
	kill_jobs
	[ -n "${MQ_DIR:-}" ] && rm -rf "$MQ_DIR"
}

# kill_jobs: end the background jobs that the test started and did not wait
# for (a failed test's follower would run on forever).  bash's own job list
# names them, so no reused process id is ever killed.
kill_jobs() {
	local j
	for j in $(jobs -p); do
		kill -KILL "$j" 2>/dev/null
		wait "$j" 2>/dev/null
	done
	return 0
}

# bytes_hex FILE: the file as one line of hex, for exact binary comparison.
bytes_hex() {
	od -An -v -tx1 "$1" | tr -d ' \n'
}

# hold_lock FILE: take an exclusive flock(2) on FILE in the test's own shell,
# on a new descriptor kept in LOCK_FD, and return once it is held (a
# background `flock FILE sleep N` may not have locked yet when the next
# command runs, or may let go before it does on a loaded machine).
# release_lock drops it.  Commands run meanwhile inherit the descriptor but
# open the file anew, so their own flock conflicts with it.
hold_lock() {
	exec {LOCK_FD}>>"$1"
	flock -x -w 10 "$LOCK_FD"
}

# release_lock: drop the lock hold_lock took.
release_lock() {
	exec {LOCK_FD}>&-
}
