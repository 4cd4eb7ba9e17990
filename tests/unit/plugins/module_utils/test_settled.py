# -*- coding: utf-8 -*-
"""module_utils/_settled.py without a server: binding literals into the modules' queries, and
the answers that never settle (tests/integration/test_pg_state.py proves the rest on a real
PostgreSQL against the modules themselves)."""
import json

import pytest

from ansible_collections.djangodeploy.postgresql.plugins.filter.pg_state import pg_state_query, pg_state_settled
from ansible_collections.djangodeploy.postgresql.plugins.module_utils import _scram as scram
from ansible_collections.djangodeploy.postgresql.plugins.module_utils._settled import bind, probe_query, settled

from ansible.errors import AnsibleFilterError

ROLE = {"name": "app", "password": "secret", "login": True}
DATABASE = {"name": "app", "owner": "app", "extensions": [], "public_connect": False, "own_public_schema": True}


def _converged_answer():
    """The answer a converged PostgreSQL 15 gives for ROLE and DATABASE."""
    role = {"name": "app", "oid": 16384, "superuser": False, "createdb": False, "createrole": False, "inherit": True,
            "login": True, "replication": False, "bypassrls": False, "conn_limit": -1, "valid_until": None,
            "password": scram.scram_verifier("secret"), "member_of": []}
    database = {"name": "app", "owner": "app", "encoding": "UTF8", "lc_collate": "C.UTF-8", "lc_ctype": "C.UTF-8",
                "conn_limit": -1, "tablespace": "pg_default", "public_connect": False, "istemplate": False,
                "allowconn": True}
    lookups = [{"kind": "role", "key": "app", "value": None}, {"kind": "encoding", "key": "UTF8", "value": "UTF8"}]
    return {"database": [{"name": "app"}], "roles": [role], "databases": [database], "lookups": lookups,
            "extensions": [], "public_schema": [{"owner": "app", "owned": True, "public_create": False}]}


def test_bind_quotes_strings_and_arrays():
    assert bind("a = %s AND b = ANY(%s::text[])", ("O'Brien", ["x", "back\\slash"])) == \
        "a = 'O''Brien' AND b = ANY(ARRAY['x', E'back\\\\slash']::text[]::text[])"
    assert bind("x = ANY(%s::text[])", ([],)) == "x = ANY(ARRAY[]::text[]::text[])"


@pytest.mark.parametrize("sql, args", [("a = %s", ()), ("a = %s", ("x", "y")), ("a LIKE 'x%%' AND b = %s", ("x",))])
def test_bind_refuses_a_query_it_cannot_bind_exactly(sql, args):
    with pytest.raises(ValueError):
        bind(sql, args)


def test_the_query_is_one_select_of_every_part_the_decision_reads():
    sql = probe_query(ROLE, DATABASE)
    assert sql.startswith("SELECT pg_catalog.json_build_object(") and ";" not in sql
    for key in ("database", "roles", "databases", "lookups", "extensions", "public_schema"):
        assert "'%s', (SELECT coalesce(pg_catalog.json_agg(q), '[]')" % key in sql
    assert "secret" not in sql  # names only: the password is compared on the controller


def test_the_converged_answer_settles_and_each_difference_does_not():
    answer = _converged_answer()
    assert settled(json.dumps(answer), ROLE, DATABASE)
    for key, change in (("roles", {"login": False}), ("roles", {"password": scram.scram_verifier("other")}),
                        ("roles", {"password": scram.md5_hash("secret", "app")}), ("databases", {"owner": "postgres"}),
                        ("databases", {"public_connect": True}), ("databases", {"allowconn": False}),
                        ("public_schema", {"owned": False}), ("public_schema", {"public_create": True})):
        drifted = json.loads(json.dumps(answer))
        drifted[key][0].update(change)
        assert not settled(json.dumps(drifted), ROLE, DATABASE), (key, change)
    assert not settled(json.dumps(dict(answer, roles=[])), ROLE, DATABASE)
    assert not settled(json.dumps(dict(answer, database=[{"name": "postgres"}])), ROLE, DATABASE)
    assert not settled(json.dumps(answer), ROLE, dict(DATABASE, extensions=["postgis"]))


@pytest.mark.parametrize("answer", ["", "psql: error: connection failed", "[]", "{}", '{"database": 1}', "null"])
def test_an_answer_that_is_not_the_query_s_never_settles(answer):
    assert not settled(answer, ROLE, DATABASE)


def test_inputs_the_answer_cannot_settle():
    answer = json.dumps(_converged_answer())
    assert not settled(answer, dict(ROLE, valid_until="2030-01-01"), DATABASE)
    assert not settled(answer, dict(ROLE, name="bad\x00name"), DATABASE)
    assert not settled(answer, ROLE, {"databases": [DATABASE, dict(DATABASE, name="two")]})


def test_the_filters_check_their_arguments():
    with pytest.raises(AnsibleFilterError, match="pg_state_query needs"):
        pg_state_query("app", DATABASE)
    with pytest.raises(AnsibleFilterError, match="one database"):
        pg_state_query(ROLE, {"databases": [DATABASE, dict(DATABASE, name="two")]})
    with pytest.raises(AnsibleFilterError, match="name"):
        pg_state_query(dict(ROLE, name=""), DATABASE)
    assert pg_state_settled(None, ROLE, DATABASE) is False
