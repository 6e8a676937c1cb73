#!/bin/sh
# Build the libFuzzer targets in tests/fuzz/ with clang and run each for
# SECONDS seconds, FUZZ_JOBS targets at a time, into a scratch corpus under
# build-fuzz/corpus/NAME seeded from the checked-in tests/fuzz/corpus/NAME
# and tests/fuzz/regress/NAME (which are only read).
#
#   sh mk/fuzz.sh [SECONDS [TARGET...]]     (make fuzz FUZZ_SECONDS=600)
#   sh mk/fuzz.sh seeds                     rewrite tests/fuzz/corpus/
#
# Environment: FUZZ_CC (clang), FUZZ_JOBS (2), FUZZ_OUT (build-fuzz).
# Crashes land in $FUZZ_OUT/crashes/NAME/; the script lists them at the end
# and exits 1 if there are any.  Once a crash is fixed, copy it into
# tests/fuzz/regress/NAME/ so that `make check` keeps it fixed.
set -e
if [ "${1:-}" = seeds ]; then
	# The seed corpora, from real batches and segments made with libmq.
	make --no-print-directory build/libmq.a
	mkdir -p build-fuzz
	${CC:-cc} -D_GNU_SOURCE -Ilibmq -O1 -g -o build-fuzz/gen_seeds \
	    tests/fuzz/gen_seeds.c build/libmq.a -lz -linih
	exec build-fuzz/gen_seeds tests/fuzz/corpus
fi
seconds=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-batch index jsonl config}
cc=${FUZZ_CC:-clang}
jobs=${FUZZ_JOBS:-2}
out=${FUZZ_OUT:-build-fuzz}

if ! command -v "$cc" >/dev/null 2>&1; then
	echo "fuzz: $cc not found (apt-get install clang libclang-rt-dev)" >&2
	exit 1
fi

san="address,undefined"
cflags="-g -O1 -Wall -Wextra -Wno-unused-parameter -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
cppflags="-D_GNU_SOURCE -Ilibmq -Icmd -Itests/fuzz"
mkdir -p "$out/obj" "$out/bin"

# libmq and the tool helpers the targets need, instrumented for coverage.
echo "fuzz: building with $cc"
objs=""
for src in libmq/*.c cmd/base64.c cmd/jsonl.c cmd/jsonrec.c cmd/jsonout.c \
    cmd/outbuf.c cmd/tool.c tests/fuzz/fuzz_common.c; do
	o="$out/obj/$(echo "$src" | tr / _ | sed 's/\.c$/.o/')"
	$cc $cppflags $cflags -fsanitize=fuzzer-no-link,$san -c -o "$o" "$src"
	objs="$objs $o"
done
for t in $targets; do
	extra=""
	# The partition readers allocate a 1 MiB buffer per scan; see
	# fuzz_bufcache.c for why the index target reuses them.
	[ "$t" = index ] && extra="tests/fuzz/fuzz_bufcache.c
	    -Wl,--wrap=mq_buf_reserve,--wrap=mq_buf_free"
	$cc $cppflags $cflags -fsanitize=fuzzer,$san -o "$out/bin/fuzz_$t" \
	    "tests/fuzz/fuzz_$t.c" $extra $objs -lz -linih
done

# run_one NAME: fuzz one target for $seconds seconds.
run_one() {
	name=$1
	mkdir -p "$out/corpus/$name" "$out/crashes/$name"
	dict=""
	[ -e "tests/fuzz/$name.dict" ] && dict="-dict=tests/fuzz/$name.dict"
	seeds=""
	for d in "tests/fuzz/corpus/$name" "tests/fuzz/regress/$name"; do
		[ -d "$d" ] && seeds="$seeds $d"
	done
	# -fork=1 with -ignore_*: go on after a crash for the whole time.
	"$out/bin/fuzz_$name" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 \
	    -ignore_ooms=1 -max_total_time="$seconds" -timeout=10 \
	    -rss_limit_mb=2048 -malloc_limit_mb=4096 -max_len=65536 -print_final_stats=1 \
	    -artifact_prefix="$out/crashes/$name/" $dict \
	    "$out/corpus/$name" $seeds >"$out/$name.log" 2>&1 || true
	execs=$(sed -n 's/^#\([0-9]*\): cov.*/\1/p' "$out/$name.log" | tail -1)
	echo "fuzz: $name: ${execs:-?} runs in ${seconds}s," \
	    "$(ls "$out/corpus/$name" | wc -l) inputs in corpus," \
	    "$(ls "$out/crashes/$name" | wc -l) crashes (log: $out/$name.log)"
}

echo "fuzz: running $targets for ${seconds}s each, $jobs at a time"
running=0
for t in $targets; do
	run_one "$t" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait
		running=0
	fi
done
wait

crashes=$(find "$out/crashes" -type f 2>/dev/null | sort)
if [ -n "$crashes" ]; then
	echo "fuzz: crashing inputs:"
	echo "$crashes" | sed 's/^/  /'
	exit 1
fi
echo "fuzz: no crashes"
