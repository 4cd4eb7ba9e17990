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
    ({"postgresql_backup_on_calendar": "*-*-* 24:00:00"}, "postgresql_backup_on_calendar"),
    ({"postgresql_listen_addresses": ["localhost", "10.0.0.300"]}, "postgresql_listen_addresses has 10.0.0.300"),
    ({"postgresql_listen_addresses": ["db1.example.com", "192.0.2.0/24"]}, "postgresql_listen_addresses has 192.0.2.0/24"),
    ({"postgresql_ssl_days": 0}, "postgresql_ssl_days (0) must be at least 1"),
], ids=["no-project", "no-password-over-tcp", "unknown-engine", "project-not-a-package",
        "locale-not-utf8", "unknown-release", "unknown-psycopg2-source", "backup-keeps-nothing",
        "backup-calendar-not-systemds", "backup-calendar-hour-24", "listen-address-octet", "listen-address-cidr", "certificate-lifetime"])
def test_bad_input_stops_with_the_variable_named(run_local, bad, named):
    given = {k: v for k, v in dict(GOOD, **bad).items() if v is not None}
    result = run_local(VALIDATE, given, ONE_HOST)
    assert result.returncode != 0, result.stdout
    failure = result.stdout[result.stdout.find("fatal:"):]
    assert named in failure, result.stdout
    assert "Traceback" not in result.stdout


def test_every_bad_input_of_a_role_is_named_at_once(run_local):
    given = dict(GOOD, postgresql_locale="en_US.ISO-8859-1", postgresql_ssl_days=0,
                 postgresql_listen_addresses=["10.0.0.300"])
    result = run_local(VALIDATE, given, ONE_HOST)
    assert result.returncode != 0, result.stdout
    failure = result.stdout[result.stdout.find("fatal:"):]
    for named in ("postgresql_locale is 'en_US.ISO-8859-1'", "postgresql_ssl_days (0) must be at least 1",
                  "postgresql_listen_addresses has 10.0.0.300"):
        assert named in failure, result.stdout
    assert "Traceback" not in result.stdout


@pytest.mark.parametrize("calendar, asks_systemd", [
    ("*-*-* 03:15:00", False), ("*-*-* 23:59", False), ("weekly", False), ("Mon..Fri *-*-* 04:00:00", True)])
def test_good_calendars_pass_and_only_an_unusual_one_is_asked_of_systemd(run_local, calendar, asks_systemd):
    result = run_local(VALIDATE, dict(GOOD, postgresql_backup_on_calendar=calendar), ONE_HOST)
    assert result.returncode == 0, result.stdout
    status = result.stdout.split("Check postgresql_backup_on_calendar with systemd]", 1)[1].split("\n")[1]
    assert status.startswith("ok:" if asks_systemd else "skipping:"), result.stdout


def test_backup_inputs_are_not_checked_when_backups_are_off(run_local):
    result = run_local(VALIDATE, dict(GOOD, postgresql_backup_enabled=False, postgresql_backup_keep=0), ONE_HOST)
    assert result.returncode == 0, result.stdout


def test_bad_input_on_one_host_stops_every_host(run_local):
    # Two names for the controller, two single servers: one with good input, the other with an
    # empty password over TCP.
    hosts = "[dbservers]\ngood django_db_password=secret\nbad\n[appservers]\ngood\nbad\n"
    result = run_local(VALIDATE, {"django_project": "geodemo"}, hosts)
    assert result.returncode != 0, result.stdout
    assert "The inputs of bad are wrong" in result.stdout
    recap = result.stdout[result.stdout.rfind("PLAY RECAP"):]
    assert re.search(r"^good\s+:.*failed=1", recap, re.M), result.stdout


def test_good_listen_addresses_pass(run_local):
    given = dict(GOOD, postgresql_listen_addresses=["localhost", "*", "192.0.2.10", "::1", "fe80::1", "db-1.example.com"])
    result = run_local(VALIDATE, given, ONE_HOST)
    assert result.returncode == 0, result.stdout


# The controller is a bookworm host with PostgreSQL 15's server binaries (the integration
# tests' throwaway cluster uses them): its own parser judges the settings.
def test_postgresql_names_every_bad_setting_at_once(run_local):
    settings = {"shared_buffers": "128MBB", "no_such_setting": 1, "max_connections": 99999999,
                "wal_level": "bogus", "work_mem": "4MB", "jit": False, "search_path": "a, 'b'"}
    result = run_local(VALIDATE, dict(GOOD, postgresql_settings=settings), ONE_HOST)
    assert result.returncode != 0, result.stdout
    failure = result.stdout[result.stdout.find("fatal:"):]
    assert "postgresql_settings has values PostgreSQL 15 refuses" in failure, result.stdout
    for named in ('invalid value for parameter \\"shared_buffers\\": \\"128MBB\\"',
                  'unrecognized configuration parameter \\"no_such_setting\\"',
                  'outside the valid range for parameter \\"max_connections\\" (1 .. 262143)',
                  'invalid value for parameter \\"wal_level\\": \\"bogus\\"'):
        assert named in failure, result.stdout
    for good in ("work_mem", "jit", "search_path"):
        assert good + ":" not in failure, result.stdout


def test_good_settings_pass(run_local):
    settings = {"shared_buffers": "256MB", "work_mem": 4096, "jit": False, "log_min_duration_statement": "500ms",
                "pg_stat_statements.max": 5000}
    result = run_local(VALIDATE, dict(GOOD, postgresql_settings=settings), ONE_HOST)
    assert result.returncode == 0, result.stdout
