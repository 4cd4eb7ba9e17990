# -*- coding: utf-8 -*-
"""pg_database against a real PostgreSQL 15, with both drivers."""

import os
import subprocess

import pytest

from ansible_collections.djangodeploy.postgresql.plugins.module_utils import _scram as scram


def _db(cluster, name):
    rows = cluster.query(
        "SELECT pg_get_userbyid(datdba), pg_encoding_to_char(encoding), datcollate, datctype, datconnlimit "
        "FROM pg_database WHERE datname = %s", (name,))
    return rows[0] if rows else None


def _extensions(cluster, db):
    return sorted(r[0] for r in cluster.query("SELECT extname FROM pg_extension", dbname=db))


def test_role_author_interface(run_module, cluster, uniq):
    """The two tasks the db_user_and_database role runs."""
    user, db = uniq + "django", uniq + "django"
    r = run_module("pg_role", name=user, password="django-secret", login=True)
    assert r["changed"]
    ext = "citext" if cluster.has_extension("citext") else None
    args = {"name": db, "owner": user}
    if ext:
        args["extensions"] = [ext]
    r = run_module("pg_database", diff=True, **args)
    assert r["changed"] and r["databases"][0]["created"]
    assert r["done"] == [db]
    assert _db(cluster, db)[:2] == (user, "UTF8")
    if ext:
        assert r["databases"][0]["extensions_created"] == [ext]
        assert ext in _extensions(cluster, db)
    r = run_module("pg_database", **args)
    assert not r["changed"], r
    assert r["queries"] == []


def test_owner_change_conn_limit_and_check_mode(run_module, cluster, uniq):
    a, b, db = uniq + "a", uniq + "b", uniq + "db"
    run_module("pg_role", roles=[{"name": a}, {"name": b}])
    r = run_module("pg_database", name=db, owner=a, check=True)
    assert r["changed"] and _db(cluster, db) is None
    run_module("pg_database", name=db, owner=a)
    r = run_module("pg_database", name=db, owner=b, conn_limit=3, check=True, diff=True)
    assert r["changed"] and _db(cluster, db)[0] == a
    assert r["diff"][0]["before"]["owner"] == a and r["diff"][0]["after"]["owner"] == b
    r = run_module("pg_database", name=db, owner=b, conn_limit=3)
    assert r["changed"] and _db(cluster, db)[0] == b and _db(cluster, db)[4] == 3
    assert r["queries"] == ['ALTER DATABASE "%s" OWNER TO "%s"' % (db, b),
                            'ALTER DATABASE "%s" WITH CONNECTION LIMIT 3' % db]


def test_locale_normalisation_and_template0(run_module, cluster, uniq):
    db = uniq + "loc"
    # the cluster was made with C.UTF-8; spelled differently it is the same locale
    r = run_module("pg_database", name=db, lc_collate="C.utf8", lc_ctype="C.UTF-8")
    assert r["changed"]
    r = run_module("pg_database", name=db, lc_collate="C.UTF-8", lc_ctype="C.utf8", encoding="utf-8")
    assert not r["changed"], r
    # another encoding than template1's: template0 chosen automatically
    db2 = uniq + "latin"
    r = run_module("pg_database", name=db2, encoding="LATIN1", lc_collate="C", lc_ctype="C")
    assert r["changed"] and 'TEMPLATE "template0"' in r["queries"][0]
    assert _db(cluster, db2)[1] == "LATIN1"
    # a different encoding or locale for an existing database is an error
    r = run_module("pg_database", name=db2, expect_fail=True)
    assert "encoding" in r["msg"] and "LATIN1" in r["msg"]
    r = run_module("pg_database", name=db, lc_collate="C", expect_fail=True)
    assert "lc_collate" in r["msg"]


def test_drop_with_sessions_needs_force(run_module, cluster, uniq):
    db = uniq + "busy"
    run_module("pg_database", name=db)
    conn = cluster.connect(dbname=db)
    try:
        r = run_module("pg_database", name=db, state="absent", expect_fail=True)
        assert "force" in r["msg"]
        assert _db(cluster, db) is not None
        r = run_module("pg_database", name=db, state="absent", force=True)
        assert r["changed"] and r["queries"] == ['DROP DATABASE "%s" WITH (FORCE)' % db]
        assert _db(cluster, db) is None
    finally:
        conn.close()
    r = run_module("pg_database", name=db, state="absent")
    assert not r["changed"]


