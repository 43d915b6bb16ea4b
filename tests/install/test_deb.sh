#!/bin/sh
# Installs the .deb of `make package` into a throw-away copy of this Debian
# 12 system (an overlay of / in a private mount namespace, then chroot) and
# checks that it creates the user, the private directories and a database
# of mode 0600, and that it removes cleanly, keeping the data. Needs root
# (mount namespaces, overlayfs); the machine itself is not changed.
#   test_deb.sh DEB
set -eu
deb=$(readlink -f "$1")
ov=$(mktemp -d /dev/shm/dho-deb.XXXXXX)
trap 'rm -rf "$ov"' EXIT
mkdir "$ov/upper" "$ov/work" "$ov/root"
unshare -m sh -eu -c '
ov=$1; deb=$2
mount -t overlay overlay -o "lowerdir=/,upperdir=$ov/upper,workdir=$ov/work" "$ov/root"
mount --bind /proc "$ov/root/proc"
mount --bind /dev "$ov/root/dev"
mkdir -p "$ov/root/tmp/deb" && cp "$deb" "$ov/root/tmp/deb/"
chroot "$ov/root" sh -eu -c "
	! getent passwd dhohub >/dev/null || { echo FAIL: the user exists already; exit 1; }
	dpkg -i /tmp/deb/*.deb
	getent passwd dhohub
	[ \"\$(stat -c %U:%G:%a /var/lib/dhohub)\" = dhohub:dhohub:700 ]
	[ \"\$(stat -c %U:%G:%a /etc/dhohub/dhohub.conf)\" = root:dhohub:640 ]
	cd /var/lib/dhohub
	su -s /bin/sh dhohub -c \"dhohub check-config && dhohub stats >/dev/null\"
	[ \"\$(stat -c %U:%a /var/lib/dhohub/dhohub.db)\" = dhohub:600 ]
	[ -f /lib/systemd/system/dhohub.service ] || [ -f /usr/lib/systemd/system/dhohub.service ]
	man -w dhohub.conf >/dev/null
	dpkg -r dhohub
	[ -f /var/lib/dhohub/dhohub.db ]
	! [ -e /usr/bin/dhohub ]
"
' sh "$ov" "$deb"
echo "the package installs, creates the user and removes cleanly"
