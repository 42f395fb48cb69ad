#!/usr/bin/env bash
# dx-backup uninstaller: the body of the `delete` command of PortalHostBackup.
# Removes the schedule (timers or cron entry), the agent and its config and
# secrets. Keeps the state directory (status, logs) and, above all, the backup
# repository: removing a host from a stack must never lose backups.
# Safe to run twice: with nothing installed it changes nothing.
set -euo pipefail

: "${POLICY:?}" "${HOST_NAME:?}" "${INSTALL_DIR:?}" "${CONFIG_DIR:?}" "${STATE_DIR:?}" "${SYSTEMD_DIR:?}" "${CRON_DIR:?}"

say() { printf 'dx-backup uninstall [%s]: %s\n' "$HOST_NAME" "$*"; }

# $1: the identity of the install this delete belongs to (see install.sh).
INSTALL_ID=${1:-}
if [ -n "$INSTALL_ID" ] && [ -f "$STATE_DIR/install-id" ]; then
  current=$(cat "$STATE_DIR/install-id")
  if [ "$current" != "$INSTALL_ID" ]; then
    say "this host now runs install $current, not $INSTALL_ID (a rename or a new address of the same host): nothing removed"
    exit 0
  fi
fi

manifest="$STATE_DIR/installed-files"
unit_prefix="$SYSTEMD_DIR/dxbackup-$POLICY-"
cron_file="$CRON_DIR/dxbackup-$POLICY"
# Agents received for installs that never came (a failed create leaves no resource to delete).
find "$INSTALL_DIR/bin" -maxdepth 1 -type f -name '.agent-*' -delete 2>/dev/null || true
if [ ! -f "$manifest" ]; then
  find "$INSTALL_DIR" -depth -type d -empty -delete 2>/dev/null || true
  say "nothing installed; nothing to do"
  exit 0
fi

systemd_running=0
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then systemd_running=1; fi

removed=0 units=0
while IFS= read -r path; do
  case "$path" in
    "$INSTALL_DIR"/* | "$CONFIG_DIR"/* | "$unit_prefix"* | "$cron_file") ;;
    *) continue ;; # never touch anything this policy does not own
  esac
  case "$path" in
    *.timer) [ "$systemd_running" = 0 ] || systemctl disable --now "$(basename "$path")" >/dev/null 2>&1 || true ;;
  esac
  case "$path" in "$unit_prefix"*) units=1 ;; esac
  if [ -e "$path" ]; then rm -f "$path"; removed=$((removed + 1)); fi
done <"$manifest"
if [ "$units" = 1 ] && [ "$systemd_running" = 1 ]; then systemctl daemon-reload; fi
rm -f "$manifest" "$STATE_DIR/install-id"
# Previous repository passwords kept to remove their keys later: secrets, like the config's.
rm -rf "$STATE_DIR/rekey-pending"
# The agent's code cache (agent/boot/codeCache.ts) is in no manifest. Removed after the timers are
# off and the agent file is gone: a run still going writes no new one once its agent is removed.
find "$INSTALL_DIR/bin" -maxdepth 1 -type f -name '.dxbackup-agent.v8cache*' -delete 2>/dev/null || true
# Remove the agent's now-empty directories, deepest first; never the state dir.
find "$INSTALL_DIR" "$CONFIG_DIR" -depth -type d -empty -delete 2>/dev/null || true

say "removed $removed file(s) and the schedule; kept $STATE_DIR and the backup repository"
