"""Streaming replication: db2 streams from db1 over verified TLS, Django on app1 reads through the
replica alias; then, in this order because each changes the set-up, the refusals, a switchover
to db2 that loses no row, and a standby leaving the inventory. One file: pytest runs it in order."""

import json
import pathlib
import shlex
import shutil
import time

import pytest
import testinfra
import yaml

from conftest import psql

DB1, DB2, APP = "djangodeploy-rep-db1", "djangodeploy-rep-db2", "djangodeploy-rep-app1"
SLOT = {DB1: "djangodeploy_rep_db1", DB2: "djangodeploy_rep_db2"}
HBA = "/etc/postgresql/15/main/pg_hba.conf"
REPLICATION_BLOCK = "# BEGIN djangodeploy.postgresql: replication"
HBA_REPLICATION_RULES = "SELECT count(*) FROM pg_hba_file_rules WHERE type = 'hostssl' AND 'replication' = ANY(database)"
SUM = "SELECT count(*) || ' ' || coalesce(md5(string_agg(id || ':' || text, ',' ORDER BY id)), '') FROM places_note"


@pytest.fixture(scope="module")
def hosts(inventory_file):
    return {name: testinfra.get_host("ansible://%s?ansible_inventory=%s" % (name, inventory_file))
            for name in (DB1, DB2, APP)}


def django(app, code):
    """Python in Django's shell on the app host, as the Django user; its last line of output."""
    command = ("cd /opt/geodemo && env PYTHONPATH=/etc/opt/geodemo:/opt/geodemo DJANGO_SETTINGS_MODULE=settings "
               "/opt/geodemo/venv/bin/python manage.py shell -c %s" % shlex.quote(code))
    result = app.run("runuser -u geodemo -- sh -c %s", command)
    assert result.rc == 0, result.stdout + result.stderr
    return result.stdout.strip().splitlines()[-1]


def address(host):
    return host.ansible("setup", "filter=ansible_default_ipv4")["ansible_facts"]["ansible_default_ipv4"]["address"]


def replication_block(db):
    text = db.file(HBA).content_string
    if REPLICATION_BLOCK not in text:
        return []
    return [line for line in text.split(REPLICATION_BLOCK, 1)[1].split("# END", 1)[0].splitlines() if line.strip()]


def streams(primary, standby):
    """pg_stat_replication and pg_stat_ssl on the primary, for the standby's walsender."""
    return psql(primary, "SELECT r.state, s.ssl FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid) "
                         "WHERE r.application_name = '%s'" % SLOT[standby.backend.host])


def wait_for(probe, expected, seconds=20):
    deadline = time.monotonic() + seconds
    while True:
        found = probe()
        if found == expected or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def inventory_copy(inventory_file, folder, change):
    """A copy of the scenario's inventory folder (group_vars and host_vars come along) in folder,
    its hosts file changed by change(hosts_dict, folder); the copied hosts file's path."""
    shutil.copytree(pathlib.Path(inventory_file).parent, folder)
    hosts_file = folder / pathlib.Path(inventory_file).name
    data = yaml.safe_load(hosts_file.read_text())
    change(data, folder)
    hosts_file.write_text(yaml.safe_dump(data))
    return hosts_file


def test_db2_streams_from_db1_over_tls_into_its_slot(hosts):
    db1, db2 = hosts[DB1], hosts[DB2]
    assert streams(db1, db2) == "streaming|t"
    assert psql(db1, "SELECT active FROM pg_replication_slots WHERE slot_name = '%s'" % SLOT[DB2]) == "t"
    assert psql(db2, "SELECT status, sender_host FROM pg_stat_wal_receiver") == "streaming|" + DB1
    assert "sslmode='verify-full'" in psql(db2, "SHOW primary_conninfo")  # as pg_basebackup -R wrote it
    # pg_lsclusters shows the Debian cluster, run by its systemd unit, as a recovering cluster.
    assert db2.service("postgresql@15-main").is_running
    assert "online,recovery" in db2.check_output("pg_lsclusters --no-header")


