# scripts/smoke/no-registry.sh: what is specific to a machine without a Docker engine and
# without a registry (sourced by scripts/docker-smoke). It provides:
#   P       the container command: podman with all its state in one scratch folder $W
#   BASE    a Debian bookworm base image made locally with debootstrap (python:3.11-slim cannot
#           be pulled here), cached as a tarball; the host's extra CA certificates are added
#           because HTTPS here goes through a re-signing proxy that pip in the build must trust
# On a machine with Docker and a registry, P=(docker) and BASE=python:3.11-slim do the same.

# ---------------------------------------------------------------------------------------------
# 0. tools
TOOLS=(podman buildah debootstrap runc)
missing_tools() { local t; for t in "${TOOLS[@]}"; do command -v "$t" >/dev/null || echo "$t"; done; }

[[ $(id -u) == 0 ]] || unavailable "must run as root (debootstrap and rootful podman); running as uid $(id -u)"
command -v python3 >/dev/null || unavailable "python3 is needed on the host (helpers, hadolint venv)"

mapfile -t MISSING < <(missing_tools)
if (( ${#MISSING[@]} )); then
    say "installing ${MISSING[*]} with apt-get"
    T=$(date +%s)
    if ! command -v apt-get >/dev/null; then
        unavailable "${MISSING[*]} missing and there is no apt-get to install them"
    fi
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q "${MISSING[@]}" >/dev/null 2>&1; then
        apt-get update -q >/dev/null 2>&1
        apt-get install -y -q "${MISSING[@]}" || true
    fi
    mapfile -t MISSING < <(missing_tools)
    (( ${#MISSING[@]} == 0 )) || unavailable "could not install ${MISSING[*]} with apt-get"
    say "installed in $(elapsed "$T") s"
fi
say "$(podman --version), $(buildah --version | cut -d' ' -f1-3), runc $(runc --version | awk 'NR==1{print $3}')"

# ---------------------------------------------------------------------------------------------
# Scratch folder: podman's storage, run and tmp dirs, the rootfs, the lint venv. Removed on exit.
W=$(mktemp -d "${TMPDIR:-/tmp}/monitor-docker-smoke.XXXXXX") || unavailable "cannot create a scratch folder under ${TMPDIR:-/tmp}"
mkdir -p "$W/storage" "$W/run" "$W/libpod" "$W/tmp"
export TMPDIR="$W/tmp"
P=(podman --root "$W/storage" --runroot "$W/run" --tmpdir "$W/libpod" --events-backend=file)
IMAGE=localhost/monitor:smoke
BASE=localhost/base:bookworm
VOLUME=monitor-smoke-state
C1=monitor-smoke-1
C2=monitor-smoke-2

# Long steps run in the background so that a SIGTERM/SIGINT is handled at once (bash defers
# traps until a foreground child ends); the trap then stops that child.
CHILD=""
bg() { "$@" & CHILD=$!; wait "$CHILD"; local rc=$?; CHILD=""; return "$rc"; }

cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    if [[ -n "$CHILD" ]]; then kill -TERM "$CHILD" 2>/dev/null; wait "$CHILD" 2>/dev/null; fi
    "${P[@]}" rm -a -f -t 0 >/dev/null 2>&1
    "${P[@]}" volume rm -a -f >/dev/null 2>&1
    "${P[@]}" rmi -a -f >/dev/null 2>&1
    if [[ "${DOCKER_SMOKE_KEEP:-0}" == 1 ]]; then
        say "scratch folder kept: $W"
    else
        # anything still mounted under the scratch folder (overlay layers, shm), deepest first
        awk -v w="$W" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do
            umount -l "$m"
        done
        rm -rf "$W"
    fi
    exit "$rc"
}
trap cleanup EXIT
exec 3>&1   # the script's stdout, for the trap (a signal can arrive inside a redirected step)
trap 'say "interrupted: cleaning up" >&3; exit 130' INT TERM

# Two defaults fail on these machines: the open-file hard limit is 20000, crun refuses the
# cgroup layout. Logs go to files so `podman logs` works without journald.
cat > "$W/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
log_driver = "k8s-file"
[engine]
runtime = "runc"
events_logger = "file"
EOF
export CONTAINERS_CONF="$W/containers.conf"

# ---------------------------------------------------------------------------------------------
# 2. base image: debootstrap bookworm from the mirror apt already uses, plus this host's extra CA
#    certificates (HTTPS here goes through a re-signing proxy; pip in the build must trust it).
#    Cached as a tarball keyed by the debootstrap parameters and the certificates.
apt_mirror() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -f "$f" ]] || continue
        awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' "$f"
    done
    if [[ -f /etc/apt/sources.list ]]; then
        awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { if ($i !~ /security/) print $i; break } }' /etc/apt/sources.list
    fi
}
MIRROR=$(apt_mirror | head -1)
[[ -n "$MIRROR" ]] || { fail "base: no Debian mirror found in /etc/apt/sources.list(.d)"; finish; }
SUITE=bookworm
VARIANT=minbase
INCLUDE=python3,python3-venv,ca-certificates
ARCH=$(dpkg --print-architecture)
CA_FILES=(/usr/local/share/ca-certificates/*.crt)
[[ -e "${CA_FILES[0]}" ]] || CA_FILES=()
KEY=$( { echo "v1 $SUITE $VARIANT $INCLUDE $ARCH $MIRROR"; debootstrap --version 2>/dev/null
         (( ${#CA_FILES[@]} )) && cat "${CA_FILES[@]}"; } | sha256sum | cut -c1-16)
CACHE_DIR=${DOCKER_SMOKE_CACHE:-/var/cache/monitor-docker-smoke}
BASE_TAR="$CACHE_DIR/base-$KEY.tar"

T=$(date +%s)
if [[ "${DOCKER_SMOKE_NO_CACHE:-0}" != 1 && -s "$BASE_TAR" ]]; then
    say "base: cached $BASE_TAR"
    BASE_HOW="cached"
else
    say "base: debootstrap --variant=$VARIANT --include=$INCLUDE $SUITE ($ARCH) from $MIRROR"
    if ! bg debootstrap --variant="$VARIANT" --include="$INCLUDE" --arch="$ARCH" \
            "$SUITE" "$W/rootfs" "$MIRROR" >"$W/debootstrap.log" 2>&1; then
        tail -20 "$W/debootstrap.log"
        fail "base: debootstrap failed (log above)"
        finish
    fi
    if (( ${#CA_FILES[@]} )); then
        cp "${CA_FILES[@]}" "$W/rootfs/usr/local/share/ca-certificates/"
        TMPDIR=/tmp chroot "$W/rootfs" update-ca-certificates >/dev/null 2>&1 \
            || { fail "base: update-ca-certificates in the rootfs failed"; finish; }
    fi
    rm -rf "$W/rootfs/var/cache/apt/archives/"*.deb "$W/rootfs/var/lib/apt/lists/"*
    mkdir -p "$CACHE_DIR"
    rm -f "$CACHE_DIR"/base-*.tar          # older keys
    tar -C "$W/rootfs" -cf "$BASE_TAR.tmp.$$" . && mv "$BASE_TAR.tmp.$$" "$BASE_TAR"
    rm -rf "$W/rootfs"
    BASE_HOW="debootstrapped"
fi
if ! "${P[@]}" import -q "$BASE_TAR" "$BASE" >/dev/null; then
    rm -f "$BASE_TAR"
    fail "base: podman import of $BASE_TAR failed (cache removed)"
    finish
fi
pass "base: $BASE ($BASE_HOW, $(elapsed "$T") s)"

