"""The site playbook run again from the controller against a converged scenario: check mode,
diff mode, secrets and bad input. Each run leaves the hosts as the scenario converged them."""

import os
import pathlib
import subprocess

import pytest

TOP = pathlib.Path(__file__).resolve().parents[3]
SITE = TOP / "playbooks" / "site.yml"


@pytest.fixture(scope="module")
def inventory():
    path = os.environ.get("MOLECULE_INVENTORY_FILE")
    if not path:
        pytest.skip("runs under `molecule verify`, which names the inventory")
    return path


@pytest.fixture(scope="module")
def password(host):
    return host.ansible.get_variables()["django_db_password"]


def site(inventory, *args):
    env = dict(os.environ, ANSIBLE_CONFIG=str(TOP / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_COLLECTIONS_PATH=str(TOP / ".cache" / "collections"))
    result = subprocess.run(["ansible-playbook", "-i", inventory, str(SITE), *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900)
    return result.returncode, result.stdout


def recap_counts(output, key):
    return [int(part.split("=")[1]) for line in output.splitlines() if "unreachable=" in line
            for part in line.split() if part.startswith(key + "=")]


def test_check_and_diff_on_a_converged_host_change_nothing_and_show_no_secret(inventory, password):
    rc, output = site(inventory, "--check", "--diff", "-v")
    assert rc == 0, output
    assert recap_counts(output, "changed") and set(recap_counts(output, "changed")) == {0}, output
    assert password not in output


def test_check_mode_reports_a_password_change_without_making_it(inventory, host, password):
    rc, output = site(inventory, "--check", "--diff", "-e", "django_db_password=Another-Pass-123")
    assert rc == 0, output
    assert set(recap_counts(output, "changed")) != {0}, output
    assert "Another-Pass-123" not in output and password not in output
    # Nothing changed: the old password still logs in.
    project = host.ansible.get_variables()["django_project"]
    login = host.run("PGPASSWORD=%s psql -XAt -h localhost -U %s -d %s -c 'SELECT 1'", password, project, project)
    assert login.rc == 0, login.stderr


def test_bad_input_stops_before_any_change(inventory, host):
    rc, output = site(inventory, "-e", "django_db_password=", "-e", "django_database=never_created")
    assert rc != 0
    assert "django_db_password" in output
    assert set(recap_counts(output, "changed")) == {0}, output
    exists = host.run("runuser -u postgres -- psql -XAt -c %s",
                      "SELECT count(*) FROM pg_database WHERE datname = 'never_created'")
    assert exists.stdout.strip() == "0", exists.stderr
