"""What the seed chapter promises, checked on every converged host of a scenario."""

import json

import pytest

from conftest import manage, psql


def groups(ansible_vars):
    return ansible_vars.get("group_names", [])


def over_socket(ansible_vars):
    """Django connects over the Unix socket with peer authentication (no password)."""
    host = ansible_vars.get("django_db_host", "localhost")
    return host in ("", None) or str(host).startswith("/")


def test_postgresql_is_active_and_enabled(host, ansible_vars):
    if "dbservers" not in groups(ansible_vars):
        pytest.skip("not a database server")
    assert host.service("postgresql").is_enabled
    clusters = host.check_output("pg_lsclusters --no-header")
    assert " main " in clusters and " online " in clusters


def test_cluster_and_database_are_utf8(host, ansible_vars, project):
    if "dbservers" not in groups(ansible_vars):
        pytest.skip("not a database server")
    rows = psql(host, "SELECT datname || '=' || pg_encoding_to_char(encoding) FROM pg_database "
                      "WHERE datname IN ('template1', '%s') ORDER BY datname" % project)
    assert sorted(rows.splitlines()) == sorted(["template1=UTF8", "%s=UTF8" % project])


def test_app_role_logs_in_over_tcp_and_owns_the_database(host, ansible_vars, project):
    if "dbservers" not in groups(ansible_vars) or over_socket(ansible_vars):
        pytest.skip("not a database server, or no password: peer authentication")
    login = host.run(
        "PGPASSWORD=%s psql -XAt -h localhost -U %s -d %s -c %s",
        ansible_vars["django_db_password"], project, project,
        "SELECT current_user || ' ' || pg_get_userbyid(datdba) FROM pg_database "
        "WHERE datname = current_database()")
    assert login.rc == 0, login.stderr
    assert login.stdout.strip() == "%s %s" % (project, project)


def test_wrong_password_is_refused(host, ansible_vars, project):
    if "dbservers" not in groups(ansible_vars):
        pytest.skip("not a database server")
    login = host.run("PGPASSWORD=wrong psql -XAt -h localhost -U %s -d %s -c 'SELECT 1'", project, project)
    assert login.rc != 0
    assert "password authentication failed" in login.stderr


def test_password_is_stored_as_scram_or_absent_with_peer_auth(host, ansible_vars, project):
    if "dbservers" not in groups(ansible_vars):
        pytest.skip("not a database server")
    stored = psql(host, "SELECT coalesce(rolpassword, 'NULL') FROM pg_authid WHERE rolname = '%s'" % project)
    if over_socket(ansible_vars):
        assert stored == "NULL"
    else:
        assert stored.startswith("SCRAM-SHA-256$")


def test_schema_public_belongs_to_the_app_and_public_cannot_create(host, ansible_vars, project):
    if "dbservers" not in groups(ansible_vars):
        pytest.skip("not a database server")
    seen = psql(host, "SELECT pg_get_userbyid(nspowner) || ' ' || has_schema_privilege('pg_monitor', oid, 'CREATE') "
                      "FROM pg_namespace WHERE nspname = 'public'", project)
    assert seen in ("%s false" % project, "pg_database_owner false"), seen


def test_postgis_is_in_the_database(host, ansible_vars, project):
    if "dbservers" not in groups(ansible_vars):
        pytest.skip("not a database server")
    assert psql(host, "SELECT extname FROM pg_extension WHERE extname = 'postgis'", project) == "postgis"


def test_settings_file_is_private_to_the_django_group(host, ansible_vars, project):
    if "appservers" not in groups(ansible_vars):
        pytest.skip("not an application server")
    directory = host.file("/etc/opt/%s" % project)
    assert (directory.user, directory.group, directory.mode) == ("root", project, 0o750)
    settings = host.file("/etc/opt/%s/settings.py" % project)
    assert (settings.user, settings.group, settings.mode) == ("root", project, 0o640)
    assert settings.content_string.splitlines()[3] == "from %s.settings import *  # noqa: F401,F403" % project


def test_no_migration_is_pending(host, ansible_vars, project):
    if "appservers" not in groups(ansible_vars):
        pytest.skip("not an application server")
    result = manage(host, project, "migrate", "--check")
    assert result.rc == 0, result.stdout + result.stderr


def test_geodjango_saves_and_reads_a_point(host, ansible_vars, project):
    if "appservers" not in groups(ansible_vars):
        pytest.skip("not an application server")
    code = (
        "import json\n"
        "from django.contrib.gis.geos import Point\n"
        "from django.db import connection\n"
        "from places.models import Place\n"
        "Place.objects.update_or_create(name='Acropolis', defaults={'location': Point(23.7257, 37.9715, srid=4326)})\n"
        "p = Place.objects.get(name='Acropolis')\n"
        "print(json.dumps({'vendor': connection.vendor, 'x': p.location.x, 'y': p.location.y,"
        " 'srid': p.location.srid, 'user': connection.get_connection_params()['user']}))\n"
    )
    result = manage(host, project, "shell", "-c", code)
    assert result.rc == 0, result.stdout + result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {"vendor": "postgresql", "x": 23.7257, "y": 37.9715, "srid": 4326, "user": project}
