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
	[ -n "${MQ_DIR:-}" ] && rm -rf "$MQ_DIR"
}

# bytes_hex FILE: the file as one line of hex, for exact binary comparison.
bytes_hex() {
	od -An -v -tx1 "$1" | tr -d ' \n'
}
