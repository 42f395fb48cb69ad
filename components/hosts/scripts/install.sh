#!/usr/bin/env bash
# dx-backup installer: the body of the `create`/`update` command of PortalHostBackup.
# The rendered command prepends the variables below (quoted by shQuote) and
# runs this with bash on the Portal host; the bundle of files arrives on stdin,
# so secrets never appear on a command line.
#
# Safe to run any number of times: a file is replaced only when its content or
# mode differs, files that are no longer part of the bundle are removed, and the
# summary line says what changed.
#
# $1 is the install's identity (chosen by the provider at create, kept by every
# update). It is written to the state dir so that an uninstall carrying another
# identity (an old resource deleted after a rename or an address change that
# reached this same machine) leaves this install alone.
#
# The agent is not in the bundle, only its runtime and sha256. An install
# naming an agent the host has neither installed nor received exits 3
# (AGENT-MISSING) before it changes anything; the provider then runs
# `install.sh ID upload RUNTIME SHA256 SIZE` with the agent on stdin, which
# checks the free space, the digest and that the agent runs here, and keeps it
# beside the installed one until the install that names it.
set -euo pipefail
umask 077
INSTALL_ID=${1:-}
MODE=${2:-install}

: "${POLICY:?}" "${HOST_NAME:?}" "${INSTALL_DIR:?}" "${CONFIG_DIR:?}" "${STATE_DIR:?}" "${SYSTEMD_DIR:?}" "${CRON_DIR:?}" "${SCHEDULER:?}"
: "${AGENT:?}" "${AGENT_CONFIG:?}" "${PASSWORD_FILE:?}" "${FILE_ENGINE:?}" "${ENGINE_COMMAND:?}"

say() { printf 'dx-backup install [%s]: %s\n' "$HOST_NAME" "$*"; }
fail() { printf 'dx-backup install [%s]: ERROR: %s\n' "$HOST_NAME" "$*" >&2; exit 1; }

command -v base64 >/dev/null || fail "base64 (coreutils) is missing"
command -v sha256sum >/dev/null || fail "sha256sum (coreutils) is missing"
if ! command -v "$ENGINE_COMMAND" >/dev/null; then
  if [ "$FILE_ENGINE" = restic ]; then
    fail "restic ($ENGINE_COMMAND) is not installed: install it first (apt-get install restic, dnf install restic, or the static binary from github.com/restic/restic/releases; hosts[].agent.restic names where)"
  fi
  fail "the Spectrum Protect client ${ENGINE_COMMAND} is not installed: install the backup-archive client (dsmc) first"
fi

STD_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# What the agent's runtime needs of this host, checked before anything is written.
check_runtime() { # check_runtime RUNTIME
  case "$1" in
    node)
      # The agent is one JavaScript file: the scheduler finds `node` on the standard PATH.
      local node_major
      node_major=$(PATH=$STD_PATH node -p 'process.versions.node.split(".")[0]' 2>/dev/null || true)
      case "$node_major" in
        "" | *[!0-9]*) fail "Node.js is not installed: the dx-backup agent runs on Node.js 20 or later (apt-get install nodejs, dnf install nodejs20, or your platform's Node.js 20+ package), or set hosts[].agent.runtime: linux-x64 for the self-contained executable" ;;
      esac
      [ "$node_major" -ge 20 ] || fail "Node.js $node_major is too old: the dx-backup agent needs Node.js 20 or later (or set hosts[].agent.runtime: linux-x64)"
      ;;
    linux-x64)
      local system
      system="$(uname -s)-$(uname -m)"
      [ "$system" = Linux-x86_64 ] || fail "this host is $system: hosts[].agent.runtime linux-x64 runs on x86-64 Linux only; set hosts[].agent.runtime: node (the host then needs Node.js 20 or later)"
      ;;
    *) fail "unknown agent runtime '$1'" ;;
  esac
}
sha256_of() { sha256sum <"$1" | cut -d' ' -f1; }
valid_digest() { case "$1" in *[!0-9a-f]* | "") return 1 ;; *) [ "${#1}" = 64 ] ;; esac; }

case "$INSTALL_ID" in
  *[!0-9a-f-]*) fail "bad install id '$INSTALL_ID'" ;;
esac

