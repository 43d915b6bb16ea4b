#!/bin/sh
# Fuzzes each harness in turn for FUZZ_SECONDS (default 60), starting from
# its seed corpus, its kept findings and its dictionary, with a memory cap
# and a per-input timeout. Fails when any harness reports a crash, a leak,
# a timeout, an out-of-memory or a sanitizer error; the input that did it is
# left in BUILD/fuzz/NAME/artifacts/ and the log next to it.
#   tests/fuzz/run.sh [BUILD]          (BUILD defaults to build-fuzz)
# Environment: FUZZ_SECONDS, FUZZ_HARNESSES (names, default all),
# FUZZ_RSS_MB (default 2048), FUZZ_TIMEOUT (seconds per input, default 10).
set -eu

src=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-build-fuzz}" && pwd)
seconds=${FUZZ_SECONDS:-60}
rss=${FUZZ_RSS_MB:-2048}
timeout=${FUZZ_TIMEOUT:-10}
harnesses=${FUZZ_HARNESSES:-"gatt hex doc bridge_openmqttgateway bridge_theengs bridge_omg_gatt"}

# Each harness gets room for its largest interesting input: a GATT value
# is at most 512 bytes, the hex form twice that, JSON payloads a few KiB.
max_len() {
	case $1 in
	gatt) echo 600 ;;
	hex) echo 1200 ;;
	*) echo 4096 ;;
	esac
}

dict() {
	case $1 in
	bridge_*) echo "$src/dict/bridge.dict" ;;
	*) echo "$src/dict/$1.dict" ;;
	esac
}

export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
failed=""
for name in $harnesses; do
	bin="$build/tests/fuzz/fuzz_$name"
	work="$build/fuzz/$name"
	[ -x "$bin" ] || { echo "fuzz: $bin is missing (build with -DDHO_FUZZ=ON)" >&2; exit 1; }
	mkdir -p "$work/corpus" "$work/artifacts"
	rm -f "$work/artifacts/"*
	regress=""
	[ -d "$src/regress/$name" ] && regress="$src/regress/$name"
	# New inputs go to the work corpus (the first directory); the seeds
	# and findings in the source tree are only read.
	rc=0
	"$bin" -max_total_time="$seconds" -rss_limit_mb="$rss" -timeout="$timeout" \
		-max_len="$(max_len "$name")" -dict="$(dict "$name")" \
		-artifact_prefix="$work/artifacts/" -print_final_stats=1 \
		"$work/corpus" "$src/corpus/$name" $regress >"$work/log" 2>&1 || rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
	cov=$(grep -E '^#[0-9]+' "$work/log" | tail -n 1 | sed -n 's/.*\(cov: [0-9]* ft: [0-9]*\).*/\1/p')
	corpus=$(ls "$work/corpus" | wc -l)
	if [ "$rc" -ne 0 ] || [ -n "$(ls "$work/artifacts")" ]; then
		echo "fuzz: $name FAILED (exit $rc): see $work/log and $work/artifacts/"
		grep -E '^==[0-9]+==ERROR|runtime error|check failed|^SUMMARY' "$work/log" | head -n 5
		failed="$failed $name"
	else
		echo "fuzz: $name ok: ${seconds}s, ${execs:-?} execs, ${cov:-?}, $corpus new inputs"
	fi
done
if [ -n "$failed" ]; then
	echo "fuzz: findings in:$failed" >&2
	exit 1
fi
