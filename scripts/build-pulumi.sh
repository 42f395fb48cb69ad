#!/usr/bin/env bash
# Puts the Pulumi CLI whose version matches @pulumi/pulumi in package.json into
# .tools/bin, with the engine's plugin shims beside it. A `pulumi` on PATH of
# that version is used as it is; otherwise the CLI is built from its Go module
# (tools/pulumi/go.mod pins it), once per version: the binary is cached under
# ~/.cache/dx-backup. Nothing is downloaded but Go modules.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/go-tool.sh
. scripts/lib/go-tool.sh

want="v$(node -p 'require("./package.json").dependencies["@pulumi/pulumi"]')"
pinned=$(sed -n 's#^\tgithub.com/pulumi/pulumi/pkg/v3 \(v[^ ]*\).*#\1#p' tools/pulumi/go.mod)
[ "$pinned" = "$want" ] || {
  echo "setup: tools/pulumi/go.mod pins pkg/v3 $pinned but package.json has @pulumi/pulumi ${want#v}: bump one to match" >&2
  exit 1
}
bin=.tools/bin
mkdir -p "$bin"
# The shims are committed; link them beside the CLI, where the engine looks for bundled plugins.
for shim in tools/pulumi/plugins/*; do ln -sfn "../../$shim" "$bin/$(basename "$shim")"; done

if [ -x "$bin/pulumi" ] && [ "$("$bin/pulumi" version 2>/dev/null)" = "$want" ]; then exit 0; fi
if command -v pulumi >/dev/null && [ "$(pulumi version 2>/dev/null)" = "$want" ]; then
  ln -sfn "$(readlink -f "$(command -v pulumi)")" "$bin/pulumi"
  echo "setup: using $(command -v pulumi) ($want)"
  exit 0
fi

cache=$(go_tool_cache pulumi "$want" tools/pulumi)
if [ ! -x "$cache/pulumi" ]; then
  echo "setup: building the Pulumi CLI $want from its Go module (cold: about 8 minutes on 2 cores; cached afterwards)"
  build_go_tool tools/pulumi github.com/pulumi/pulumi/pkg/v3/cmd/pulumi "$cache/pulumi" \
    -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$want"
fi
# A copy, not a link: the engine looks for its bundled plugins beside the binary it runs.
cp -f "$cache/pulumi" "$bin/pulumi"
"$bin/pulumi" version >/dev/null
