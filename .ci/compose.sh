#!/usr/bin/env bash
# Installs the Compose v2 CLI plugin (`docker compose`) for the recreation
# tests. Debian 12 has only the Python Compose v1; Debian 13 (trixie) ships v2
# as a static-enough Go binary. Rather than adding trixie to the system's apt
# sources (which would offer to upgrade the whole system), this script points
# apt at a private one-line sources list and a private lists directory, downloads
# only the .deb, unpacks it and installs the plugin under /usr/local.
# Idempotent: does nothing when `docker compose version` already answers.
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if docker compose version >/dev/null 2>&1; then
    log "compose: $(docker compose version --short 2>/dev/null || docker compose version)"
    exit 0
fi

plugin_dir=/usr/local/lib/docker/cli-plugins
work="$(mktemp -d "${TMPDIR:-/tmp}/freshen-compose.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# apt downloads as the unprivileged _apt user: let it into the private dirs.
chmod 0755 "$work"

# The archive host the system already uses (deb822 `URIs:` or a one-line
# `deb URL suite` entry), so a mirror or proxy setup carries over.
archive=""
for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    archive="$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' "$f")"
    [ -n "$archive" ] && break
done
if [ -z "$archive" ] && [ -r /etc/apt/sources.list ]; then
    archive="$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' /etc/apt/sources.list)"
fi
archive="${archive:-http://deb.debian.org/debian}"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

mkdir -p "$work/lists/partial" "$work/archives/partial"
printf 'deb [signed-by=%s] %s trixie main\n' "$keyring" "$archive" >"$work/trixie.list"

apt_private=(
    -o "Dir::Etc::SourceList=$work/trixie.list"
    -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::State::Lists=$work/lists"
    -o "Dir::Cache::Archives=$work/archives"
    -o "Debug::NoLocking=1"
    -o "APT::Sandbox::User=root"
)

log "compose: fetching the trixie package list from $archive (private lists in $work)"
apt-get "${apt_private[@]}" -qq update
(cd "$work" && apt-get "${apt_private[@]}" -qq download docker-compose)
deb="$(ls "$work"/docker-compose_*.deb)"
log "compose: unpacking $(basename "$deb")"
dpkg-deb -x "$deb" "$work/root"
binary="$work/root/usr/libexec/docker/cli-plugins/docker-compose"
if [ ! -x "$binary" ]; then
    echo "the package has no usr/libexec/docker/cli-plugins/docker-compose; its files:" >&2
    dpkg-deb -c "$deb" >&2
    exit 1
fi
as_root install -D -m 0755 "$binary" "$plugin_dir/docker-compose"
log "compose: $(docker compose version)"
