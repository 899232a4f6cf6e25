#!/usr/bin/env bash
# The fleet (issue 22): installs Debian's Prometheus, Alertmanager and
# node_exporter for the fleet test (tests/fleet.rs starts its own on
# loopback ports; whatever the packages start on their default ports is left
# alone) and openssh-server for the remote-engine test (tests/remote.rs
# starts a private sshd on a loopback port), then checks the alerting rules
# and runs their unit tests with promtool. Idempotent.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
. .ci/lib.sh

missing=()
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
command -v prometheus-node-exporter >/dev/null 2>&1 || missing+=(prometheus-node-exporter)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v ssh >/dev/null 2>&1 || missing+=(openssh-client)
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]}"
    if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"; then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
    fi
fi
log "prometheus: $(prometheus --version 2>&1 | head -n 1)"

log "promtool check rules monitoring/rules.yml"
promtool check rules monitoring/rules.yml
log "promtool test rules monitoring/rules.test.yml"
(cd monitoring && promtool test rules rules.test.yml)
