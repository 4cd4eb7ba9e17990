# -*- coding: utf-8 -*-
import pytest

from ansible_collections.djangodeploy.postgresql.plugins.module_utils import _scram as scram
from ansible_collections.djangodeploy.postgresql.plugins.module_utils._database_state import (
    desired_databases,
    plan_databases,
    predicted_public_schema,
    public_schema_statements,
    Lookups,
)
from ansible_collections.djangodeploy.postgresql.plugins.module_utils._errors import ValidationError
from ansible_collections.djangodeploy.postgresql.plugins.module_utils._role_state import (
    desired_roles,
    plan_roles,
)
from ansible_collections.djangodeploy.postgresql.plugins.module_utils._connection import connect_kwargs


def _role(**kw):
    base = {"name": "app"}
    base.update(kw)
    return base


def test_role_plan_create_and_mask():
    wanted = desired_roles(_role(password="secret", login=True, conn_limit=3))
    plan = plan_roles(wanted, {}, {}, {}, "postgres")
    assert len(plan.statements) == 1
    statement = plan.statements[0]
    assert statement.sql.startswith('CREATE ROLE "app" WITH LOGIN CONNECTION LIMIT 3 PASSWORD \'SCRAM-SHA-256$4096:')
    assert statement.masked == 'CREATE ROLE "app" WITH LOGIN CONNECTION LIMIT 3 PASSWORD \'********\''
    assert "secret" not in statement.sql
    assert "SCRAM" not in plan.diffs[0]["prepared"].replace("SCRAM-SHA-256)", "")


def _current(password, **kw):
    role = {"name": "app", "superuser": False, "createdb": False, "createrole": False, "inherit": True,
            "login": True, "replication": False, "bypassrls": False, "conn_limit": -1, "valid_until": None,
            "password": password, "member_of": [], "oid": 16400}
    role.update(kw)
    return {"app": role}


def test_role_plan_unchanged_and_changed_password():
    stored = scram.scram_verifier("secret")
    plan = plan_roles(desired_roles(_role(password="secret", login=True)), _current(stored), {}, {}, "postgres")
    assert plan.statements == [] and not plan.changed
    plan = plan_roles(desired_roles(_role(password="other")), _current(stored), {}, {}, "postgres")
    assert [s.masked for s in plan.statements] == ['ALTER ROLE "app" WITH PASSWORD \'********\'']
    plan = plan_roles(desired_roles(_role(password="other", update_password="on_create")), _current(stored), {}, {}, "pg")
    assert not plan.changed


def test_role_plan_md5():
    md5 = scram.md5_hash("secret", "app")
    plan = plan_roles(desired_roles(_role(password="secret")), _current(md5), {}, {}, "postgres")
    assert plan.changed and plan.reports[0]["password_reason"] == "md5 upgraded to SCRAM-SHA-256"
    plan = plan_roles(desired_roles(_role(password="secret", upgrade_md5=False)), _current(md5), {}, {}, "postgres")
    assert not plan.changed
    # unreadable verifier: always set
    plan = plan_roles(desired_roles(_role(password="secret")), _current(False), {}, {}, "postgres")
    assert plan.changed


def test_role_plan_membership_order_and_exclusive():
    wanted = desired_roles({"roles": [{"name": "m", "member_of": ["g"]}, {"name": "g"}]})
    plan = plan_roles(wanted, {}, {}, {}, "postgres")
    assert [s.sql for s in plan.statements] == ['CREATE ROLE "m"', 'CREATE ROLE "g"', 'GRANT "g" TO "m"']
    current = _current(None, member_of=["old", "g"])
    current["g"] = dict(current["app"], name="g")
    plan = plan_roles(desired_roles(_role(member_of=["g"], member_of_exclusive=True)), current, {}, {}, "p")
    assert [s.sql for s in plan.statements] == ['REVOKE "old" FROM "app"']
    plan = plan_roles(desired_roles(_role(member_of=["g"])), current, {}, {}, "p")
    assert not plan.changed