def test_failure_mid_list_reports_done(run_module, cluster, uniq):
    names = [uniq + "ok1", uniq + "ok2", uniq + "bad", uniq + "never"]
    items = [{"name": names[0]}, {"name": names[1]},
             {"name": names[2], "lc_collate": "xx_NOPE.UTF-8", "template": "template0"},
             {"name": names[3]}]
    r = run_module("pg_database", databases=items, expect_fail=True)
    assert r["done"] == names[:2]
    assert r["failed_database"] == names[2]
    assert r["changed"] is True
    assert names[2] in r["msg"]
    assert _db(cluster, names[0]) and _db(cluster, names[1])
    assert _db(cluster, names[2]) is None and _db(cluster, names[3]) is None


@pytest.mark.parametrize("args, param", [
    ({"name": "d" * 64}, "name"),
    ({"name": "ok_db", "owner": "no_such_role_here"}, "owner"),
    ({"name": "ok_db", "encoding": "NOT-AN-ENCODING"}, "encoding"),
    ({"name": "ok_db", "tablespace": "no_such_space"}, "tablespace"),
    ({"name": "ok_db", "extensions": ["no_such_extension"]}, "extensions[0]"),
    ({"databases": [{"name": "ok_db"}, {"name": "ok_db2", "owner": "ghost"}]}, "databases[1].owner"),
    ({"name": "postgres", "state": "absent"}, "login_db"),
    ({"name": "ok_db", "conn_limit": 2147483648}, "conn_limit"),
    ({"name": "ok_db", "conn_limit": -2}, "conn_limit"),
])
def test_errors_name_the_parameter(run_module, cluster, args, param):
    r = run_module("pg_database", expect_fail=True, **args)
    assert param in r["msg"], r["msg"]
    assert not r.get("changed")
    assert _db(cluster, "ok_db") is None


def test_weird_database_names(run_module, cluster, uniq):
    names = [uniq[:3] + n for n in ["Mixed Case", 'q"uote', "select", "ünï-名", "p%c", "a'b", "b\\s"]] + ["z" * 63]
    r = run_module("pg_database", databases=[{"name": n} for n in names])
    assert r["changed"] and r["done"] == names
    for n in names:
        assert _db(cluster, n) is not None, n
    r = run_module("pg_database", databases=[{"name": n} for n in names])
    assert not r["changed"]
    r = run_module("pg_database", databases=[{"name": n, "state": "absent"} for n in names])
    assert r["changed"]
    for n in names:
        assert _db(cluster, n) is None


def test_fifty_roles_and_databases(run_module, cluster, uniq):
    roles = [{"name": "%sr%02d" % (uniq, i), "password": "pw%d" % i, "login": True} for i in range(50)]
    dbs = [{"name": "%sd%02d" % (uniq, i), "owner": "%sr%02d" % (uniq, i)} for i in range(50)]
    assert run_module("pg_role", roles=roles)["changed"]
    r = run_module("pg_database", databases=dbs)
    assert r["changed"] and len(r["done"]) == 50
    assert not run_module("pg_role", roles=roles)["changed"]
    r = run_module("pg_database", databases=dbs)
    assert not r["changed"] and r["queries"] == []
    run_module("pg_database", databases=[dict(d, state="absent") for d in dbs])
    run_module("pg_role", roles=[{"name": x["name"], "state": "absent"} for x in roles])


