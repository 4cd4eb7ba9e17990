"""Helpers for the backup scenario: SQL as postgres, manage.py as the Django user, and our
playbooks run from the controller against the scenario's inventory."""

import os
import pathlib
import shlex
import subprocess

import pytest

TOP = pathlib.Path(__file__).resolve().parents[3]


def ansible_env():
    return dict(os.environ, ANSIBLE_CONFIG=str(TOP / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                ANSIBLE_FORCE_COLOR="0", ANSIBLE_COLLECTIONS_PATH=str(TOP / ".cache" / "collections"))


@pytest.fixture(scope="session")
def inventory_file():
    path = os.environ.get("MOLECULE_INVENTORY_FILE")
    if not path:
        pytest.skip("runs under `molecule verify`, which names the inventory")
    return path


@pytest.fixture(scope="session")
def playbook(inventory_file):
    """Run a playbook against the scenario; return (exit code, output, {host: changed})."""
    def run(path, *args):
        result = subprocess.run(["ansible-playbook", "-i", inventory_file, str(path), *args], env=ansible_env(),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1800)
        changed = {}
        for line in result.stdout.splitlines():
            if "unreachable=" in line and ":" in line:
                name, counts = line.split(":", 1)
                changed[name.strip()] = dict(part.split("=") for part in counts.split())["changed"]
        return result.returncode, result.stdout, changed
    return run


@pytest.fixture(scope="module")
def ansible_vars(host):
    return host.ansible.get_variables()


@pytest.fixture(scope="module")
def project(ansible_vars):
    return ansible_vars["django_project"]


def psql(host, sql, database="postgres", check=True):
    """SQL as the postgres superuser over the socket; the unaligned output."""
    result = host.run("runuser -u postgres -- psql -X -v ON_ERROR_STOP=1 -At -d %s -c %s", database, sql)
    if check:
        assert result.rc == 0, result.stderr
    return result.stdout.strip()


def manage(host, project, *args):
    """manage.py as the Django user, the book's way."""
    env = "PYTHONPATH=/etc/opt/{p}:/opt/{p} DJANGO_SETTINGS_MODULE=settings".format(p=project)
    command = "cd /opt/{p} && env {env} /opt/{p}/venv/bin/python /opt/{p}/manage.py {args}".format(
        p=project, env=env, args=" ".join(shlex.quote(a) for a in args))
    return host.run("runuser -u %s -- sh -c %s", project, command)
