#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""Time to add a streaming standby with the site playbook, beside raw pg_basebackup of the same data.

Usage: nice -n 19 .venv/bin/python bench/replica.py [--size-mb 1024] [--apt-in-run] [--output FILE]

Creates a docker network and three bookworm containers of its own (systemd as PID 1, the
platform settings of bench/fleet.py, --cpu-shares 64 so that other jobs on the machine keep
their share), reached over community.docker.docker with pipelining:
djangodeploy-bench-replica-db1, -db2 and -app1. Then, in one run:

  1. deploys the test project on app1 (molecule/shared/prepare.yml) and converges db1 alone in
     dbservers (the primary) with app1 in appservers (playbooks/site.yml);
  2. fills Django's table places_note on db1 with plain SQL (INSERT ... SELECT generate_series,
     rows of 192 characters that do not compress) until pg_database_size reaches --size-mb,
     then VACUUM ANALYZE and CHECKPOINT;
  3. installs the PostgreSQL packages on db2 (acl, postgresql-15, postgresql-15-postgis-3, as
     the role would), untimed: the timed run measures the copy and the configuration, not apt
     (--apt-in-run leaves them to the role, inside the timed run);
  4. times the site playbook with db2 added to dbservers (the role's pg_basebackup -X stream -R
     -S SLOT --checkpoint=fast), with profile_tasks for the copy task's own time, and checks on
     db1 that pg_stat_replication shows db2 streaming;
  5. times, on db2, a raw pg_basebackup of the same cluster (the floor) with the role's own TLS
     and password set-up (its passfile and CA, sslmode=verify-full), -X stream --checkpoint=fast,
     into a directory beside the data directory (the same file system), then removes it;
  6. times the site playbook's rerun (changed=0) with both database servers, for reference.

Prints a Markdown report and writes it to --output.  The containers and the network are removed
at the end, also when a step fails or the bench gets SIGTERM.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _bench  # noqa: E402  pylint: disable=wrong-import-position
import fleet  # noqa: E402  pylint: disable=wrong-import-position

PREFIX = "djangodeploy-bench-replica-"
NETWORK = PREFIX + "net"
DB1, DB2, APP = PREFIX + "db1", PREFIX + "db2", PREFIX + "app1"
NAMES = (DB1, DB2, APP)
REPLICATION_PASSWORD = "bench rep'li\\cation"
PG_MAJOR = "15"
PACKAGES = ["acl", "postgresql-" + PG_MAJOR, "postgresql-%s-postgis-3" % PG_MAJOR]
PGPASS = "/var/lib/postgresql/djangodeploy-replication.pgpass"
CA = "/var/lib/postgresql/djangodeploy-ca.crt"
FLOOR_DIR = "/var/lib/postgresql/%s/bench-floor" % PG_MAJOR  # beside main/: the same file system
ROW_BYTES = 250  # a row of places_note as filled below, with its share of the primary key index
NICE = ["nice", "-n", "19"]


