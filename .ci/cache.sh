#!/usr/bin/env bash
# The image store as a cache (issue 24): tests/cache.rs starts a private
# dockerd on a loop-mounted ext4 filesystem with a bridge of its own, so it
# needs mkfs.ext4 (e2fsprogs), mount/umount/fallocate (util-linux), ip
# (iproute2) and truncate/stat/sync (coreutils), and the loop driver.
# Installs what is missing; safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/lib.sh

missing=()
command -v mkfs.ext4 >/dev/null 2>&1 || missing+=(e2fsprogs)
command -v fallocate >/dev/null 2>&1 || missing+=(util-linux)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]} (tests/cache.rs)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi
# A loop device for the small data root; the module may be built in.
[ -e /dev/loop-control ] || as_root modprobe loop 2>/dev/null || true