def test_the_password_is_in_the_passfile_only(hosts, ansible_vars):
    db2 = hosts[DB2]
    passfile = db2.file("/var/lib/postgresql/djangodeploy-replication.pgpass")
    assert (passfile.user, passfile.mode) == ("postgres", 0o600)
    auto_conf = db2.file("/var/lib/postgresql/15/main/postgresql.auto.conf").content_string
    assert "password" not in auto_conf and "passfile=" in auto_conf
    assert "'ion'" not in auto_conf  # a piece of postgresql_replication_password


def test_the_standby_is_read_only(hosts):
    db2 = hosts[DB2]
    assert psql(db2, "SELECT pg_is_in_recovery()") == "t"
    write = db2.run("runuser -u postgres -- psql -X -v ON_ERROR_STOP=1 -d geodemo -c %s",
                    "INSERT INTO places_note (text, created) VALUES ('on a standby', now())")
    assert write.rc != 0 and "read-only transaction" in write.stderr


def test_pg_hba_lets_each_other_database_server_stream_and_no_one_else(hosts):
    assert replication_block(hosts[DB1]) == ['hostssl replication "replicator" %s/32 scram-sha-256' % address(hosts[DB2])]
    assert replication_block(hosts[DB2]) == ['hostssl replication "replicator" %s/32 scram-sha-256' % address(hosts[DB1])]
    assert psql(hosts[DB1], HBA_REPLICATION_RULES) == "1"  # as the server reads it


def test_django_reads_back_from_the_replica_what_it_wrote(hosts):
    app = hosts[APP]
    settings = app.file("/etc/opt/geodemo/settings.py").content_string
    assert "'HOST': '%s'" % DB1 in settings and "'HOST': '%s'" % DB2 in settings
    assert "'target_session_attrs': 'prefer-standby'" in settings
    assert "DATABASE_ROUTERS = ['djangodeploy_router.PrimaryReplicaRouter']" in settings
    code = ("import json, time\nfrom django.db import connections\nfrom places.models import Note\n"
            "n = Note.objects.create(text='written through Django')\n"
            "start = time.monotonic()\n"
            "while not Note.objects.filter(pk=n.pk).exists() and time.monotonic() - start < 10: time.sleep(0.1)\n"
            "c = connections['replica'].cursor()\n"
            "c.execute('SELECT pg_is_in_recovery(), host(inet_server_addr())')\n"
            "print(json.dumps([Note.objects.filter(pk=n.pk).exists(), Note.objects.db, time.monotonic() - start]"
            " + list(c.fetchone())))")
    seen, read_from, seconds, in_recovery, server = json.loads(django(app, code))
    assert (seen, read_from, in_recovery) == (True, "replica", True), (seen, read_from, in_recovery)
    assert server == address(hosts[DB2])
    assert seconds < 5


def test_status_playbook_shows_each_standby_and_its_lag(playbook):
    rc, output, _ = playbook(pathlib.Path(__file__).parents[3] / "playbooks" / "replication_status.yml")
    assert rc == 0, output
    assert "%s: streaming from " % SLOT[DB2] in output and "TLS yes" in output
    assert " bytes / " in output


def test_a_foreign_cluster_in_the_standby_position_stops_the_run_and_keeps_its_data(hosts, inventory_file, run_site):
    db1, db2 = hosts[DB1], hosts[DB2]
    # An operator replaced db2's cluster by one of their own, holding a row that must survive.
    db2.check_output("pg_dropcluster --stop 15 main && pg_createcluster --locale en_US.UTF-8 --start 15 main")
    psql(db2, "CREATE DATABASE theirs")
    psql(db2, "CREATE TABLE keep (v text); INSERT INTO keep VALUES ('precious')", database="theirs")
    rc, output, _ = run_site(inventory_file, "--limit", "dbservers")
    assert rc != 0
    assert "postgresql_replica_rebuild=true" in output and DB2 in output
    assert psql(db2, "SELECT v FROM keep", database="theirs") == "precious"
    assert psql(db2, "SELECT pg_is_in_recovery()") == "f"

    # Asked to, the run rebuilds it as a standby and keeps the old data directory aside.
    rc, output, _ = run_site(inventory_file, "--limit", "dbservers", "-e", "postgresql_replica_rebuild=true")
    assert rc == 0, output
    assert wait_for(lambda: streams(db1, db2), "streaming|t") == "streaming|t"
    kept = db2.check_output("ls -d /var/lib/postgresql/15/main.djangodeploy-old-*").split()
    assert len(kept) == 1
    assert db2.file(kept[0] + "/PG_VERSION").exists


