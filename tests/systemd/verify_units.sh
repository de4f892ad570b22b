#!/usr/bin/env bash
# Every unit Berth installs passes `systemd-analyze verify` without a single complaint, checked
# on the tree `cmake --install` lays out: the ExecStart= binaries must exist there, every key
# must be one this systemd knows, every dependency must resolve. Also checks the rest of the
# install: the shim's containerd name, the tmpfiles.d entry (applied with systemd-tmpfiles), the
# default config and the bash completion.
# Usage: verify_units.sh BUILD_DIR
set -euo pipefail
build=$1
fail() { echo "FAIL: $*" >&2; exit 1; }
dest=$(mktemp -d /tmp/berth-units-XXXXXX)
trap 'rm -rf "$dest"' EXIT
DESTDIR=$dest cmake --install "$build" >/dev/null
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
sysconfdir=$prefix/etc
[[ $prefix == /usr ]] && sysconfdir=/etc
units="berth.target berthd.service berth-content.service berth-snapshot.service
  berth-metadata.service berth-runtime.service"
unit_dir=$dest$prefix/lib/systemd/system
for unit in $units; do [[ -f $unit_dir/$unit ]] || fail "$unit not installed in $unit_dir"; done

# systemd's own units in the alternate root, so that sysinit.target & co. resolve.
mkdir -p "$dest/usr/lib/systemd/system"
cp -an /usr/lib/systemd/system/. "$dest/usr/lib/systemd/system/"
verify() { (cd "$1" && systemd-analyze verify --man=no --root="$dest" $2 2>&1); }
out=$(verify "$unit_dir" "$units") || fail "systemd-analyze verify failed: $out"
[[ -z $out ]] || fail "systemd-analyze verify complained: $out"
# The check itself catches a broken unit (a typo in a key, a missing binary).
sed 's/^KillMode=/KilMode=/' "$unit_dir/berth-runtime.service" >"$unit_dir/berth-broken.service"
out=$(verify "$unit_dir" berth-broken.service || true)
[[ $out == *"Unknown key 'KilMode'"* ]] || fail "a misspelt key went unnoticed: $out"
sed 's#/berth-content #/berth-nonexistent #' "$unit_dir/berth-content.service" \
  >"$unit_dir/berth-broken.service"
out=$(verify "$unit_dir" berth-broken.service || true)
[[ $out == *"is not executable"* ]] || fail "a missing binary went unnoticed: $out"
rm "$unit_dir/berth-broken.service"

# The rest of the install.
bin=$dest$prefix/bin
for b in berthd berthctl berth-content berth-snapshot berth-metadata berth-runtime berth-shim; do
  [[ -x $bin/$b ]] || fail "$b not installed"
done
[[ $(readlink "$bin/containerd-shim-berth-v1") == berth-shim ]] || fail "containerd-shim-berth-v1"
cmp -s "$dest$sysconfdir/berth/config.toml" <("$bin/berthd" config default) ||
  fail "the installed config is not \`berthd config default\`"
grep -q "complete -F _berthctl berthctl" \
  "$dest$prefix/share/bash-completion/completions/berthctl" || fail "bash completion"
tmpfiles=$dest$prefix/lib/tmpfiles.d/berth.conf
[[ -f $tmpfiles ]] || fail "tmpfiles.d entry not installed"
systemd-tmpfiles --root="$dest" --create "$tmpfiles" || fail "systemd-tmpfiles rejected it"
for dir in /var/lib/berth /run/berth; do
  [[ $(stat -c %a "$dest$dir") == 711 ]] || fail "$dir is not 0711"
done
# A second install keeps an edited config.
echo "# edited" >>"$dest$sysconfdir/berth/config.toml"
DESTDIR=$dest cmake --install "$build" >/dev/null
grep -q "# edited" "$dest$sysconfdir/berth/config.toml" || fail "reinstall overwrote the config"
echo "PASS: $(echo $units | wc -w) units verified, install complete"
