#!/usr/bin/env bash
# The main job, end to end, on a fresh Debian 12 machine: install the dependencies, build,
# start berthd (embedded mode: it spawns every Berth service) on a local root and state dir,
# import a busybox image built here from Debian's busybox-static, and run a container from it
# that prints a greeting. Everything lives under $BERTH_DEMO_DIR (default ./.berth-demo); berthd
# and its services are stopped again at the end (BERTH_KEEP=1 leaves them running).
# Usage: sudo scripts/quickstart.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) -ne 0 ]]; then
  echo "scripts/quickstart.sh: Berth mounts filesystems and runs containers; run as root" >&2
  exit 1
fi
scripts/install-deps.sh
scripts/build.sh

demo=${BERTH_DEMO_DIR:-$PWD/.berth-demo}
root=$demo/root
# Unix socket paths are limited to 107 bytes: keep the state dir short.
state=$(mktemp -d /tmp/berth-state-XXXXXX)
mkdir -p "$root"
bin=$PWD/build
berthctl() { "$bin/cli/berthctl" --state "$state" "$@"; }

# The build tree keeps each service in its own folder: tell berthd where they are (berth-runtime
# finds berth-shim in the build tree by itself).
cat >"$demo/berthd.toml" <<TOML
[services.binaries]
content = "$bin/services/content/berth-content"
snapshot = "$bin/services/snapshot/berth-snapshot"
metadata = "$bin/services/metadata/berth-metadata"
runtime = "$bin/services/runtime/berth-runtime"
TOML
"$bin/supervisor/berthd" --config "$demo/berthd.toml" --root "$root" --state "$state" \
  >"$demo/berthd.log" 2>&1 &
berthd_pid=$!
cleanup() {
  if [[ ${BERTH_KEEP:-0} == 1 ]]; then
    echo "berthd keeps running (pid $berthd_pid): $bin/cli/berthctl --state $state ..."
    return
  fi
  kill -TERM "$berthd_pid" 2>/dev/null || true
  wait "$berthd_pid" 2>/dev/null || true
  rm -rf "$state"
}
trap cleanup EXIT

for _ in $(seq 100); do
  berthctl version >/dev/null 2>&1 && break
  sleep 0.1
done
for service in content snapshot metadata runtime; do
  for _ in $(seq 100); do
    berthctl services ls | awk -v s="$service" '$1 == s && $3 == "running" { ok = 1 } END { exit !ok }' &&
      break
    sleep 0.1
  done
done
echo "== berthctl version"; berthctl version
echo "== berthctl services ls"; berthctl services ls

# An image to run: busybox-static in an OCI archive (reproducible, no network needed).
if [[ ! -f $demo/busybox.tar ]]; then
  tests/fixtures/images.sh oci-archive "$demo/busybox.tar"
fi
echo "== berthctl image import --base-name berth/busybox $demo/busybox.tar"
berthctl image import --base-name berth/busybox "$demo/busybox.tar"
echo "== berthctl image ls"; berthctl image ls
echo "== berthctl run --rm berth/busybox:latest hello ..."
berthctl run --rm berth/busybox:latest hello \
  sh -c 'echo "Hello from a Berth container: $(hostname), $(uname -s), uid $(id -u)"'
echo "berthd log: $demo/berthd.log"
