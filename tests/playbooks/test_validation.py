"""playbooks/validate.yml (the site playbook's first play) against the controller itself.

It only reads facts and checks variables, so the controller is a safe host for it: each case
proves a bad input stops the run with a message naming the variable.
"""
import pathlib
import re

import pytest

TOP = pathlib.Path(__file__).resolve().parents[2]
VALIDATE = TOP / "playbooks" / "validate.yml"
GOOD = {
    "django_project": "geodemo",
    "django_db_password": "secret",
}


ONE_HOST = "[dbservers]\ncontroller\n[appservers]\ncontroller\n"


def test_good_input_passes(run_local):
    result = run_local(VALIDATE, GOOD, ONE_HOST)
    assert result.returncode == 0, result.stdout
    assert "changed=0" in result.stdout


def test_socket_without_password_passes(run_local):
    result = run_local(VALIDATE, {"django_project": "geodemo", "django_db_host": ""}, ONE_HOST)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("bad, named", [
    ({"django_project": None}, "django_project is not set"),
    ({"django_db_password": ""}, "django_db_password"),
    ({"django_db_engine": "django.db.backends.mysql"}, "django_db_engine"),
    ({"django_project": "my-site"}, "django_project"),
    ({"postgresql_locale": "en_US.ISO-8859-1"}, "postgresql_locale"),
    ({"ansible_distribution_release": "buster"}, "postgresql_version"),
    ({"django_psycopg2_source": "conda"}, "django_psycopg2_source"),
    ({"postgresql_backup_keep": 0}, "postgresql_backup_keep"),
    ({"postgresql_backup_on_calendar": "every full moon"}, "postgresql_backup_on_calendar"),
], ids=["no-project", "no-password-over-tcp", "unknown-engine", "project-not-a-package",
        "locale-not-utf8", "unknown-release", "unknown-psycopg2-source", "backup-keeps-nothing",
        "backup-calendar-not-systemds"])
def test_bad_input_stops_with_the_variable_named(run_local, bad, named):
    given = {k: v for k, v in dict(GOOD, **bad).items() if v is not None}
    result = run_local(VALIDATE, given, ONE_HOST)
    assert result.returncode != 0, result.stdout
    failure = result.stdout[result.stdout.find("fatal:"):]
    assert named in failure, result.stdout
    assert "Traceback" not in result.stdout


def test_backup_inputs_are_not_checked_when_backups_are_off(run_local):
    result = run_local(VALIDATE, dict(GOOD, postgresql_backup_enabled=False, postgresql_backup_keep=0), ONE_HOST)
    assert result.returncode == 0, result.stdout


def test_bad_input_on_one_host_stops_every_host(run_local):
    # Two names for the controller: one an independent single server with good input, the
    # other with an empty password over TCP.
    hosts = "[dbservers]\ngood django_db_password=secret\nbad\n[appservers]\ngood\nbad\n"
    result = run_local(VALIDATE, {"django_project": "geodemo"}, hosts)
    assert result.returncode != 0, result.stdout
    assert "The inputs of bad are wrong" in result.stdout
    recap = result.stdout[result.stdout.rfind("PLAY RECAP"):]
    assert re.search(r"^good\s+:.*failed=1", recap, re.M), result.stdout
