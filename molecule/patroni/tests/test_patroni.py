"""Automatic failover with Patroni and etcd: three database servers, Django on the app host
listing them all. In order (pytest runs one file in order, each test builds on the last): the
healthy cluster, then the leader's container killed under a writer that commits through Django
(synchronous mode), then the dead leader started again, then the site playbook's rerun."""

import json
import pathlib
import shlex
import subprocess
import time

import pytest
import testinfra

from conftest import psql

DBS = ["djangodeploy-pat-db1", "djangodeploy-pat-db2", "djangodeploy-pat-db3"]
APP = "djangodeploy-pat-app1"
PATRONI = "/etc/patroni/15-main.yml"
ETCD_TLS = "/etc/etcd/djangodeploy"
# Django settings as the app's user, on the app host: the writer below runs with them.
DJANGO_ENV = "cd /opt/geodemo && PYTHONPATH=/etc/opt/geodemo:/opt/geodemo DJANGO_SETTINGS_MODULE=settings"
WRITER = r'''
import os, sys, time, django
django.setup()
from django.db import connection
from places.models import Note
ok = open("/tmp/writer.ok", "a")
n = 0
while not os.path.exists("/tmp/writer.stop"):
    n += 1
    try:
        note = Note.objects.create(text="writer %d" % n)
    except Exception as error:  # the leader is gone: a new connection finds the next one
        connection.close()
        print("%.3f error %s" % (time.time(), str(error).splitlines()[0] if str(error) else type(error).__name__), flush=True)
        time.sleep(0.2)
        continue
    ok.write("%.3f %d\n" % (time.time(), note.pk))
    ok.flush()
    os.fsync(ok.fileno())
    time.sleep(0.02)
'''
ROWS = "SELECT count(*) || ' ' || coalesce(md5(string_agg(id::text, ',' ORDER BY id)), '') FROM places_note WHERE id IN (%s)"


@pytest.fixture(scope="module")
def hosts(inventory_file):
    return {name: testinfra.get_host("ansible://%s?ansible_inventory=%s" % (name, inventory_file))
            for name in DBS + [APP]}


def members(db):
    """patronictl list as JSON on a database server: {member: row}."""
    result = db.run("patronictl -c %s list --format json", PATRONI)
    assert result.rc == 0, result.stdout + result.stderr
    return {row["Member"]: row for row in json.loads(result.stdout)}


def leader_of(db):
    return [name for name, row in members(db).items() if row["Role"] == "Leader"]


def wait_for(probe, seconds, pause=1.0):
    deadline = time.monotonic() + seconds
    while True:
        try:
            found = probe()
        except AssertionError:
            found = None
        if found or time.monotonic() > deadline:
            return found
        time.sleep(pause)


def etcdctl(host, *args, cert=True):
    tls = "--cacert={0}/ca.crt --cert={0}/server.crt --key={0}/server.key".format(ETCD_TLS) if cert else \
        "--cacert=/var/lib/postgresql/djangodeploy-ca.crt"
    address = host.ansible("setup", "filter=ansible_default_ipv4")["ansible_facts"]["ansible_default_ipv4"]["address"]
    return host.run("etcdctl %s --endpoints=https://%s:2379 --command-timeout=5s %s" % (tls, address, " ".join(args)))


def test_one_leader_and_two_synchronous_or_streaming_replicas(hosts):
    listed = members(hosts[DBS[0]])
    assert sorted(listed) == DBS
    roles = sorted(row["Role"] for row in listed.values())
    assert roles == ["Leader", "Replica", "Sync Standby"], listed
    leader = [name for name, row in listed.items() if row["Role"] == "Leader"][0]
    # Both replicas stream from the leader over TLS, each into its own slot.
    assert psql(hosts[leader], "SELECT count(*) FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid) "
                               "WHERE r.state = 'streaming' AND s.ssl") == "2"
    assert psql(hosts[leader], "SELECT count(*) FROM pg_replication_slots WHERE active") == "2"
    assert psql(hosts[leader], "SHOW synchronous_standby_names") != ""


def test_the_data_written_before_patroni_is_on_every_member(hosts):
    # prepare.yml converged without postgresql_ha and wrote 100 rows through Django.
    for name in DBS:
        assert psql(hosts[name], "SELECT count(*) FROM places_note WHERE text LIKE 'before patroni %'",
                    database="geodemo") == "100"


