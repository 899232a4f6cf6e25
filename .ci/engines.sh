#!/usr/bin/env bash
# The engine lanes' daemons, beside the system's Docker and without touching
# it (its socket, docker0, its iptables rules). See GUIDE §8 for why each
# step is there.
#
#   engines.sh setup        install host packages, build (or reuse) the
#                           cached Debian trixie root with Docker 26 and
#                           podman 5.4 in it
#   engines.sh start NAME   start one engine; prints nothing, waits until
#                           it answers GET /_ping
#   engines.sh stop NAME    stop it, remove its containers, data and bridges
#   engines.sh smoke NAME   build a FROM-scratch image with a static binary,
#                           run it, and run it on a user-defined network
#   engines.sh env NAME     print DOCKER_HOST=unix://… for that engine
#   engines.sh names        the engine names, one a line
#
# Engines: docker26 (classic image store), docker26c (containerd image
# store), podman4 (Debian 12's podman 4.3, from the host), podman5 (podman 5.4
# inside the trixie root). Runs as root.
set -euo pipefail

NAMES=(docker26 docker26c podman4 podman5)
CACHE=${FRESHEN_CI_CACHE:-/var/cache/freshen-ci}
ROOTFS=$CACHE/trixie
# Bump when the package set of the root changes, so a cached root is rebuilt.
ROOTFS_STAMP="v1 docker.io containerd runc tini iptables ca-certificates podman conmon netavark aardvark-dns catatonit"
DATA=/var/lib/freshen-ci
RUN=/run/freshen-ci

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'engines.sh: %s\n' "$*" >&2; exit 1; }

need_root() { [ "$(id -u)" -eq 0 ] || die "$1 must run as root"; }

# Per engine: its bridge, the bridge's address, and the pool user-defined
# networks are carved from (distinct per daemon so two daemons never hand out
# the same subnet).
bridge_of() {
    case $1 in
        docker26) echo "fc-d26 10.213.1.1/24 10.214.0.0/16" ;;
        docker26c) echo "fc-d26c 10.213.2.1/24 10.215.0.0/16" ;;
        podman4) echo "fc-pod4 10.213.3.1/24 10.216.0.0/16" ;;
        podman5) echo "fc-pod5 10.213.4.1/24 10.217.0.0/16" ;;
        *) die "unknown engine '$1' (one of: ${NAMES[*]})" ;;
    esac
}

socket_of() { echo "$RUN/$1/engine.sock"; }

# The archive the host's apt already uses (first URIs line of the deb822
# file, or the first deb line of sources.list), so CI reaches the same mirror.
archive_url() {
    local url=""
    if [ -r /etc/apt/sources.list.d/debian.sources ]; then
        url=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources)
    fi
    if [ -z "$url" ] && [ -r /etc/apt/sources.list ]; then
        url=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' /etc/apt/sources.list)
    fi
    [ -n "$url" ] || die "no archive URL in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
    # A security archive's URL is no place for trixie main.
    echo "${url%-security}"
}

setup() {
    local want=()
    local pkg
    # gcc + libc6-dev: `smoke` runs a static binary in a FROM-scratch image.
    for pkg in debootstrap podman conmon containernetworking-plugins iptables iproute2 curl util-linux \
        gcc libc6-dev; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || want+=("$pkg")
    done
    if [ "${#want[@]}" -gt 0 ]; then
        log "installing on the host: ${want[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${want[@]}"
    fi

    if [ -f "$ROOTFS/.freshen-ci-ready" ] && [ "$(cat "$ROOTFS/.freshen-ci-ready")" = "$ROOTFS_STAMP" ]; then
        log "trixie root: cached at $ROOTFS"
        return
    fi
    local url
    url=$(archive_url)
    local build=$CACHE/trixie.building
    rm -rf "$build"
    mkdir -p "$CACHE"
    log "debootstrap trixie from $url into $build"
    debootstrap --variant=minbase trixie "$build" "$url" >"$CACHE/debootstrap.log" 2>&1 ||
        { tail -n 30 "$CACHE/debootstrap.log" >&2; die "debootstrap failed (log: $CACHE/debootstrap.log)"; }
    log "installing Docker 26 and podman 5 into the trixie root"
    # A policy-rc.d that refuses keeps package scripts from starting daemons.
    printf '#!/bin/sh\nexit 101\n' >"$build/usr/sbin/policy-rc.d"
    chmod +x "$build/usr/sbin/policy-rc.d"
    # shellcheck disable=SC2086
    chroot "$build" env DEBIAN_FRONTEND=noninteractive sh -c \
        "apt-get update -q && apt-get install -y -q --no-install-recommends ${ROOTFS_STAMP#v1 }" \
        >"$CACHE/chroot-apt.log" 2>&1 ||
        { tail -n 30 "$CACHE/chroot-apt.log" >&2; die "apt-get in the trixie root failed (log: $CACHE/chroot-apt.log)"; }
    chroot "$build" apt-get clean
    mkdir -p "$build$DATA" "$build$RUN"
    echo "$ROOTFS_STAMP" >"$build/.freshen-ci-ready"
    rm -rf "$ROOTFS"
    mv "$build" "$ROOTFS"
    log "trixie root ready: $(chroot "$ROOTFS" dpkg-query -W -f '${Package} ${Version}  ' docker.io podman)"
}

