#!/bin/sh
# Long reliability runs: the torture, fault and name suites of tests/cli
# at the sizes issue 6 asks for.  Not part of `make check`; run it by hand
# after `make`:
#
#     tests/long/run.sh [BUILD_DIR]
#
# Sizes can be overridden from the environment (see tests/cli/lib/torture.bash):
# MQ_KILLS (default here 200), MQ_WRITERS_N (250000), MQ_FOLLOW_N (50000),
# MQ_FLIPS (1000), MQ_CUT_STEP (1: every byte), MQ_SEED, MQ_STRICT
# (1: fail on the known gaps too).  Each suite's TAP output goes to
# BUILD_DIR/long-SUITE.tap.
build=${1:-build}
MQ_BIN=$(cd "$build" && pwd) || exit 1
export MQ_BIN
: "${MQ_KILLS:=200}" "${MQ_WRITERS_N:=250000}" "${MQ_FOLLOW_N:=50000}"
: "${MQ_FLIPS:=1000}" "${MQ_CUT_STEP:=1}"
export MQ_KILLS MQ_WRITERS_N MQ_FOLLOW_N MQ_FLIPS MQ_CUT_STEP
: "${REPAIR_TRIALS:=500}"; export REPAIR_TRIALS  # tests/cli/repair.bats
[ -n "${MQ_SEED:-}" ] && export MQ_SEED
[ -n "${MQ_STRICT:-}" ] && export MQ_STRICT
cd "$(dirname "$0")/../.." || exit 1
failed=0
for s in torture faults names repair; do
	start=$(date +%s)
	if bats --tap --show-output-of-passing-tests "tests/cli/$s.bats" >"$MQ_BIN/long-$s.tap" 2>&1; then
		echo "ok   $s ($(($(date +%s) - start)) s)"
	else
		echo "FAIL $s ($(($(date +%s) - start)) s):"
		grep -A12 '^not ok' "$MQ_BIN/long-$s.tap" | sed 's/^/    /'
		failed=$((failed + 1))
	fi
	grep -o 'known gap: .*\|flips of kind.*\|[0-9]* kills.*\|records stored.*\|MQ_SEED=.*' \
		"$MQ_BIN/long-$s.tap" | sort | uniq -c | sed 's/^/    /'
done
[ "$failed" -eq 0 ]
