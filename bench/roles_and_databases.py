#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""How long does it take to converge N login roles, each owning one database?

Usage (from the checkout, as root or a user that can run initdb/pg_ctl):

    .venv/bin/python bench/roles_and_databases.py            # N=10,100,200 x3, then the fleet
    .venv/bin/python bench/roles_and_databases.py --quick    # N=10 x1, no fleet (< 1 min)
    .venv/bin/python bench/roles_and_databases.py --no-fleet --sizes 200 --repeat 5

A throwaway PostgreSQL 15 cluster (initdb as the ``postgres`` OS user, TCP on
127.0.0.1 and a free port, scram-sha-256) is reset to a saved copy of its
freshly initialised data directory before every measured run.  For each N,
interleaved in the same run so the ratios are comparable:

  (a) community.postgresql.postgresql_user + postgresql_db with ``loop``
  (b) djangodeploy.postgresql.pg_role ``roles:`` + pg_database ``databases:``
  (c) one ``psql`` session running the same DDL (the floor): CREATE ROLE ..
      PASSWORD '<precomputed SCRAM verifier>' in one transaction, then
      CREATE DATABASE .. OWNER for each
  (d) an empty play (ansible-playbook's fixed overhead)

(a) and (b) run first on the empty cluster, then again with nothing to do;
the recap's ``changed`` count is recorded for both.  Medians are reported.
The table is printed and written to bench/results/latest.md (quick mode:
bench/results/quick.md).
"""

import argparse
import cProfile
import datetime
import io
import json
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _bench  # noqa: E402  pylint: disable=wrong-import-position

PG_BIN = _bench.PG_BIN
SUPERUSER_PASSWORD = "bench-super-secret"
PREFIX = "bench_app_"


# ---------------------------------------------------------------- the cluster

class Cluster(_bench.PgCluster):
    """The shared throwaway cluster (tests/pg_cluster.py), reset to its
    first state (stop, copy, start: about a second) before each measured run."""

    def __init__(self):
        _bench.PgCluster.__init__(self, SUPERUSER_PASSWORD, prefix="djangodeploy-bench-pg-",
                                  options=["-c max_connections=50"])
        self.save_pristine()

    def scalar(self, sql):
        out = subprocess.run(self.psql_cmd("-A", "-t", "-c", sql), env=self.psql_env(), check=True,
                             stdout=subprocess.PIPE).stdout
        return out.decode().strip()

    def counts(self):
        roles = int(self.scalar("SELECT count(*) FROM pg_authid WHERE rolname LIKE '%s%%' AND rolcanlogin "
                                "AND rolpassword LIKE 'SCRAM-SHA-256$%%'" % PREFIX))
        dbs = int(self.scalar("SELECT count(*) FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba "
                              "WHERE d.datname LIKE '%s%%' AND r.rolname = d.datname" % PREFIX))
        return roles, dbs


# ---------------------------------------------------------------- the playbooks

def apps(n):
    return [{"name": "%s%03d" % (PREFIX, i), "password": "pw-%03d-S3cret'\"" % i} for i in range(n)]


def write_workdir(work, cluster, n):
    """Inventory, vars and the four playbooks for one N."""
    wd = os.path.join(work, "n%d" % n)
    os.makedirs(wd, exist_ok=True)
    with open(os.path.join(wd, "hosts.ini"), "w") as handle:
        handle.write("localhost ansible_connection=local ansible_python_interpreter=%s\n" % _bench.PYTHON)
    login = cluster.login()
    bench_vars = {
        "bench_login": login,
        "bench_apps": apps(n),
        "bench_roles": [{"name": a["name"], "password": a["password"], "login": True} for a in apps(n)],
        "bench_databases": [{"name": a["name"], "owner": a["name"]} for a in apps(n)],
    }
    with open(os.path.join(wd, "vars.json"), "w") as handle:
        json.dump(bench_vars, handle)
    head = "---\n- name: %s\n  hosts: localhost\n  gather_facts: false\n  vars_files: [vars.json]\n"
    playbooks = {
        "a": head % "(a) community.postgresql in a loop" + """  module_defaults:
    group/community.postgresql.all: "{{ bench_login }}"
  tasks:
    - name: Roles
      community.postgresql.postgresql_user:
        name: "{{ item.name }}"
        password: "{{ item.password }}"
      loop: "{{ bench_apps }}"
      loop_control:
        label: "{{ item.name }}"
    - name: Databases
      community.postgresql.postgresql_db:
        name: "{{ item.name }}"
        owner: "{{ item.name }}"
      loop: "{{ bench_apps }}"
      loop_control:
        label: "{{ item.name }}"
""",
        "b": head % "(b) djangodeploy.postgresql list form" + """  module_defaults:
    group/djangodeploy.postgresql.postgresql: "{{ bench_login }}"
  tasks:
    - name: Roles
      djangodeploy.postgresql.pg_role:
        roles: "{{ bench_roles }}"
    - name: Databases
      djangodeploy.postgresql.pg_database:
        databases: "{{ bench_databases }}"
""",
        "d": head % "(d) empty play" + "  tasks: []\n",
    }
    for key, text in playbooks.items():
        with open(os.path.join(wd, "%s.yml" % key), "w") as handle:
            handle.write(text)
    return wd


def write_psql_script(wd, n):
    """(c): the same DDL, verifiers precomputed (not timed)."""
    sys.path.insert(0, os.path.join(_bench.REPO, ".cache", "collections"))
    from ansible_collections.djangodeploy.postgresql.plugins.module_utils import _scram  # pylint: disable=import-outside-toplevel
    from ansible_collections.djangodeploy.postgresql.plugins.module_utils._identifiers import (  # pylint: disable=import-outside-toplevel
        quote_ident, quote_literal)
    lines = ["BEGIN;"]
    for app in apps(n):
        lines.append("CREATE ROLE %s WITH LOGIN PASSWORD %s;" % (
            quote_ident(app["name"]), quote_literal(_scram.scram_verifier(app["password"]))))
    lines.append("COMMIT;")
    for app in apps(n):
        lines.append("CREATE DATABASE %s OWNER %s;" % (quote_ident(app["name"]), quote_ident(app["name"])))
    path = os.path.join(wd, "c.sql")
    with open(path, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


# ---------------------------------------------------------------- measuring

class Measurements:
    def __init__(self):
        self.times = {}    # (n, key) -> [seconds]
        self.changed = {}  # (n, key) -> [changed]

    def add(self, n, key, seconds, changed=None):
        self.times.setdefault((n, key), []).append(seconds)
        if changed is not None:
            self.changed.setdefault((n, key), []).append(changed)

    def med(self, n, key):
        values = self.times.get((n, key))
        return _bench.median(values) if values else None

    def count(self, n, key):
        return len(self.times.get((n, key), []))

    def changed_text(self, n, key):
        values = sorted(set(self.changed.get((n, key), [])))
        return "/".join(str(v) for v in values) if values else "-"


def playbook(wd, key, log, extra_env=None):
    cmd = [os.path.join(_bench.VENV_BIN, "ansible-playbook"), "-i", os.path.join(wd, "hosts.ini"),
           os.path.join(wd, "%s.yml" % key)]
    seconds, out = _bench.timed(cmd, env=_bench.ansible_env(extra_env), cwd=wd, log=log)
    return seconds, out


def measure_once(cluster, wd, n, sql, results, log, slow_ok, rep):
    """One interleaved round for one N: d, c, b (+rerun), a (+rerun)."""
    seconds, _ = playbook(wd, "d", log)
    results.add(n, "d", seconds)
    _bench.say("N=%d rep %d: (d) %.2f s" % (n, rep, seconds))

    cluster.reset()
    seconds, _ = _bench.timed(cluster.psql_cmd("-f", sql), env=cluster.psql_env(), log=log)
    assert cluster.counts() == (n, n), cluster.counts()
    results.add(n, "c", seconds)
    _bench.say("N=%d rep %d: (c) %.2f s" % (n, rep, seconds))

    for key in ("b", "a"):
        if key == "a" and not slow_ok:
            continue
        cluster.reset()
        seconds, out = playbook(wd, key, log)
        changed = _bench.changed_total(out)
        assert cluster.counts() == (n, n), (key, cluster.counts())
        results.add(n, key + "1", seconds, changed)
        seconds2, out2 = playbook(wd, key, log)
        changed2 = _bench.changed_total(out2)
        results.add(n, key + "2", seconds2, changed2)
        _bench.say("N=%d rep %d: (%s) first %.2f s changed=%d, rerun %.2f s changed=%d"
                   % (n, rep, key, seconds, changed, seconds2, changed2))


def ratio(x, y):
    if x is None or y is None or y == 0:
        return "-"
    return "%.2f" % (x / y)


def report_table(results, sizes):
    header = ["N", "(a) loop first", "(a) rerun", "(b) ours first", "(b) rerun", "(c) psql", "(d) empty play",
              "(b)/(a) first", "(b)/(a) rerun", "(b)/((c)+(d)) first", "(b) rerun - (d)", "changed (a) first/rerun",
              "changed (b) first/rerun", "repeats a/b/c/d"]
    rows = []
    for n in sizes:
        a1, a2 = results.med(n, "a1"), results.med(n, "a2")
        b1, b2 = results.med(n, "b1"), results.med(n, "b2")
        c, d = results.med(n, "c"), results.med(n, "d")
        floor = (c + d) if c is not None and d is not None else None
        rows.append([
            n, _bench.fmt_s(a1), _bench.fmt_s(a2), _bench.fmt_s(b1), _bench.fmt_s(b2), _bench.fmt_s(c), _bench.fmt_s(d),
            ratio(b1, a1), ratio(b2, a2), ratio(b1, floor),
            _bench.fmt_s(b2 - d) if b2 is not None and d is not None else "-",
            "%s / %s" % (results.changed_text(n, "a1"), results.changed_text(n, "a2")),
            "%s / %s" % (results.changed_text(n, "b1"), results.changed_text(n, "b2")),
            "%d/%d/%d/%d" % (results.count(n, "a1"), results.count(n, "b1"), results.count(n, "c"), results.count(n, "d")),
        ])
    return _bench.markdown_table(header, rows)


def targets(results, n):
    """The issue's targets at the largest N, as Markdown bullet lines."""
    b1, b2 = results.med(n, "b1"), results.med(n, "b2")
    a1, a2 = results.med(n, "a1"), results.med(n, "a2")
    c, d = results.med(n, "c"), results.med(n, "d")
    lines = []
    if None in (b1, b2, c, d):
        return lines
    lines.append("- N=%d, (b) first run within 1.3x of (c)+(d): %.2f s vs %.2f s = %.2fx -> %s"
                 % (n, b1, c + d, b1 / (c + d), "reached" if b1 <= 1.3 * (c + d) else "NOT reached"))
    ch = results.changed.get((n, "b2"), [])
    lines.append("- N=%d, (b) rerun within (d) + 2 s with changed=0: %.2f s vs %.2f s, changed=%s -> %s"
                 % (n, b2, d + 2, results.changed_text(n, "b2"),
                    "reached" if b2 <= d + 2 and ch and max(ch) == 0 else "NOT reached"))
    if a1 is not None:
        lines.append("- N=%d, (b) first run vs (a): %.1fx faster; rerun: %.1fx faster" % (n, a1 / b1, a2 / b2))
    return lines


# ---------------------------------------------------------------- profile

def profile_modules(cluster, n, work):
    """cProfile of pg_role and pg_database (list form, N items) run the way
    Ansible runs a module (a child Python with the arguments as JSON), first
    on an empty cluster, then with nothing to do.  Returns Markdown text."""
    cluster.reset()
    coll = os.path.join(_bench.REPO, ".cache", "collections")
    login = cluster.login()
    jobs = [
        ("pg_role", dict(login, roles=[{"name": a["name"], "password": a["password"], "login": True} for a in apps(n)])),
        ("pg_database", dict(login, databases=[{"name": a["name"], "owner": a["name"]} for a in apps(n)])),
    ]
    text = []
    for phase in ("first run", "rerun"):
        for module, args in jobs:
            args_path = os.path.join(work, "%s.json" % module)
            with open(args_path, "w") as handle:
                json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
            prof = os.path.join(work, "%s.prof" % module)
            env = dict(os.environ, PYTHONPATH=coll)
            start = time.monotonic()
            subprocess.run([_bench.PYTHON, "-m", "cProfile", "-o", prof, "-m",
                            "ansible_collections.djangodeploy.postgresql.plugins.modules." + module, args_path],
                           env=env, cwd=coll, check=True, stdout=subprocess.DEVNULL)
            wall = time.monotonic() - start
            stream = io.StringIO()
            stats = pstats.Stats(prof, stream=stream)
            stats.sort_stats("tottime").print_stats(8)
            body = stream.getvalue()
            keep = [line for line in body.splitlines() if line.strip()]
            # The header lines ("N function calls ... in X seconds") and the top entries.
            summary = [line for line in keep if "function calls" in line]
            table_start = next((i for i, line in enumerate(keep) if line.strip().startswith("ncalls")), None)
            entries = keep[table_start:table_start + 9] if table_start is not None else []
            text.append("%s, %s, N=%d: %.2f s wall in the child process; %s\n\n```\n%s\n```\n"
                        % (module, phase, n, wall, summary[0].strip() if summary else "", "\n".join(entries)))
    return "\n".join(text)


def profile_tasks_run(cluster, wd, log):
    """(b) once more with ansible.posix.profile_tasks: the per-task split of
    the wall time.  Returns the task lines."""
    cluster.reset()
    out_lines = []
    for phase in ("first run", "rerun"):
        _, out = playbook(wd, "b", log, {"ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks"})
        tail = out[out.find("TASKS RECAP"):]
        lines = [line for line in tail.splitlines() if re.search(r" -{3,} +[0-9.]+s$", line)]
        out_lines.append("%s:" % phase)
        out_lines.extend("    " + line.strip() for line in lines if line.strip())
    return "\n".join(out_lines)


# ---------------------------------------------------------------- main

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="N=10, one repeat, no fleet, no profile (< 1 min)")
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=None,
                        help="comma-separated N (default 10,100,200)")
    parser.add_argument("--repeat", type=int, default=None, help="repeats per measurement (default 3)")
    parser.add_argument("--slow-repeat", type=int, default=None,
                        help="repeats of (a) at N >= 100, where one run takes minutes (default 1)")
    parser.add_argument("--no-fleet", action="store_true", help="skip bench/fleet.py")
    parser.add_argument("--fleet-repeat", type=int, default=3)
    parser.add_argument("--fleet-options", default="default,pipelining,free",
                        help="fleet variants, comma-separated among default,pipelining,free,mitogen")
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile/profile_tasks section")
    parser.add_argument("--output", default=None, help="Markdown file (default bench/results/latest.md; quick.md with --quick)")
    opts = parser.parse_args()
    if opts.quick:
        sizes, repeat, fleet, profile = opts.sizes or [10], opts.repeat or 1, False, False
    else:
        sizes, repeat, fleet, profile = opts.sizes or [10, 100, 200], opts.repeat or 3, not opts.no_fleet, not opts.no_profile
    slow_repeat = opts.slow_repeat if opts.slow_repeat is not None else min(1, repeat)
    output = opts.output or os.path.join(_bench.RESULTS, "quick.md" if opts.quick else "latest.md")

    started = datetime.datetime.now(datetime.timezone.utc)
    machine = _bench.machine(PG_BIN)
    work = tempfile.mkdtemp(prefix="djangodeploy-bench-")
    log = os.path.join(work, "bench.log")
    _bench.say("work dir %s (full output in bench.log)" % work)
    cluster = Cluster()
    results = Measurements()
    sections = []
    try:
        cluster.start()
        wds = {}
        sqls = {}
        for n in sizes:
            wds[n] = write_workdir(work, cluster, n)
            sqls[n] = write_psql_script(wds[n], n)
        # Warm-up (not measured): the first ansible-playbook run compiles and caches.
        playbook(wds[sizes[0]], "d", log)
        for rep in range(repeat):
            for n in sizes:
                slow_ok = rep < slow_repeat or n < 100
                measure_once(cluster, wds[n], n, sqls[n], results, log, slow_ok, rep + 1)
        table = report_table(results, sizes)
        print(table)
        target_lines = targets(results, max(sizes))
        print("\n".join(target_lines))
        if profile:
            n = max(sizes)
            _bench.say("profiling (b) at N=%d" % n)
            sections.append("## Where (b)'s time goes at N=%d\n\nansible.posix.profile_tasks (one extra run, not in the "
                            "table):\n\n```\n%s\n```\n\ncProfile of each module run on its own (top entries by own time):\n\n%s"
                            % (n, profile_tasks_run(cluster, wds[n], log), profile_modules(cluster, n, work)))
    finally:
        cluster.destroy()

    fleet_md = ""
    if fleet:
        import fleet as fleet_bench  # pylint: disable=import-outside-toplevel
        fleet_md = fleet_bench.run_fleet(repeat=opts.fleet_repeat, variants=opts.fleet_options.split(","), log=log)
        print(fleet_md)

    text = [
        "# Benchmark: N login roles each owning one database",
        "",
        "Run %s UTC by `bench/roles_and_databases.py %s` (%.0f s in all)."
        % (started.strftime("%Y-%m-%d %H:%M"), " ".join(sys.argv[1:]),
           (datetime.datetime.now(datetime.timezone.utc) - started).total_seconds()),
        "",
    ] + machine + [
        "",
        "Wall-clock seconds of whole `ansible-playbook` runs (localhost, `ansible_connection=local`, modules "
        "connecting over TCP 127.0.0.1 with SCRAM), median of the repeats; (c) is `psql -f` alone. The cluster "
        "(PostgreSQL 15, `fsync=off`, throwaway) is reset to a fresh initdb copy before each first run. "
        "(a) = `community.postgresql.postgresql_user` + `postgresql_db` with `loop`; (b) = "
        "`djangodeploy.postgresql.pg_role roles:` + `pg_database databases:`; (c) = one psql session with the same "
        "DDL (precomputed SCRAM verifiers); (d) = an empty play. `first` is on an empty cluster, `rerun` the same "
        "play again with nothing to do; `changed` is the recap's count (loop tasks count once per task).",
        "",
        table,
        "",
    ] + target_lines + [""]
    if repeat != slow_repeat:
        text.append("(a) at N >= 100 was run %d time(s) instead of %d: one run takes minutes there; every other "
                    "cell is the median of %d.\n" % (slow_repeat, repeat, repeat))
    text.extend(sections)
    if fleet_md:
        text.append(fleet_md)
    os.makedirs(os.path.dirname(output), exist_ok=True)
    with open(output, "w") as handle:
        handle.write("\n".join(text) + "\n")
    _bench.say("wrote %s" % output)
    shutil.rmtree(work, ignore_errors=True) if not os.environ.get("BENCH_KEEP") else None


if __name__ == "__main__":
    main()