# Creates the engine's bridge unless it exists; no iptables rules at all.
make_bridge() {
    local name=$1 bridge addr
    read -r bridge addr _ <<<"$(bridge_of "$name")"
    if ! ip link show "$bridge" >/dev/null 2>&1; then
        ip link add "$bridge" type bridge
        ip addr add "$addr" dev "$bridge"
    fi
    ip link set "$bridge" up
}

# Waits until the engine answers /_ping, or fails with its log.
wait_ready() {
    local name=$1 pid=$2 sock
    sock=$(socket_of "$name")
    local deadline=$((SECONDS + 90))
    until curl -sf --max-time 2 --unix-socket "$sock" http://engine/_ping >/dev/null 2>&1; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 40 "$RUN/$name/engine.log" >&2 || true
            die "$name exited before it answered (log: $RUN/$name/engine.log)"
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            tail -n 40 "$RUN/$name/engine.log" >&2 || true
            die "$name did not answer within 90s (log: $RUN/$name/engine.log)"
        fi
        sleep 0.2
    done
}

# The shell snippet run inside a private mount namespace that makes the trixie
# root usable for a daemon: it must be a mount point, with /proc, /sys, /dev,
# a private /run, and the engine's data and run directories bound in.
chroot_mounts() {
    local name=$1
    cat <<EOF
set -e
mount --bind '$ROOTFS' '$ROOTFS'
mount -t proc proc '$ROOTFS/proc'
mount --rbind /sys '$ROOTFS/sys'
mount --rbind /dev '$ROOTFS/dev'
mount -t tmpfs -o mode=755 tmpfs '$ROOTFS/run'
mkdir -p '$ROOTFS$RUN/$name' '$ROOTFS$DATA/$name'
mount --bind '$RUN/$name' '$ROOTFS$RUN/$name'
mount --bind '$DATA/$name' '$ROOTFS$DATA/$name'
EOF
}

# The command that enters the trixie root for good: pivot_root rather than a
# bare chroot, so the root of this mount namespace is the trixie root. Under a
# bare chroot, runc's exec (health checks, docker exec) joins the container's
# mount namespace but resolves the program against the chroot and fails with
# "stat /prog: no such file or directory".
enter_root() {
    cat <<EOF
cd '$ROOTFS'
mkdir -p .freshen-oldroot
pivot_root . .freshen-oldroot
exec chroot . sh -c 'umount -l /.freshen-oldroot && exec "\$@"' enter
EOF
}

start_docker() {
    local name=$1 bridge pool
    read -r bridge _ pool <<<"$(bridge_of "$name")"
    local snapshotter=false
    [ "$name" = docker26c ] && snapshotter=true
    cat >"$DATA/$name/daemon.json" <<EOF
{
  "features": {"containerd-snapshotter": $snapshotter},
  "default-address-pools": [{"base": "$pool", "size": 24}]
}
EOF
    local dockerd_cmd="dockerd --config-file '$DATA/$name/daemon.json' --host 'unix://$(socket_of "$name")' \
--data-root '$DATA/$name/root' --exec-root '$RUN/$name/exec' --pidfile '$RUN/$name/dockerd.pid' \
--iptables=false --ip6tables=false --ip-masq=false --ip-forward=false -b '$bridge'"
    # setsid: the daemon outlives this script's process group. The shell
    # records its own pid, which exec hands on to the daemon.
    setsid nohup unshare --mount --propagation private sh -c "echo \$\$ >'$RUN/$name/pid'
$(chroot_mounts "$name")
$(enter_root) $dockerd_cmd" >"$RUN/$name/engine.log" 2>&1 </dev/null &
}

