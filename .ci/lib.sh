# Shared by the .ci scripts (sourced, not run): a log line and running a
# command as root, directly or through sudo, failing with one line otherwise.

log() { printf '==> %s\n' "$*"; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        echo "need root for: $*" >&2
        exit 1
    fi
}
