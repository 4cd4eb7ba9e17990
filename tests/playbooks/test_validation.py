"""playbooks/validate.yml (the site playbook's first play) against the controller itself.

It only reads facts and checks variables, so the controller is a safe host for it: each case
proves a bad input stops the run with a message naming the variable.
"""
import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

TOP = pathlib.Path(__file__).resolve().parents[2]
GOOD = {
    "django_project": "geodemo",
    "django_db_password": "secret",
}


ONE_HOST = "[dbservers]\ncontroller\n[appservers]\ncontroller\n"


def run_validate(tmp_path, extra, hosts=ONE_HOST):
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(
        hosts + "[all:vars]\nansible_connection=local\nansible_python_interpreter=%s\n" % sys.executable)
    extra_vars = tmp_path / "vars.yml"
    extra_vars.write_text(json.dumps(extra))
    env = dict(os.environ, ANSIBLE_CONFIG=str(TOP / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    return subprocess.run(
        ["ansible-playbook", "-i", str(inventory), "-e", "@%s" % extra_vars, str(TOP / "playbooks/validate.yml")],
        cwd=TOP, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300, check=False)


def test_good_input_passes(tmp_path):
    result = run_validate(tmp_path, GOOD)
    assert result.returncode == 0, result.stdout
    assert "changed=0" in result.stdout


def test_socket_without_password_passes(tmp_path):
    result = run_validate(tmp_path, {"django_project": "geodemo", "django_db_host": ""})
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("bad, named", [
    ({"django_project": None}, "django_project is not set"),
    ({"django_db_password": ""}, "django_db_password"),
    ({"django_db_engine": "django.db.backends.mysql"}, "django_db_engine"),
    ({"django_project": "my-site"}, "django_project"),
    ({"postgresql_locale": "en_US.ISO-8859-1"}, "postgresql_locale"),
    ({"ansible_distribution_release": "buster"}, "postgresql_version"),
    ({"django_psycopg2_source": "conda"}, "django_psycopg2_source"),
], ids=["no-project", "no-password-over-tcp", "unknown-engine", "project-not-a-package",
        "locale-not-utf8", "unknown-release", "unknown-psycopg2-source"])
def test_bad_input_stops_with_the_variable_named(tmp_path, bad, named):
    given = {k: v for k, v in dict(GOOD, **bad).items() if v is not None}
    result = run_validate(tmp_path, given)
    assert result.returncode != 0, result.stdout
    failure = result.stdout[result.stdout.find("fatal:"):]
    assert named in failure, result.stdout
    assert "Traceback" not in result.stdout


def test_bad_input_on_one_host_stops_every_host(tmp_path):
    # Two names for the controller: one an independent single server with good input, the
    # other with an empty password over TCP.
    hosts = "[dbservers]\ngood django_db_password=secret\nbad\n[appservers]\ngood\nbad\n"
    result = run_validate(tmp_path, {"django_project": "geodemo"}, hosts)
    assert result.returncode != 0, result.stdout
    assert "The inputs of bad are wrong" in result.stdout
    recap = result.stdout[result.stdout.rfind("PLAY RECAP"):]
    assert re.search(r"^good\s+:.*failed=1", recap, re.M), result.stdout
