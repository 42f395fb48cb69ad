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
  rm -f "$out.new"
  local start=$SECONDS
  (cd "$dir" && go mod download) 2>&1 | sed 's/^/setup: /'
  # -v names each package as it is compiled: count those as progress, print everything else.
  if ! (cd "$dir" && go build -v -trimpath -o "$out.new" "$@" "$package") 2>&1 |
    awk '/^[A-Za-z0-9._~\/-]+$/ { n++; if (n % 250 == 0) { printf "setup: %d packages compiled\n", n; fflush() }; next } { print "setup: " $0 }'; then
    echo "setup: building $package failed (see above)" >&2
    return 1
  fi
  mv -f "$out.new" "$out"
  echo "setup: built $(basename "$out") in $((SECONDS - start)) s"
}

# go_tool_cache NAME VERSION DIR: where the binary of DIR's pinned build is cached, keyed by
# its go.mod and go.sum too, so a change of either (or of the pinned version) builds anew.
go_tool_cache() {
  local sum
  sum=$(cat "$3/go.mod" "$3/go.sum" | sha256sum | cut -c1-12)
  echo "${XDG_CACHE_HOME:-$HOME/.cache}/dx-backup/$1-$2-$sum"
}
