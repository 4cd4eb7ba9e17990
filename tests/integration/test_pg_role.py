# -*- coding: utf-8 -*-
"""pg_role against a real PostgreSQL 15, with both drivers."""

import pytest

from ansible_collections.djangodeploy.postgresql.plugins.module_utils import _scram as scram


def _role(cluster, name):
    rows = cluster.query(
        "SELECT rolcanlogin, rolcreatedb, rolpassword, rolconnlimit, rolvaliduntil::text FROM pg_authid WHERE rolname = %s",
        (name,))
    return rows[0] if rows else None


def _members(cluster, name):
    rows = cluster.query(
        "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
        "JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = %s ORDER BY 1", (name,))
    return [r[0] for r in rows]


def _can_login(cluster, name, password):
    try:
        conn = cluster.connect(user=name, password=password)
    except Exception:  # pylint: disable=broad-except
        return False
    conn.close()
    return True


def test_create_rerun_password_change(run_module, cluster, uniq):
    name = uniq + "App User"
    secret = "pw-Plaintext-%s-xyzzy" % uniq
    r = run_module("pg_role", name=name, password=secret, login=True, createdb=False, conn_limit=5, diff=True)
    assert r["changed"] and r["roles"][0]["created"]
    login, createdb, stored, limit, _vu = _role(cluster, name)
    assert login and not createdb and limit == 5
    assert stored.startswith("SCRAM-SHA-256$4096:")
    assert scram.scram_matches(stored, secret)
    assert _can_login(cluster, name, secret)
    # diff and queries mask the secret
    text = r["_stdout"]
    assert secret not in text
    assert stored not in text
    assert "PASSWORD '********'" in r["queries"][0]
    assert "PASSWORD '********'" in r["diff"][0]["prepared"]
    # rerun: unchanged, same verifier kept
    r = run_module("pg_role", name=name, password=secret, login=True, createdb=False, conn_limit=5)
    assert not r["changed"], r
    assert r["queries"] == []
    assert _role(cluster, name)[2] == stored
    # password change detected
    r = run_module("pg_role", name=name, password=secret + "2", login=True)
    assert r["changed"] and r["roles"][0]["password_changed"]
    assert _can_login(cluster, name, secret + "2")
    assert not _can_login(cluster, name, secret)
    # update_password on_create: no change
    r = run_module("pg_role", name=name, password="other", update_password="on_create")
    assert not r["changed"]
    # attribute change only
    r = run_module("pg_role", name=name, createdb=True, conn_limit=-1)
    assert r["changed"]
    assert r["queries"] == ['ALTER ROLE "%s" WITH CREATEDB CONNECTION LIMIT -1' % name]
    # the server log holds no plaintext password
    assert secret not in cluster.log_text()


def test_check_mode_changes_nothing(run_module, cluster, uniq):
    name = uniq + "chk"
    r = run_module("pg_role", name=name, password="abc", login=True, check=True, diff=True)
    assert r["changed"] and r["queries"]
    assert _role(cluster, name) is None
    run_module("pg_role", name=name, password="abc", login=True)
    r = run_module("pg_role", name=name, password="changed", login=False, check=True, diff=True)
    assert r["changed"]
    assert r["diff"][0]["before"]["login"] is True and r["diff"][0]["after"]["login"] is False
    assert scram.scram_matches(_role(cluster, name)[2], "abc")
    assert _role(cluster, name)[0] is True
    r = run_module("pg_role", name=name, state="absent", check=True)
    assert r["changed"] and _role(cluster, name) is not None


def test_md5_upgrade_and_keep(run_module, cluster, uniq):
    name = uniq + "legacy"
    md5 = scram.md5_hash("oldpw", name)
    cluster.query("CREATE ROLE \"%s\" LOGIN PASSWORD '%s'" % (name, md5))
    assert _role(cluster, name)[2] == md5
    r = run_module("pg_role", name=name, password="oldpw", upgrade_md5=False)
    assert not r["changed"]
    r = run_module("pg_role", name=name, password="oldpw", password_encryption="md5")
    assert not r["changed"]
    r = run_module("pg_role", name=name, password="oldpw")
    assert r["changed"] and "md5 upgraded" in r["roles"][0]["password_reason"]
    stored = _role(cluster, name)[2]
    assert stored.startswith("SCRAM-SHA-256$") and scram.scram_matches(stored, "oldpw")
    r = run_module("pg_role", name=name, password="oldpw")
    assert not r["changed"]
    # md5 requested for a new password
    r = run_module("pg_role", name=name, password="newpw", password_encryption="md5")
    assert r["changed"] and _role(cluster, name)[2] == scram.md5_hash("newpw", name)


