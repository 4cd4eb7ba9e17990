"""Connection pooling on the split topology (issue 16): Django on the app host serves through
PgBouncer on the db host over verified TLS and migrates directly; 300 concurrent Django clients
share the pool under max_connections = 50; .iterator() works under transaction pooling; no
password on disk under /etc/pgbouncer; a changed password works through the pooler after one run."""

import json
import shlex
import textwrap
import threading

import pytest
import testinfra

from conftest import manage, psql

APP_ENV = "PYTHONPATH=/etc/opt/geodemo:/opt/geodemo DJANGO_SETTINGS_MODULE=settings"


@pytest.fixture(scope="module")
def hosts(inventory, inventory_file):
    def get(group):
        return testinfra.get_host("ansible://%s?ansible_inventory=%s" % (inventory[group]["hosts"][0], inventory_file))
    return {"db": get("dbservers"), "app": get("appservers"), "outsider": get("outsiders")}


def address(host):
    return host.ansible("setup", "filter=ansible_default_ipv4")["ansible_facts"]["ansible_default_ipv4"]["address"]


def django(app, code, direct=False):
    """Python run by the project's Django shell as its user; the last line of output as JSON."""
    env = APP_ENV + (" DJANGODEPLOY_DB_DIRECT=1" if direct else "")
    command = "cd /opt/geodemo && env %s /opt/geodemo/venv/bin/python manage.py shell -c %s" % (env, shlex.quote(code))
    result = app.run("runuser -u geodemo -- sh -c %s", command)
    assert result.rc == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def admin(db, command):
    """PgBouncer's admin console as postgres over the Unix socket (peer), rows as dicts."""
    out = db.check_output("runuser -u postgres -- psql -X -h /var/run/postgresql -p 6432 -d pgbouncer --csv -c %s", command)
    lines = out.splitlines()
    header = lines[0].split(",")
    return [dict(zip(header, line.split(","))) for line in lines[1:]]


def pool_size(db):
    return int(next(row["value"] for row in admin(db, "SHOW CONFIG") if row["key"] == "default_pool_size"))


WHERE_AM_I = textwrap.dedent("""
    import json
    from django.db import connection
    with connection.cursor() as c:
        c.execute("SELECT host(inet_client_addr()), (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid())")
        client, server_ssl = c.fetchone()
    info = connection.connection.info
    print(json.dumps({"port": info.port, "tls_to_first_hop": info.ssl_in_use, "client": client, "server_ssl": server_ssl,
                      "cursors_off": connection.settings_dict["DISABLE_SERVER_SIDE_CURSORS"]}))
""")


def test_django_goes_through_pgbouncer_over_tls_and_directly_with_the_migrate_switch(hosts):
    app, app_address = hosts["app"], address(hosts["app"])
    settings = app.file("/etc/opt/geodemo/settings.py").content_string
    assert "'PORT': 6432," in settings and "'sslmode': 'verify-full'" in settings
    # Through the pooler: TLS (verify-full) to PgBouncer, which reaches PostgreSQL over 127.0.0.1.
    assert django(app, WHERE_AM_I) == {"port": 6432, "tls_to_first_hop": True, "client": "127.0.0.1",
                                       "server_ssl": False, "cursors_off": True}
    # What migrate runs with: PostgreSQL itself, over verified TLS, from the app host's address.
    assert django(app, WHERE_AM_I, direct=True) == {"port": 5432, "tls_to_first_hop": True, "client": app_address,
                                                    "server_ssl": True, "cursors_off": True}


def test_pgbouncer_listens_where_postgresql_does_with_its_certificate(hosts):
    db, app = hosts["db"], hosts["app"]
    listening = db.check_output("ss -Hltn 'sport = :6432'")
    assert ("%s:6432" % address(db)) in listening and "127.0.0.1:6432" in listening and "0.0.0.0:6432" not in listening

    def served(port):
        return app.check_output("openssl s_client -starttls postgres -verify_return_error -CAfile /etc/opt/geodemo/postgresql-ca.crt"
                                " -connect djangodeploy-mh-db:%s </dev/null 2>/dev/null | openssl x509 -noout -fingerprint" % port)
    assert served(6432) == served(5432)


