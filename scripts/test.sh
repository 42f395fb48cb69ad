#!/usr/bin/env bash
# The whole test run (`npm test`): every suite with the distribution's restic
# (0.14 on Debian 12), then the suites that run restic for real (integration,
# lifecycle) again with the newest restic built by scripts/build-restic.sh.
# Arguments go to both mocha runs (e.g. --bail).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== every suite with $(restic version)"
npx mocha 'test/**/*.test.ts' "$@"
./scripts/test-restic-newest.sh "$@"
