#!/usr/bin/env bash
# Puts the newest restic that tools/restic/go.mod pins into .tools/restic-newest,
# built from its Go module once per version (cached under ~/.cache/dx-backup).
# `npm run test:restic-newest` runs the restic suites against it (not yet green
# with the bash agent; the TypeScript agent is to pass them).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/go-tool.sh
. scripts/lib/go-tool.sh

version=$(sed -n 's#^\tgithub.com/restic/restic \(v[^ ]*\).*#\1#p' tools/restic/go.mod)
[ -n "$version" ] || { echo "setup: tools/restic/go.mod does not pin github.com/restic/restic" >&2; exit 1; }
cache="$(go_tool_cache restic "$version" tools/restic)/restic"
[ -x "$cache" ] || echo "setup: building restic $version from its Go module (cold: about 3 minutes; cached afterwards)"
build_go_tool tools/restic github.com/restic/restic/cmd/restic "$cache"
mkdir -p .tools/restic-newest
cp -f "$cache" .tools/restic-newest/restic
.tools/restic-newest/restic version >/dev/null