def test_the_admin_user_sees_pools_and_stats_and_no_one_else_reaches_pgbouncer(hosts):
    db, outsider = hosts["db"], hosts["outsider"]
    assert any(row["database"] == "geodemo" and row["user"] == "geodemo" for row in admin(db, "SHOW POOLS"))
    assert any(row["database"] == "geodemo" for row in admin(db, "SHOW STATS"))
    password = db.ansible.get_variables()["django_db_password"]
    # With the right password: pg_hba.conf of PgBouncer lets in the app host alone.
    knock = outsider.run("PGPASSWORD=%s psql -XAt 'host=djangodeploy-mh-db port=6432 dbname=geodemo user=geodemo "
                         "sslmode=require' -c 'SELECT 1'", password)
    assert knock.rc != 0 and "SELECT 1" not in knock.stdout
    # Not even postgres from the db host itself over TCP: the console is peer over the socket only.
    tcp = db.run("runuser -u postgres -- psql -X -h 127.0.0.1 -p 6432 -d pgbouncer -c 'SHOW POOLS' </dev/null")
    assert tcp.rc != 0


def test_no_password_in_any_file_under_etc_pgbouncer(hosts):
    db = hosts["db"]
    password = db.ansible.get_variables()["django_db_password"]
    files = db.check_output("find /etc/pgbouncer -type f").split()
    assert "/etc/pgbouncer/userlist.txt" in files
    for path in files:
        assert password.encode() not in db.file(path).content, path
    userlist = db.file("/etc/pgbouncer/userlist.txt")
    assert (userlist.user, userlist.group, userlist.mode) == ("postgres", "postgres", 0o640)
    stored = psql(db, "SELECT rolpassword FROM pg_authid WHERE rolname = 'geodemo'")
    assert '"geodemo" "%s"' % stored in userlist.content_string.splitlines()


HERD = textwrap.dedent("""
    import json, os, threading, time
    import psycopg2
    from django.db import connection, transaction
    from places.models import Note
    N = 300
    params = dict(connection.get_connection_params(), port=5432)  # the sampler goes direct
    sampler = psycopg2.connect(**params)
    sampler.autocommit = True
    start, done, errors, seen = threading.Barrier(N + 1), [], [], [0]
    def client():
        try:
            start.wait(120)
            with transaction.atomic():
                Note.objects.filter(text__startswith="herd").count()
                with connection.cursor() as c:
                    c.execute("SELECT pg_sleep(0.2)")
            done.append(1)
        except Exception as e:
            errors.append(repr(e))
        finally:
            connection.close()
    threads = [threading.Thread(target=client) for _ in range(N)]
    for t in threads:
        t.start()
    start.wait(120)
    while any(t.is_alive() for t in threads):
        with sampler.cursor() as c:
            c.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = 'geodemo' AND host(client_addr) = '127.0.0.1'")
            seen[0] = max(seen[0], c.fetchone()[0])
        time.sleep(0.05)
    with sampler.cursor() as c:
        c.execute("SHOW max_connections")
        max_connections = int(c.fetchone()[0])
    print(json.dumps({"done": len(done), "errors": errors[:3], "max_server_connections": seen[0],
                      "max_connections": max_connections}))
""")


def test_300_concurrent_django_clients_share_the_pool_under_max_connections_50(hosts):
    db, app = hosts["db"], hosts["app"]
    result = django(app, HERD)
    assert result["max_connections"] == 50
    assert result["errors"] == [] and result["done"] == 300, result
    assert 1 < result["max_server_connections"] <= pool_size(db), result


ITERATE = textwrap.dedent("""
    import json, psycopg2
    from django.db import connection
    from places.models import Note
    if Note.objects.filter(text__startswith="iterate").count() < 5:
        Note.objects.bulk_create([Note(text="iterate %d" % i) for i in range(5)])
    def iterate():
        rows = Note.objects.filter(text__startswith="iterate").order_by("pk").iterator(chunk_size=1)
        first = next(rows)
        # Another client takes the server connection this one just gave back (PgBouncer hands
        # out the last one used first) and keeps it in a transaction.
        other = psycopg2.connect(**connection.get_connection_params())
        try:
            other.cursor().execute("SELECT 1")
            return [first.text] + [n.text for n in rows]
        except Exception as e:
            return repr(e)
        finally:
            other.close()
            connection.close()
    as_configured = iterate()
    connection.settings_dict["DISABLE_SERVER_SIDE_CURSORS"] = False
    with_server_side_cursors = iterate()
    print(json.dumps([as_configured, with_server_side_cursors]))
""")


