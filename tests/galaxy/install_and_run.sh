#!/usr/bin/env bash
# What a Galaxy user does, end to end: build the collection tarball, install it into an empty
# collections path from a FRESH venv (ansible-core + ansible pinned in requirements.txt, nothing
# else), and run the site playbook by its FQCN, `djangodeploy.postgresql.site`, against a
# bookworm container with systemd (the test project deployed first by molecule/shared/prepare.yml).
# Passes when the site playbook succeeds, a second run changes nothing, and Django's
# `migrate --check` passes as the Django user. The container is removed at the end.
# The checkout is never on the collections path: only the fresh install dir (and the
# collections bundled in the venv's `ansible` package) are.
# Needs the test bed (tests/testbed/setup.sh bookworm). Usage: tests/galaxy/install_and_run.sh
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
container=djangodeploy-galaxy
image=djangodeploy-testbed/debian:bookworm
project=geodemo
work=$(mktemp -d "${TMPDIR:-/tmp}/djangodeploy-galaxy.XXXXXX")
log() { printf '[galaxy %3ss] %s\n' "$SECONDS" "$*"; }
cleanup() {
    docker rm -f "$container" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# 1. The tarball, exactly as `ansible-galaxy collection build` makes it.
"$top/.venv/bin/ansible-galaxy" collection build --output-path "$work/dist" "$top" >/dev/null
tarball=$(ls "$work"/dist/djangodeploy-postgresql-*.tar.gz)
log "built $(basename "$tarball")"

# 2. A fresh venv with only the pinned ansible-core and ansible (pip's cache makes it fast).
pins=$(grep -E '^(ansible-core|ansible)==' "$top/requirements.txt")
python3 -m venv "$work/venv"
# shellcheck disable=SC2086
"$work/venv/bin/pip" install -q --disable-pip-version-check $pins 2> >(grep -v "is ignored" >&2)
venv_bin="$work/venv/bin"
log "fresh venv: $("$venv_bin/ansible" --version | head -1)"

# 3. Install into an empty collections path; nothing else is on it. A neutral ansible.cfg,
# so the checkout's (which points at the checkout) is not read.
export ANSIBLE_CONFIG="$work/ansible.cfg" ANSIBLE_COLLECTIONS_PATH="$work/collections"
printf '[defaults]\ninterpreter_python = auto_silent\n' >"$ANSIBLE_CONFIG"
cd "$work"
"$venv_bin/ansible-galaxy" collection install "$tarball" >/dev/null
installed=$("$venv_bin/ansible-galaxy" collection list djangodeploy.postgresql --format json)
echo "$installed" | "$venv_bin/python" -c '
import json, sys
paths = json.load(sys.stdin)
found = [p for p, cols in paths.items() if "djangodeploy.postgresql" in cols]
assert found == [sys.argv[1]], "djangodeploy.postgresql found in %r, expected only %r" % (found, sys.argv[1])
' "$work/collections/ansible_collections"
log "installed into $ANSIBLE_COLLECTIONS_PATH (the only copy Ansible sees)"

# 4. The test container, with molecule/default's platform flags (systemd as PID 1 without
# --privileged; see DESIGN.md).
docker rm -f "$container" >/dev/null 2>&1 || true
docker run -d --name "$container" --hostname "$container" \
    --cap-add SYS_ADMIN --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
    --cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup:rw --tmpfs /run --tmpfs /tmp \
    "$image" /lib/systemd/systemd >/dev/null
mkdir -p "$work/inventory/group_vars"
cat >"$work/inventory/hosts.ini" <<INI
[dbservers]
$container

[appservers]
$container

[all:vars]
ansible_connection=community.docker.docker
INI
cat >"$work/inventory/group_vars/all.yml" <<YAML
django_project: $project
# A test password that exercises quoting (as in molecule/).
django_db_password: "S3cret 'single' \"double\" back\\\\slash ünïcødé"
django_test_wheelhouse: $top/.cache/wheelhouse
djangodeploy_pki_dir: $work/pki
YAML

run_playbook() {  # playbook, log name: ansible-playbook with the recap saved for checks
    "$venv_bin/ansible-playbook" -i "$work/inventory/hosts.ini" "$1" | tee "$work/$2.log" | tail -n 4
    return "${PIPESTATUS[0]}"
}
log "prepare: deploy the test Django project (molecule/shared/prepare.yml)"
run_playbook "$top/molecule/shared/prepare.yml" prepare
log "ansible-playbook djangodeploy.postgresql.site"
run_playbook djangodeploy.postgresql.site site
log "ansible-playbook djangodeploy.postgresql.site (again: nothing may change)"
run_playbook djangodeploy.postgresql.site site-again
if ! grep -Eq "^$container +: ok=[0-9]+ +changed=0 +unreachable=0 +failed=0" "$work/site-again.log"; then
    log "FAILED: the second run changed something:"; grep -E 'changed:' "$work/site-again.log" || true
    exit 1
fi

log "Django as $project: manage.py migrate --check"
docker exec "$container" runuser -u "$project" -- env \
    PYTHONPATH="/etc/opt/$project:/opt/$project" DJANGO_SETTINGS_MODULE=settings \
    "/opt/$project/venv/bin/python" "/opt/$project/manage.py" migrate --check
log "ok: the installed tarball deploys Django on PostgreSQL by FQCN"
