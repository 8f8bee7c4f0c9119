#!/usr/bin/env bash
# Builds the farm's own binaries (dockerd, runc, buildkitd/buildctl, registry, buildx, and cosign as
# the tests' independent verifier of signatures) from the Go modules
# under e2e/farm/tools, each in a module of its own so that their dependency versions never move the
# plugin's. Results are cached under $FARM_CACHE keyed by each module's go.mod/go.sum and build flags,
# so only the first run on a machine pays for the (about 10 minute) cold build.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${FARM_CACHE:-/var/cache/docker-multiarch-farm}
bin=${1:?usage: build-tools.sh BINDIR}
mkdir -p "$cache" "$bin"

# tool module, package, output names, env and flags
build() {
	local mod=$1 pkg=$2 out=$3 cgo=$4 tags=$5 ldflags=$6
	local key
	key=$(find "$here/tools/$mod" -maxdepth 1 \( -name go.mod -o -name go.sum -o -name '*.go' \) ! -name '*_test.go' |
		LC_ALL=C sort | xargs cat | cat - <(echo "$pkg $cgo $tags $ldflags $(go env GOVERSION)") | sha256sum | cut -c1-16)
	local dst="$cache/$out-$key"
	if [ ! -x "$dst" ]; then
		echo "farm: building $out from $pkg (cached afterwards in $cache)" >&2
		(cd "$here/tools/$mod" && CGO_ENABLED=$cgo go build -trimpath -tags "$tags" -ldflags "$ldflags" -o "$dst.tmp" "$pkg")
		mv "$dst.tmp" "$dst"
		find "$cache" -maxdepth 1 -name "$out-*" ! -name "${dst##*/}" -delete # older builds of this tool
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

# modver TOOLDIR MODULE: the version of MODULE that a tool module pins.
modver() { awk -v m="$2" '$1 == m {print $2}' "$here/tools/$1/go.mod"; }
moby=$(modver dockerd github.com/moby/moby/v2)
buildkit=$(modver buildkit github.com/moby/buildkit)
buildx=$(modver buildx github.com/docker/buildx)
dockerd_ldflags="-s -w -X github.com/moby/moby/v2/dockerversion.Version=${moby#v} -X github.com/moby/moby/v2/dockerversion.GitCommit=$moby"
buildkit_ldflags="-s -w -X github.com/moby/buildkit/version.Version=$buildkit"
buildx_ldflags="-s -w -X github.com/docker/buildx/version.Version=$buildx"

# runc needs cgo for seccomp; link it statically so the same binary serves the engine and the BuildKit image.
pair 'runc github.com/opencontainers/runc runc 1 "seccomp netgo osusergo" "-s -w -extldflags -static"' \
	'registry github.com/distribution/distribution/v3/cmd/registry registry 0 "" "-s -w"'
pair 'farmctl . farmctl 0 "" "-s -w"' \
	'buildkit github.com/moby/buildkit/cmd/buildctl buildctl 0 "netgo osusergo" "$buildkit_ldflags"'
pair 'buildkit github.com/moby/buildkit/cmd/buildkitd buildkitd 0 "netgo osusergo" "$buildkit_ldflags"' \
	'buildx github.com/docker/buildx/cmd/buildx docker-buildx 0 "" "$buildx_ldflags"'
pair 'dockerd github.com/moby/moby/v2/cmd/dockerd dockerd 0 "exclude_graphdriver_btrfs exclude_graphdriver_devicemapper netgo osusergo" "$dockerd_ldflags"' \
	'cosign github.com/sigstore/cosign/v2/cmd/cosign cosign 0 "" "-s -w"' # a test tool only: the independent verifier of signatures