def test_patroni_runs_the_debian_cluster_and_postgresql_at_stays_stopped(hosts):
    for name in DBS:
        db = hosts[name]
        assert db.service("patroni@15-main").is_running and db.service("patroni@15-main").is_enabled
        assert not db.service("postgresql@15-main").is_running
        assert db.file("/etc/postgresql/15/main/start.conf").content_string.strip() == "manual"
        status = db.check_output("pg_lsclusters --no-header").split()[3]  # online,patroni or online,recovery,patroni
        assert status.startswith("online,") and status.endswith(",patroni"), status
        config = db.file(PATRONI)
        assert (config.user, config.mode) == ("postgres", 0o600)


def test_etcd_is_healthy_over_tls_and_refuses_clients_without_our_certificate(hosts):
    for name in DBS:
        health = etcdctl(hosts[name], "endpoint", "health", "--cluster")
        assert health.rc == 0 and (health.stdout + health.stderr).count("is healthy") == 3, health.stdout + health.stderr
    # Without a client certificate of our CA, etcd does not answer.
    refused = etcdctl(hosts[DBS[0]], "get", "--prefix", "/postgresql-common/", cert=False)
    assert refused.rc != 0 and "leader" not in refused.stdout


def test_django_finds_the_leader_over_tls_from_the_host_list(hosts):
    settings = hosts[APP].file("/etc/opt/geodemo/settings.py").content_string
    assert "'HOST': '%s'" % ",".join(DBS) in settings
    assert "'target_session_attrs': 'read-write'" in settings
    # default: the leader (read-write); replica: a standby (prefer-standby over the same list).
    code = ("from django.db import connections\nfor alias in ('default', 'replica'):\n"
            "    c = connections[alias].cursor()\n"
            "    c.execute('SELECT pg_is_in_recovery(), ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')\n"
            "    print(alias, *c.fetchone())")
    result = hosts[APP].run("runuser -u geodemo -- sh -c %s", "%s /opt/geodemo/venv/bin/python manage.py shell -c %s"
                            % (DJANGO_ENV, shlex.quote(code)))
    assert result.rc == 0 and result.stdout.strip().splitlines()[-2:] == ["default False True", "replica True True"], \
        result.stdout + result.stderr


def test_killing_the_leader_loses_no_committed_row_and_django_writes_again(hosts, request):
    app = hosts[APP]
    old_leader = leader_of(hosts[DBS[0]])[0]
    survivors = [name for name in DBS if name != old_leader]
    settings_before = app.file("/etc/opt/geodemo/settings.py").sha256sum
    app.run("rm -f /tmp/writer.ok /tmp/writer.stop /tmp/writer.log; install -o geodemo -m 644 /dev/null /tmp/writer.ok")
    app.run("cat > /tmp/writer.py <<'EOF'\n%s\nEOF" % WRITER)
    started = app.run("runuser -u geodemo -- sh -c %s",
                      "%s nohup /opt/geodemo/venv/bin/python /tmp/writer.py > /tmp/writer.log 2>&1 &" % DJANGO_ENV)
    assert started.rc == 0, started.stderr
    assert wait_for(lambda: int(app.check_output("wc -l < /tmp/writer.ok")) >= 50, 60), app.check_output("cat /tmp/writer.log")

    subprocess.run(["docker", "kill", old_leader], check=True, stdout=subprocess.DEVNULL)
    killed_at = time.time()
    request.config.cache_killed = old_leader  # the next test starts it again

    new_leader = wait_for(lambda: [n for n in leader_of(hosts[survivors[0]]) if n != old_leader], 90)
    leader_seconds = time.time() - killed_at
    assert new_leader, "no new leader 90 s after the leader died: %s" % members(hosts[survivors[0]])
    # Writes succeed again through the same settings.py.
    assert wait_for(lambda: float(app.check_output("tail -n 1 /tmp/writer.ok").split()[0]) > killed_at + 1
                    and int(app.check_output("awk '$1 > %f' /tmp/writer.ok | wc -l" % killed_at)) >= 20, 120), \
        app.check_output("tail -n 5 /tmp/writer.log")
    app.run("touch /tmp/writer.stop")
    time.sleep(2)
    lines = [line.split() for line in app.check_output("cat /tmp/writer.ok").splitlines()]
    first_write_after = min(float(t) for t, _ in lines if float(t) > killed_at)
    print("new leader %s after %.1f s; Django wrote again after %.1f s" % (new_leader[0], leader_seconds,
                                                                           first_write_after - killed_at))
    assert leader_seconds < 20 + 5 + 15  # ttl + loop_wait of the scenario, and Patroni's own margin
    assert app.file("/etc/opt/geodemo/settings.py").sha256sum == settings_before

    # Every row whose commit returned is on the new leader: count and checksum.
    ids = sorted(int(pk) for _, pk in lines)
    expected = "%d %s" % (len(ids), __import__("hashlib").md5(",".join(map(str, ids)).encode()).hexdigest())
    assert psql(hosts[new_leader[0]], ROWS % ",".join(map(str, ids)), database="geodemo") == expected


