#!/usr/bin/env bash
# Puts restic's rest-server, as tools/rest-server/go.mod pins it, into
# .tools/rest-server/rest-server, built from its Go module once per version
# (cached under ~/.cache/dx-backup). The tests of `storage.kind: rest` run it for
# real: per-host users, --private-repos, --append-only, TLS.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/go-tool.sh
. scripts/lib/go-tool.sh

version=$(sed -n 's#^\tgithub.com/restic/rest-server \(v[^ ]*\).*#\1#p' tools/rest-server/go.mod)
[ -n "$version" ] || { echo "setup: tools/rest-server/go.mod does not pin github.com/restic/rest-server" >&2; exit 1; }
cache="$(go_tool_cache rest-server "$version" tools/rest-server)/rest-server"
[ -x "$cache" ] || echo "setup: building rest-server $version from its Go module (cold: about a minute; cached afterwards)"
build_go_tool tools/rest-server github.com/restic/rest-server/cmd/rest-server "$cache"
mkdir -p .tools/rest-server
cp -f "$cache" .tools/rest-server/rest-server
.tools/rest-server/rest-server --version >/dev/null
