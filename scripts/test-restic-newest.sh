#!/usr/bin/env bash
# The suites that run restic for real (integration, lifecycle), again with the
# newest restic (scripts/build-restic.sh): the hosts' agents are configured
# with it (hosts[].agent.restic, so the scheduled runs use it whatever their
# PATH), and the tests' own restic calls find it first on PATH. The demo's
# suite is left out: it proves the embedded stack as shipped, on the system's restic.
# The second half of npm test (scripts/test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .tools/restic-newest/restic ] || { echo "test: run ./scripts/setup.sh first (it builds the newest restic)" >&2; exit 1; }
export DXB_TEST_RESTIC="$PWD/.tools/restic-newest/restic"
export PATH="$PWD/.tools/restic-newest:$PATH"
echo "== the integration and lifecycle suites with $(restic version)"
exec npx mocha --ignore test/integration/demo.test.ts 'test/integration/*.test.ts' 'test/lifecycle/*.test.ts' "$@"
