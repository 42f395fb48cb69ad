#!/usr/bin/env bash
# The suites that run restic for real (integration, lifecycle), again with the
# newest restic (scripts/build-restic.sh) first on PATH: the agent must work
# with the distribution's restic and with the current one.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .tools/restic-newest/restic ] || { echo "test: run ./scripts/setup.sh first (it builds the newest restic)" >&2; exit 1; }
export PATH="$PWD/.tools/restic-newest:$PATH"
echo "== the integration and lifecycle suites with $(restic version)"
exec npx mocha 'test/integration/*.test.ts' 'test/lifecycle/*.test.ts'
