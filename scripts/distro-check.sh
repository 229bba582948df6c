#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Portability check: runs the lab's `make test` on another Debian release, in a root made with
# debootstrap, as a new user would on a fresh machine (setup.sh installs the Debian packages).
#
#   sudo scripts/distro-check.sh DIST          e.g. bookworm, trixie
#
# Needs root and debootstrap. Makes (once) a minimal root DIR/DIST, where DIR is
# $DISTRO_CHECK_DIR (default /var/tmp/lab-distro-check); later runs reuse it, with the packages
# setup.sh installed there (FRESH=1 makes it again). Copies the committed tree (git archive
# HEAD) into the root, mounts proc, dev and a tmpfs on /tmp, copies in this machine's CA bundle
# and /etc/pip.conf (pip needs them where a proxy or private index is configured), runs
# `make test PYTEST_ARGS=...` inside, unmounts on every exit path and ends with one line:
#   distro-check: trixie: PASS|FAIL (gcc X, QEMU Y, Python Z; N passed, M failed ...) in Ns
# The log of the last run is DIR/DIST.log (debootstrap's: DIR/DIST.debootstrap.log). Exit
# status: make test's; 2 when the check could not start.
#
# Environment: PYTEST_ARGS (passed to make test, e.g. '-k lesson01' for a quick check),
# MIRROR (default http://deb.debian.org/debian), FRESH=1, DISTRO_CHECK_DIR.
set -euo pipefail

die() { printf 'distro-check: error: %s\n' "$*" >&2; exit 2; }

dist=${1:-}
[ -n "$dist" ] || die "usage: $0 DIST   (a Debian suite: bookworm, trixie, ...)"
case $dist in *[!a-z0-9-]*) die "DIST must be a Debian suite name like trixie, not '$dist'";; esac
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot and mounts): sudo $0 $dist"
command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
git -C "$repo" rev-parse --verify -q HEAD >/dev/null || die "$repo is not a git checkout with a commit"
dir=${DISTRO_CHECK_DIR:-/var/tmp/lab-distro-check}
root=$dir/$dist
log=$dir/$dist.log
mirror=${MIRROR:-http://deb.debian.org/debian}
mkdir -p "$dir"

mounted=()
cleanup() {           # unmount what we mounted, innermost first; runs on every exit path
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount -R "${mounted[i]}" 2>/dev/null || umount -lR "${mounted[i]}" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A root left mounted by a killed run would be deleted through its mounts: refuse instead.
if grep -q " $root/" /proc/mounts; then
  die "something is still mounted under $root (an earlier run killed with -9?): umount -R it first"
fi
if [ "${FRESH:-0}" = 1 ] || [ ! -f "$root/.debootstrap-done" ]; then
  rm -rf "$root"
  echo "distro-check: debootstrap --variant=minbase $dist $root (a few minutes)"
  debootstrap --variant=minbase --include=ca-certificates,make,git "$dist" "$root" "$mirror" \
    >"$dir/$dist.debootstrap.log" 2>&1 || die "debootstrap failed: see $dir/$dist.debootstrap.log"
  touch "$root/.debootstrap-done"
fi

: >"$log"   # this run's log only
install -m 0644 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
[ -f /etc/pip.conf ] && install -m 0644 /etc/pip.conf "$root/etc/pip.conf"
cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

mount -t proc proc "$root/proc"; mounted+=("$root/proc")
mount --rbind /dev "$root/dev"; mount --make-rslave "$root/dev"; mounted+=("$root/dev")
mount -t tmpfs -o size=4g tmpfs "$root/tmp"; mounted+=("$root/tmp")

# The committed tree only: no .venv, images or build outputs of this machine.
rm -rf "$root/lab"
mkdir -p "$root/lab"
git -C "$repo" archive HEAD | tar -x -C "$root/lab"
commit=$(git -C "$repo" rev-parse --short HEAD)

echo "distro-check: $dist: make test PYTEST_ARGS='${PYTEST_ARGS:-}' at $commit (log: $log)"
start=$(date +%s)
set +e
chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
  TERM=dumb PYTEST_ARGS="${PYTEST_ARGS:-}" \
  bash -c 'cd /lab && make test PYTEST_ARGS="$PYTEST_ARGS"' </dev/null >>"$log" 2>&1
status=$?
set -e
secs=$(( $(date +%s) - start ))

versions=$(chroot "$root" bash -c '
  g=$(gcc -dumpfullversion 2>/dev/null || echo none)
  q=$(qemu-system-x86_64 --version 2>/dev/null | sed -n "1s/.*version \([0-9.]*\).*/\1/p")
  p=$(python3 -c "import platform; print(platform.python_version())" 2>/dev/null || echo none)
  echo "gcc $g, QEMU ${q:-none}, Python $p"')
summary=$(grep -E '^(=+ )?[0-9]+ (passed|failed)|^=+ .*(passed|failed|error).* in ' "$log" | tail -1 |
          sed 's/=//g; s/^ *//; s/ *$//')
verdict=PASS; [ $status -eq 0 ] || verdict=FAIL
echo "distro-check: $dist: $verdict ($versions; ${summary:-no pytest summary, see the log}) in ${secs}s at $commit"
exit $status