def test_role_list_defaults_and_errors():
    wanted = desired_roles({"login": True, "roles": [{"name": "a"}, {"name": "b", "login": False}]})
    assert [w["login"] for w in wanted] == [True, False]
    with pytest.raises(ValidationError) as info:
        desired_roles({"roles": [{"name": "a"}, {"name": "a"}]})
    assert "roles[1].name" in str(info.value)
    with pytest.raises(ValidationError) as info:
        desired_roles({"name": "a", "reassign_owned_to": "b", "drop_owned": True})
    assert "drop_owned" in str(info.value)


def test_role_drop_needs_decision():
    deps = {"app": {"databases": ["appdb"], "here": ["owner of table t"], "elsewhere": {"other": 2}, "closed": set()}}
    wanted = desired_roles(_role(state="absent"))
    with pytest.raises(ValidationError) as info:
        plan_roles(wanted, _current(None), {}, deps, "postgres")
    message = str(info.value)
    assert "appdb" in message and "owner of table t" in message and "'other'" in message
    current = _current(None)
    current["heir"] = dict(current["app"], name="heir")
    plan = plan_roles(desired_roles(_role(state="absent", reassign_owned_to="heir")), current, {}, deps, "postgres")
    assert [s.sql for s in plan.statements] == [
        'ALTER DATABASE "appdb" OWNER TO "heir"', 'REASSIGN OWNED BY "app" TO "heir"',
        'DROP OWNED BY "app"', 'DROP ROLE "app"']
    assert plan.elsewhere[0][0] == "other"


def _lookups(**kw):
    found = Lookups()
    found.roles = set(["app"])
    found.encodings = {"UTF8": "UTF8", "utf-8": "UTF8", "LATIN1": "LATIN1"}
    found.codesets = {"utf8": "UTF8"}
    for k, v in kw.items():
        setattr(found, k, v)
    return found


TEMPLATE1 = {"name": "template1", "owner": "postgres", "encoding": "UTF8", "lc_collate": "en_US.UTF-8",
             "lc_ctype": "en_US.UTF-8", "conn_limit": -1, "tablespace": "pg_default",
             "istemplate": True, "allowconn": True}


def test_database_plan_create_template_choice():
    steps = plan_databases(desired_databases({"name": "d", "owner": "app", "lc_collate": "en_US.utf8"}),
                           {"template1": TEMPLATE1}, _lookups())
    assert steps[0].statements[0].sql == (
        'CREATE DATABASE "d" OWNER "app" TEMPLATE "template1" ENCODING \'UTF8\' LC_COLLATE \'en_US.UTF-8\'')
    steps = plan_databases(desired_databases({"name": "d", "encoding": "LATIN1", "lc_ctype": "C", "lc_collate": "C"}),
                           {"template1": TEMPLATE1}, _lookups())
    assert 'TEMPLATE "template0"' in steps[0].statements[0].sql


def test_database_plan_existing():
    existing = dict(TEMPLATE1, name="d", owner="old", istemplate=False)
    current = {"template1": TEMPLATE1, "d": existing}
    steps = plan_databases(desired_databases({"name": "d", "owner": "app", "lc_ctype": "en_US.utf8",
                                              "encoding": "utf-8"}), current, _lookups())
    assert [s.sql for s in steps[0].statements] == ['ALTER DATABASE "d" OWNER TO "app"']
    with pytest.raises(ValidationError) as info:
        plan_databases(desired_databases({"name": "d", "lc_collate": "de_DE.UTF-8"}), current, _lookups())
    assert "lc_collate" in str(info.value)
    with pytest.raises(ValidationError) as info:
        plan_databases(desired_databases({"name": "d", "encoding": "LATIN1"}), current, _lookups())
    assert "encoding" in str(info.value)
    with pytest.raises(ValidationError) as info:
        plan_databases(desired_databases({"name": "d", "state": "absent"}), current, _lookups(sessions={"d": 2}))
    assert "force" in str(info.value)
    steps = plan_databases(desired_databases({"name": "d", "state": "absent", "force": True}), current,
                           _lookups(sessions={"d": 2}))
    assert steps[0].statements[0].sql == 'DROP DATABASE "d" WITH (FORCE)'


