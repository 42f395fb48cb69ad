#!/usr/bin/env bash
# Every test (npm test): all suites with the system's restic, then the suites
# that run restic for real again with the newest one (test-restic-newest.sh).
# Arguments go to mocha both times, e.g. `npm test -- --grep 'object lock'`.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .tools/restic-newest/restic ] || { echo "test: run ./scripts/setup.sh first (it builds the newest restic)" >&2; exit 1; }
npx mocha 'test/**/*.test.ts' "$@"
./scripts/test-restic-newest.sh "$@"
