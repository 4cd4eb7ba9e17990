"""postgresql_ha as playbooks/validate.yml checks it (each bad input stops every host before any
change, with the variable named), and what Django's settings become with it."""
import pathlib
import re

import pytest

from conftest import assert_stopped_every_host

from test_settings_options import role_values

TOP = pathlib.Path(__file__).resolve().parents[2]
VALIDATE = TOP / "playbooks" / "validate.yml"
THREE = "[dbservers]\ndb1\ndb2\ndb3\n[appservers]\napp1\n"
GOOD = {"django_project": "geodemo", "django_db_password": "secret", "postgresql_ha": "patroni",
        "postgresql_replication_password": "rep", "postgresql_superuser_password": "super",
        "postgresql_patroni_api_password": "api"}


def test_three_database_servers_with_the_passwords_pass(run_local):
    result = run_local(VALIDATE, GOOD, THREE)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("hosts, extra, named", [
    (THREE, {"postgresql_ha": "patorni"}, "value of postgresql_ha must be one of: none, patroni, got: patorni"),
    ("[dbservers]\ndb1\ndb2\n[appservers]\napp1\n", {}, "needs at least three hosts in dbservers"),
    (THREE, {"postgresql_superuser_password": ""}, "needs postgresql_superuser_password (pg_rewind logs in with it)"),
    (THREE, {"postgresql_patroni_api_password": ""}, "needs postgresql_patroni_api_password (the REST API)"),
    (THREE, {"postgresql_pgbouncer": True}, "postgresql_pgbouncer false (PgBouncer in front of Patroni is not supported yet)"),
    (THREE, {"postgresql_patroni_ttl": 20}, "postgresql_patroni_ttl (20) at least postgresql_patroni_loop_wait"),
], ids=["typo", "two-hosts", "no-superuser-password", "no-api-password", "pgbouncer", "ttl-too-short"])
def test_bad_ha_input_stops_every_host(run_local, hosts, extra, named):
    result = run_local(VALIDATE, dict(GOOD, **extra), hosts)
    assert_stopped_every_host(result, named, re.findall(r"^(\w+)$", hosts, re.M))


def test_django_lists_every_database_server_and_asks_for_the_leader(run_local, tmp_path):
    hosts = "[dbservers]\ndb1\ndb2\ndb3\n[appservers]\napp\n"
    expression = "{'host': django_db_host, 'options': __django_db_all_options, 'replicas': __django_db_replicas}"
    assert role_values(run_local, tmp_path, expression, dict(GOOD, django_db_connect_timeout=3), hosts) == {
        "host": "db1,db2,db3",
        "options": {"sslmode": "verify-full", "sslrootcert": "/etc/opt/geodemo/postgresql-ca.crt",
                    "target_session_attrs": "read-write", "connect_timeout": 3},
        "replicas": ["db1", "db2", "db3"]}
