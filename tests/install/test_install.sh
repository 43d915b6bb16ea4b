#!/bin/sh
# Installs the build into a DESTDIR and checks what an operator gets: the
# tree, both man pages rendered by man -l without warnings and complete,
# the systemd units clean under systemd-analyze verify, and their exposure.
#   test_install.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
src=$2
d=$(mktemp -d /tmp/dho-install.XXXXXX)
trap 'rm -rf "$d"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

DESTDIR=$d cmake --install "$build" >"$d.log" 2>&1 || { cat "$d.log"; rm -f "$d.log"; fail "cmake --install"; }
rm -f "$d.log"
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
root=$d$prefix

# The tree.
[ -x "$root/bin/dhohub" ] || fail "no bin/dhohub"
for f in share/man/man8/dhohub.8 share/man/man5/dhohub.conf.5 \
         lib/systemd/system/dhohub.service lib/systemd/system/dhohub-web.service \
         lib/sysusers.d/dhohub.conf share/doc/dhohub/dhohub.conf.example; do
	[ -f "$root/$f" ] || fail "no $f"
done
conf=$(find "$d" -path '*/dhohub/dhohub.conf' ! -path '*/sysusers.d/*')
[ -n "$conf" ] || fail "no etc/dhohub/dhohub.conf"
[ "$(stat -c %a "$conf")" = 640 ] || fail "dhohub.conf is mode $(stat -c %a "$conf"), not 640"
"$root/bin/dhohub" -c "$conf" --db "$d/t.db" check-config >/dev/null || fail "the installed config does not load"

# Both pages render, without a warning from groff.
for page in man8/dhohub.8 man5/dhohub.conf.5; do
	MANWIDTH=80 man --warnings -l "$root/share/man/$page" >"$d/page.txt" 2>"$d/warn.txt" \
		|| fail "man -l $page"
	[ -s "$d/warn.txt" ] && { cat "$d/warn.txt"; fail "man -l $page warns"; }
	grep -q '^NAME' "$d/page.txt" || fail "$page has no NAME"
	# One line, spaces squeezed: a command may wrap in the rendering.
	tr -s ' \n' '  ' <"$d/page.txt" >"$d/$(basename "$page").txt"
done
# dhohub.8 has every command of --help, the exit codes and the signals.
"$root/bin/dhohub" --help | sed -n '/^Commands:/,/^$/p' | sed -n 's/^  \([a-z-]*\)\( \([a-z]*\)\)\{0,1\}.*/\1 \3/p' |
while read -r cmd sub; do
	case $sub in [a-z]*) want="$cmd $sub" ;; *) want=$cmd ;; esac
	grep -q -- "$want" "$d/dhohub.8.txt" || fail "dhohub.8 lacks the command '$want'"
done
for w in 'EXIT STATUS' SIGTERM SIGHUP SIGINT 'FILES' '/etc/dhohub/dhohub.conf'; do
	grep -q -- "$w" "$d/dhohub.8.txt" || fail "dhohub.8 lacks $w"
done
# dhohub.conf.5 is written from the option table at build time; as a check
# of that, it has every key of the shipped example (which the unit tests
# hold to the same table; rule and register keys are its RULE = SPEC and
# register.METRIC lines) and the defaults of a few.
grep -E '^[a-z_.0-9]+ = ' "$src/dhohub.conf.example" | sed 's/ = .*//' | sort -u |
	grep -vE '^(threshold|trend|baseline|missing|register)\.|^news2$' |
while read -r key; do
	grep -qF -- " $key = " "$d/dhohub.conf.5.txt" || fail "dhohub.conf.5 lacks the key $key"
done
for line in 'timezone = Europe/Oslo' 'url = tcp://127.0.0.1:1883' 'retention_days = 0' \
            'ack_s.red = 900' 'hospital_days = 14'; do
	grep -qF -- "$line" "$d/dhohub.conf.5.txt" || fail "dhohub.conf.5 lacks '$line'"
done

# The units verify clean; the binary and pages they name are the staged ones.
command -v systemd-analyze >/dev/null || fail "systemd-analyze is missing (scripts/deps.sh installs systemd)"
for u in dhohub dhohub-web; do
	sed "s|$prefix/bin/dhohub|$root/bin/dhohub|g" "$root/lib/systemd/system/$u.service" >"$d/$u.service"
done
MANPATH=$root/share/man systemd-analyze verify "$d/dhohub.service" "$d/dhohub-web.service" \
	>"$d/verify.txt" 2>&1 || { cat "$d/verify.txt"; fail "systemd-analyze verify"; }
[ -s "$d/verify.txt" ] && { cat "$d/verify.txt"; fail "systemd-analyze verify is not clean"; }
for u in dhohub dhohub-web; do
	score=$(systemd-analyze security --offline=yes "$d/$u.service" 2>/dev/null |
		sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
	echo "$u.service: exposure $score"
	# docs/security.md reports the figure; a unit that loses its sandbox
	# fails here.
	awk -v s="$score" 'BEGIN { exit !(s != "" && s + 0 <= 2.0) }' || fail "$u.service exposure $score > 2.0"
done
echo "install tree, man pages and units ok"