start_podman() {
    local name=$1 bridge addr pool
    read -r bridge addr pool <<<"$(bridge_of "$name")"
    local nofile nproc
    nofile=$(ulimit -Hn)
    nproc=$(ulimit -Hu)
    [ "$nofile" = unlimited ] && nofile=1048576
    [ "$nproc" = unlimited ] && nproc=4194304
    local conf=$DATA/$name/conf
    mkdir -p "$conf" "$DATA/$name/networks"
    # crun refuses this machine kind's hybrid cgroup layout; runc is there
    # (docker.io brings it on the host, the trixie root has it).
    local runtime_line='runtime = "runc"' network_lines=""
    if [ "$name" = podman4 ]; then
        # podman 4.3's service refuses an nproc limit above 32768.
        [ "$nproc" -gt 32768 ] && nproc=32768
        network_lines="network_backend = \"cni\"
network_config_dir = \"$DATA/$name/networks\"
cni_plugin_dirs = [\"/usr/lib/cni\"]
default_subnet_pools = [{\"base\" = \"$pool\", \"size\" = 24}]"
        # The default network on our own bridge, without the firewall and
        # portmap plugins and without masquerading: no iptables rules.
        cat >"$DATA/$name/networks/podman.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "podman",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$bridge",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "routes": [{"dst": "0.0.0.0/0"}],
        "ranges": [[{"subnet": "${addr%.*}.0/24", "gateway": "${addr%/*}"}]]
      }
    }
  ]
}
EOF
    else
        network_lines="network_backend = \"netavark\"
