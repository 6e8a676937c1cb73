#!/bin/sh
# Install the Debian packages mq needs to build and test, when missing.
# As root (or with sudo) this runs apt-get; otherwise it prints the command.
pkgs="gcc make pkg-config zlib1g-dev libinih-dev libcmocka-dev bats mandoc"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
	echo "mq needs these packages (Debian names):$missing" >&2
	exit 1
fi
if [ "$(id -u)" = 0 ]; then
	sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	sudo="sudo"
else
	echo "mq needs:$missing" >&2
	echo "run: sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "make deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq || true
$sudo apt-get install -y -qq $missing || {
	echo "make deps: apt-get failed; run: sudo apt-get install -y$missing" >&2
	exit 1
}