def test_iterator_works_under_transaction_pooling(hosts):
    as_configured, with_server_side_cursors = django(hosts["app"], ITERATE)
    assert as_configured == ["iterate %d" % i for i in range(5)]
    # The trap the setting avoids, shown: a server-side cursor lost on the next transaction's server.
    assert "does not exist" in str(with_server_side_cursors), with_server_side_cursors


def login_through_the_pooler(app, password):
    code = ("import psycopg2; c = psycopg2.connect(host='djangodeploy-mh-db', port=6432, dbname='geodemo', user='geodemo',"
            " sslmode='verify-full', sslrootcert='/etc/opt/geodemo/postgresql-ca.crt'); print(c.info.port)")
    return app.run("PGPASSWORD=%s python3 -c %s", password, code)


def idle_timeout(db):
    return next(row["value"] for row in admin(db, "SHOW CONFIG") if row["key"] == "server_idle_timeout")


# Two site runs (the change, then back) prove both: a changed password works through the pooler
# after one run, and migrate goes to PostgreSQL directly.
def test_a_changed_password_works_through_the_pooler_after_one_run_and_migrate_goes_direct(hosts, inventory_file, run_site):
    db, app, app_address = hosts["db"], hosts["app"], address(hosts["app"])
    old = db.ansible.get_variables()["django_db_password"]
    new = "Pooled 'new' \"pass\" ünï"

    def direct_sessions():
        return int(psql(db, "SELECT sessions FROM pg_stat_database WHERE datname = 'geodemo'"))

    def pooler_logins_from_app():
        return db.check_output("grep -c 'geodemo@%s:[0-9]* login attempt' /var/log/postgresql/pgbouncer.log || true"
                               % app_address)

    sessions, logins = direct_sessions(), pooler_logins_from_app()
    try:
        rc, output, recap = run_site(inventory_file, "-e", json.dumps({"django_db_password": new}))
        assert rc == 0, output
        assert recap["djangodeploy-mh-db"]["changed"] > 0 and recap["djangodeploy-mh-app"]["changed"] > 0, output
        assert new not in output
        # migrate --plan ran against PostgreSQL itself: sessions there, no login at PgBouncer from the app.
        assert direct_sessions() > sessions
        assert pooler_logins_from_app() == logins
        assert login_through_the_pooler(app, new).rc == 0
        assert login_through_the_pooler(app, old).rc != 0
    finally:
        rc, output, _ = run_site(inventory_file)
    assert rc == 0, output
    assert login_through_the_pooler(app, old).rc == 0
    assert manage(app, "geodemo", "migrate", "--check").rc == 0


PGBOUNCER_ALONE = """
- hosts: dbservers
  become: true
  gather_facts: false
  roles: [djangodeploy.postgresql.postgresql_pgbouncer]
"""


# The role alone (the site playbook's other plays have nothing to do here): two short runs.
def test_a_run_stopped_before_reloading_pgbouncer_is_finished_by_the_next(hosts, inventory_file, playbook, tmp_path):
    db = hosts["db"]
    play = tmp_path / "pgbouncer.yml"
    play.write_text(PGBOUNCER_ALONE)
    ini = "/etc/pgbouncer/pgbouncer.ini"
    converged, before = db.file(ini).content_string, idle_timeout(db)
    assert before != "301"
    # The file exactly as a run with server_idle_timeout 301 writes it (extra settings come last),
    # and no reload: what a run killed between its template task and its handler leaves.
    db.run("printf 'server_idle_timeout = 301\\n' >> %s", ini)
    try:
        rc, output, recap = playbook(play, "-e", json.dumps({"postgresql_pgbouncer_settings": {"server_idle_timeout": 301}}))
        assert rc == 0, output
        assert recap["djangodeploy-mh-db"]["changed"] > 0, output
        assert idle_timeout(db) == "301"
    finally:
        rc, output, _ = playbook(play)
    assert rc == 0, output
    assert db.file(ini).content_string == converged
    assert idle_timeout(db) == before