def test_missing_driver_message(cluster, collection_path, tmp_path):
    """With neither driver importable the module says what to install."""
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    for name in ("psycopg2", "psycopg"):
        pkg = shadow / name
        pkg.mkdir()
        (pkg / "__init__.py").write_text("raise ImportError('hidden for the test')\n")
    args = tmp_path / "args.json"
    import json
    args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": dict(cluster.login(), name="x")}))
    env = dict(os.environ, PYTHONPATH="%s:%s" % (shadow, collection_path))
    env.pop("DJANGODEPLOY_PG_DRIVER", None)
    import sys
    proc = subprocess.run([sys.executable, "-m", "ansible_collections.djangodeploy.postgresql.plugins.modules.pg_database",
                           str(args)], stdout=subprocess.PIPE, env=env, cwd=collection_path, check=False)
    out = json.loads(proc.stdout.decode()[proc.stdout.decode().index("{"):])
    assert out["failed"]
    assert "python3-psycopg2" in out["msg"] and "ansible_python_interpreter" in out["msg"]
    assert scram.SCRAM_PREFIX  # module_utils importable from the tests too


def _tablespace(cluster, name):
    """A tablespace in a directory of the throwaway cluster."""
    path = cluster.make_dir("ts_" + name)
    cluster.query("CREATE TABLESPACE \"%s\" LOCATION '%s'" % (name, path))


@pytest.mark.parametrize("case", ["client_encoding", "encoding_locale", "template", "conn_limit", "drop_template",
                                  "tablespace_busy", "extensions_closed"])
def test_list_checks_every_item_before_the_first_change(run_module, cluster, uniq, case):
    """[A, B] with B bad: A is not created, and the message names B's parameter."""
    a, b = uniq + "first", uniq + "second"
    setup, cleanup = [], []
    item, param = {"name": b}, None
    if case == "client_encoding":
        item, param = dict(item, encoding="SJIS"), "encoding"
    elif case == "encoding_locale":
        item, param = dict(item, encoding="LATIN1"), "encoding"       # the cluster's C.UTF-8 needs UTF8
    elif case == "template":
        item, param = dict(item, template=uniq + "no_such_template"), "template"
    elif case == "conn_limit":
        item, param = dict(item, conn_limit=2 ** 31), "conn_limit"
    elif case == "drop_template":
        setup = ['CREATE DATABASE "%s" IS_TEMPLATE true' % b]
        cleanup = ['ALTER DATABASE "%s" IS_TEMPLATE false' % b, 'DROP DATABASE "%s"' % b]
        item, param = dict(item, state="absent"), "name"
    elif case == "tablespace_busy":
        _tablespace(cluster, uniq + "ts")
        setup = ['CREATE DATABASE "%s"' % b]
        cleanup = ['DROP DATABASE "%s" WITH (FORCE)' % b, 'DROP TABLESPACE "%s"' % (uniq + "ts")]
        item, param = dict(item, tablespace=uniq + "ts"), "tablespace"
    elif case == "extensions_closed":
        setup = ['CREATE DATABASE "%s" ALLOW_CONNECTIONS false' % b]
        cleanup = ['DROP DATABASE "%s"' % b]
        item, param = dict(item, extensions=["plpgsql"]), "extensions"
    for sql in setup:
        cluster.query(sql)
    session = cluster.connect(dbname=b) if case == "tablespace_busy" else None
    try:
        r = run_module("pg_database", databases=[{"name": a}, item], expect_fail=True)
        assert "databases[1].%s" % param in r["msg"], r["msg"]
        assert not r["changed"] and not r.get("done")
        assert _db(cluster, a) is None
    finally:
        if session is not None:
            session.close()
        for sql in cleanup:
            cluster.query(sql)


def test_check_mode_failure_reports_nothing_done(run_module, cluster, uniq):
    a, closed = uniq + "cm_new", uniq + "cm_closed"
    cluster.query('CREATE DATABASE "%s" ALLOW_CONNECTIONS false' % closed)
    try:
        r = run_module("pg_database", check=True, expect_fail=True,
                       databases=[{"name": a}, {"name": closed, "extensions": ["plpgsql"]}])
        assert not r["changed"] and not r.get("done")
        assert _db(cluster, a) is None
    finally:
        cluster.query('DROP DATABASE "%s"' % closed)


