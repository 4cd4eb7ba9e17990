"""Fixtures for the scenarios' testinfra checks that act on a whole converged scenario from
the controller (every scenario's tests directory sits below this folder)."""

import json
import os
import pathlib
import re
import subprocess

import pytest
import testinfra

TOP = pathlib.Path(__file__).resolve().parents[1]


RECAP_LINE = re.compile(r"^(\S+)\s+:\s+(ok=\d+\s+changed=\d+\s+unreachable=\d+\s+failed=\d+.*)$")


def ansible_env():
    return dict(os.environ, ANSIBLE_CONFIG=str(TOP / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                ANSIBLE_COLLECTIONS_PATH=str(TOP / ".cache" / "collections"))


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


def group_hosts(inventory, group):
    return inventory.get(group, {}).get("hosts", [])


@pytest.fixture(scope="session")
def db_host(inventory, inventory_file):
    """The first database server, as a testinfra host."""
    name = group_hosts(inventory, "dbservers")[0]
    return testinfra.get_host("ansible://%s?ansible_inventory=%s" % (name, inventory_file))


@pytest.fixture(scope="session")
def run_site():
    """Run playbooks/site.yml; return (exit code, output, recap {host: {key: n}})."""
    def run(inventory_path, *args):
        result = subprocess.run(["ansible-playbook", "-i", str(inventory_path), str(TOP / "playbooks" / "site.yml"), *args],
                                env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                timeout=1200)
        recap = {}
        for line in result.stdout.splitlines():
            match = RECAP_LINE.match(line)
            if match:
                recap[match.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(2))}
        return result.returncode, result.stdout, recap
    return run
