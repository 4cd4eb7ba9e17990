"""Split topology: Django on the app host reaches PostgreSQL on the db host over verified TLS;
pg_hba.conf lets in the app host alone, and follows the inventory."""

import json
import pathlib
import shlex
import shutil

import pytest
import testinfra
import yaml

BLOCK_BEGIN = "# BEGIN djangodeploy.postgresql: project geodemo"


@pytest.fixture(scope="module")
def hosts(inventory, inventory_file):
    def get(group):
        name = inventory[group]["hosts"][0]
        return testinfra.get_host("ansible://%s?ansible_inventory=%s" % (name, inventory_file))
    return {"db": get("dbservers"), "app": get("appservers"), "outsider": get("outsiders")}


def address(host):
    return host.ansible("setup", "filter=ansible_default_ipv4")["ansible_facts"]["ansible_default_ipv4"]["address"]


def hba_block(db):
    text = db.file("/etc/postgresql/15/main/pg_hba.conf").content_string
    if BLOCK_BEGIN not in text:
        return []
    block = text.split(BLOCK_BEGIN, 1)[1].split("# END", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def test_listens_on_its_own_address_not_everywhere(hosts):
    db = hosts["db"]
    listen = db.check_output("runuser -u postgres -- psql -XAtc 'SHOW listen_addresses'")
    assert listen == "localhost,%s" % address(db)


def test_pg_hba_lets_in_the_app_host_alone_over_tls(hosts):
    assert hba_block(hosts["db"]) == ['hostssl "geodemo" "geodemo" %s/32 scram-sha-256' % address(hosts["app"])]


# With PgBouncer in front (test_pooling.py), Django serves through it; migrate (the switch the
# role's migrate tasks set) still connects to PostgreSQL itself, over verified TLS.
def test_django_connects_over_verified_tls(hosts):
    app = hosts["app"]
    settings = app.file("/etc/opt/geodemo/settings.py").content_string
    assert "'HOST': 'djangodeploy-mh-db'" in settings
    assert "'sslmode': 'verify-full'" in settings
    code = ("from django.db import connection\n"
            "c = connection.cursor()\n"
            "c.execute('SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()')\n"
            "import json; print(json.dumps(c.fetchone()))\n")
    command = ("env PYTHONPATH=/etc/opt/geodemo:/opt/geodemo DJANGO_SETTINGS_MODULE=settings DJANGODEPLOY_DB_DIRECT=1 "
               "/opt/geodemo/venv/bin/python /opt/geodemo/manage.py shell -c %s" % shlex.quote(code))
    result = app.run("runuser -u geodemo -- sh -c %s", command)
    assert result.rc == 0, result.stderr
    ssl, version = json.loads(result.stdout.strip().splitlines()[-1])
    assert ssl is True and version.startswith("TLSv1.")


def test_the_outsider_is_refused(hosts):
    db_password = hosts["db"].ansible.get_variables()["django_db_password"]
    knock = hosts["outsider"].run(
        "PGPASSWORD=%s psql -XAt 'host=djangodeploy-mh-db dbname=geodemo user=geodemo sslmode=require' -c 'SELECT 1'",
        db_password)
    assert knock.rc != 0
    assert "no pg_hba.conf entry" in knock.stderr


def test_an_app_host_leaving_the_inventory_leaves_pg_hba(hosts, inventory_file, run_site, tmp_path):
    # A copy of the scenario's inventory folder (its group_vars come along), minus the app host.
    smaller = tmp_path / "inventory"
    shutil.copytree(pathlib.Path(inventory_file).parent, smaller)
    hosts_file = smaller / pathlib.Path(inventory_file).name
    without_app = yaml.safe_load(hosts_file.read_text())
    without_app["appservers"]["hosts"] = {}
    hosts_file.write_text(yaml.safe_dump(without_app))
    # The operator's own line outside our block must survive both runs.
    db = hosts["db"]
    db.run("echo '# operator: keep me' >> /etc/postgresql/15/main/pg_hba.conf")
    try:
        rc, output, _ = run_site(smaller)
        assert rc == 0, output
        assert hba_block(db) == []
        assert "hostssl" not in db.file("/etc/pgbouncer/pg_hba.conf").content_string
        assert db.check_output("runuser -u postgres -- psql -XAtc 'SHOW listen_addresses'") == "localhost"
    finally:
        rc, output, _ = run_site(inventory_file)
    assert rc == 0, output
    assert len(hba_block(db)) == 1
    assert "# operator: keep me" in db.file("/etc/postgresql/15/main/pg_hba.conf").content_string
    assert hba_block(db)[0] in db.file("/etc/pgbouncer/pg_hba.conf").content_string.splitlines()


def test_a_new_client_is_let_in_by_a_reload_not_a_restart(hosts, inventory_file, run_site):
    db, app_address = hosts["db"], address(hosts["app"])

    def server_times():
        """When the server started, and when it last loaded its configuration."""
        return tuple(db.check_output("runuser -u postgres -- psql -XAt -F ' | ' -c %s",
                                     "SELECT pg_postmaster_start_time(), pg_conf_load_time()").split(" | "))

    # Addresses given explicitly, so the run can be limited to the db host. 192.0.2.0/24 is
    # TEST-NET-1: a pg_hba.conf line only, nothing ever connects to or from it.
    def converge(*addresses):
        extra = json.dumps({"postgresql_client_addresses": list(addresses)})
        rc, output, _ = run_site(inventory_file, "--limit", "dbservers", "-e", extra)
        assert rc == 0, output

    started, loaded = server_times()
    try:
        converge(app_address, "192.0.2.10")
        assert hba_block(db) == ['hostssl "geodemo" "geodemo" %s/32 scram-sha-256' % ip for ip in (app_address, "192.0.2.10")]
        started_after, loaded_after = server_times()
        assert started_after == started, "PostgreSQL was restarted for a pg_hba.conf change"
        assert loaded_after != loaded, "pg_hba.conf changed but PostgreSQL was not reloaded"
    finally:
        converge(app_address)
    assert len(hba_block(db)) == 1
    assert server_times()[0] == started
