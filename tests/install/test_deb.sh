#!/bin/sh
# Installs the .deb of `make package` into a throw-away copy of this Debian
# 12 system (an overlay of / in private mount, network and PID namespaces,
# then chroot) and checks what the package gives an operator: the system
# user and group, the binary (`dhohub --version` runs), the units, both man
# pages, the configuration directory and the state directory, each with
# its owner and mode; that `run` as the service user creates its database
# (mode 0600); and that it removes cleanly, keeping the data. The machine itself is not
# changed: every write lands in the overlay's upper directory, which is
# removed on exit, also after a failed check.
#   test_deb.sh DEB                  (make package-test)
#   test_deb.sh --build SRC DIR      (ctest: configures DIR for the prefix
#                                     /usr as `make package` does, builds
#                                     the package there, then tests it)
# Needs root (mount namespaces, overlayfs, chroot). Without root it fails,
# or exits 77 (ctest: skipped) when DHO_ALLOW_SKIP=1.
set -eu
fail() { echo "FAIL: $*" >&2; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
	if [ "${DHO_ALLOW_SKIP:-}" = 1 ]; then
		echo "skipped: the package install test needs root (DHO_ALLOW_SKIP=1)" >&2
		exit 77
	fi
	fail "the package install test needs root; run as root, or set DHO_ALLOW_SKIP=1 to skip it"
fi

if [ "$1" = --build ]; then
	src=$2
	pkg=$3
	log=$pkg.log
	# The same configuration as `make package`; only what the package
	# holds is built. A second run rebuilds only what changed.
	{
		cmake -S "$src" -B "$pkg" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr &&
		cmake --build "$pkg" -j"$(nproc)" --target dhohub dho_man &&
		(cd "$pkg" && rm -f dhohub_*.deb && cpack -G DEB)
	} >"$log" 2>&1 || { cat "$log"; fail "building the package in $pkg"; }
	set -- "$pkg"/dhohub_*.deb
	[ $# -eq 1 ] && [ -f "$1" ] || { cat "$log"; fail "cpack made no single dhohub_*.deb"; }
fi
deb=$(readlink -f "$1")
version=$(dpkg-deb -f "$deb" Version)

ov=$(mktemp -d /tmp/dho-deb.XXXXXX)
# Everything is in the namespaces of `unshare` and ends with it: the
# overlay's upper directory is a tmpfs mounted there (a small /dev/shm or
# an overlayfs /tmp, as in a container, would not do), and every process
# started in there goes with its PID namespace (when its first process
# exits, the kernel kills the rest). What is left is the empty mount point.
trap 'rm -rf "$ov"' EXIT INT TERM
unshare -m -n -p -f --propagation private sh -eu -c '
ov=$1; deb=$2; version=$3
umask 022
mount -t tmpfs -o size=1g,mode=0700 dho-deb "$ov"
mkdir "$ov/upper" "$ov/work" "$ov/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$ov/upper,workdir=$ov/work" "$ov/root"
mount -t proc proc "$ov/root/proc"
mount --bind /dev "$ov/root/dev"
mkdir -p "$ov/root/tmp/deb" && cp "$deb" "$ov/root/tmp/deb/"
chroot "$ov/root" sh -eu -c "
	fail() { echo \"FAIL: \$*\" >&2; exit 1; }
	# owner:group:mode of a path, or fail.
	is() { m=\$(stat -c %U:%G:%a \"\$1\") || fail \"\$1 is missing\"
	       [ \"\$m\" = \"\$2\" ] || fail \"\$1 is \$m, not \$2\"; }
	! getent passwd dhohub >/dev/null || fail \"the user dhohub exists already on this machine\"
	# A minimal image (debian:12-slim) excludes man pages and
	# documentation from every package by dpkg configuration: those of
	# dhohub are included again.
	dpkg --path-include=\"/usr/share/man/man[58]/dhohub*\" \\
		--path-include=\"/usr/share/doc/dhohub/*\" -i /tmp/deb/*.deb >/tmp/deb/dpkg.log 2>&1 ||
		{ cat /tmp/deb/dpkg.log; fail \"dpkg -i\"; }
	[ \"\$(dpkg-query -W -f=\\\${Status} dhohub)\" = \"install ok installed\" ] || fail \"dhohub is not installed\"

	# The system user and group, at home in the state directory.
	ent=\$(getent passwd dhohub) || fail \"no user dhohub\"
	getent group dhohub >/dev/null || fail \"no group dhohub\"
	uid=\$(echo \"\$ent\" | cut -d: -f3)
	[ \"\$uid\" -lt 1000 ] || fail \"dhohub is not a system user (uid \$uid)\"
	[ \"\$(echo \"\$ent\" | cut -d: -f6)\" = /var/lib/dhohub ] || fail \"home: \$ent\"
	case \$(echo \"\$ent\" | cut -d: -f7) in */nologin|/bin/false) ;; *) fail \"login shell: \$ent\" ;; esac

	# The binary runs.
	is /usr/bin/dhohub root:root:755
	[ \"\$(dhohub --version)\" = \"dhohub $version\" ] || fail \"dhohub --version: \$(dhohub --version)\"

	# Units, sysusers, man pages, documentation.
	for u in dhohub dhohub-web; do
		is /usr/lib/systemd/system/\$u.service root:root:644
		grep -q \"^ExecStart=/usr/bin/dhohub \" /usr/lib/systemd/system/\$u.service ||
			fail \"\$u.service does not start /usr/bin/dhohub\"
		grep -q \"^User=dhohub\$\" /usr/lib/systemd/system/\$u.service || fail \"\$u.service: not User=dhohub\"
	done
	is /usr/lib/sysusers.d/dhohub.conf root:root:644
	is /usr/share/man/man8/dhohub.8 root:root:644
	is /usr/share/man/man5/dhohub.conf.5 root:root:644
	[ \"\$(man -w dhohub)\" = /usr/share/man/man8/dhohub.8 ] || fail \"man -w dhohub\"
	[ \"\$(man -w dhohub.conf)\" = /usr/share/man/man5/dhohub.conf.5 ] || fail \"man -w dhohub.conf\"
	is /usr/share/doc/dhohub/dhohub.conf.example root:root:644

	# The configuration: the service group may read it, no one else.
	is /etc/dhohub root:dhohub:750
	is /etc/dhohub/dhohub.conf root:dhohub:640
	grep -qx /etc/dhohub/dhohub.conf /var/lib/dpkg/info/dhohub.conffiles || fail \"dhohub.conf is not a conffile\"
	# The state directory: the service user only.
	is /var/lib/dhohub dhohub:dhohub:700

	# The service user reads the configuration, and \`run\` creates its
	# database (no network here: it only retries the broker).
	cd /var/lib/dhohub
	as_dhohub() { setpriv --reuid=dhohub --regid=dhohub --init-groups \"\$@\"; }
	as_dhohub dhohub check-config >/dev/null || fail \"the user dhohub: dhohub check-config\"
	setpriv --reuid=dhohub --regid=dhohub --init-groups dhohub run >/tmp/deb/run.log 2>&1 &
	pid=\$!
	i=0
	while ! [ -f dhohub.db ] && [ \$i -lt 200 ]; do sleep 0.1; i=\$((i + 1)); done
	kill -TERM \$pid
	wait \$pid || { cat /tmp/deb/run.log; fail \"dhohub run did not exit 0 on SIGTERM\"; }
	is /var/lib/dhohub/dhohub.db dhohub:dhohub:600
	as_dhohub dhohub stats >/dev/null || fail \"the user dhohub: dhohub stats\"

	# Removed: the program goes, the data stays (only the operator
	# deletes patient data).
	cd /
	dpkg -r dhohub >/tmp/deb/dpkg.log 2>&1 || { cat /tmp/deb/dpkg.log; fail \"dpkg -r\"; }
	! [ -e /usr/bin/dhohub ] || fail \"/usr/bin/dhohub is left after dpkg -r\"
	! [ -e /usr/lib/systemd/system/dhohub.service ] || fail \"dhohub.service is left after dpkg -r\"
	[ -f /var/lib/dhohub/dhohub.db ] || fail \"dpkg -r removed the database\"
"
' sh "$ov" "$deb" "$version"
echo "the package $(basename "$deb") installs, creates the user, and removes cleanly"
