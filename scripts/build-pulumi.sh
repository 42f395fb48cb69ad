#!/usr/bin/env bash
# Puts the Pulumi CLI whose version matches @pulumi/pulumi in package.json into
# .tools/bin, with the engine's plugin shims beside it. A `pulumi` on PATH of
# that version is used as it is; otherwise the CLI is built from its Go module
# (tools/pulumi/go.mod pins it), once per version: the binary is cached under
# ~/.cache/dx-backup. Nothing is downloaded but Go modules.
set -euo pipefail
cd "$(dirname "$0")/.."

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

cache="${XDG_CACHE_HOME:-$HOME/.cache}/dx-backup/pulumi-$want"
if [ ! -x "$cache/pulumi" ]; then
  command -v go >/dev/null || { echo "setup: Go >= 1.25 is needed to build the Pulumi CLI $want, or a pulumi $want on PATH" >&2; exit 1; }
  echo "setup: building the Pulumi CLI $want from its Go module (cold: about 8 minutes on 2 cores; cached afterwards)"
  mkdir -p "$cache"
  start=$SECONDS
  (cd tools/pulumi && go mod download) 2>&1 | sed 's/^/setup: /'
  # -v names each package as it is compiled: print a count now and then as progress.
  (cd tools/pulumi && go build -v -trimpath -o "$cache/pulumi.new" \
    -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$want" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi) 2>&1 |
    awk '/^#|\.go:[0-9]+:/ { print "setup: " $0; next } { n++; if (n % 250 == 0) { printf "setup: %d packages compiled\n", n; fflush() } }'
  mv -f "$cache/pulumi.new" "$cache/pulumi"
  echo "setup: built the Pulumi CLI $want in $((SECONDS - start)) s"
fi
# A copy, not a link: the engine looks for its bundled plugins beside the binary it runs.
cp -f "$cache/pulumi" "$bin/pulumi"
"$bin/pulumi" version >/dev/null