def test_precomputed_verifier_and_empty_password(run_module, cluster, uniq):
    name = uniq + "pre"
    verifier = scram.scram_verifier("precomputed")
    r = run_module("pg_role", name=name, password=verifier, login=True)
    assert r["changed"] and _role(cluster, name)[2] == verifier
    assert verifier not in r["_stdout"]
    r = run_module("pg_role", name=name, password=verifier)
    assert not r["changed"]
    # the plaintext of that verifier also counts as unchanged
    r = run_module("pg_role", name=name, password="precomputed")
    assert not r["changed"]
    r = run_module("pg_role", name=name, password="")
    assert r["changed"] and _role(cluster, name)[2] is None
    assert r["queries"] == ['ALTER ROLE "%s" WITH PASSWORD NULL' % name]
    r = run_module("pg_role", name=name, password="")
    assert not r["changed"]


def test_server_made_verifier_is_recognised(run_module, cluster, uniq):
    """A verifier produced by PostgreSQL itself (server-side hashing) compares equal."""
    name = uniq + "srv"
    conn = cluster.connect()
    cur = conn.cursor()
    cur.execute("SET password_encryption = 'scram-sha-256'")
    cur.execute("CREATE ROLE \"%s\" LOGIN PASSWORD 'sërver-madé ﬁ'" % name)
    conn.close()
    stored = _role(cluster, name)[2]
    iterations, salt, _s, _k = scram.parse_scram(stored)
    assert scram.scram_verifier(u"sërver-madé ﬁ", salt=salt, iterations=iterations) == stored
    r = run_module("pg_role", name=name, password=u"sërver-madé ﬁ")
    assert not r["changed"]


def test_membership_and_valid_until(run_module, cluster, uniq):
    group_a, group_b, member = uniq + "ga", uniq + "gb", uniq + "m"
    r = run_module("pg_role", roles=[
        {"name": member, "member_of": [group_a, group_b], "valid_until": "2031-01-01"},
        {"name": group_a}, {"name": group_b},
    ])
    assert r["changed"]
    assert _members(cluster, member) == sorted([group_a, group_b])
    r = run_module("pg_role", name=member, member_of=[group_a], valid_until="2031-01-01 00:00:00")
    assert not r["changed"], r
    r = run_module("pg_role", name=member, member_of=[group_a], member_of_exclusive=True, valid_until="infinity")
    assert r["changed"]
    assert _members(cluster, member) == [group_a]
    assert _role(cluster, member)[4] == "infinity"
    r = run_module("pg_role", name=member, member_of=[uniq + "nope"], expect_fail=True)
    assert "member_of[0]" in r["msg"] and "does not exist" in r["msg"]


def test_list_form_all_or_nothing(run_module, cluster, uniq):
    # the second statement fails (a role may not be both created and already exist
    # as something else): make it fail on the server with an invalid membership cycle
    a, b = uniq + "a", uniq + "b"
    run_module("pg_role", name=a)
    run_module("pg_role", name=b, member_of=[a])
    r = run_module("pg_role", roles=[{"name": uniq + "new1"}, {"name": a, "member_of": [b]}], expect_fail=True)
    assert "rolled back" in r["msg"]
    assert _role(cluster, uniq + "new1") is None


