#!/usr/bin/env bash
# Fresh-machine check: runs the README's two commands,
#     sudo scripts/quickstart.sh
#     sudo scripts/test.sh
# in a clean Debian 12 (bookworm) root made with debootstrap from the Debian archive, entered
# with namespaces (a private mount namespace and pid namespace, then chroot), with a clone of
# this repository's committed HEAD copied in. Nothing of the host's build, packages or state is
# visible inside: the root starts with Debian's "important" set plus sudo, exactly what a
# fresh server install has, and the scripts must install everything else themselves.
#
# It takes long (a full dependency install, a full build and the whole test suite on 2 cores:
# an hour or more), so it is not part of CI. Run it by hand:
#     sudo nice scripts/fresh-machine-check.sh [--worktree] [--keep] [--dir DIR]
#   --worktree  copy the working tree (uncommitted changes included) instead of HEAD
#   --keep      keep the root afterwards (default: removed on success, kept on failure)
#   --dir DIR   where the root and the log go (default /var/tmp/berth-fresh-<pid>)
# Env: BERTH_FRESH_MIRROR (default http://deb.debian.org/debian),
#      BERTH_FRESH_TARBALL: a debootstrap --make-tarball file to unpack instead of downloading
#      (made on first use when the variable names a file that does not exist yet).
# Exit code: 0 when both commands passed inside the fresh root; the log is <dir>/fresh-check.log.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
worktree=0 keep=0 dir=/var/tmp/berth-fresh-$$
while (($#)); do
  case $1 in
    --worktree) worktree=1 ;;
    --keep) keep=1 ;;
    --dir) dir=$2; shift ;;
    -h | --help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fresh-machine-check: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [[ $(id -u) -ne 0 ]]; then
  echo "fresh-machine-check: debootstrap, chroot and namespaces need root: run with sudo" >&2
  exit 1
fi
for tool in debootstrap unshare chroot git; do
  command -v "$tool" >/dev/null || {
    echo "fresh-machine-check: $tool is missing (apt-get install debootstrap util-linux git)" >&2
    exit 1
  }
done

mirror=${BERTH_FRESH_MIRROR:-http://deb.debian.org/debian}
root=$dir/root
log=$dir/fresh-check.log
mkdir -p "$dir"
: >"$log"
say() { echo "== $(date +%T) $*" | tee -a "$log"; }

say "debootstrap bookworm into $root (mirror $mirror)"
args=(--include=sudo,ca-certificates bookworm "$root" "$mirror")
tarball=${BERTH_FRESH_TARBALL:-}
if [[ -n $tarball && ! -f $tarball ]]; then
  debootstrap --make-tarball="$tarball" "${args[@]}" >>"$log" 2>&1
fi
if [[ -n $tarball ]]; then
  debootstrap --unpack-tarball="$tarball" "${args[@]}" >>"$log" 2>&1
else
  debootstrap "${args[@]}" >>"$log" 2>&1
fi
# The security archive, as on an installed system; no daemon may start inside the chroot (there
# is no init: policy-rc.d is Debian's standard way to say so).
echo "deb http://deb.debian.org/debian-security bookworm-security main" \
  >"$root/etc/apt/sources.list.d/security.list"
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# As the installer would: the host name resolves (sudo asks for it).
printf '127.0.0.1 localhost\n127.0.1.1 %s\n' "$(hostname)" >"$root/etc/hosts"

say "copying the repository into /root/berth ($([[ $worktree == 1 ]] && echo "working tree" ||
  echo "HEAD $(git -C "$repo" rev-parse --short HEAD)"))"
if [[ $worktree == 1 ]]; then
  mkdir -p "$root/root/berth"
  tar -C "$repo" --exclude=./build --exclude=./build-fuzz --exclude=./.berth-demo -cf - . |
    tar -C "$root/root/berth" -xf -
else
  git clone --quiet --no-local --no-hardlinks "$repo" "$root/root/berth"
fi

# Inside: a private mount namespace (everything mounted there vanishes with it) and a pid
# namespace (every process started there, daemons and containers included, dies with it).
say "running the README's commands in the fresh root"
set +e
unshare --mount --pid --fork --kill-child --propagation private -- bash -euc '
  r=$1
  # The root must be a mount point, as / is on a real machine: runc makes its mount
  # propagation slave, which a plain directory cannot be.
  mount --bind "$r" "$r"
  mount -t proc proc "$r/proc"
  mount --rbind /sys "$r/sys"
  mount --rbind /dev "$r/dev"
  mount -t tmpfs -o mode=0755 tmpfs "$r/run"
  exec chroot "$r" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /bin/bash -euc "
      cd /root/berth
      echo \"== \$(date +%T) sudo scripts/quickstart.sh\"
      sudo scripts/quickstart.sh
      echo \"== \$(date +%T) sudo scripts/test.sh\"
      sudo scripts/test.sh
      echo \"== \$(date +%T) both commands passed\""
' fresh "$root" >>"$log" 2>&1
rc=$?
set -e
if [[ $rc -eq 0 ]]; then
  say "PASS: quickstart and the test suite passed in a fresh Debian 12 root"
  [[ $keep == 1 ]] || rm -rf "$root"
else
  say "FAIL (exit $rc): see $log; the root is kept in $root"
fi
exit "$rc"
