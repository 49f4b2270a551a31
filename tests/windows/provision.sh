#!/usr/bin/env bash
# Provisions the Windows test bed: a Debian 13 (trixie) chroot with Wine 10 and CUPS, cached in
# a folder keyed by this script's hash, so only the first run on a machine pays (~2 minutes).
# Usage: provision.sh <cache-root>
# Contract with tests/windows/run.ts: stdout carries exactly one line, the chroot's absolute path;
# everything else (progress, apt, debootstrap) goes to stderr. Checked by tests/provision_test.ts.
# Needs root and apt (debootstrap comes from Debian's own archive).
set -euo pipefail
# fd 3 is the result channel; from here on, anything a command prints goes to stderr.
exec 3>&1 1>&2
CACHE_ROOT=${1:-/var/cache/print-agent-wine}
HASH=$(sha256sum "$0" | cut -c1-16)
ROOT="$CACHE_ROOT/trixie-$HASH"
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
result() { echo "$ROOT" >&3; }
if [ -f "$ROOT/.ready" ]; then result; exit 0; fi
log() { echo "[provision] $*"; }
if ! command -v debootstrap >/dev/null 2>&1; then
  log "installing debootstrap"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap
fi
mkdir -p "$CACHE_ROOT"
rm -rf "$ROOT.tmp"
mkdir -p "$ROOT.tmp"
log "debootstrap trixie into $ROOT.tmp"
debootstrap --variant=minbase --include=ca-certificates trixie "$ROOT.tmp" "$MIRROR"
mount --bind /proc "$ROOT.tmp/proc"
trap 'umount -l "$ROOT.tmp/proc" 2>/dev/null || true' EXIT
log "installing wine, cups"
chroot "$ROOT.tmp" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
  --no-install-recommends wine64 wine cups cups-client cups-daemon libcups2t64'
umount -l "$ROOT.tmp/proc"
trap - EXIT
touch "$ROOT.tmp/.ready"
mv "$ROOT.tmp" "$ROOT"
log "ready: $ROOT"
result