def test_switchover_refuses_a_target_that_is_not_a_standby(hosts, playbook):
    rc, output, _ = playbook(pathlib.Path(__file__).parents[3] / "playbooks" / "switchover.yml",
                             "-e", "postgresql_new_primary=" + DB1)
    assert rc != 0
    assert "Switchover to %s refused, nothing was changed: it is not a standby" % DB1 in output
    rc, output, _ = playbook(pathlib.Path(__file__).parents[3] / "playbooks" / "switchover.yml",
                             "-e", "postgresql_new_primary=" + DB2, "-e", "postgresql_switchover_max_lag=-1")
    assert rc != 0 and "more than postgresql_switchover_max_lag" in output
    assert psql(hosts[DB1], "SELECT pg_is_in_recovery()") == "f"


def test_switchover_to_db2_loses_no_row(hosts, inventory_file, playbook, run_site, tmp_path):
    db1, db2, app = hosts[DB1], hosts[DB2], hosts[APP]
    django(app, "from places.models import Note\n"
                "Note.objects.bulk_create(Note(text='row %d \\'q\\' ünï' % i) for i in range(500))\nprint('ok')")
    before = psql(db1, SUM, database="geodemo")
    assert int(before.split()[0]) >= 501

    rc, output, _ = playbook(pathlib.Path(__file__).parents[3] / "playbooks" / "switchover.yml",
                             "-e", "postgresql_new_primary=" + DB2)
    assert rc == 0, output
    assert psql(db2, "SELECT pg_is_in_recovery()") == "f"
    assert psql(db2, SUM, database="geodemo") == before
    assert wait_for(lambda: streams(db2, db1), "streaming|t") == "streaming|t"
    assert psql(db1, "SELECT count(*) FROM pg_replication_slots") == "0"
    assert psql(db2, "SELECT active FROM pg_replication_slots WHERE slot_name = '%s'" % SLOT[DB1]) == "t"
    settings = app.file("/etc/opt/geodemo/settings.py").content_string
    assert settings.index("'HOST': '%s'" % DB2) < settings.index("'replica'") < settings.index("'HOST': '%s'" % DB1)

    # Django writes on db2 now; db1 replays it.
    marker = django(app, "from places.models import Note\nprint(Note.objects.create(text='after the switchover').pk)")
    assert wait_for(lambda: psql(db1, "SELECT count(*) FROM places_note WHERE id = %s" % marker, database="geodemo"),
                    "1") == "1"

    # The inventory not updated yet: db1 is still marked primary, but it is a standby now. The
    # site playbook must stop before any change rather than clone db2's data over.
    rc, output, recap = run_site(inventory_file)
    assert rc != 0
    assert "Nothing was changed" in output and "move postgresql_role=primary to the live primary" in output
    assert recap[DB1]["changed"] == 0 and recap[DB2]["changed"] == 0

    # With the inventory updated, the site playbook has nothing to do.
    def promote_db2(data, folder):
        (folder / "host_vars" / DB1).unlink()
        data["dbservers"]["hosts"][DB2]["postgresql_role"] = "primary"
    updated = inventory_copy(inventory_file, tmp_path / "switched", promote_db2)
    rc, output, recap = run_site(updated)
    assert rc == 0, output
    assert all(counts["changed"] == 0 for counts in recap.values()), output
    pytest.switched_inventory = updated


def test_a_standby_leaving_the_inventory_loses_its_slot_and_line(hosts, run_site, tmp_path):
    db2 = hosts[DB2]
    updated = getattr(pytest, "switched_inventory", None)
    if updated is None:
        pytest.skip("needs the switchover above")
    smaller = inventory_copy(updated, tmp_path / "smaller", lambda data, folder: data["dbservers"]["hosts"].pop(DB1))
    rc, output, _ = run_site(smaller, "--limit", "dbservers")
    assert rc == 0, output
    assert psql(db2, "SELECT count(*) FROM pg_replication_slots") == "0"
    assert replication_block(db2) == []
    assert psql(db2, HBA_REPLICATION_RULES) == "0"
