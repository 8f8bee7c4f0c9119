#!/usr/bin/env bash
# Builds the farm's own binaries (dockerd, runc, buildkitd/buildctl, registry, buildx) from the Go modules
# under e2e/farm/tools, each in a module of its own so that their dependency versions never move the
# plugin's. Results are cached under $FARM_CACHE keyed by each module's go.mod/go.sum and build flags,
# so only the first run on a machine pays for the (about 10 minute) cold build.
set -euo pipefail
shopt -s nullglob
here=$(cd "$(dirname "$0")" && pwd)
cache=${FARM_CACHE:-/var/cache/docker-multiarch-farm}
bin=${1:?usage: build-tools.sh BINDIR}
mkdir -p "$cache" "$bin"

# tool module, package, output names, env and flags
build() {
	local mod=$1 pkg=$2 out=$3 cgo=$4 tags=$5 ldflags=$6
	local key
	key=$(cat "$here/tools/$mod"/go.mod "$here/tools/$mod"/go.sum "$here/tools/$mod"/*.go <(echo "$pkg $cgo $tags $ldflags $(go env GOVERSION)") | sha256sum | cut -c1-16)
	local dst="$cache/$out-$key"
	if [ ! -x "$dst" ]; then
		echo "farm: building $out from $pkg (cached afterwards in $cache)" >&2
		(cd "$here/tools/$mod" && CGO_ENABLED=$cgo go build -trimpath -tags "$tags" -ldflags "$ldflags" -o "$dst.tmp" "$pkg")
		mv "$dst.tmp" "$dst"
	fi
	ln -sf "$dst" "$bin/$out"
}

# Two builds at a time (the machine has two cores); any failure fails the whole run.
pair() {
	local pids=() rc=0
	for spec in "$@"; do
		eval "build $spec" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	return $rc
}

# runc needs cgo for seccomp; link it statically so the same binary serves the engine and the BuildKit image.
pair 'runc github.com/opencontainers/runc runc 1 "seccomp netgo osusergo" "-s -w -extldflags -static"' \
	'registry github.com/distribution/distribution/v3/cmd/registry registry 0 "" "-s -w"'
pair 'farmctl . farmctl 0 "" "-s -w"' \
	'buildkit github.com/moby/buildkit/cmd/buildctl buildctl 0 "netgo osusergo" "-s -w"'
pair 'buildkit github.com/moby/buildkit/cmd/buildkitd buildkitd 0 "netgo osusergo" "-s -w"' \
	'buildx github.com/docker/buildx/cmd/buildx docker-buildx 0 "" "-s -w"'
pair 'dockerd github.com/moby/moby/v2/cmd/dockerd dockerd 0 "exclude_graphdriver_btrfs exclude_graphdriver_devicemapper netgo osusergo" "-s -w"'
