"""Fixtures and helpers for every scenario's testinfra checks (each scenario's tests directory
sits below this folder): SQL as postgres and manage.py as the Django user on a host, and our
playbooks run from the controller against the scenario's inventory."""

import json
import os
import pathlib
import re
import shlex
import subprocess

import pytest
import testinfra

TOP = pathlib.Path(__file__).resolve().parents[1]

RECAP_LINE = re.compile(r"^(\S+)\s+:\s+(ok=\d+\s+changed=\d+\s+unreachable=\d+\s+failed=\d+.*)$")


def ansible_env():
    return dict(os.environ, ANSIBLE_CONFIG=str(TOP / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                ANSIBLE_COLLECTIONS_PATH=str(TOP / ".cache" / "collections"))


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


def django_serves(host, project):
    """Django as its user on an application host: no migration pending, and a query answered."""
    check = manage(host, project, "migrate", "--check")
    assert check.rc == 0, check.stdout + check.stderr
    query = manage(host, project, "shell", "-c", "from places.models import Note; print(Note.objects.count())")
    assert query.rc == 0, query.stdout + query.stderr


@pytest.fixture(scope="module")
def ansible_vars(host):
    return host.ansible.get_variables()


@pytest.fixture(scope="module")
def project(ansible_vars):
    return ansible_vars["django_project"]


@pytest.fixture(scope="session")
def inventory_file():
    path = os.environ.get("MOLECULE_INVENTORY_FILE")
    if not path:
        pytest.skip("runs under `molecule verify`, which names the inventory")
    return path


@pytest.fixture(scope="session")
def inventory(inventory_file):
    """The scenario's inventory as `ansible-inventory --list` shows it."""
    listed = subprocess.run(["ansible-inventory", "-i", inventory_file, "--list"], env=ansible_env(),
                            check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(listed)


@pytest.fixture(scope="session")
def db_host(inventory, inventory_file):
    """The first database server, as a testinfra host."""
    name = inventory["dbservers"]["hosts"][0]
    return testinfra.get_host("ansible://%s?ansible_inventory=%s" % (name, inventory_file))


def run_playbook(playbook, inventory_path, *args, env=None):
    """Run a playbook (env: variables added to its environment); return (exit code, output,
    recap {host: {ok: n, changed: n, ...}})."""
    result = subprocess.run(["ansible-playbook", "-i", str(inventory_path), str(playbook), *args],
                            env=dict(ansible_env(), **(env or {})), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            timeout=1800, check=False)
    recap = {}
    for line in result.stdout.splitlines():
        match = RECAP_LINE.match(line)
        if match:
            recap[match.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(2))}
    return result.returncode, result.stdout, recap


@pytest.fixture(scope="session")
def run_site():
    """playbooks/site.yml against an inventory (the scenario's, or a modified copy)."""
    return lambda inventory_path, *args, **kwargs: run_playbook(TOP / "playbooks" / "site.yml", inventory_path,
                                                                *args, **kwargs)


@pytest.fixture(scope="session")
def playbook(inventory_file):
    """Any playbook against the scenario's inventory."""
    return lambda path, *args: run_playbook(path, inventory_file, *args)
