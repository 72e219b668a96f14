#!/usr/bin/env bash
# Builds tools/vcsim/main.go against Debian's govmomi sources (GOPATH mode,
# offline) into tools/vcsim/bin/vcsim (gitignored). Needs golang-go and
# golang-github-vmware-govmomi-dev. Safe to run from several test workers at
# once: one builds, the others wait for it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/bin"
mkdir -p "$out/gopath" "$out/cache"
exec 9>"$out/.lock"
flock 9
# Nothing to do when the binary is newer than its source.
if [ -x "$out/vcsim" ] && [ "$out/vcsim" -nt "$here/main.go" ]; then exit 0; fi
export GO111MODULE=off GOPROXY=off GOFLAGS=
export GOPATH="$out/gopath:/usr/share/gocode"
export GOCACHE="$out/cache"
go build -o "$out/vcsim.$$" "$here/main.go"
mv "$out/vcsim.$$" "$out/vcsim"
