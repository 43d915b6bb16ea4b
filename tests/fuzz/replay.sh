#!/bin/sh
# Replays every file under the given directories through one libFuzzer
# harness, once each, without fuzzing: the seed corpus and the kept
# findings as a regression test (ctest -L fuzz). A missing directory is
# skipped, so a harness without findings needs no regress/ folder.
#   replay.sh HARNESS DIR...
set -eu

harness=$1
shift
files=$(for d in "$@"; do if [ -d "$d" ]; then find "$d" -type f ! -name 'README*'; fi; done | sort)
if [ -z "$files" ]; then
	echo "replay: no inputs under $*" >&2
	exit 1
fi
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
# The file names have no spaces: they are short words or libFuzzer's hashes.
# shellcheck disable=SC2086
exec "$harness" $files
