#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""Short Django-like requests per second, directly against PostgreSQL and through PgBouncer,
on the same data in one run: each request connects (SCRAM-SHA-256 over TCP), runs one query and
disconnects, as Django does with CONN_MAX_AGE = 0; and, for comparison, the same query on a kept
connection (CONN_MAX_AGE > 0) through PgBouncer.

A throwaway cluster (tests/pg_cluster.py, PostgreSQL 15) and a PgBouncer (Debian's, installed
with apt when missing; run as postgres) configured the way postgresql_pgbouncer configures it:
auth_type hba with scram-sha-256, the app role's SCRAM verifier from pg_authid in userlist.txt,
transaction pooling. Both listen on 127.0.0.1 without TLS (the same for both sides).

    .venv/bin/python bench/pooling.py [--seconds 5] [--clients 1,8,32]

prints a Markdown table and writes bench/results/pooling.md.
"""

import argparse
import os
import shutil
import socket
import subprocess
import threading
import time

import _bench

APP_PASSWORD = "bench-app-secret"


def ensure_pgbouncer():
    if shutil.which("pgbouncer") is None:
        _bench.say("installing pgbouncer with apt")
        subprocess.run(["apt-get", "install", "-y", "pgbouncer"], check=True, stdout=subprocess.DEVNULL)
    return shutil.which("pgbouncer")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_pgbouncer(cluster, verifier, pool_size):
    folder = cluster.make_dir("pgbouncer")
    port = free_port()
    files = {
        "pgbouncer.ini": "\n".join([
            "[databases]", "app = host=127.0.0.1 port=%d dbname=app" % cluster.port, "[pgbouncer]",
            "listen_addr = 127.0.0.1", "listen_port = %d" % port, "unix_socket_dir = %s" % folder,
            "auth_type = hba", "auth_hba_file = %s/pg_hba.conf" % folder, "auth_file = %s/userlist.txt" % folder,
            "pool_mode = transaction", "default_pool_size = %d" % pool_size, "max_client_conn = 500", ""]),
        "pg_hba.conf": 'host "app" "app" 127.0.0.1/32 scram-sha-256\n',
        "userlist.txt": '"app" "%s"\n' % verifier,
    }
    for name, text in files.items():
        path = os.path.join(folder, name)
        with open(path, "w") as handle:
            handle.write(text)
        cluster._chown(path)  # pylint: disable=protected-access
    command = [ensure_pgbouncer(), os.path.join(folder, "pgbouncer.ini")]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--"] + command
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return process, port
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("pgbouncer did not start")


def rate(port, clients, seconds, keep):
    """Requests per second with `clients` threads for `seconds`; keep: one connection per thread."""
    import psycopg2  # pylint: disable=import-outside-toplevel

    params = dict(host="127.0.0.1", port=port, dbname="app", user="app", password=APP_PASSWORD)
    done, errors, stop = [0] * clients, [], time.monotonic() + seconds

    def one(conn):
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM note WHERE id % 10 = 3")
            cur.fetchone()

    def work(i):
        try:
            kept = psycopg2.connect(**params) if keep else None
            if kept:
                kept.autocommit = True
            while time.monotonic() < stop:
                if kept:
                    one(kept)
                else:
                    conn = psycopg2.connect(**params)
                    conn.autocommit = True
                    one(conn)
                    conn.close()
                done[i] += 1
            if kept:
                kept.close()
        except Exception as exc:  # pylint: disable=broad-except
            errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(errors[0])
    return sum(done) / (time.monotonic() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", default="1,8,32")
    args = parser.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    cluster = _bench.PgCluster("bench-superuser", prefix="djangodeploy-bench-pool-")
    bouncer = None
    try:
        cluster.start()
        cluster.query("CREATE ROLE app LOGIN PASSWORD %s", (APP_PASSWORD,))
        cluster.query("CREATE DATABASE app OWNER app")
        conn = cluster.connect("app", user="app", password=APP_PASSWORD)
        conn.cursor().execute("CREATE TABLE note (id serial PRIMARY KEY, text text); "
                              "INSERT INTO note (text) SELECT 'note ' || i FROM generate_series(1, 10000) i; ANALYZE note")
        conn.close()
        verifier = cluster.query("SELECT rolpassword FROM pg_authid WHERE rolname = 'app'")[0][0]
        bouncer, bouncer_port = start_pgbouncer(cluster, verifier, pool_size=20)
        rows = []
        for n in clients:
            direct = rate(cluster.port, n, args.seconds, keep=False)
            pooled = rate(bouncer_port, n, args.seconds, keep=False)
            kept = rate(bouncer_port, n, args.seconds, keep=True)
            _bench.say("%d clients: direct %.0f/s, PgBouncer %.0f/s, kept connection %.0f/s" % (n, direct, pooled, kept))
            rows.append([n, "%.0f" % direct, "%.0f" % pooled, "%.2fx" % (pooled / direct), "%.0f" % kept])
        table = _bench.markdown_table(
            ["clients", "direct: connect + query + close /s", "through PgBouncer /s", "PgBouncer / direct",
             "kept connection through PgBouncer /s"], rows)
        report = "\n".join(["# Connection pooling: short requests per second", "",
                            "`bench/pooling.py --seconds %g --clients %s`, one run, same data (10,000 rows, one "
                            "count query per request), SCRAM-SHA-256 over TCP on 127.0.0.1, no TLS." % (
                                args.seconds, args.clients), ""]
                           + _bench.machine(_bench.PG_BIN) + ["- %s" % _bench._version(  # pylint: disable=protected-access
                               [ensure_pgbouncer(), "--version"]), "", table, ""])
        print(report)
        with open(os.path.join(_bench.RESULTS, "pooling.md"), "w") as handle:
            handle.write(report)
    finally:
        if bouncer:
            bouncer.terminate()
            bouncer.wait()
        cluster.destroy()


if __name__ == "__main__":
    main()
