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
# Ansible's modules run with the managed host's python (the test's hosts
# are this machine, reached over the loopback sshd).
[ -x /usr/bin/python3 ] || missing+=(python3)
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

# ansible-core from PyPI, for the test that runs the playbook in
# monitoring/ansible against the loopback sshd (tests/remote.rs). In a
# virtual environment of its own (cached), linked onto PATH as
# ansible-playbook.
ANSIBLE_VENV=${FRESHEN_CI_CACHE:-/var/cache/freshen-ci}/ansible
if ! "$ANSIBLE_VENV/bin/ansible-playbook" --version >/dev/null 2>&1; then
    log "installing ansible-core into $ANSIBLE_VENV"
    if ! python3 -m venv "$ANSIBLE_VENV" >/dev/null 2>&1; then
        # Debian's python3 keeps venv in a package of its own.
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-venv python3-pip ||
            { as_root env DEBIAN_FRONTEND=noninteractive apt-get update &&
                as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-venv python3-pip; }
        rm -rf "$ANSIBLE_VENV"
        python3 -m venv "$ANSIBLE_VENV"
    fi
    "$ANSIBLE_VENV/bin/pip" install --quiet 'ansible-core==2.17.*'
fi
as_root ln -sf "$ANSIBLE_VENV/bin/ansible-playbook" /usr/local/bin/ansible-playbook
log "ansible: $(ansible-playbook --version 2>/dev/null | head -n 1)"