def test_failed_extension_after_create_reports_the_database(run_module, cluster, uniq):
    """CREATE DATABASE succeeded, CREATE EXTENSION failed (the template holds a
    table named like the extension's type): the result must say the database
    was created."""
    if not cluster.has_extension("citext"):
        pytest.skip("citext not available")
    template, db = uniq + "tpl", uniq + "ext_fails"
    cluster.query('CREATE DATABASE "%s"' % template)
    cluster.query("CREATE TABLE citext (id int)", dbname=template)
    try:
        r = run_module("pg_database", name=db, template=template, extensions=["citext"], expect_fail=True)
        assert r["changed"] is True and r["failed_database"] == db
        assert "CREATE DATABASE" in r["msg"] and "already done for it: none" not in r["msg"].lower()
        assert [d.get("created") for d in r["databases"]] == [True]
        assert r["queries"][0].startswith('CREATE DATABASE "%s"' % db)
        assert _db(cluster, db) is not None
    finally:
        cluster.query('DROP DATABASE IF EXISTS "%s"' % db)
        cluster.query('DROP DATABASE "%s"' % template)


def _access(cluster, db, role="public"):
    """(role may connect, schema public's owner, role may create in schema public)."""
    return cluster.query(
        "SELECT has_database_privilege(%s, current_database(), 'CONNECT'), pg_get_userbyid(n.nspowner), "
        "has_schema_privilege(%s, 'public', 'CREATE') FROM pg_namespace n WHERE nspname = 'public'",
        (role, role), dbname=db)[0]


def test_who_may_connect_and_the_public_schema(run_module, cluster, uniq):
    """What db_user_and_database asks for: PUBLIC's CONNECT revoked, schema public as PostgreSQL 15
    makes it. A database brought to the pre-15 state (and CONNECT granted back) is put right, check
    mode first; a role granted CONNECT on its own keeps it; reruns change nothing."""
    owner, monitor, db = uniq + "own", uniq + "mon", uniq + "db"
    run_module("pg_role", roles=[{"name": owner}, {"name": monitor}])
    args = {"name": db, "owner": owner, "public_connect": False, "own_public_schema": True}
    r = run_module("pg_database", check=True, **args)
    assert r["changed"] and r["queries"][1:] == ['REVOKE CONNECT ON DATABASE "%s" FROM PUBLIC' % db]
    assert _db(cluster, db) is None
    r = run_module("pg_database", **args)
    assert r["changed"] and r["databases"][0]["created"] and "public_schema_changed" not in r["databases"][0]
    assert _access(cluster, db) == (False, "pg_database_owner", False)
    r = run_module("pg_database", **args)
    assert not r["changed"] and r["queries"] == [], r

    cluster.query('GRANT CONNECT ON DATABASE "%s" TO PUBLIC, "%s"' % (db, monitor))
    cluster.query('ALTER SCHEMA public OWNER TO postgres; GRANT CREATE ON SCHEMA public TO PUBLIC', dbname=db)
    assert _access(cluster, db) == (True, "postgres", True)
    fixes = ['REVOKE CONNECT ON DATABASE "%s" FROM PUBLIC' % db,
             '/* in database %s */ ALTER SCHEMA public OWNER TO "%s"' % (db, owner),
             '/* in database %s */ REVOKE CREATE ON SCHEMA public FROM PUBLIC' % db]
    r = run_module("pg_database", check=True, diff=True, **args)
    assert r["changed"] and r["queries"] == fixes
    assert r["diff"][0]["before"]["public_connect"] is True and r["diff"][0]["after"]["public_connect"] is False
    assert r["diff"][0]["before"]["public_schema_owned"] is False and r["diff"][0]["after"]["public_schema_create"] is False
    assert _access(cluster, db) == (True, "postgres", True)
    r = run_module("pg_database", **args)
    assert r["changed"] and r["queries"] == fixes and r["databases"][0]["public_schema_changed"]
    assert _access(cluster, db) == (False, owner, False)
    assert _access(cluster, db, monitor)[0], "a role's own CONNECT grant is kept"
    assert not _access(cluster, db, monitor)[2]
    r = run_module("pg_database", **args)
    assert not r["changed"] and r["queries"] == [], r

    r = run_module("pg_database", name=db, public_connect=True)
    assert r["queries"] == ['GRANT CONNECT ON DATABASE "%s" TO PUBLIC' % db] and _access(cluster, db)[0]
    r = run_module("pg_database", name=db)
    assert not r["changed"] and _access(cluster, db)[0], "left alone without public_connect"
