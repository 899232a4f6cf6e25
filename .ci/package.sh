#!/usr/bin/env bash
# The Debian package and the static binary, built and checked the way a user
# gets them: install cargo-deb (pinned, a debug build of the tool: it only
# packs files, and that builds in a third of the time), build ONE release
# binary statically linked (gnu target, crt-static, an explicit --target so
# the plain `cargo build --release` and `cargo install` stay as they are),
# check it has no dynamic dependencies and runs on the engines' trixie root
# (or the host), package that same binary (--no-build), install the package
# with apt-get, check the binary, the man pages and the systemd units, then
# purge it and check that nothing of it is left. Prints how long each step
# took. Run as root (or with sudo) from the repository root.
set -euo pipefail

cd "$(dirname "$0")/.."
. .ci/lib.sh

CARGO_DEB_VERSION=3.8.0
TARGET=x86_64-unknown-linux-gnu
TARGET_DIR=${CARGO_TARGET_DIR:-target}
BIN=$TARGET_DIR/$TARGET/release/freshen
TRIXIE_ROOT=${FRESHEN_CI_CACHE:-/var/cache/freshen-ci}/trixie

step_start=$SECONDS
took() { log "$1 took $((SECONDS - step_start))s"; step_start=$SECONDS; }
fail() { echo "package.sh: $*" >&2; exit 1; }

if [ "$(cargo deb --version 2>/dev/null)" != "cargo-deb $CARGO_DEB_VERSION" ]; then
    log "installing cargo-deb $CARGO_DEB_VERSION"
    cargo install --locked --debug --quiet cargo-deb --version "$CARGO_DEB_VERSION"
fi
took "cargo-deb"

log "static release build ($TARGET, crt-static)"
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
    cargo build --locked --release --target "$TARGET"
took "release build"

# ldd exits 1 on a static binary and says so.
ldd_out=$(ldd "$BIN" 2>&1 || true)
case "$ldd_out" in
*"not a dynamic executable"* | *"statically linked"*) log "ldd: $ldd_out" ;;
*) fail "$BIN is dynamically linked: $ldd_out" ;;
esac
log "static binary: $(stat -c %s "$BIN") bytes"

if [ -x "$TRIXIE_ROOT/bin/sh" ]; then
    work=$(mktemp -d "$TRIXIE_ROOT/tmp/freshen-static.XXXXXX")
    cp "$BIN" "$work/freshen"
    version=$(as_root chroot "$TRIXIE_ROOT" "/tmp/${work##*/}/freshen" --version)
    rm -rf "$work"
    log "on the trixie root ($TRIXIE_ROOT): $version"
else
    log "on the host (no $TRIXIE_ROOT): $("$BIN" --version)"
fi

log "cargo deb --no-build --target $TARGET"
rm -f "$TARGET_DIR/$TARGET"/debian/freshen_*.deb
cargo deb --no-build --target "$TARGET"
deb=$(realpath "$TARGET_DIR/$TARGET"/debian/freshen_*.deb)
log "package: $deb, $(stat -c %s "$deb") bytes"
dpkg-deb -c "$deb" | awk '{print "    " $1, $3, $6}'
# Debian policy 3.4.1: the synopsis (first line of Description) stays under
# 80 characters.
synopsis=$(dpkg-deb -f "$deb" Description)
synopsis=${synopsis%%$'\n'*}
[ "${#synopsis}" -lt 80 ] || fail "the package synopsis is ${#synopsis} characters (Debian wants under 80): $synopsis"
took "packaging"

missing=()
command -v man >/dev/null 2>&1 || missing+=(man-db)
if [ "${#missing[@]}" -gt 0 ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

! dpkg -s freshen >/dev/null 2>&1 || as_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y freshen
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "$deb"
log "installed: $(/usr/bin/freshen --version)"
for page in freshen freshen-upgrade freshen.conf; do
    log "man -w $page: $(man -w "$page")"
done
[ "$(man -w 5 freshen.conf)" = /usr/share/man/man5/freshen.conf.5.gz ] || fail "freshen.conf(5) is not in section 5"
grep -qx '/etc/freshen/config.toml' /var/lib/dpkg/info/freshen.conffiles || fail "/etc/freshen/config.toml is not a conffile"
for f in /usr/share/bash-completion/completions/freshen /usr/share/zsh/vendor-completions/_freshen \
    /usr/share/fish/vendor_completions.d/freshen.fish; do
    [ -s "$f" ] || fail "$f is missing"
done

units=(/usr/lib/systemd/system/freshen.service /usr/lib/systemd/system/freshen.timer)
.ci/unit-check.sh "${units[@]}"
# The checker must catch what it is for: a broken copy of the service fails it.
broken=$(mktemp -d)
sed -e 's/^ExecStart=/ExecStrat=/' -e 's/^\[Install\]/[Timer]/' /usr/lib/systemd/system/freshen.service >"$broken/freshen.service"
! .ci/unit-check.sh "$broken/freshen.service" >/dev/null 2>&1 || fail "unit-check.sh passed a broken unit"
rm -rf "$broken"
log "unit files: syntax checked"
if command -v systemd-analyze >/dev/null 2>&1; then
    # Works without a running systemd too; it loads the units and their
    # dependencies and fails on anything it cannot parse or run.
    systemd-analyze verify "${units[@]}"
    log "systemd-analyze verify: passed"
fi
if [ -d /run/systemd/system ]; then
    state=$(systemctl is-enabled freshen.timer 2>&1 || true)
    [ "$state" = disabled ] || fail "freshen.timer is '$state' after install, not disabled"
    log "freshen.timer: disabled"
fi

# What the packaged service would write, so the purge must remove it too.
/usr/bin/freshen --state-dir /var/lib/freshen hold freshen-ci-purge-check:1 >/dev/null
[ -e /var/lib/freshen/holds.json ] || fail "the packaged binary wrote no state in /var/lib/freshen"
# And the config file it reads without HOME is the system-wide one.
env -u HOME -u XDG_CONFIG_HOME -u FRESHEN_CONFIG /usr/bin/freshen --state-dir /var/lib/freshen showhold >/dev/null

files=$(mktemp)
dpkg -L freshen >"$files"
as_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y freshen
left=()
while read -r path; do
    # Directories other packages own too (/usr, /usr/share/man/man1) stay.
    if [ -e "$path" ] && ! [ -d "$path" ]; then
        left+=("$path")
    fi
done <"$files"
for dir in /etc/freshen /var/lib/freshen /usr/share/doc/freshen; do
    [ ! -e "$dir" ] || left+=("$dir")
done
rm -f "$files"
[ "${#left[@]}" -eq 0 ] || fail "apt-get purge left: ${left[*]}"
! dpkg -s freshen >/dev/null 2>&1 || fail "freshen is still known to dpkg after the purge"
log "purged: nothing of the package is left"
took "install, checks and purge"
