#!/bin/sh
# Run every unit test and every BATS suite against the tools in $1.
# Prints one line per suite and a closing "N passed, N failed" line.
build=${1:-build}
passed=0
failed=0
failures=""
log=$build/check.log
: > "$log"
for t in "$build"/tests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	if "$t" >>"$log" 2>&1; then
		echo "ok   unit $name"
		passed=$((passed + 1))
	else
		echo "FAIL unit $name (see $log)"
		failed=$((failed + 1))
		failures="$failures $name"
	fi
done
MQ_BIN=$(cd "$build" && pwd)
export MQ_BIN
for s in tests/cli/*.bats; do
	[ -e "$s" ] || continue
	name=$(basename "$s" .bats)
	if bats --tap "$s" >"$build/bats-$name.tap" 2>&1; then
		n=$(grep -c '^ok ' "$build/bats-$name.tap")
		echo "ok   bats $name ($n tests)"
		passed=$((passed + 1))
	else
		echo "FAIL bats $name:"
		grep -A8 '^not ok' "$build/bats-$name.tap" | sed 's/^/    /'
		failed=$((failed + 1))
		failures="$failures $name"
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
