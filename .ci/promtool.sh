#!/usr/bin/env bash
# Installs promtool (from Debian's `prometheus` package) for the metrics
# test, which runs `promtool check metrics` on freshen's real output.
# Only the promtool binary is taken from the package: installing the whole
# package would start a Prometheus server and pull in its web assets.
# Idempotent: does nothing when promtool already answers.
set -euo pipefail

if command -v promtool >/dev/null 2>&1 && promtool --version >/dev/null 2>&1; then
    exit 0
fi

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
if ! apt-get download prometheus >/dev/null 2>&1; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update >/dev/null
    apt-get download prometheus
fi
dpkg-deb -x prometheus_*.deb root
as_root install -m 0755 root/usr/bin/promtool /usr/local/bin/promtool
printf '==> promtool: %s\n' "$(promtool --version 2>&1 | head -n 1)"