def test_database_plan_public_connect():
    """A new database lets PUBLIC connect until revoked; an existing one is granted or revoked
    only where the catalog differs, and left alone when the option is left out."""
    steps = plan_databases(desired_databases({"name": "d", "owner": "app", "public_connect": False}),
                           {"template1": TEMPLATE1}, _lookups())
    assert [s.sql for s in steps[0].statements][1:] == ['REVOKE CONNECT ON DATABASE "d" FROM PUBLIC']
    assert steps[0].after["public_connect"] is False
    steps = plan_databases(desired_databases({"name": "d", "owner": "app"}), {"template1": TEMPLATE1}, _lookups())
    assert len(steps[0].statements) == 1 and steps[0].after["public_connect"] is True
    existing = dict(TEMPLATE1, name="d", owner="app", istemplate=False, public_connect=True)
    current = {"template1": TEMPLATE1, "d": existing}
    for want, have, sql in ((False, True, ['REVOKE CONNECT ON DATABASE "d" FROM PUBLIC']),
                            (True, False, ['GRANT CONNECT ON DATABASE "d" TO PUBLIC']),
                            (False, False, []), (None, True, []), (None, False, [])):
        current["d"] = dict(existing, public_connect=have)
        steps = plan_databases(desired_databases({"name": "d", "public_connect": want}), current, _lookups())
        assert [s.sql for s in steps[0].statements] == sql, (want, have)


