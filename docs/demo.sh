#!/usr/bin/env bash
# The demo behind `make demo`: the plugin, installed by `make install`, run through the docker CLI
# against the local farm that `make farm` brought up.
set -euo pipefail
eval "$(sed 's/^/export /' /run/multiarch-farm/env)"

step() { printf '\n$ %s\n' "$*"; "$@"; }

step docker multiarch version
step docker --host "$FARM_ENGINE_A" version --format 'engine A: {{.Server.Version}} (API {{.Server.APIVersion}})'
step docker --host "$FARM_ENGINE_B" version --format 'engine B: {{.Server.Version}} (API {{.Server.APIVersion}})'
for p in linux/amd64 linux/arm64 linux/arm/v7; do
	step docker --host "$FARM_ENGINE_A" run --rm --pull always --quiet --network none --platform "$p" "$FARM_BUSYBOX" uname -m
done