if [ "$MODE" = upload ]; then
  runtime=${3:-} digest=${4:-} size=${5:-}
  valid_digest "$digest" || fail "bad agent digest '$digest'"
  case "$size" in "" | *[!0-9]*) fail "bad agent size '$size'" ;; esac
  check_runtime "$runtime"
  mkdir -p "$INSTALL_DIR/bin"
  # Agents received earlier for installs that never came are of no use now: their space is needed.
  find "$INSTALL_DIR/bin" -maxdepth 1 -type f -name '.agent-*' ! -name ".agent-$digest" -delete
  # The agent, and 50 MiB left over: /opt often holds WebSphere's logs and transaction logs too.
  free_kb=$(df -Pk "$INSTALL_DIR/bin" | awk 'NR == 2 { print $4 }')
  case "$free_kb" in "" | *[!0-9]*) fail "cannot tell the free space in $INSTALL_DIR (df -Pk printed '$free_kb'); nothing was installed" ;; esac
  need_kb=$((size / 1024 + 51200))
  if [ "$free_kb" -lt "$need_kb" ]; then
    find "$INSTALL_DIR" -depth -type d -empty -delete 2>/dev/null || true
    fail "not enough free space in $INSTALL_DIR for the $runtime agent: $((free_kb / 1024)) MiB free, $((need_kb / 1024)) MiB needed (the agent and 50 MiB to spare); nothing was installed"
  fi
  upload=$(mktemp "$INSTALL_DIR/bin/.agent-upload.XXXXXX")
  # shellcheck disable=SC2064 # the path is fixed now
  trap "rm -f '$upload'; find '$INSTALL_DIR' -depth -type d -empty -delete 2>/dev/null || true" EXIT
  cat >"$upload"
  got=$(sha256_of "$upload")
  [ "$got" = "$digest" ] || fail "the agent arrived damaged, or its file changed on the deploying machine (sha256 $got, expected $digest); nothing was installed"
  chmod 0755 "$upload"
  # It must run here (libraries, a noexec mount): refused now, not at 2 a.m.
  if [ "$runtime" = node ]; then
    probe=$(PATH=$STD_PATH node "$upload" --version 2>&1) || probe_rc=$?
  else
    probe=$("$upload" --version 2>&1) || probe_rc=$?
  fi
  if [ "${probe_rc:-0}" != 0 ] || [ "${probe%% *}" != dxbackup-agent ]; then
    fail "the $runtime agent cannot run on this host (${probe##*$'\n'}); nothing was installed"
  fi
  mv -f "$upload" "$INSTALL_DIR/bin/.agent-$digest"
  trap - EXIT
  say "agent received: $runtime sha256 ${digest:0:12}"
  exit 0
fi
[ "$MODE" = install ] || fail "unknown mode '$MODE'"

if [ "$SCHEDULER" = auto ]; then
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then SCHEDULER=systemd; else SCHEDULER=cron; fi
fi
[ "$SCHEDULER" = systemd ] || [ "$SCHEDULER" = cron ] || fail "unknown scheduler '$SCHEDULER'"

manifest="$STATE_DIR/installed-files"
unit_prefix="$SYSTEMD_DIR/dxbackup-$POLICY-"
cron_file="$CRON_DIR/dxbackup-$POLICY"