def changed_tasks(output):
    """Each task that reported a change, with its changed lines (the whole output is too long to read)."""
    found, task = [], ""
    for line in output.splitlines():
        if line.startswith(("TASK", "RUNNING HANDLER")):
            task = line
        elif line.startswith("changed"):
            found.append(task + "\n" + line)
    return "\n".join(found)


def test_the_old_leader_rejoins_as_a_replica_and_the_site_playbook_changes_nothing(hosts, request, inventory_file,
                                                                                   run_site):
    old_leader = request.config.cache_killed
    subprocess.run(["docker", "start", old_leader], check=True, stdout=subprocess.DEVNULL)
    # Patroni starts at boot, rewinds the old timeline and streams from the new leader.
    rejoined = wait_for(lambda: members(hosts[old_leader]).get(old_leader, {}).get("Role") in ("Replica", "Sync Standby")
                        and psql(hosts[old_leader], "SELECT status FROM pg_stat_wal_receiver", check=False) == "streaming",
                        180, pause=3)
    assert rejoined, members(hosts[DBS[0]])
    leader = leader_of(hosts[old_leader])[0]
    ids = hosts[APP].check_output("awk '{print $2}' /tmp/writer.ok | paste -sd, -")
    assert wait_for(lambda: psql(hosts[old_leader], ROWS % ids, database="geodemo")
                    == psql(hosts[leader], ROWS % ids, database="geodemo"), 30)

    code, output, recap = run_site(inventory_file)
    assert code == 0, output[-3000:]
    assert all(counts["changed"] == 0 for counts in recap.values()), changed_tasks(output)


def test_switchover_through_patroni_moves_the_leader_and_django_follows(hosts, playbook):
    listed = members(hosts[DBS[0]])
    leader = [name for name, row in listed.items() if row["Role"] == "Leader"][0]
    target = [name for name, row in listed.items() if row["Role"] == "Sync Standby"][0]
    other = [name for name in DBS if name not in (leader, target)][0]
    switchover = pathlib.Path(__file__).parents[3] / "playbooks" / "switchover.yml"
    code, output, _ = playbook(switchover, "-e", "postgresql_new_primary=" + leader)
    assert code != 0 and "it already leads" in output, output[-3000:]
    # In synchronous mode only the synchronous standby may lead: refused before any change.
    code, output, _ = playbook(switchover, "-e", "postgresql_new_primary=" + other)
    assert code != 0 and "only the synchronous standby (%s)" % target in output, output[-3000:]
    assert leader_of(hosts[leader]) == [leader]
    code, output, recap = playbook(switchover, "-e", "postgresql_new_primary=" + target)
    assert code == 0, output[-3000:]
    assert leader_of(hosts[leader]) == [target]
    code = ("from places.models import Note\nfrom django.db import connection\n"
            "Note.objects.create(text='after switchover')\nc = connection.cursor()\n"
            "c.execute('SELECT host(inet_server_addr())')\nprint(c.fetchone()[0])")
    result = hosts[APP].run("runuser -u geodemo -- sh -c %s", "%s /opt/geodemo/venv/bin/python manage.py shell -c %s"
                            % (DJANGO_ENV, shlex.quote(code)))
    address = hosts[target].ansible("setup", "filter=ansible_default_ipv4")["ansible_facts"]["ansible_default_ipv4"]["address"]
    assert result.rc == 0 and result.stdout.strip().splitlines()[-1] == address, result.stdout + result.stderr


def test_settings_reach_every_member_through_patroni(hosts, inventory_file, run_site):
    # work_mem: conf.d and a reload (patronictl reload); max_connections: on postgres' command
    # line, so Patroni's dynamic configuration and a rolling restart (patronictl restart --pending).
    settings = ["-e", '{"postgresql_settings": {"work_mem": "8MB", "max_connections": 120}}']
    code, output, recap = run_site(inventory_file, *settings)
    assert code == 0, output[-3000:]
    assert "Reload PostgreSQL through Patroni" in output and "Restart them through Patroni" in output
    for name in DBS:
        assert psql(hosts[name], "SELECT current_setting('work_mem') || ' ' || current_setting('max_connections')") \
            == "8MB 120", name
    listed = members(hosts[DBS[0]])
    assert all(row["State"] in ("running", "streaming") and not row.get("Pending restart") for row in listed.values()), listed
    assert not any(hosts[name].service("postgresql@15-main").is_running for name in DBS)
    code, output, recap = run_site(inventory_file, *settings)
    assert code == 0 and all(counts["changed"] == 0 for counts in recap.values()), output[-3000:]
