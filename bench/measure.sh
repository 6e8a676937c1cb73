# measure.sh - sourced by the bench scripts: the wall time and peak
# resident memory of one command, with GNU time when it is installed and
# from /proc otherwise.  The sourcing script sets tmp (a scratch
# directory) first.  Sets rss_how (how memory is measured) and defines:
#
#   now          the clock, in seconds with nanoseconds
#   measure CMD  runs CMD with sh -c; sets secs (wall time) and kib (peak
#                resident memory in KiB: with GNU time, of the largest
#                process CMD ran; from /proc, of the shell, so a measured
#                tool must be started with exec).  Exits on failure.
# shellcheck shell=sh

if /usr/bin/time -f %M true >/dev/null 2>&1; then
	rss_how="GNU time %M"
else
	rss_how="VmHWM polled from /proc (GNU time is missing)"
fi

now() { date +%s.%N; }

measure() {
	_t0=$(now)
	if [ "$rss_how" = "GNU time %M" ]; then
		/usr/bin/time -f %M -o "$tmp/rss" sh -c "$1"
		kib=$(tail -n 1 "$tmp/rss")
	else
		sh -c "$1" &
		_pid=$!
		kib=0
		while [ -r "/proc/$_pid/status" ]; do
			_h=$(sed -n 's/^VmHWM:[^0-9]*\([0-9]*\).*/\1/p' \
			    "/proc/$_pid/status" 2>/dev/null || true)
			[ -n "$_h" ] && [ "$_h" -gt "$kib" ] && kib=$_h
			sleep 0.01
		done
		wait "$_pid"
	fi
	_t1=$(now)
	secs=$(awk "BEGIN { print $_t1 - $_t0 }")
}
