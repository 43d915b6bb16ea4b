#!/bin/sh
# Installs the Debian 12 packages dhohub needs to build, test and run its
# demo, and only those that are missing; then the browser test's npm
# packages (tests/browser, pinned by its package-lock.json) when they are
# missing or the lock file changed. Needs root (or sudo) when it has
# something to install.
set -eu
cd "$(dirname "$0")/.."

PKGS="build-essential cmake pkg-config mosquitto mosquitto-clients
libpaho-mqtt-dev libssl-dev openssl libsqlite3-dev sqlite3 libcmocka-dev libmodbus-dev
libjansson-dev libinih-dev libcurl4-openssl-dev libmicrohttpd-dev
libsodium-dev liboath-dev
clang libclang-rt-14-dev valgrind tzdata strace
man-db systemd dpkg-dev adduser
chromium"
# The browser test runs under Node.js (18 or later) with npm; a machine that
# has both from elsewhere keeps them.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	PKGS="$PKGS nodejs npm"
fi

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	echo "deps: installing$missing"
	SUDO=""
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null 2>&1 || { echo "deps: run as root to install:$missing" >&2; exit 1; }
		SUDO=sudo
	fi
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -qq --no-install-recommends $missing
fi

# puppeteer-core for tests/browser, exactly as locked. The copy of the lock
# file inside node_modules says which lock the installed tree is from.
stamp=tests/browser/node_modules/.dhohub-package-lock.json
if ! cmp -s tests/browser/package-lock.json "$stamp" 2>/dev/null; then
	echo "deps: npm ci in tests/browser"
	(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
	cp tests/browser/package-lock.json "$stamp"
fi
