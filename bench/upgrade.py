#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""Downtime of a PostgreSQL major upgrade 13 -> 15 with Debian's pg_upgradecluster, for the
methods `dump`, `upgrade` (copy) and `upgrade --link`, side by side in one run on the same data.

Usage: nice -n 19 .venv/bin/python bench/upgrade.py [--size-mb 1024] [--fill-budget 480]

One container djangodeploy-bench-upgrade-db from djangodeploy-testbed/debian:bullseye (systemd as
PID 1 with bench/fleet.py's flags, --cpu-shares 64 so that other jobs on the machine keep their
CPU): apt installs postgresql-13 (its package creates 13/main on port 5432), a database `app`
gets a table `item` (bigint id with a primary key, an int, 64 characters of text per row) filled
by INSERT ... SELECT generate_series in batches until it reaches --size-mb with its index, or
until --fill-budget seconds have passed (the size reached is stated), and a small table
`app_write` that stands for the application's writes. Its row count and md5 checksum are noted,
13/main is stopped and its data directory and /etc/postgresql/13/main are kept aside (cp -a).
Then what an operator does: sources switched to bookworm, `apt-get full-upgrade` (the same
command as molecule/releases/tests/test_zz_major_upgrade.py), a restart of the container (the
reboot Debian's release notes ask for), and `apt-get install postgresql-15` with
`create_main_cluster = false` in /etc/postgresql-common/createcluster.d/ (as playbooks/upgrade.yml
writes it), so no empty 15/main appears.

For each method in turn, on the pristine 13/main (copied back and started):

  downtime   from the app's last write to 13 (the app stops writing; 13 still runs, as when
             playbooks/upgrade.yml stops the Django services) through
             `pg_upgradecluster -v 15 -m dump|upgrade [--link] 13 main` (which stops 13) to the
             first successful INSERT into 15/main on the original port 5432;
  analyze    `vacuumdb --all --analyze-in-stages` afterwards (the app already writes again);
  verified   the row count and md5 checksum of `item` on 15 equal those on 13.

Then `pg_dropcluster --stop 15 main` and the next method.  The timings are taken inside the
container (date +%s.%N), so docker exec's own latency is not in them.  The container is always
removed at the end, also on failure or SIGTERM.  Prints a Markdown section and writes
bench/results/upgrade.md.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _bench  # noqa: E402  pylint: disable=wrong-import-position

IMAGE = "djangodeploy-testbed/debian:bullseye"
NAME = "djangodeploy-bench-upgrade-db"
DOCKER_RUN = [
    "docker", "run", "-d", "--cpu-shares", "64", "--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined",
    "--security-opt", "apparmor=unconfined", "--cgroupns=host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
    "--tmpfs", "/run", "--tmpfs", "/tmp",
]
METHODS = (("dump", ["-m", "dump"]), ("upgrade", ["-m", "upgrade"]), ("upgrade --link", ["-m", "upgrade", "--link"]))
# The same command as the releases scenario's release upgrade.
FULL_UPGRADE = ("DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Options::=--force-confold "
                "-o Dpkg::Options::=--force-confdef full-upgrade")
APT_INSTALL = "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends"
PRISTINE = "/var/lib/postgresql/pristine-13"
CHECKSUM = "SELECT count(*) || ' ' || md5(string_agg(md5(t::text), '' ORDER BY id)) FROM item t"
# A shell prelude for every script run in the container.
PRELUDE = r"""set -euo pipefail
now() { date +%s.%N; }
q() { port=$1; shift; runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1 -p "$port" -d app "$@"; }
"""


