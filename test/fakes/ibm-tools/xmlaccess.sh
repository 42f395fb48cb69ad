#!/usr/bin/env bash
# FAKE of HCL Portal's xmlaccess.sh: records the call (and the user from the
# credentials file, never the password), writes a result with status ok.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
log=${DXB_FAKE_LOG:-$here/../../logs/fake-was-calls.log}
mkdir -p "$(dirname "$log")"
out="" props=""
args=("$@")
while [ $# -gt 0 ]; do
  case "$1" in -out) out=$2; shift 2 ;; -useEncryptedCredentials) props=$2; shift 2 ;; *) shift ;; esac
done
user=$(sed -n 's/^user=//p' "$props" 2>/dev/null || true)
{ printf 'xmlaccess.sh'; printf ' %q' "${args[@]}"; printf ' [credentials user=%s]\n' "$user"; } >>"$log"
if [[ " ${DXB_FAKE_FAIL:-} " == *" xmlaccess.sh "* ]]; then
  echo "EJPXB0006E: Cannot connect to URL http://localhost:10039/wps/config (fake failure)"
  exit 1
fi
if [[ " ${DXB_FAKE_BROKEN:-} " == *" xmlaccess.sh "* ]]; then
  # Cut off after the status: what a full disk leaves behind.
  printf '<?xml version="1.0" encoding="UTF-8"?>\n<request type="export"><portal action="locate"/><status element="all" result="ok"/>\n<portal-page' >"$out"
else
  printf '<?xml version="1.0" encoding="UTF-8"?>\n<request type="export"><portal action="locate"/><status element="all" result="ok"/></request>\n' >"$out"
fi
echo "EJPXB0020I: The request was processed successfully on the server."
