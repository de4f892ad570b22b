#!/usr/bin/env bash
# The installed units start the whole system under a real systemd: systemd boots as PID 1 in a
# throwaway systemd-nspawn container made from the host's /usr (read-only) and a tmpfs for the
# rest (--volatile=yes), with Berth's `cmake --install` tree bound over the install prefix.
# A oneshot unit ordered after berth.target runs tests/systemd/boot_check.sh (units up with
# Type=notify/Restart=always/KillMode=process/Delegate=yes, sandboxes checked by action,
# import + run, a detached container surviving `systemctl restart berth-runtime`, a killed
# service restarted by systemd and counted by berthd, metrics accepted by promtool), then
# powers the container off. Nothing outlives the container: its mounts and processes are its own.
# Usage: boot_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
source=$2
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v systemd-nspawn >/dev/null ||
  fail "systemd-nspawn is missing: apt-get install systemd-container (scripts/install-deps.sh does)"
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
[[ $prefix != /usr ]] || fail "the test binds the install prefix over the host's; use a prefix other than /usr"
work=$(mktemp -d /tmp/berth-boot-XXXXXX)
machine=berth-boot-$$
cleanup() {
  rm -rf "$work"
  # nspawn leaves its (empty) propagation directory behind on hosts without systemd as PID 1.
  rmdir "/run/systemd/nspawn/propagate/$machine" 2>/dev/null || true
}
trap cleanup EXIT

DESTDIR=$work/install cmake --install "$build" >/dev/null
mkdir -p "$work/check/out" "$work/units"
cp "$source/tests/systemd/boot_check.sh" "$work/check/"
bash "$source/tests/fixtures/images.sh" oci-archive "$work/check/busybox.tar" >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sysconfdir=$prefix/etc
config=$work/config.toml
sed "s/^address = \"\"/address = \"127.0.0.1:$port\"/" "$work/install$sysconfdir/berth/config.toml" >"$config"
grep -q "127.0.0.1:$port" "$config" || fail "could not set the metrics address in the config"
cat >"$work/units/berth-boot-check.service" <<UNIT
[Unit]
Description=Berth boot test checks
Wants=berth.target
After=berth.target
[Service]
Type=oneshot
Environment=BERTH_METRICS=127.0.0.1:$port
ExecStart=/bin/bash /check/boot_check.sh
ExecStopPost=/usr/bin/systemctl --no-block poweroff
UNIT

set +e
# A unified (v2-only) cgroup tree inside: on a hybrid host nspawn mounts the v1 hierarchies
# read-only, where runc could not create a container's cgroups. The machine stands in for a
# host booted with systemd, so it gets a host's privileges: every capability, and the system
# calls nspawn filters by default that runc needs (keyctl for the session keyring, bpf for the
# device cgroup program).
SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 timeout 300 systemd-nspawn -D / --volatile=yes --register=no --keep-unit -M "$machine" -b \
  --console=read-only --capability=all --system-call-filter="@keyring bpf" \
  --bind-ro="$work/install$prefix:$prefix" \
  --bind-ro="$config:$sysconfdir/berth/config.toml" \
  --bind="$work/check:/check" \
  --bind-ro="$work/units/berth-boot-check.service:/etc/systemd/system/berth-boot-check.service" \
  systemd.unit=berth-boot-check.service systemd.firstboot=no >"$work/console.log" 2>&1 </dev/null
rc=$?
set -e
results=$work/check/out/results
if [[ ! -f $results ]] || ! grep -q '^DONE$' "$results"; then
  tail -60 "$work/console.log" >&2
  [[ -f $work/check/out/log ]] && tail -60 "$work/check/out/log" >&2
  fail "the checks did not finish (nspawn exit $rc)"
fi
cat "$results"
if grep -q '^FAIL' "$results"; then
  cat "$work/check/out/log" >&2
  [[ -f $work/check/out/journal ]] && tail -150 "$work/check/out/journal" >&2
  fail "$(grep -c '^FAIL' "$results") checks failed"
fi
echo "PASS: $(grep -c '^PASS' "$results") checks under systemd"