def test_drop_role_owning_objects(run_module, cluster, uniq):
    owner, heir = uniq + "owner", uniq + "heir"
    db = uniq + "owned_db"
    run_module("pg_role", roles=[{"name": owner}, {"name": heir}])
    cluster.query('CREATE DATABASE "%s" OWNER "%s"' % (db, owner))
    cluster.query('CREATE TABLE "%s_t" (id int); ALTER TABLE "%s_t" OWNER TO "%s"' % (uniq, uniq, owner))
    cluster.query('CREATE TABLE t_in_db (id int); ALTER TABLE t_in_db OWNER TO "%s"' % owner, dbname=db)
    r = run_module("pg_role", name=owner, state="absent", expect_fail=True)
    assert db in r["msg"] and "%s_t" % uniq in r["msg"] and "reassign_owned_to" in r["msg"]
    assert "in database %r" % db in r["msg"]
    assert _role(cluster, owner) is not None
    r = run_module("pg_role", name=owner, state="absent", drop_owned=True, expect_fail=True)
    assert "owns database" in r["msg"]
    r = run_module("pg_role", name=owner, state="absent", reassign_owned_to=heir)
    assert r["changed"] and r["roles"][0]["dropped"]
    assert _role(cluster, owner) is None
    assert cluster.query("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (db,))[0][0] == heir
    assert cluster.query("SELECT tableowner FROM pg_tables WHERE tablename = %s", (uniq + "_t",))[0][0] == heir
    assert cluster.query("SELECT tableowner FROM pg_tables WHERE tablename = 't_in_db'", dbname=db)[0][0] == heir
    r = run_module("pg_role", name=owner, state="absent")
    assert not r["changed"]
    cluster.query('DROP DATABASE "%s"' % db)
    cluster.query('DROP TABLE "%s_t"' % uniq)


def test_drop_owned(run_module, cluster, uniq):
    owner = uniq + "dropme"
    run_module("pg_role", name=owner)
    cluster.query('CREATE TABLE "%s_x" (id int); ALTER TABLE "%s_x" OWNER TO "%s"' % (uniq, uniq, owner))
    r = run_module("pg_role", name=owner, state="absent", drop_owned=True)
    assert r["changed"]
    assert cluster.query("SELECT 1 FROM pg_tables WHERE tablename = %s", (uniq + "_x",)) == []


WEIRD = [
    "MixedCase", "user", "select", 'with "quotes"', "with space", "ünïcödé-名前", "semi;colon",
    "back\\slash", "it's", "per%cent", "dollar$$", "-- comment", "x" * 63, "é" * 31,
]


def test_weird_identifiers(run_module, cluster, uniq):
    roles = [{"name": w if len(w.encode()) >= 60 else uniq[:3] + w, "password": "p'w\\" + w, "login": True}
             for w in WEIRD]
    r = run_module("pg_role", roles=roles)
    assert r["changed"]
    for item in roles:
        stored = _role(cluster, item["name"])
        assert stored is not None, item["name"]
        assert scram.scram_matches(stored[2], item["password"])
    r = run_module("pg_role", roles=roles)
    assert not r["changed"], r
    assert _can_login(cluster, roles[3]["name"], roles[3]["password"])
    r = run_module("pg_role", roles=[dict(i, state="absent") for i in roles])
    assert r["changed"]
    for item in roles:
        assert _role(cluster, item["name"]) is None


@pytest.mark.parametrize("args, param", [
    ({"name": "x" * 64}, "name"),
    ({"name": "é" * 32}, "name"),
    ({"roles": [{"name": "ok"}, {"name": "y" * 64}]}, "roles[1].name"),
    ({"name": "ok", "member_of": ["z" * 64]}, "member_of[0]"),
    ({"name": "ok", "conn_limit": -5}, "conn_limit"),
    ({"name": "ok", "conn_limit": 2147483648}, "conn_limit"),
    ({"name": "ok", "valid_until": "not a date"}, "valid_until"),
    ({"name": "ok", "password": "SCRAM-SHA-256$garbage"}, "password"),
    ({"name": "ok", "state": "absent", "reassign_owned_to": "nobody_here"}, "reassign_owned_to"),
    ({"roles": [{"name": "dup"}, {"name": "dup"}]}, "roles[1].name"),
])
def test_errors_name_the_parameter(run_module, cluster, args, param):
    before = cluster.query("SELECT count(*) FROM pg_roles")[0][0]
    if args.get("state") == "absent":
        cluster.query('CREATE ROLE "ok"')
    try:
        r = run_module("pg_role", expect_fail=True, **args)
        assert param in r["msg"], r["msg"]
        assert not r.get("changed")
    finally:
        cluster.query('DROP ROLE IF EXISTS "ok"')
    assert cluster.query("SELECT count(*) FROM pg_roles")[0][0] == before


def test_list_of_fifty_then_unchanged(run_module, cluster, uniq):
    roles = [{"name": "%sbulk%02d" % (uniq, i), "password": "pw%d" % i, "login": True} for i in range(50)]
    r = run_module("pg_role", roles=roles)
    assert r["changed"] and len(r["queries"]) == 50
    r = run_module("pg_role", roles=roles)
    assert not r["changed"]


def test_unix_socket_connection(run_module, cluster, uniq):
    name = uniq + "sock"
    r = run_module("pg_role", with_login=False, login_unix_socket=cluster.socket_dir,
                   login_port=cluster.port, name=name)
    assert r["changed"] and _role(cluster, name) is not None


def test_bad_login_is_a_clear_error(run_module, cluster):
    r = run_module("pg_role", name="whatever", login_password="wrong", expect_fail=True)
    assert "unable to connect" in r["msg"]
    assert "wrong" not in r["msg"]


def _rows(cluster, db, table):
    return cluster.query('SELECT count(*) FROM "%s"' % table, dbname=db)[0][0]


def _database_with_rows(cluster, db, owner, table="kept", allow_connections=True):
    cluster.query('CREATE DATABASE "%s"' % db)
    cluster.query('CREATE TABLE "%s" AS SELECT generate_series(1, 3) AS id; ALTER TABLE "%s" OWNER TO "%s"'
                  % (table, table, owner), dbname=db)
    if not allow_connections:
        cluster.query('ALTER DATABASE "%s" ALLOW_CONNECTIONS false' % db)


def _drop_databases(cluster, *names):
    for db in names:
        cluster.query('ALTER DATABASE "%s" ALLOW_CONNECTIONS true' % db)
        cluster.query('DROP DATABASE "%s" WITH (FORCE)' % db)


def test_drop_owned_elsewhere_is_not_committed_when_a_later_item_fails(run_module, cluster, uniq):
    """The data-loss bug: DROP OWNED in another database was committed, then the
    role transaction failed (a reserved name), and the result said changed: false."""
    owner, db = uniq + "rowner", uniq + "rows_db"
    run_module("pg_role", name=owner)
    _database_with_rows(cluster, db, owner)
    try:
        r = run_module("pg_role", roles=[{"name": owner, "state": "absent", "drop_owned": True},
                                         {"name": "pg_" + uniq}], expect_fail=True)
        assert "roles[1].name" in r["msg"] and "reserved" in r["msg"]
        assert r["changed"] is False
        assert _rows(cluster, db, "kept") == 3
        assert _role(cluster, owner) is not None
    finally:
        _drop_databases(cluster, db)


def test_drop_owned_with_a_database_that_refuses_connections(run_module, cluster, uniq):
    owner, open_db, closed_db = uniq + "cowner", uniq + "a_open", uniq + "b_closed"
    run_module("pg_role", name=owner)
    _database_with_rows(cluster, open_db, owner)
    _database_with_rows(cluster, closed_db, owner, allow_connections=False)
    try:
        r = run_module("pg_role", name=owner, state="absent", drop_owned=True, expect_fail=True)
        assert closed_db in r["msg"] and "datallowconn" in r["msg"]
        assert not r["changed"]
        assert _rows(cluster, open_db, "kept") == 3
        assert _role(cluster, owner) is not None
    finally:
        _drop_databases(cluster, open_db, closed_db)


def test_failure_after_a_commit_is_reported_as_a_change(run_module, cluster, uniq):
    """If something still fails after another database was committed (here an
    event trigger that lets the rehearsal through and refuses the real DROP
    OWNED), the result says what was committed, with changed: true."""
    owner, first, second = uniq + "powner", uniq + "a_first", uniq + "b_second"
    run_module("pg_role", name=owner)
    _database_with_rows(cluster, first, owner)
    _database_with_rows(cluster, second, owner)
    cluster.query("""
        CREATE SEQUENCE calls;
        CREATE FUNCTION refuse_second() RETURNS event_trigger LANGUAGE plpgsql AS $$
        BEGIN IF nextval('calls') > 1 THEN RAISE EXCEPTION 'refused by the test'; END IF; END $$;
        CREATE EVENT TRIGGER refuse_second ON ddl_command_start WHEN TAG IN ('DROP OWNED')
            EXECUTE FUNCTION refuse_second();
    """, dbname=second)
    try:
        r = run_module("pg_role", name=owner, state="absent", drop_owned=True, expect_fail=True)
        assert r["changed"] is True
        assert "refused by the test" in r["msg"] and "no role was changed" in r["msg"]
        assert r["queries"] == ['/* in database %s */ DROP OWNED BY "%s"' % (first, owner)]
        assert "in database %s" % first in r["msg"]
        assert cluster.query("SELECT 1 FROM pg_tables WHERE tablename = 'kept'", dbname=first) == []
        assert _rows(cluster, second, "kept") == 3
        assert _role(cluster, owner) is not None
    finally:
        _drop_databases(cluster, first, second)


def test_malformed_verifier_is_refused(run_module, cluster, uniq):
    """Short keys once passed as a verifier; the server then stored the string
    as a plaintext password (and logged it)."""
    name = uniq + "badver"
    salt = scram.scram_verifier("x").split("$")[1].split(":")[1]
    bad = "SCRAM-SHA-256$4096:%s$AAAA:AAAA" % salt
    r = run_module("pg_role", name=name, password=bad, login=True, expect_fail=True)
    assert "password" in r["msg"] and "32-byte" in r["msg"]
    assert bad not in r["_stdout"]
    assert _role(cluster, name) is None
    assert bad not in cluster.log_text()
