#!/usr/bin/env bash
# The main job, end to end, on a fresh Debian 12 machine: install the dependencies, build,
# start berthd (embedded mode: it spawns every Berth service) on a local root and state dir,
# and show what it runs. Everything lives under $BERTH_DEMO_DIR (default ./.berth-demo) and
# berthd is stopped again at the end. Usage: sudo scripts/quickstart.sh
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

# The build tree keeps each service in its own folder: tell berthd where they are.
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
  kill -TERM "$berthd_pid" 2>/dev/null || true
  wait "$berthd_pid" 2>/dev/null || true
  rm -rf "$state"
}
trap cleanup EXIT

for _ in $(seq 100); do
  berthctl version >/dev/null 2>&1 && break
  sleep 0.1
done
echo "== berthctl version"; berthctl version
echo "== berthctl services ls"; berthctl services ls
echo "== berthctl plugins ls"; berthctl plugins ls
# Pulling or importing an image and running a container join this script when the image and
# runtime areas join the default build (scripts/build.sh; see docs/architecture.md).
echo "berthd log: $demo/berthd.log"
