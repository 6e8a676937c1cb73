#!/bin/sh
# Run the BATS suites with every mq-* tool under valgrind memcheck.
#
#   sh mk/check-valgrind.sh [BUILD [SUITE...]]      (make check-valgrind)
#
# build-vg/bin holds one wrapper script per tool in $BUILD that runs
# the real tool under valgrind; MQ_BIN points the suites at it.  Each run
# writes its own log to build-vg/logs/; an error (invalid read or write,
# use of uninitialised memory, a definite leak, a bad free) makes the tool
# exit 99, so the test that ran it fails too.  At the end the script lists
# the logs that hold errors and exits 1 if there are any, or if a suite
# failed.  Slow: not part of `make check`.
build=${1:-build}
[ $# -gt 0 ] && shift
vg=build-vg
if ! command -v valgrind >/dev/null 2>&1; then
	echo "check-valgrind: valgrind not found (apt-get install valgrind)" >&2
	exit 1
fi
rm -rf "$vg"
mkdir -p "$vg/bin" "$vg/logs"
real=$(cd "$build" && pwd)
logs=$(cd "$vg/logs" && pwd)
for t in "$real"/mq-*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	cat >"$vg/bin/$name" <<WRAP
#!/bin/sh
# Found through PATH so that the tool's argv[0] stays "$name", as
# getopt's messages must show it.
PATH="$real:\$PATH" exec valgrind -q --tool=memcheck --error-exitcode=99 \\
    --leak-check=full --errors-for-leak-kinds=definite \\
    --show-leak-kinds=definite --log-file="$logs/$name.%p.log" "$name" "\$@"
WRAP
	chmod +x "$vg/bin/$name"
done
# The LD_PRELOAD shims and helper programs the suites use ($MQ_BIN/tests).
ln -s "$real/tests" "$vg/bin/tests"
MQ_BIN=$(cd "$vg/bin" && pwd)
export MQ_BIN

passed=0
failed=0
if [ $# -gt 0 ]; then
	suites=""
	for s in "$@"; do
		suites="$suites tests/cli/$s.bats"
	done
else
	suites=$(ls tests/cli/*.bats)
fi
for s in $suites; do
	[ -e "$s" ] || continue
	name=$(basename "$s" .bats)
	start=$(date +%s)
	if bats --tap "$s" >"$vg/bats-$name.tap" 2>&1; then
		n=$(grep -c '^ok ' "$vg/bats-$name.tap")
		echo "ok   bats $name under valgrind ($n tests," \
		    "$(($(date +%s) - start))s)"
		passed=$((passed + 1))
	else
		echo "FAIL bats $name under valgrind ($(($(date +%s) - start))s):"
		grep '^not ok' "$vg/bats-$name.tap" | sed 's/^/    /'
		failed=$((failed + 1))
	fi
done
runs=$(ls "$vg/logs" | wc -l)
bad=$(find "$vg/logs" -type f -size +0 | sort)
if [ -n "$bad" ]; then
	echo "valgrind reported errors in $(echo "$bad" | wc -l) of $runs" \
	    "tool runs:"
	for f in $bad; do
		echo "  $f:"
		sed -n '1,30p' "$f" | sed 's/^/    /'
	done
	failed=$((failed + 1))
else
	echo "valgrind: $runs tool runs, no errors"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
