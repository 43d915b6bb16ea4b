#!/bin/sh
# Installs the Debian 12 packages dhohub needs to build, test and run its
# demo, and only those that are missing. Needs root (or sudo) when it has
# something to install.
set -eu

PKGS="build-essential cmake pkg-config mosquitto mosquitto-clients
libpaho-mqtt-dev libssl-dev openssl libsqlite3-dev sqlite3 libcmocka-dev libmodbus-dev
libjansson-dev libinih-dev libcurl4-openssl-dev libmicrohttpd-dev
clang libclang-rt-14-dev valgrind tzdata"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

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