def docker(*args, check=True, timeout=3600):
    proc = subprocess.run(NICE + ["docker"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=timeout, check=False)
    out = proc.stdout.decode("utf-8", "replace")
    if check and proc.returncode != 0:
        raise _bench.RunFailed("docker %s failed (rc=%d):\n%s" % (" ".join(args[:3]), proc.returncode, out[-4000:]))
    return out


def create():
    destroy()
    docker("network", "create", NETWORK)
    for name in NAMES:
        run = [arg for arg in fleet.DOCKER_RUN if arg != "docker"]
        docker(*(run + ["--cpu-shares", "64", "--network", NETWORK, "--name", name, "--hostname", name,
                        fleet.IMAGE, "/lib/systemd/systemd"]))


def destroy():
    for name in NAMES:
        docker("rm", "-f", name, check=False)
    docker("network", "rm", NETWORK, check=False)


def psql(host, sql, database="geodemo"):
    """One SQL command as postgres on host; the unaligned output."""
    return docker("exec", host, "runuser", "-u", "postgres", "--", "psql", "-XAtq", "-v", "ON_ERROR_STOP=1",
                  "-d", database, "-c", sql).strip()


def write_inventory(work, dbservers):
    path = os.path.join(work, "hosts-%d.yml" % len(dbservers))
    inventory = {"all": {
        "vars": {
            "ansible_connection": "community.docker.docker",
            "django_project": "geodemo",
            "django_db_password": fleet.DB_PASSWORD,
            "django_test_wheelhouse": os.path.join(_bench.REPO, ".cache", "wheelhouse"),
            "djangodeploy_pki_dir": os.path.join(work, "pki"),
            "postgresql_replication_password": REPLICATION_PASSWORD,
        },
        "children": {
            "dbservers": {"hosts": dict((name, {"postgresql_role": "primary"} if name == DB1 else {})
                                        for name in dbservers)},
            "appservers": {"hosts": {APP: {}}},
        }}}
    with open(path, "w") as handle:
        json.dump(inventory, handle, indent=2)  # JSON is YAML
    return path


def playbook(path, inventory, log, extra_env=None):
    """(wall seconds, output) of one ansible-playbook run, niced, pipelining on."""
    env = {"ANSIBLE_PIPELINING": "True"}
    env.update(extra_env or {})
    cmd = NICE + [os.path.join(_bench.VENV_BIN, "ansible-playbook"), "-i", inventory, path]
    return _bench.timed(cmd, env=_bench.ansible_env(env), cwd=_bench.REPO, log=log, timeout=3600)


def loadavg():
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


def fill(size_mb, batch_rows=400000):
    """Rows in places_note on db1 until the database holds size_mb MiB; (rows, seconds)."""
    start = time.monotonic()
    target = size_mb * 1024 * 1024
    size = int(psql(DB1, "SELECT pg_database_size('geodemo')"))
    while size < target:
        rows = min(batch_rows, max(1000, (target - size) // ROW_BYTES))
        # 192 characters of hex digits per row: under the TOAST threshold, so stored as is.
        psql(DB1, "INSERT INTO places_note (text, created) SELECT repeat(md5(g::text), 6), now() "
                  "FROM generate_series(1, %d) g" % rows)
        size = int(psql(DB1, "SELECT pg_database_size('geodemo')"))
        _bench.say("replica: filled to %.0f MiB (%.0f s)" % (size / 1048576.0, time.monotonic() - start))
    psql(DB1, "VACUUM ANALYZE places_note")
    psql(DB1, "CHECKPOINT")
    return int(psql(DB1, "SELECT count(*) FROM places_note")), time.monotonic() - start


def copy_task_seconds(out):
    """The role's pg_basebackup task's own time in a profile_tasks recap."""
    match = re.search(r"Copy the primary with pg_basebackup -+ ([0-9.]+)s", out)
    return float(match.group(1)) if match else None


def restarts(out):
    """[(host, task)] of the 'Restart PostgreSQL for ...' tasks that changed a host."""
    found = []
    # profile_tasks puts a time stamp line under each task's header
    task = re.compile(r"^TASK \[[^\]]*: (Restart PostgreSQL[^\]]*)\] \**\n(?:\w+day .*\n)?"
                      r"((?:(?:changed|ok|skipping): .*\n)+)", re.M)
    for match in task.finditer(out):
        for host in re.findall(r"^changed: \[([^\]]+)\]", match.group(2), re.M):
            found.append((host.replace(PREFIX, ""), match.group(1)))
    return found


def floor(conninfo):
    """Seconds of a raw pg_basebackup on db2 from db1 into FLOOR_DIR, and the copy's size in bytes."""
    docker("exec", DB2, "rm", "-rf", FLOOR_DIR)
    start = time.monotonic()
    docker("exec", DB2, "runuser", "-u", "postgres", "--", "/usr/lib/postgresql/%s/bin/pg_basebackup" % PG_MAJOR,
           "--pgdata=" + FLOOR_DIR, "--wal-method=stream", "--checkpoint=fast", "--dbname=" + conninfo)
    seconds = time.monotonic() - start
    size = int(docker("exec", DB2, "du", "-sb", FLOOR_DIR).split()[0])
    docker("exec", DB2, "rm", "-rf", FLOOR_DIR)
    return seconds, size


def main():  # pylint: disable=too-many-locals,too-many-statements
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="pg_database_size to fill the database to")
    parser.add_argument("--apt-in-run", action="store_true",
                        help="do not install the PostgreSQL packages on db2 first: the timed run installs them")
    parser.add_argument("--output", default=os.path.join(_bench.RESULTS, "replica.md"))
    opts = parser.parse_args()
    work = tempfile.mkdtemp(prefix="djangodeploy-bench-replica-")
    log = os.path.join(work, "replica.log")
    site = os.path.join(_bench.REPO, "playbooks", "site.yml")
    prepare = os.path.join(_bench.REPO, "molecule", "shared", "prepare.yml")
    machine = _bench.machine()
    results = {}
    notes = []

    _bench.raise_on_sigterm()  # so that the containers and the network are removed
    try:
        _bench.say("replica: creating %s and %s (log: %s)" % (NETWORK, ", ".join(NAMES), log))
        create()
        one = write_inventory(work, [DB1])
        two = write_inventory(work, [DB1, DB2])
        seconds, _ = playbook(prepare, one, log, {"MOLECULE_EPHEMERAL_DIRECTORY": work})
        _bench.say("replica: prepare %.0f s" % seconds)
        seconds, out = playbook(site, one, log)
        results["primary"] = seconds
        _bench.say("replica: primary and app converged in %.0f s, changed=%d" % (seconds, _bench.changed_total(out)))

        rows, seconds = fill(opts.size_mb)
        results["rows"], results["fill"] = rows, seconds
        results["db_size"] = int(psql(DB1, "SELECT pg_database_size('geodemo')"))
        results["cluster_size"] = int(psql(DB1, "SELECT sum(pg_database_size(oid)) FROM pg_database"))
        _bench.say("replica: %d rows, geodemo %.0f MiB, all databases %.0f MiB, in %.0f s" % (
            rows, results["db_size"] / 1048576.0, results["cluster_size"] / 1048576.0, seconds))

        if not opts.apt_in_run:
            start = time.monotonic()
            docker("exec", "-e", "DEBIAN_FRONTEND=noninteractive", DB2, "sh", "-c",
                   "apt-get update -qq && apt-get install -y -qq %s >/dev/null" % " ".join(PACKAGES))
            results["apt"] = time.monotonic() - start
            _bench.say("replica: packages on db2 in %.0f s" % results["apt"])

        results["load_add"] = loadavg()
        seconds, out = playbook(site, two, log, {"ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks"})
        results["add"], results["add_changed"] = seconds, _bench.recap(out)
        results["add_copy"] = copy_task_seconds(out)
        results["restarts"] = restarts(out)
        state = psql(DB1, "SELECT state || ' ' || sync_state FROM pg_stat_replication "
                          "WHERE application_name = '%s'" % DB2.replace("-", "_"))
        results["state"] = state
        results["in_recovery"] = psql(DB2, "SELECT pg_is_in_recovery()")
        results["standby_rows"] = int(psql(DB2, "SELECT count(*) FROM places_note"))
        _bench.say("replica: standby added in %.0f s (pg_basebackup task %s s); db1 sees it: %r, %d rows on db2"
                   % (seconds, results["add_copy"], state, results["standby_rows"]))
        if not state.startswith("streaming") or results["standby_rows"] != rows:
            raise _bench.RunFailed("db2 does not stream or lacks rows: %r, %d rows" % (state, results["standby_rows"]))

        conninfo = ("host=%s port=5432 user=replicator passfile=%s application_name=bench_floor "
                    "sslmode=verify-full sslrootcert=%s" % (DB1, PGPASS, CA))
        results["load_floor"] = loadavg()
        results["floor"], results["floor_size"] = floor(conninfo)
        _bench.say("replica: raw pg_basebackup %.1f s, %.0f MiB" % (results["floor"], results["floor_size"] / 1048576.0))

        results["load_rerun"] = loadavg()
        seconds, out = playbook(site, two, log)
        results["rerun"], results["rerun_changed"] = seconds, _bench.changed_total(out)
        _bench.say("replica: rerun %.0f s, changed=%d" % (seconds, results["rerun_changed"]))
        results["load_end"] = loadavg()
    except (_bench.RunFailed, subprocess.CalledProcessError, subprocess.TimeoutExpired, KeyboardInterrupt) as exc:
        notes.append("run failed: %s" % exc)
        _bench.say(notes[-1])
    finally:
        _bench.say("replica: removing the containers and the network")
        destroy()

    report = render(opts, results, notes, machine)
    print(report)
    os.makedirs(os.path.dirname(opts.output), exist_ok=True)
    with open(opts.output, "w") as handle:
        handle.write(report)
    return 1 if notes else 0


def render(opts, results, notes, machine):
    mib = 1048576.0
    lines = ["# Adding a streaming standby: the site playbook against raw pg_basebackup", "",
             "`nice -n 19 .venv/bin/python bench/replica.py --size-mb %d%s`, one run: bookworm containers (systemd "
             "PID 1, `--cpu-shares 64`), community.docker.docker with pipelining; PostgreSQL %s on db1 (primary) "
             "and db2, the test project on app1. %s" % (
                 opts.size_mb, " --apt-in-run" if opts.apt_in_run else "", PG_MAJOR,
                 "The timed run installs the PostgreSQL packages on db2 (apt downloads included)."
                 if opts.apt_in_run else
                 "The PostgreSQL packages were installed on db2 before the timed run, so it measures the copy and "
                 "the configuration, not apt downloads%s." % (
                     " (%.0f s with apt, not counted)" % results["apt"] if "apt" in results else "")), ""]
    lines.extend(machine)
    lines.append("")
    if "floor" in results:
        add, floor_s, rerun = results["add"], results["floor"], results.get("rerun")
        header = ["data (pg_database_size)", "site playbook adding db2, s", "of which its pg_basebackup task, s",
                  "raw pg_basebackup (floor), s", "playbook / floor", "rerun (changed=0), s",
                  "(playbook - rerun) / floor", "load average (add / floor / rerun)"]
        row = ["%.0f MiB (%d rows; all databases %.0f MiB, copy %.0f MiB)" % (
                   results["db_size"] / mib, results["rows"], results["cluster_size"] / mib, results["floor_size"] / mib),
               "%.1f" % add, _bench.fmt_s(results.get("add_copy")), "%.1f" % floor_s, "%.2fx" % (add / floor_s),
               _bench.fmt_s(rerun), "%.2fx" % ((add - rerun) / floor_s) if rerun is not None else "-",
               "%s / %s / %s" % (results["load_add"], results["load_floor"], results.get("load_rerun", "-"))]
        lines.extend([_bench.markdown_table(header, [row]), ""])
        lines.append("- db2 after the run: `pg_stat_replication` on db1 says `%s`, `pg_is_in_recovery()` = %s, "
                     "%d rows in places_note on db2; recap of the adding run: %s; rerun changed=%s." % (
                         results["state"], results["in_recovery"], results["standby_rows"],
                         ", ".join("%s changed=%d" % (host.replace(PREFIX, ""), counts["changed"])
                                   for host, counts in sorted(results["add_changed"].items())),
                         results.get("rerun_changed", "-")))
        lines.append("- Restarts in the adding run: %s." % (
            ", ".join("%s (%s)" % (host, task) for host, task in results["restarts"]) or "none"))
        lines.append("- Floor: `pg_basebackup --wal-method=stream --checkpoint=fast` on db2 as postgres, from db1 "
                     "as `replicator` with the role's passfile and CA (`sslmode=verify-full`), into "
                     "`%s` (the data directory's file system); the role's copy adds `-R -S SLOT`." % FLOOR_DIR)
        lines.append("- Filling the database (plain SQL into Django's table places_note, 192-character rows, "
                     "then VACUUM ANALYZE and CHECKPOINT): %.0f s; converging the primary and app1 first: %.0f s; "
                     "load average at the end: %s." % (results["fill"], results["primary"], results.get("load_end", "-")))
    lines.extend("- " + note.replace("\n", " ")[:800] for note in notes)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