network_config_dir = \"$DATA/$name/networks\"
firewall_driver = \"none\"
default_network = \"podman\"
default_subnet = \"${addr%.*}.0/24\"
default_subnet_pools = [{\"base\" = \"$pool\", \"size\" = 24}]"
    fi
    cat >"$conf/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$DATA/$name/events.log"
$runtime_line

[network]
$network_lines
EOF
    cat >"$conf/registries.conf" <<'EOF'
unqualified-search-registries = []

# podman has no plain-HTTP default for loopback registries; the tests'
# registries listen on 127.0.0.1 at random ports (the prefix matches any).
[[registry]]
location = "127.0.0.1"
insecure = true
EOF
    cat >"$conf/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$DATA/$name/storage"
runroot = "$RUN/$name/storage"
EOF
    local env="CONTAINERS_CONF='$conf/containers.conf' CONTAINERS_REGISTRIES_CONF='$conf/registries.conf' \
CONTAINERS_STORAGE_CONF='$conf/storage.conf' XDG_RUNTIME_DIR='$RUN/$name/xdg' TMPDIR='$DATA/$name/tmp'"
    mkdir -p "$DATA/$name/tmp" "$RUN/$name/xdg"
    local podman_cmd="podman --root '$DATA/$name/storage' --runroot '$RUN/$name/storage' \
--tmpdir '$RUN/$name/libpod' system service --time=0 'unix://$(socket_of "$name")'"
    if [ "$name" = podman4 ]; then
        setsid nohup unshare --mount --propagation private sh -c "echo \$\$ >'$RUN/$name/pid'
exec env $env $podman_cmd" >"$RUN/$name/engine.log" 2>&1 </dev/null &
    else
        setsid nohup unshare --mount --propagation private sh -c "echo \$\$ >'$RUN/$name/pid'
$(chroot_mounts "$name")
$(enter_root) env $env $podman_cmd" >"$RUN/$name/engine.log" 2>&1 </dev/null &
    fi
}

# podman leaves each container's health check to a systemd timer (`podman
# healthcheck run ID` every Interval). This machine kind has no systemd, so
# nothing would ever run a check and every container with a HEALTHCHECK would
# stay `starting`, unlike on a host where users run podman. The clock does
# what those timers do, through the engine's socket: a container's first check
# one Interval after it starts, then one per Interval. It ends with the engine.
# FRESHEN_CI_HEALTH_CLOCK=0 leaves it out (podman as on a host without systemd).
health_clock() {
    local name=$1 sock engine
    set +e
    sock=$(socket_of "$name")
    engine=$(cat "$RUN/$name/pid")
    echo $$ >"$RUN/$name/clock.pid"
    local filter='{"health":["starting","healthy","unhealthy"],"status":["running"]}'
    local -A due=() every=()
    local now id started key ns
    while kill -0 "$engine" 2>/dev/null; do
        now=$((${EPOCHREALTIME/./} / 1000))
        while read -r id started; do
            [ -n "$started" ] || continue
            # A restarted container starts its schedule again.
            key=$id.$started
            if [ -z "${every[$key]:-}" ]; then
                ns=$(curl -sf --max-time 10 --unix-socket "$sock" "http://engine/v1.41/containers/$id/json" |
                    grep -o '"Healthcheck":{[^}]*}' | grep -o '"Interval":[0-9]*' | cut -d: -f2)
                every[$key]=$((${ns:-0} / 1000000))
                # podman's default interval when the image gives none.
                [ "${every[$key]}" -gt 0 ] || every[$key]=30000
                due[$key]=$((now + every[$key]))
            elif [ "$now" -ge "${due[$key]}" ]; then
                curl -s --max-time 60 --unix-socket "$sock" \
                    "http://engine/v1.41/libpod/containers/$id/healthcheck" >/dev/null
                due[$key]=$((${EPOCHREALTIME/./} / 1000 + every[$key]))
            fi
        done < <(curl -sf --max-time 10 --unix-socket "$sock" -G http://engine/v1.41/libpod/containers/json \
            --data-urlencode "filters=$filter" | grep -o '"Id":"[0-9a-f]*"\|"StartedAt":[0-9]*' |
            cut -d: -f2 | tr -d '"' | paste -d' ' - -)
        sleep 0.25
    done
}

engine_pid() {
    local pidfile=$RUN/$1/pid
    [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && cat "$pidfile"
}

start() {
    local name=$1
    bridge_of "$name" >/dev/null
    if pid=$(engine_pid "$name"); then
        log "$name already runs (pid $pid)"
        wait_ready "$name" "$pid"
        return
    fi
    case $name in
        docker26 | docker26c | podman5)
            [ -f "$ROOTFS/.freshen-ci-ready" ] || die "no trixie root at $ROOTFS: run '$0 setup' first"
            ;;
    esac
    # A fresh data directory every start: lanes must not depend on what an
    # earlier run left behind.
    rm -rf "${DATA:?}/$name" "${RUN:?}/$name"
    mkdir -p "$DATA/$name" "$RUN/$name"
    make_bridge "$name"
    case $name in
        docker26 | docker26c) start_docker "$name" ;;
        podman4 | podman5) start_podman "$name" ;;
    esac
    # The shell writes the pid file first thing; wait for it.
    local waited=0
    until [ -s "$RUN/$name/pid" ]; do
        sleep 0.05
        waited=$((waited + 1))
        [ "$waited" -lt 200 ] || die "$name did not start (log: $RUN/$name/engine.log)"
    done
    wait_ready "$name" "$(cat "$RUN/$name/pid")"
    case $name in
        podman4 | podman5)
            if [ "${FRESHEN_CI_HEALTH_CLOCK:-1}" != 0 ]; then
                setsid nohup "$0" clock "$name" >"$RUN/$name/clock.log" 2>&1 </dev/null &
            fi
            ;;
    esac
    log "$name ready: $(curl -s --unix-socket "$(socket_of "$name")" http://engine/version |
        sed -n 's/.*"Version":"\([^"]*\)".*"ApiVersion":"\([^"]*\)".*/version \1, API \2/p' | head -n 1)"
}

