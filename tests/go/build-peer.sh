#!/usr/bin/env bash
# Builds the Go ttrpc peer (tests/go/ttrpcpeer) offline and prints the binary's path.
# Usage: build-peer.sh OUTDIR
#
# Why GOPATH mode: Debian ships containerd 1.6's and ttrpc 1.1's Go sources under
# /usr/share/gocode (golang-github-containerd-*-dev) but no module cache, and the machine has no
# internet. So the sources are copied into a throw-away GOPATH and built with modules and the
# proxy turned off; /usr/share/gocode is the second GOPATH entry that satisfies every import.
set -euo pipefail

out=${1:?usage: build-peer.sh OUTDIR}
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/ttrpcpeer" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)

gopath=$(mktemp -d)
trap 'rm -rf "$gopath"' EXIT
mkdir -p "$gopath/src/berth/ttrpcpeer"
cp "$src"/*.go "$gopath/src/berth/ttrpcpeer/"

export GO111MODULE=off GOPROXY=off GOFLAGS='' GOPATH="$gopath:/usr/share/gocode"
# CGO off: a static binary that needs no C toolchain and runs in any test sandbox.
export CGO_ENABLED=0
# The build cache makes rebuilds fast; if neither HOME nor XDG_CACHE_HOME is set (some CI
# sandboxes), go refuses to guess, so keep a cache beside the output instead.
if [[ -z ${GOCACHE:-} && -z ${HOME:-} && -z ${XDG_CACHE_HOME:-} ]]; then
  export GOCACHE="$out/.gocache"
fi

(cd "$gopath/src/berth/ttrpcpeer" && go vet . && go build -trimpath -o "$out/ttrpc-peer" .) >&2
echo "$out/ttrpc-peer"
