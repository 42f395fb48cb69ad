#!/usr/bin/env bash
# Sets up a Debian machine for dx-backup development: the host tools the tests
# and the demo run for real (restic, sshd, shellcheck, systemd-analyze,
# PostgreSQL, OpenLDAP, Derby), the npm dependencies, the policy pack's bundle,
# then the Pulumi CLI, the newest restic and restic's rest-server, all from
# their Go modules (scripts/build-pulumi.sh, scripts/build-restic.sh,
# scripts/build-rest-server.sh). Safe to run again: it installs only what is
# missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(restic openssh-server openssl shellcheck systemd postgresql slapd ldap-utils derby-tools procps zip python3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  echo "setup: installing ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

npm ci --no-audit --no-fund
npm run --silent build:policy-pack
./scripts/build-pulumi.sh
./scripts/build-restic.sh
./scripts/build-rest-server.sh
