# -*- coding: utf-8 -*-
import pytest

from ansible_collections.djangodeploy.postgresql.plugins.module_utils import _scram as scram
from ansible_collections.djangodeploy.postgresql.plugins.module_utils._database_state import (
    desired_databases,
    normalise_codeset,
    normalise_locale,
    plan_databases,
    Lookups,
    same_locale,
)
from ansible_collections.djangodeploy.postgresql.plugins.module_utils._identifiers import ValidationError
from ansible_collections.djangodeploy.postgresql.plugins.module_utils._role_state import (
    desired_roles,
    plan_roles,
)
from ansible_collections.djangodeploy.postgresql.plugins.module_utils._connection import connect_kwargs


@pytest.mark.parametrize("left, right", [
    ("en_US.UTF-8", "en_US.utf8"), ("en_US.utf-8", "en_US.UTF8"), ("de_DE.ISO-8859-1", "de_DE.iso88591"),
    ("de_DE.8859-1", "de_DE.iso88591"), ("C.UTF-8", "C.utf8"), ("POSIX", "C"), ("sr_RS.UTF-8@latin", "sr_RS.utf8@latin"),
])
def test_same_locale(left, right):
    assert same_locale(left, right)


@pytest.mark.parametrize("left, right", [("en_US.UTF-8", "en_GB.UTF-8"), ("en_US.UTF-8", "en_US"), ("C", "C.UTF-8")])
def test_different_locale(left, right):
    assert not same_locale(left, right)


def test_normalise():
    assert normalise_codeset("UTF-8") == "utf8"
    assert normalise_codeset("8859_15") == "iso885915"
    assert normalise_locale("en_US.UTF-8") == "en_US.utf8"


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
            "password": password, "member_of": []}
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
    with pytest.raises(ValidationError):
        desired_roles({})


def test_role_drop_needs_decision():
    deps = {"app": {"databases": ["appdb"], "here": ["owner of table t"], "elsewhere": {"other": 2}}}
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
    for k, v in kw.items():
        setattr(found, k, v)
    return found


TEMPLATE1 = {"name": "template1", "owner": "postgres", "encoding": "UTF8", "lc_collate": "en_US.UTF-8",
             "lc_ctype": "en_US.UTF-8", "conn_limit": -1, "tablespace": "pg_default"}


def test_database_plan_create_template_choice():
    steps = plan_databases(desired_databases({"name": "d", "owner": "app", "lc_collate": "en_US.utf8"}),
                           {"template1": TEMPLATE1}, _lookups())
    assert steps[0].statements[0].sql == (
        'CREATE DATABASE "d" OWNER "app" TEMPLATE "template1" ENCODING \'UTF8\' LC_COLLATE \'en_US.UTF-8\'')
    steps = plan_databases(desired_databases({"name": "d", "encoding": "LATIN1"}), {"template1": TEMPLATE1}, _lookups())
    assert 'TEMPLATE "template0"' in steps[0].statements[0].sql


def test_database_plan_existing():
    existing = dict(TEMPLATE1, name="d", owner="old")
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


def test_connect_kwargs():
    kwargs = connect_kwargs({"login_user": "postgres", "login_db": "postgres", "login_port": 5432,
                             "ssl_mode": "prefer", "login_host": "", "login_unix_socket": "", "connect_timeout": 10})
    assert "host" not in kwargs and "password" not in kwargs
    kwargs = connect_kwargs({"login_unix_socket": "/run/pg", "login_password": "x", "ca_cert": "/ca"})
    assert kwargs["host"] == "/run/pg" and kwargs["password"] == "x" and kwargs["sslrootcert"] == "/ca"
