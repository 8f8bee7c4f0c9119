#!/usr/bin/env bash
# The demo behind `make demo`: a real three-platform build on the local farm. The plugin, installed
# by `make install`, runs through the docker CLI: the farm's two engines become nodes, one builder
# spans them, and one build pushes a single linux/amd64 + linux/arm64 + linux/arm/v7 tag.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
eval "$(sed 's/^/export /' /run/multiarch-farm/env)"
ref=$FARM_REGISTRY/demo/hello:latest

step() { printf '\n$ %s\n' "$*"; "$@"; }

step docker multiarch version
step docker multiarch node add farm-a --host "$FARM_ENGINE_A" --description "Debian's dockerd $FARM_ENGINE_A_VERSION"
step docker multiarch node add farm-b --host "$FARM_ENGINE_B" --description "dockerd $FARM_ENGINE_B_VERSION"
step docker multiarch node ls
# The farm's engines are both x86-64: arm is emulated (QEMU), each arm platform on its own node.
step docker multiarch create multiarch-demo --node farm-a --node farm-b \
	--emulate linux/arm64=farm-b --emulate linux/arm/v7=farm-a \
	--driver-opt "image=$FARM_BUILDKIT_IMAGE" --driver-opt network=host --bootstrap
step docker multiarch build --builder multiarch-demo --dry-run "$here/demo"
step docker multiarch build --builder multiarch-demo -t "$ref" --push --progress plain "$here/demo"
printf '\n$ curl http://%s/v2/demo/hello/tags/list\n' "$FARM_REGISTRY"
curl -fsS "http://$FARM_REGISTRY/v2/demo/hello/tags/list"
echo
for p in linux/amd64 linux/arm64 linux/arm/v7; do
	step docker --host "$FARM_ENGINE_A" run --rm --pull always --quiet --network none --platform "$p" "$ref"
done
