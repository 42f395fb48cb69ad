#!/usr/bin/env bash
# Builds a tool from the Go module pinned in a tools/<name> folder, once per
# version: the binary is cached (under ~/.cache/dx-backup), so a warm setup
# builds nothing. Sourced by the scripts/build-*.sh.

# build_go_tool DIR PACKAGE OUT [go build flags...]: builds PACKAGE (a `tool` of
# DIR/go.mod) into OUT unless OUT exists, with a package count as progress.
build_go_tool() {
  local dir=$1 package=$2 out=$3
  shift 3
  [ -x "$out" ] && return 0
  command -v go >/dev/null || {
    echo "setup: Go >= 1.25 is needed to build $package (apt-get install golang-1.25, or a newer Go)" >&2
    return 1
  }
  mkdir -p "$(dirname "$out")"
  local start=$SECONDS
  (cd "$dir" && go mod download) 2>&1 | sed 's/^/setup: /'
  # -v names each package as it is compiled: print a count now and then as progress.
  (cd "$dir" && go build -v -trimpath -o "$out.new" "$@" "$package") 2>&1 |
    awk '/^#|\.go:[0-9]+:/ { print "setup: " $0; next } { n++; if (n % 250 == 0) { printf "setup: %d packages compiled\n", n; fflush() } }'
  [ -x "$out.new" ] || { echo "setup: building $package failed" >&2; return 1; }
  mv -f "$out.new" "$out"
  echo "setup: built $(basename "$out") in $((SECONDS - start)) s"
}