def test_public_schema_statements():
    assert public_schema_statements(None) == []
    assert public_schema_statements({"owner": "app", "owned": True, "public_create": False}) == []
    assert [s.sql for s in public_schema_statements({"owner": 'a"b', "owned": False, "public_create": True})] == [
        'ALTER SCHEMA public OWNER TO "a""b"', "REVOKE CREATE ON SCHEMA public FROM PUBLIC"]
    assert [s.sql for s in public_schema_statements({"owner": "app", "owned": True, "public_create": True})] == [
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC"]
    assert predicted_public_schema(150004, "app") is None
    assert [s.sql for s in public_schema_statements(predicted_public_schema(130016, "app"))] == [
        'ALTER SCHEMA public OWNER TO "app"', "REVOKE CREATE ON SCHEMA public FROM PUBLIC"]


def test_public_schema_needs_a_database_that_accepts_connections():
    closed = dict(TEMPLATE1, name="d", owner="app", istemplate=False, allowconn=False, public_connect=True)
    with pytest.raises(ValidationError) as info:
        plan_databases(desired_databases({"name": "d", "own_public_schema": True}),
                       {"template1": TEMPLATE1, "d": closed}, _lookups())
    assert "own_public_schema" in str(info.value) and "datallowconn" in str(info.value)
    steps = plan_databases(desired_databases({"name": "d", "own_public_schema": False}),
                           {"template1": TEMPLATE1, "d": closed}, _lookups())
    assert steps[0].statements == [] and not steps[0].own_public_schema


def test_connect_kwargs():
    kwargs = connect_kwargs({"login_user": "postgres", "login_db": "postgres", "login_port": 5432,
                             "ssl_mode": "prefer", "login_host": "", "login_unix_socket": "", "connect_timeout": 10})
    assert "host" not in kwargs and "password" not in kwargs
    kwargs = connect_kwargs({"login_unix_socket": "/run/pg", "login_password": "x", "ca_cert": "/ca"})
    assert kwargs["host"] == "/run/pg" and kwargs["password"] == "x" and kwargs["sslrootcert"] == "/ca"


@pytest.mark.parametrize("module, value", [("role", 2147483648), ("role", -2), ("database", 2147483648),
                                           ("database", -5)])
def test_conn_limit_range_names_the_parameter(module, value):
    desired = desired_roles if module == "role" else desired_databases
    with pytest.raises(ValidationError) as info:
        desired({"name": "x", "conn_limit": value})
    assert "conn_limit" in str(info.value) and str(value) in str(info.value)
    assert desired({"name": "x", "conn_limit": 2147483647})[0]["conn_limit"] == 2147483647


def test_malformed_verifier_is_refused_not_sent_as_plaintext():
    good = scram.scram_verifier("x")
    salt = good.split("$")[1].split(":")[1]
    for bad in ["SCRAM-SHA-256$4096:%s$AAAA:AAAA" % salt, "SCRAM-SHA-256$0:%s$%s" % (salt, good.split("$")[2]),
                "SCRAM-SHA-256$4096:$%s" % good.split("$")[2], "SCRAM-SHA-256$oops"]:
        with pytest.raises(ValidationError) as info:
            desired_roles({"name": "app", "password": bad})
        assert "password" in str(info.value) and bad not in str(info.value)
    assert desired_roles({"name": "app", "password": good})[0]["password"] == good


def test_reserved_role_names_refused_before_any_change():
    for name in ("pg_x", "public", "none"):
        with pytest.raises(ValidationError) as info:
            plan_roles(desired_roles({"roles": [{"name": "ok"}, {"name": name}]}), {}, {}, {}, "postgres")
        assert "roles[1].name" in str(info.value) and "reserved" in str(info.value)


def test_drop_refused_when_objects_sit_in_a_closed_database():
    deps = {"app": {"databases": [], "here": [], "elsewhere": {"closed_db": 1}, "closed": set(["closed_db"])}}
    with pytest.raises(ValidationError) as info:
        plan_roles(desired_roles(_role(state="absent", drop_owned=True)), _current(None), {}, deps, "postgres")
    assert "closed_db" in str(info.value) and "datallowconn" in str(info.value)


def test_drop_of_the_login_role_or_a_system_role_refused():
    with pytest.raises(ValidationError) as info:
        plan_roles(desired_roles(_role(state="absent")), _current(None), {}, {"app": None}, "postgres", ["app"])
    assert "login_user" in str(info.value)
    with pytest.raises(ValidationError) as info:
        plan_roles(desired_roles(_role(state="absent")), _current(None, oid=10), {}, {"app": None}, "postgres")
    assert "PostgreSQL itself" in str(info.value)


def test_database_checks_before_the_first_change():
    current = {"template1": TEMPLATE1, "tpl": dict(TEMPLATE1, name="tpl", istemplate=True),
               "closed": dict(TEMPLATE1, name="closed", istemplate=False, allowconn=False),
               "busy": dict(TEMPLATE1, name="busy", istemplate=False)}
    found = _lookups(client_encodings={"SJIS": "SJIS"}, collations={"en_US.utf8": "UTF8"},
                     sessions={"busy": 1}, tablespaces=set(["fast"]), extensions=set(["citext"]))
    cases = [
        ({"name": "b", "encoding": "SJIS"}, "encoding"),
        ({"name": "b", "encoding": "LATIN1"}, "encoding"),       # template1's en_US.UTF-8 requires UTF8
        ({"name": "b", "template": "nope"}, "template"),
        ({"name": "tpl", "state": "absent"}, "name"),
        ({"name": "busy", "tablespace": "fast"}, "tablespace"),
        ({"name": "closed", "extensions": ["citext"]}, "extensions"),
    ]
    for item, param in cases:
        with pytest.raises(ValidationError) as info:
            plan_databases(desired_databases({"databases": [{"name": "a"}, item]}), current, found)
        assert "databases[1].%s" % param in str(info.value), (item, str(info.value))
    steps = plan_databases(desired_databases({"name": "b", "encoding": "LATIN1", "lc_collate": "C", "lc_ctype": "C"}),
                           current, found)
    assert 'TEMPLATE "template0"' in steps[0].statements[0].sql
