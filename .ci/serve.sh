#!/usr/bin/env bash
# Installs what tests/serve.rs needs beyond Docker: Debian's mosquitto and
# mosquitto-clients (a real broker for Home Assistant), chromium (the status
# page in a real browser), nodejs and playwright-core (drives chromium; one
# npm tarball with no dependencies, the version tests/browser/package.json
# pins), and python3-jsonschema (checks the status API against its schema).
# Idempotent: installs only what is missing.
set -euo pipefail

cd "$(dirname "$0")/.."
. .ci/lib.sh

missing=()
command -v mosquitto >/dev/null 2>&1 || missing+=(mosquitto)
command -v mosquitto_sub >/dev/null 2>&1 || missing+=(mosquitto-clients)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v curl >/dev/null 2>&1 || missing+=(curl)
python3 -c 'import jsonschema' >/dev/null 2>&1 || missing+=(python3-jsonschema)
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update >/dev/null
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

version=$(sed -n 's/.*"playwright-core": *"\([^"]*\)".*/\1/p' tests/browser/package.json)
target=tests/browser/node_modules/playwright-core
installed=$(sed -n 's/^  "version": *"\([^"]*\)".*/\1/p' "$target/package.json" 2>/dev/null || true)
if [ "$installed" != "$version" ]; then
    log "playwright-core $version into $target"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    curl -fsSL --retry 3 "https://registry.npmjs.org/playwright-core/-/playwright-core-$version.tgz" | tar -xz -C "$work"
    rm -rf "$target"
    mkdir -p "$(dirname "$target")"
    mv "$work/package" "$target"
fi
log "serve test tools: mosquitto $(mosquitto -h 2>/dev/null | sed -n 's/.*version \([0-9.]*\).*/\1/p' | head -n 1), $(chromium --version 2>/dev/null | head -n 1), node $(node --version), playwright-core $version"