def _docker(*args, check=True):
    return subprocess.run(["docker"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=check)


def destroy():
    _docker("rm", "-f", NAME, check=False)


def create():
    destroy()
    subprocess.run(DOCKER_RUN + ["--name", NAME, "--hostname", NAME, IMAGE, "/lib/systemd/systemd"],
                   check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    wait_for_systemd()


def wait_for_systemd():
    for _ in range(120):
        state = _docker("exec", NAME, "systemctl", "is-system-running", "--wait", check=False).stdout
        if state.decode("utf-8", "replace").strip() in ("running", "degraded"):
            return
        time.sleep(1)
    raise _bench.RunFailed("systemd in %s did not come up" % NAME)


def sh(script, log, timeout=3600):
    """Run a bash script in the container; return (wall seconds, output)."""
    return _bench.timed(["docker", "exec", NAME, "bash", "-c", PRELUDE + script], log=log, timeout=timeout)


def marks(out):
    """{name: float} of the script's `mark NAME VALUE` lines."""
    found = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "mark":
            found[parts[1]] = float(parts[2])
    return found


def fill(size_mb, budget, log):
    """Create and fill the data on 13/main; returns the marks (rows, bytes, seconds)."""
    batch = 500000
    # The primary key comes after the fill (faster); its size is about a fifth of the table's.
    heap_target = int(size_mb * 1048576 * 0.83)
    _, out = sh(r"""
runuser -u postgres -- createdb -p 5432 app
q 5432 -c "CREATE TABLE item (id bigint NOT NULL, n integer NOT NULL, payload text NOT NULL)"
q 5432 -c "CREATE TABLE app_write (id serial PRIMARY KEY, note text NOT NULL, at timestamptz NOT NULL DEFAULT now())"
start=$(now); i=0
while :; do
  q 5432 -c "INSERT INTO item SELECT g, g %% 1000, repeat(md5(g::text), 2)
             FROM generate_series($((i * %(batch)d + 1)), $(((i + 1) * %(batch)d))) g"
  i=$((i + 1))
  size=$(q 5432 -c "SELECT pg_relation_size('item')")
  [ "$size" -lt %(target)d ] || break
  [ "$(date +%%s)" -lt "$(( ${start%%.*} + %(budget)d ))" ] || break
done
q 5432 -c "ALTER TABLE item ADD PRIMARY KEY (id)"
q 5432 -c "VACUUM ANALYZE"
echo "mark fill_seconds $(echo "$(now) $start" | awk '{print $1 - $2}')"
echo "mark rows $(q 5432 -c 'SELECT count(*) FROM item')"
echo "mark database_bytes $(q 5432 -c "SELECT pg_database_size('app')")"
echo "mark item_bytes $(q 5432 -c "SELECT pg_total_relation_size('item')")"
""" % {"batch": batch, "target": heap_target, "budget": budget}, log)
    return marks(out)


def checksum(port, log):
    _, out = sh("q %d -c \"%s\"" % (port, CHECKSUM), log)
    return out.strip().splitlines()[-1]


def keep_pristine(log):
    sh("""
pg_ctlcluster 13 main stop
rm -rf %(p)s && mkdir -p %(p)s
cp -a /var/lib/postgresql/13/main %(p)s/data
cp -a /etc/postgresql/13/main %(p)s/etc
""" % {"p": PRISTINE}, log)


def release_upgrade(log):
    """bullseye -> bookworm as the operator does it; returns {step: seconds}."""
    times = {}
    times["apt full-upgrade bullseye to bookworm"], _ = sh(
        "sed -i s/bullseye/bookworm/g /etc/apt/sources.list && apt-get -q update && " + FULL_UPGRADE, log)
    start = time.monotonic()
    _docker("restart", NAME)
    wait_for_systemd()
    times["restart of the container (the reboot)"] = time.monotonic() - start
    times["apt-get install postgresql-15"], out = sh(r"""
mkdir -p /etc/postgresql-common/createcluster.d
echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/50-bench-no-main.conf
if [ "$(pg_conftool /etc/postgresql-common/createcluster.conf show -bs create_main_cluster)" != off ]; then
  pg_conftool /etc/postgresql-common/createcluster.conf set create_main_cluster false
  echo "mark createcluster_conf_edited 1"
fi
%s postgresql-15
echo "mark main15 $(pg_lsclusters -h | awk '$1 == 15' | wc -l)"
pg_lsclusters
""" % APT_INSTALL, log)
    if marks(out).get("createcluster_conf_edited"):
        times["(createcluster.d not read: create_main_cluster set in createcluster.conf itself)"] = 0
    if marks(out).get("main15"):
        raise _bench.RunFailed("installing postgresql-15 created a cluster despite create_main_cluster = false")
    return times


def measure(method, flags, log):
    """Restore 13/main, upgrade it with `flags`, time it; returns the marks."""
    _, out = sh(r"""
# 13/main starts at boot (the reboot after the release upgrade): stopped before its files go.
if pg_ctlcluster 13 main status >/dev/null 2>&1; then pg_ctlcluster 13 main stop; fi
rm -rf /var/lib/postgresql/13/main /etc/postgresql/13/main
cp -a %(p)s/data /var/lib/postgresql/13/main
cp -a %(p)s/etc /etc/postgresql/13/main
pg_ctlcluster 13 main start
q 5432 -c "INSERT INTO app_write (note) VALUES ('%(m)s: last write to 13')"
t0=$(now)
pg_upgradecluster -v 15 %(flags)s 13 main
t1=$(now)
tries=0
until q 5432 -c "INSERT INTO app_write (note) VALUES ('%(m)s: first write to 15')" 2>/dev/null; do
  tries=$((tries + 1)); [ $tries -lt 6000 ] || exit 1; sleep 0.05
done
t2=$(now)
runuser -u postgres -- /usr/lib/postgresql/15/bin/vacuumdb --all --analyze-in-stages -p 5432 -q
t3=$(now)
pg_lsclusters
echo "mark upgradecluster $(echo "$t1 $t0" | awk '{print $1 - $2}')"
echo "mark downtime $(echo "$t2 $t0" | awk '{print $1 - $2}')"
echo "mark analyze $(echo "$t3 $t2" | awk '{print $1 - $2}')"
echo "mark server_version_num $(q 5432 -c 'SHOW server_version_num')"
echo "mark writes_on_15 $(q 5432 -c "SELECT count(*) FROM app_write WHERE note = '%(m)s: first write to 15'")"
echo "mark database_bytes $(q 5432 -c "SELECT pg_database_size('app')")"
""" % {"p": PRISTINE, "m": method, "flags": " ".join(flags)}, log)
    return marks(out)


def drop_new(log):
    sh("pg_dropcluster --stop 15 main; pg_ctlcluster 13 main stop 2>/dev/null || true; pg_lsclusters", log)


def run(size_mb, budget, log):
    """Create, fill, release-upgrade, measure each method, destroy.  Returns Markdown text."""
    notes = []
    setup = {}
    data = {}
    results = []
    original = None

    _bench.raise_on_sigterm()  # so that the container is removed
    try:
        _bench.say("upgrade: creating %s" % NAME)
        create()
        setup["apt-get install postgresql-13 (bullseye)"], _ = sh(
            "apt-get -q update && %s postgresql-13 && pg_lsclusters" % APT_INSTALL, log)
        _bench.say("upgrade: postgresql-13 installed in %.0f s; filling %d MB (at most %d s)"
                   % (setup["apt-get install postgresql-13 (bullseye)"], size_mb, budget))
        data = fill(size_mb, budget, log)
        _bench.say("upgrade: %d rows, database %.0f MB in %.0f s" % (data["rows"], data["database_bytes"] / 1048576.0,
                                                                    data["fill_seconds"]))
        original = checksum(5432, log)
        _bench.say("upgrade: checksum on 13: %s" % original)
        keep_pristine(log)
        setup.update(release_upgrade(log))
        _bench.say("upgrade: release upgrade done: %s" % ", ".join("%s %.0f s" % kv for kv in setup.items()))
        for method, flags in METHODS:
            _bench.say("upgrade: %s" % method)
            found = measure(method, flags, log)
            found["checksum"] = checksum(5432, log)
            results.append((method, found))
            _bench.say("upgrade: %s: downtime %.1f s (pg_upgradecluster %.1f s), analyze %.1f s, checksum %s"
                       % (method, found["downtime"], found["upgradecluster"], found["analyze"],
                          "ok" if found["checksum"] == original else "DIFFERS"))
            drop_new(log)
    except (_bench.RunFailed, subprocess.SubprocessError, KeyError) as exc:
        notes.append("run failed: %s" % exc)
        _bench.say(notes[-1])
    finally:
        _bench.say("upgrade: removing the container")
        destroy()

    size = data.get("database_bytes", 0) / 1048576.0
    rows = []
    for method, found in results:
        ok = (found["checksum"] == original and int(found.get("server_version_num", 0)) // 10000 == 15
              and found.get("writes_on_15") == 1)
        rows.append(["`%s`" % method, "%.1f" % found["downtime"], "%.1f" % found["upgradecluster"],
                     "%.1f" % found["analyze"], "%.0f" % (found["database_bytes"] / 1048576.0),
                     "ok" if ok else "FAILED"])
    text = ["## Major upgrade 13 -> 15: downtime per pg_upgradecluster method", ""]
    if data:
        text.append(
            "Database `app` of %.0f MB (target %d MB%s): table `item`, %d rows (bigint primary key, int, 64 characters "
            "of text), %.0f MB with its index, filled in %.0f s. The same pristine 13/main copied back for each "
            "method; one run. Downtime: the app's last write to 13 (13 still running) through `pg_upgradecluster -v 15 "
            "-m METHOD 13 main` to the first INSERT into 15/main on port 5432; analyze: `vacuumdb --all "
            "--analyze-in-stages` afterwards, while the app writes again; verified: row count and md5 checksum of "
            "`item` equal to 13's (`%s`), server 15, the app's write there."
            % (size, size_mb, "" if size >= size_mb * 0.95 else
               ", NOT reached: the fill stopped at its %d s budget on this loaded machine" % budget,
               data["rows"], data["item_bytes"] / 1048576.0, data["fill_seconds"], original))
        text.append("")
    if rows:
        text.append(_bench.markdown_table(
            ["method", "downtime s", "of which pg_upgradecluster s", "analyze-in-stages s (app up)",
             "15 database MB", "verified"], rows))
        text.append("")
    if setup:
        text.append("Setup, not downtime: " + "; ".join("%s %.0f s" % kv for kv in setup.items()) + ".")
        text.append("")
    text.extend("- " + note.replace("\n", " ")[:1500] for note in notes)
    return "\n".join(text) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="target size of the table with its index")
    parser.add_argument("--fill-budget", type=int, default=480, help="seconds the fill may take at most")
    parser.add_argument("--output", default=os.path.join(_bench.RESULTS, "upgrade.md"))
    opts = parser.parse_args()
    log = os.path.join(tempfile.mkdtemp(prefix="djangodeploy-bench-upgrade-"), "upgrade.log")
    _bench.say("upgrade: log in %s" % log)
    lines = _bench.machine()
    text = run(opts.size_mb, opts.fill_budget, log)
    with open("/proc/loadavg") as handle:
        lines.append("- load average at the end: %s (container at --cpu-shares 64)" % " ".join(handle.read().split()[:3]))
    report = ("# Major upgrade benchmark\n\n`bench/upgrade.py --size-mb %d --fill-budget %d`\n\n"
              % (opts.size_mb, opts.fill_budget) + "\n".join(lines) + "\n\n" + text)
    print(report)
    os.makedirs(os.path.dirname(opts.output), exist_ok=True)
    with open(opts.output, "w") as handle:
        handle.write(report)


if __name__ == "__main__":
    main()