stop() {
    local name=$1 bridge pid sock
    read -r bridge _ <<<"$(bridge_of "$name")"
    sock=$(socket_of "$name")
    if [ -s "$RUN/$name/clock.pid" ]; then
        kill -TERM "$(cat "$RUN/$name/clock.pid")" 2>/dev/null || true
    fi
    local networks=""
    if pid=$(engine_pid "$name"); then
        # Containers first: podman's conmon processes outlive the service.
        local ids
        ids=$(curl -sf --unix-socket "$sock" 'http://engine/containers/json?all=1' |
            grep -o '"Id":"[0-9a-f]*"' | cut -d'"' -f4 || true)
        for id in $ids; do
            curl -sf -X DELETE --unix-socket "$sock" "http://engine/containers/$id?force=1&v=1" >/dev/null || true
        done
        # Bridges of user-defined networks stay in the host's namespace after
        # the daemon exits; remember them.
        networks=$(curl -sf --unix-socket "$sock" 'http://engine/networks' |
            grep -o '"Id":"[0-9a-f]*"' | cut -d'"' -f4 | cut -c1-12 || true)
        kill -TERM "$pid" 2>/dev/null || true
        local deadline=$((SECONDS + 30))
        while kill -0 "$pid" 2>/dev/null; do
            if [ "$SECONDS" -ge "$deadline" ]; then
                log "$name did not stop within 30s; killing it"
                kill -KILL "$pid" 2>/dev/null || true
            fi
            sleep 0.2
        done
    fi
    local id
    for id in $networks; do
        ip link show "br-$id" >/dev/null 2>&1 && ip link delete "br-$id" || true
    done
    # podman networks made through the API are bridges named podmanN/cni-podmanN
    # in CNI and netavark; only this engine's network files know theirs.
    if [ -d "$DATA/$name/networks" ]; then
        local dev
        for dev in $(grep -ho '"\(bridge\|network_interface\)": *"[^"]*"' "$DATA/$name/networks"/* 2>/dev/null |
            cut -d'"' -f4 | sort -u); do
            [ "$dev" = "$bridge" ] && continue
            ip link show "$dev" >/dev/null 2>&1 && ip link delete "$dev" || true
        done
    fi
    ip link show "$bridge" >/dev/null 2>&1 && ip link delete "$bridge" || true
    # Every mount the daemon made lived in its namespace and is gone; anything
    # still mounted under the data directory is a leak, not ours to delete.
    if grep -q " $DATA/$name" /proc/self/mounts; then
        die "mounts left under $DATA/$name; not removing it"
    fi
    rm -rf "${DATA:?}/$name" "${RUN:?}/$name"
}

# Checks that the engine can do what the tests ask of it: build a FROM-scratch
# image, run a static binary in it, and run it on a user-defined network.
# Everything it makes is named freshen-ci-smoke-* and removed again.
smoke() {
    local name=$1
    local DOCKER_HOST
    DOCKER_HOST=unix://$(socket_of "$name")
    export DOCKER_HOST
    local dir
    dir=$(mktemp -d)
    # shellcheck disable=SC2064
    trap "rm -rf '$dir'" RETURN
    cat >"$dir/prog.c" <<'EOF_C'
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc > 1) { puts("freshen-ci-smoke ok"); return 0; }
    pause();
    return 0;
}
EOF_C
    cc -static -O2 -o "$dir/prog" "$dir/prog.c" || die "cannot build a static binary (gcc, libc6-dev)"
    printf 'FROM scratch\nCOPY prog /prog\nCMD ["/prog"]\n' >"$dir/Dockerfile"
    local image=freshen-ci-smoke-$name:1 net=freshen-ci-smoke-$name ctr=freshen-ci-smoke-$name
    DOCKER_BUILDKIT=0 docker build -q -t "$image" "$dir" >/dev/null || die "$name: docker build failed"
    local out
    out=$(docker run --rm "$image" /prog ok) || die "$name: docker run failed"
    [ "$out" = "freshen-ci-smoke ok" ] || die "$name: docker run printed '$out'"
    docker network create "$net" >/dev/null || die "$name: docker network create failed"
    docker run -d --name "$ctr" --network "$net" "$image" >/dev/null || die "$name: docker run --network failed"
    local ip
    ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$ctr")
    docker rm -f "$ctr" >/dev/null
    docker network rm "$net" >/dev/null
    docker rmi "$image" >/dev/null
    [ -n "$ip" ] || die "$name: the container on $net got no address"
    log "$name smoke: static binary ran; container on a user network got $ip"
}

case ${1:-} in
    setup) need_root setup; setup ;;
    start) [ $# -eq 2 ] || die "usage: $0 start NAME"; need_root start; start "$2" ;;
    stop) [ $# -eq 2 ] || die "usage: $0 stop NAME"; need_root stop; stop "$2" ;;
    smoke) [ $# -eq 2 ] || die "usage: $0 smoke NAME"; smoke "$2" ;;
    clock) [ $# -eq 2 ] || die "usage: $0 clock NAME"; health_clock "$2" ;;
    env) [ $# -eq 2 ] || die "usage: $0 env NAME"; bridge_of "$2" >/dev/null; echo "DOCKER_HOST=unix://$(socket_of "$2")" ;;
    names) printf '%s\n' "${NAMES[@]}" ;;
    *) die "usage: $0 setup | start NAME | stop NAME | smoke NAME | env NAME | names" ;;
esac
