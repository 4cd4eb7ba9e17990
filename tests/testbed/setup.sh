#!/usr/bin/env bash
# Lays the test bed on a bare Debian machine and is cheap to run again:
#   - a Docker engine (docker.io), started when `docker info` fails;
#   - Debian base images built with debootstrap + docker import, then a systemd layer,
#     cached by tag (the official images are used when a registry answers);
#   - the controller venv (.venv) from requirements.txt;
#   - a wheelhouse of the test Django project's requirements for each target Python.
# Usage: tests/testbed/setup.sh [SUITE ...]   (default: bookworm)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cache="$top/.cache"
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(bookworm)
export DOCKER_BUILDKIT=0   # the distribution's engine has no buildx

log() { printf '\033[1m[testbed]\033[0m %s\n' "$*" >&2; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=
apt_install() {
    local missing=()
    for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing ${missing[*]}"
    [ -n "$apt_updated" ] || { as_root apt-get update -qq; apt_updated=1; }
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_docker() {
    command -v dockerd >/dev/null || apt_install docker.io
    if ! docker info >/dev/null 2>&1; then
        log "starting dockerd"
        as_root bash -c 'nohup dockerd >/var/log/dockerd-testbed.log 2>&1 &'
        for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
        docker info >/dev/null 2>&1 || { log "dockerd did not start: see /var/log/dockerd-testbed.log"; exit 1; }
    fi
}

debian_mirror() {
    local uri
    uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    [ -n "$uri" ] || uri=$(awk '/^deb / && $2 ~ /debian\/?$/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
    echo "${uri:-http://deb.debian.org/debian}"
}

ensure_base_image() {
    local suite=$1 tag="djangodeploy-testbed/debian-base:$1"
    docker image inspect "$tag" >/dev/null 2>&1 && return 0
    if docker pull -q "debian:$suite" >/dev/null 2>&1; then
        docker tag "debian:$suite" "$tag"
        return 0
    fi
    apt_install debootstrap
    local mirror root
    mirror=$(debian_mirror)
    root=$(mktemp -d "${TMPDIR:-/tmp}/debootstrap-$suite.XXXXXX")
    log "debootstrap $suite from $mirror (30-60 s)"
    as_root debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$root.log" 2>&1 \
        || { log "debootstrap failed: see $root.log"; exit 1; }
    # Security and point-release updates, as on a real host.
    as_root bash -c "cat > '$root/etc/apt/sources.list'" <<SOURCES
deb $mirror $suite main
deb $mirror $suite-updates main
deb ${mirror%/debian}/debian-security $suite-security main
SOURCES
    as_root tar -C "$root" -c . | docker import - "$tag" >/dev/null
    as_root rm -rf "$root" "$root.log"
}

ensure_image() {
    local suite=$1
    ensure_base_image "$suite"
    docker build -q --build-arg "BASE=djangodeploy-testbed/debian-base:$suite" \
        -t "djangodeploy-testbed/debian:$suite" "$top/tests/testbed/image" >/dev/null
    log "image djangodeploy-testbed/debian:$suite ready"
}

ensure_venv() {
    local stamp="$top/.venv/.requirements.sha256" want
    want=$(sha256sum "$top/requirements.txt" | cut -d' ' -f1)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
    log "creating .venv from requirements.txt"
    python3 -m venv "$top/.venv"
    "$top/.venv/bin/pip" install -q --upgrade pip >/dev/null
    "$top/.venv/bin/pip" install -q -r "$top/requirements.txt"
    echo "$want" >"$stamp"
}

ensure_collection_path() {
    # Ansible finds this checkout as djangodeploy.postgresql through this path, never a
    # stale installed copy (see ansible.cfg).
    mkdir -p "$cache/collections/ansible_collections/djangodeploy"
    ln -sfn "$top" "$cache/collections/ansible_collections/djangodeploy/postgresql"
}

ensure_wheelhouses() {
    # Django for the test project, built for each target's Python, not the controller's.
    "$top/.venv/bin/python" "$top/tests/testbed/wheelhouse.py" --out "$cache/wheelhouse" "$@"
}

ensure_venv
ensure_collection_path
ensure_docker
# The default scenario reaches its container over SSH with a key it generates.
command -v ssh-keygen >/dev/null || apt_install openssh-client
for suite in "${suites[@]}"; do ensure_image "$suite"; done
ensure_wheelhouses "${suites[@]}"
