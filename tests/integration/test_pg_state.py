# -*- coding: utf-8 -*-
"""The pg_state_query and pg_state_settled filters against a real PostgreSQL 15: the answer
settles exactly when pg_role and pg_database, in check mode, would change nothing (the skip
db_user_and_database makes on a converged host), whatever drifted."""

import os
import subprocess

import pytest

import pg_cluster

from ansible_collections.djangodeploy.postgresql.plugins.module_utils._settled import probe_query, settled


def _wanted(uniq, password="django-secret", extensions=()):
    """The parameters db_user_and_database gives the two modules (roles/db_user_and_database/vars)."""
    role = {"name": uniq + "app", "password": password, "login": True}
    database = {"name": uniq + "app", "owner": uniq + "app", "extensions": list(extensions),
                "public_connect": False, "own_public_schema": True}
    return role, database


def _answer(cluster, role, database):
    """What the role's probe prints: psql as the superuser, in the database."""
    proc = subprocess.run(
        [os.path.join(pg_cluster.PG_BIN, "psql"), "--no-psqlrc", "--no-align", "--tuples-only", "-h", cluster.host,
         "-p", str(cluster.port), "-U", "postgres", "--command", probe_query(role, database)],
        env=dict(cluster.psql_env(), PGDATABASE=database["name"]), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        universal_newlines=True, check=False)
    return proc.stdout if proc.returncode == 0 else ""


def _converge(run_module, role, database, check=False):
    """The role's two tasks; whether either changed (would change) something. In check mode a
    role pg_role would create does not exist for pg_database yet: it stops there."""
    role_args = dict((key, value) for key, value in role.items() if value is not None)
    changed = run_module("pg_role", check=check, **role_args)["changed"]
    if changed and check:
        return True
    return run_module("pg_database", check=check, **database)["changed"] or changed


def _sql(cluster, statement, dbname="postgres"):
    cluster.query(statement, dbname=dbname)


DRIFTS = {
    "password changed": lambda c, u: _sql(c, "ALTER ROLE %sapp PASSWORD 'another'" % u),
    "password stored as md5": lambda c, u: _sql(c, "SET password_encryption = 'md5'; ALTER ROLE %sapp PASSWORD 'django-secret'" % u),
    "password removed": lambda c, u: _sql(c, "ALTER ROLE %sapp PASSWORD NULL" % u),
    "cannot log in": lambda c, u: _sql(c, "ALTER ROLE %sapp NOLOGIN" % u),
    "PUBLIC may connect": lambda c, u: _sql(c, "GRANT CONNECT ON DATABASE %sapp TO PUBLIC" % u),
    "PUBLIC may create in schema public": lambda c, u: _sql(c, "GRANT CREATE ON SCHEMA public TO PUBLIC", u + "app"),
    "schema public has another owner": lambda c, u: _sql(c, "ALTER SCHEMA public OWNER TO postgres", u + "app"),
    "database has another owner": lambda c, u: _sql(c, "ALTER DATABASE %sapp OWNER TO postgres" % u),
    "database dropped": lambda c, u: _sql(c, "DROP DATABASE %sapp" % u),
    "role dropped": lambda c, u: _sql(c, "ALTER DATABASE %sapp OWNER TO postgres; DROP OWNED BY %sapp; DROP ROLE %sapp" % (u, u, u)),
}


def test_a_converged_role_and_database_are_settled(run_module, cluster, uniq):
    role, database = _wanted(uniq)
    assert not settled(_answer(cluster, role, database), role, database)  # nothing there yet
    assert _converge(run_module, role, database)
    assert settled(_answer(cluster, role, database), role, database)
    assert not _converge(run_module, role, database, check=True)


@pytest.mark.parametrize("drift", sorted(DRIFTS))
def test_every_drift_the_modules_would_fix_is_unsettled(run_module, cluster, uniq, drift):
    role, database = _wanted(uniq)
    _converge(run_module, role, database)
    DRIFTS[drift](cluster, uniq)
    assert _converge(run_module, role, database, check=True), drift  # the modules would change it...
    assert not settled(_answer(cluster, role, database), role, database), drift  # ...so the probe does not skip them
    _converge(run_module, role, database)
    assert settled(_answer(cluster, role, database), role, database), drift


def test_changed_inputs_are_unsettled(run_module, cluster, uniq):
    role, database = _wanted(uniq)
    _converge(run_module, role, database)
    answer = _answer(cluster, role, database)
    for other_role, other_database in (
            (dict(role, password="a new one"), database),
            (dict(role, login=False), database),
            (dict(role, createdb=True), database),
            (dict(role, valid_until="2099-01-01"), database),  # PostgreSQL normalises it: never settled here
            (role, dict(database, public_connect=True)),
            (role, dict(database, conn_limit=5)),
            (role, dict(database, name=uniq + "other"))):
        assert not settled(answer, other_role, other_database), (other_role, other_database)


def test_a_role_in_a_group_is_settled_until_it_leaves_it(run_module, cluster, uniq):
    role, database = _wanted(uniq)
    role = dict(role, member_of=[uniq + "readers"])
    run_module("pg_role", name=uniq + "readers")
    _converge(run_module, role, database)
    assert settled(_answer(cluster, role, database), role, database)
    _sql(cluster, "REVOKE %sreaders FROM %sapp" % (uniq, uniq))
    assert _converge(run_module, role, database, check=True)
    assert not settled(_answer(cluster, role, database), role, database)


def test_no_password_leaves_the_stored_one_settled(run_module, cluster, uniq):
    role, database = _wanted(uniq, password=None)
    _converge(run_module, dict(role, password="set elsewhere"), database)
    assert not _converge(run_module, role, database, check=True)
    assert settled(_answer(cluster, role, database), role, database)


def test_a_missing_extension_is_unsettled(run_module, cluster, uniq):
    if not cluster.has_extension("citext"):
        pytest.skip("citext is not available on this server")
    role, database = _wanted(uniq, extensions=["citext"])
    _converge(run_module, role, database)
    assert settled(_answer(cluster, role, database), role, database)
    _sql(cluster, "DROP EXTENSION citext", uniq + "app")
    assert _converge(run_module, role, database, check=True)
    assert not settled(_answer(cluster, role, database), role, database)


def test_names_that_need_quoting(run_module, cluster, uniq):
    role, database = _wanted(uniq + "O'Brien \\ \"x\" ")
    _converge(run_module, role, database)
    assert settled(_answer(cluster, role, database), role, database)
