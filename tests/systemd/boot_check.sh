#!/usr/bin/env bash
# Runs inside the systemd that tests/systemd/boot_test.sh boots, as a oneshot unit ordered after
# berth.target. Writes one "PASS name" or "FAIL name" line per check to /check/out/results and
# "DONE" at the end; details go to /check/out/log. Needs /check/busybox.tar and $BERTH_METRICS.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
out=/check/out
mkdir -p "$out"
: >"$out/results"
log() { echo "--- $*" >>"$out/log"; }
check() {
  local name=$1
  shift
  log "$name: $*"
  if "$@" >>"$out/log" 2>&1; then echo "PASS $name" >>"$out/results"; else echo "FAIL $name" >>"$out/results"; fi
}
# Waits up to 30 s for a command to succeed.
eventually() {
  for _ in $(seq 150); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  "$@"
}
main_pid() { systemctl show -p MainPID --value "$1"; }
# sed, not awk: under --volatile=yes /etc (and so /etc/alternatives/awk) is empty.
status_of() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$(main_pid "$1")/status"; }
cannot() { ! "$@"; }
all_external() {
  [[ $(berthctl --format json services ls | grep -c '"state": "external"') == 4 ]] &&
    ! berthctl --format json services ls | grep -q '"pid": 0'
}
restarts_of() {
  berthctl --format json services ls | python3 -c '
import json, sys
print(next(s["restarts"] for s in json.load(sys.stdin) if s["name"] == sys.argv[1]))' "$1"
}

# --- the units are up, with the settings the issue asks for
for unit in berthd berth-content berth-snapshot berth-metadata berth-runtime; do
  check "active:$unit" systemctl is-active --quiet "$unit"
  check "notify:$unit" test "$(systemctl show -p Type --value "$unit")" = notify
  check "restart-always:$unit" test "$(systemctl show -p Restart --value "$unit")" = always
done
check "runtime:killmode-process" test "$(systemctl show -p KillMode --value berth-runtime)" = process
check "runtime:delegate" test "$(systemctl show -p Delegate --value berth-runtime)" = yes
check "berthd:sees-every-service" eventually all_external
check "berthctl-info" berthctl info
check "state-dir-0711" test "$(stat -c %a /run/berth)" = 711

# --- each service's sandbox, by action (inside its own mount namespace) and by its process state
for svc in content metadata snapshot; do
  pid=$(main_pid "berth-$svc")
  other=metadata
  [[ $svc == metadata ]] && other=content
  check "$svc:writes-own-dir" nsenter -t "$pid" -m sh -c "touch /var/lib/berth/$svc/.probe && rm /var/lib/berth/$svc/.probe"
  check "$svc:cannot-write-$other-dir" cannot nsenter -t "$pid" -m touch "/var/lib/berth/$other/.probe"
  check "$svc:cannot-write-etc" cannot nsenter -t "$pid" -m touch /etc/berth-probe
  check "$svc:cannot-write-usr" cannot nsenter -t "$pid" -m touch /usr/local/bin/berth-probe
  check "$svc:no-new-privs" test "$(status_of "berth-$svc" NoNewPrivs)" = 1
done
check "content:no-capabilities" test "$(status_of berth-content CapBnd)" = 0000000000000000
check "metadata:no-capabilities" test "$(status_of berth-metadata CapBnd)" = 0000000000000000
check "snapshot:only-unpack-capabilities" test "$(status_of berth-snapshot CapBnd)" = 000000008820001f
check "berthd:no-capabilities" test "$(status_of berthd CapBnd)" = 0000000000000000
# No network: from its network namespace, berthd's metrics port on 127.0.0.1 is unreachable.
check "content:no-network" cannot nsenter -t "$(main_pid berth-content)" -n curl -sf -m 2 "http://$BERTH_METRICS/metrics"

# --- the system works: import, run, detached run
check "image-import" berthctl image import --base-name berth/busybox /check/busybox.tar
check "run" sh -c 'berthctl run --rm berth/busybox:latest hello echo hi-from-systemd | grep -q hi-from-systemd'
check "run-detached" berthctl run -d berth/busybox:latest sleeper sleep 600
running() { berthctl task ls | grep sleeper | grep -qi running; }
check "detached-running" eventually running

# --- restarting berth-runtime keeps the container (KillMode=process)
old_runtime=$(main_pid berth-runtime)
check "runtime-restart" systemctl restart berth-runtime
check "runtime-new-pid" test "$(main_pid berth-runtime)" != "$old_runtime"
check "container-survives-runtime-restart" eventually running

# --- a killed service is restarted by systemd, and berthd counts it
old_content=$(main_pid berth-content)
systemctl kill -s KILL berth-content
new_content() { [[ $(main_pid berth-content) != "$old_content" && $(main_pid berth-content) != 0 ]]; }
check "content-restarted-by-systemd" eventually new_content
counted() { [[ $(restarts_of content) -ge 1 ]]; }
check "berthd-counts-the-restart" eventually counted

# --- metrics over HTTP from the sandboxed berthd, accepted by promtool
metrics() { curl -sf "http://$BERTH_METRICS/metrics"; }
check "metrics-promtool" sh -c "curl -sf http://$BERTH_METRICS/metrics | promtool check metrics"
restart_metric() { metrics | grep -q 'berth_service_restarts_total{berth_service="berthd",service="content"} [1-9]'; }
check "metrics-count-restart" eventually restart_metric
check "metrics-task" sh -c "curl -sf http://$BERTH_METRICS/metrics | grep -q 'berth_task_pids{berth_service=\"runtime\",namespace=\"default\",id=\"sleeper\"}'"

check "cleanup" berthctl rm --force sleeper
# What the services logged, for the report of a failed check.
if grep -q '^FAIL' "$out/results"; then
  journalctl --no-pager -o short-precise -u 'berth*' >"$out/journal" 2>&1
fi
echo DONE >>"$out/results"