# Only paths this policy owns may be written or removed.
owned() {
  case "$1" in
    *"/../"* | *"/.." ) return 1 ;;
    "$INSTALL_DIR"/* | "$CONFIG_DIR"/* | "$unit_prefix"* | "$cron_file") return 0 ;;
    *) return 1 ;;
  esac
}

read -r header || fail "no bundle on stdin"
[ "$header" = "dxbackup-bundle 2" ] || fail "stdin is not a dx-backup bundle of this version (got '${header:0:40}')"
read -r kind agent_runtime agent_digest || fail "the bundle ended before its agent record"
{ [ "$kind" = agent ] && valid_digest "$agent_digest"; } || fail "bad bundle agent record '$kind'"
check_runtime "$agent_runtime"
# The agent the bundle names: the one installed, or one received by an upload. Neither: nothing changes.
agent_new=""
if ! { [ -f "$AGENT" ] && [ "$(sha256_of "$AGENT")" = "$agent_digest" ]; }; then
  agent_new="$INSTALL_DIR/bin/.agent-$agent_digest"
  if ! { [ -f "$agent_new" ] && [ "$(sha256_of "$agent_new")" = "$agent_digest" ]; }; then
    printf 'dx-backup install [%s]: AGENT-MISSING %s %s: the host has not received this agent; nothing was changed\n' "$HOST_NAME" "$agent_runtime" "$agent_digest" >&2
    exit 3
  fi
fi

# The state dir's new parents 0755 and the state dir 0711: node_exporter (not root) must reach
# metrics/, the one directory in it others may read. Nothing else in it is readable by others (the
# agent works under umask 077; the cron line too), and 0711 lets no one list it.
(umask 022 && mkdir -p "$(dirname "$STATE_DIR")")
# Installers before this one created the default parent (/var/lib/dxbackup) 0700: it is ours by name.
state_parent=$(dirname "$STATE_DIR")
if [ "$(basename "$state_parent")" = dxbackup ] && [ ! -L "$state_parent" ] && [ "$(stat -c %u "$state_parent")" = 0 ]; then
  chmod o+x "$state_parent"
fi
mkdir -p "$STATE_DIR"
chmod 0711 "$STATE_DIR"
# What earlier agents left readable (status files were 0644 while the state dir was 0700; the cron
# line's log was created 0644): only metrics/ is for others, and staging/ (a run may be using it, and
# sets it itself). -H: the state dir may be a symlink. A run may remove an entry meanwhile: best effort.
find -H "$STATE_DIR" -mindepth 1 -maxdepth 1 ! -name metrics ! -name staging ! -type l -exec chmod go-rwx {} + 2>/dev/null || true
parent=$(dirname "$(readlink -f "$STATE_DIR")")
while [ "$parent" != / ] && [ "$parent" != . ]; do
  case "$(stat -c %A "$parent")" in
    *x | *t) ;;
    *) say "warning: $parent is not searchable by other users, so a node_exporter or a database instance owner that is not root cannot reach $STATE_DIR (chmod o+x $parent to allow it)" ;;
  esac
  parent=$(dirname "$parent")
done
new_manifest=$(mktemp "$STATE_DIR/.installed-files.XXXXXX")
decoded=$(mktemp "$STATE_DIR/.decoded.XXXXXX")
staged=""
# The repository password before this install: if the bundle changes it, the
# repository's key is changed too (below), or the old password is put back.
# Until the repository's key matches the installed password, a failure puts the
# old password back: a half-done install must not lock the agent out.
old_password="" password_settled=0
cleanup() {
  if [ -n "$old_password" ] && [ "$password_settled" = 0 ]; then cp -p "$old_password" "$PASSWORD_FILE"; fi
  rm -f "$new_manifest" "$decoded" ${staged:+"$staged"} ${old_password:+"$old_password"}
}
trap cleanup EXIT
if [ -f "$PASSWORD_FILE" ]; then
  old_password=$(mktemp "$STATE_DIR/.old-password.XXXXXX")
  cp -p "$PASSWORD_FILE" "$old_password"
fi

changed=0 unchanged=0 removed=0 units_changed=0

install_file() { # install_file MODE PATH  (content on stdin)
  local mode=$1 path=$2 dir
  dir=$(dirname "$path")
  mkdir -p "$dir"
  staged=$(mktemp "$dir/.dxbackup-new.XXXXXX")
  cat >"$staged"
  chmod "$mode" "$staged"
  if [ -f "$path" ] && cmp -s "$staged" "$path" && [ "$(stat -c %a "$path")" = "$(stat -c %a "$staged")" ]; then
    rm -f "$staged"
    unchanged=$((unchanged + 1))
  else
    mv -f "$staged" "$path"
    changed=$((changed + 1))
    case "$path" in "$unit_prefix"*) units_changed=1 ;; esac
  fi
  staged=""
}

# The agent first, as a file of the bundle always was: a rename in its own directory, so a run
# that has it open keeps the old one.
if [ -n "$agent_new" ]; then
  mv -f "$agent_new" "$AGENT"
  changed=$((changed + 1))
  agent_state="installed $agent_runtime ${agent_digest:0:12}"
else
  unchanged=$((unchanged + 1))
  agent_state="unchanged"
fi
printf '%s\n' "$AGENT" >>"$new_manifest"
# Uploads of other versions (an install that failed after its upload) are of no use now.
find "$INSTALL_DIR/bin" -maxdepth 1 -name '.agent-*' -type f -delete

complete=0
while read -r kind mode group encoded_path; do
  if [ "$kind" = end ]; then complete=1; break; fi
  [ "$kind" = file ] || fail "bad bundle record '$kind'"
  path=$(printf '%s' "$encoded_path" | base64 -d)
  owned "$path" || fail "bundle names a path outside this policy's directories: $path"
  content=""
  while IFS= read -r line && [ "$line" != . ]; do content+="$line"$'\n'; done
  case "$group" in
    all | "$SCHEDULER") ;;
    *) continue ;; # the other scheduler's files
  esac
  # Decode to a file first: install_file must run in this shell to count what it changed.
  printf '%s' "$content" | base64 -d >"$decoded"
  install_file "$mode" "$path" <"$decoded"
  printf '%s\n' "$path" >>"$new_manifest"
done
[ "$complete" = 1 ] || fail "the bundle on stdin ended early; nothing was removed"


# Files of the previous install that are not in this bundle: a schedule was
# removed, or the scheduler changed. Stop their timers before deleting them.
if [ -f "$manifest" ]; then
  while IFS= read -r old; do
    grep -qxF -- "$old" "$new_manifest" && continue
    owned "$old" || continue
    case "$old" in
      *.timer) if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then systemctl disable --now "$(basename "$old")" >/dev/null 2>&1 || true; fi ;;
    esac
    case "$old" in "$unit_prefix"*) units_changed=1 ;; esac
    rm -f "$old"
    removed=$((removed + 1))
  done <"$manifest"
fi
mv -f "$new_manifest" "$manifest"
chmod 0600 "$manifest"

# A new password is added as a key of the restic repository before anything relies on it; the
# old key goes. A key that could not go yet (rekey exits 3) is kept for later, its password in a
# file of its own, root's only: the keys of earlier changes are retried first, each on its own,
# and every run tries them too. TSM hosts keep no restic repository.
pending_dir="$STATE_DIR/rekey-pending"
rekey() { # rekey OLD_PASSWORD_FILE: 0 done, 3 the old key stays (kept under $pending_dir), else fail
  local status=0 kept
  "$AGENT" --config "$AGENT_CONFIG" rekey "$1" || status=$?
  case "$status" in
    0) [ "$(dirname "$1")" != "$pending_dir" ] || rm -f "$1" ;;
    3)
      if [ "$(dirname "$1")" != "$pending_dir" ]; then
        [ -d "$pending_dir" ] || mkdir -m 0700 "$pending_dir"
        kept="$pending_dir/$(sha256sum <"$1" | cut -c1-16)"
        cp -p "$1" "$kept" && chmod 0600 "$kept"
      fi
      ;;
    *) return "$status" ;;
  esac
}
if [ "$FILE_ENGINE" = restic ] && [ -d "$pending_dir" ]; then
  for kept in "$pending_dir"/*; do
    [ -f "$kept" ] || continue
    rekey "$kept" || say "WARNING: a previous repository key could not be removed yet; every run and the next pulumi up try again"
  done
fi
if [ -n "$old_password" ] && ! cmp -s "$old_password" "$PASSWORD_FILE" && [ "$FILE_ENGINE" = restic ]; then
  rekey "$old_password" ||
    fail "the repositoryPassword changed, but the repository's key could not be changed: the previous password is kept on this host; fix the cause above and run pulumi up again"
fi
password_settled=1

if [ "$SCHEDULER" = systemd ]; then
  [ "$units_changed" = 0 ] || systemctl daemon-reload
  while IFS= read -r path; do
    case "$path" in *.timer) systemctl enable --now "$(basename "$path")" >/dev/null ;; esac
  done <"$manifest"
fi

# Only a complete install takes over the host's identity: a failed one leaves the live install's.
if [ -n "$INSTALL_ID" ]; then
  printf '%s\n' "$INSTALL_ID" >"$STATE_DIR/.install-id.new"
  mv -f "$STATE_DIR/.install-id.new" "$STATE_DIR/install-id"
fi

say "scheduler=$SCHEDULER files=$((changed + unchanged)) changed=$changed removed=$removed agent=$agent_state"
