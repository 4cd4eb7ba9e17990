# -*- coding: utf-8 -*-
"""A throwaway PostgreSQL cluster for the integration tests, and a helper
that runs the real modules the way Ansible does (a child Python process with
the arguments as JSON, the collection importable through a symlink).

The server runs as the ``postgres`` OS user when the tests run as root
(initdb refuses root); the tests connect over TCP to 127.0.0.1 on a free port
(scram-sha-256 for host lines, trust for the local socket in the temp dir).
"""

import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
SUPERUSER_PASSWORD = "fixture-super-secret"
DRIVERS = ("psycopg2", "psycopg")


def _free_port():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def _as_server_user(cmd, **kwargs):
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kwargs)


class Cluster:
    def __init__(self, base, port):
        self.base = base
        self.data = os.path.join(base, "data")
        self.socket_dir = os.path.join(base, "sock")
        self.log = os.path.join(base, "server.log")
        self.port = port
        self.host = "127.0.0.1"

    def login(self, **extra):
        params = {
            "login_host": self.host,
            "login_port": self.port,
            "login_user": "postgres",
            "login_password": SUPERUSER_PASSWORD,
        }
        params.update(extra)
        return params

    def connect(self, dbname="postgres", user="postgres", password=SUPERUSER_PASSWORD, autocommit=True):
        import psycopg2  # pylint: disable=import-outside-toplevel

        conn = psycopg2.connect(host=self.host, port=self.port, user=user, password=password, dbname=dbname)
        conn.autocommit = autocommit
        return conn

    def query(self, sql, args=None, dbname="postgres"):
        conn = self.connect(dbname)
        try:
            cur = conn.cursor()
            cur.execute(sql, args)
            return cur.fetchall() if cur.description else None
        finally:
            conn.close()

    def make_dir(self, name):
        """An empty directory in the cluster's base that the server may write."""
        path = os.path.join(self.base, name)
        os.makedirs(path)
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(path, pw.pw_uid, pw.pw_gid)
        return path

    def log_text(self):
        with open(self.log, "rb") as handle:
            return handle.read().decode("utf-8", "replace")


@pytest.fixture(scope="session")
def cluster():
    if not os.path.exists(os.path.join(PG_BIN, "initdb")):
        pytest.skip("PostgreSQL server binaries not found in %s (set PG_BIN)" % PG_BIN)
    base = tempfile.mkdtemp(prefix="djangodeploy-pg-")
    os.chmod(base, 0o755)
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(base, pw.pw_uid, pw.pw_gid)
    cluster = Cluster(base, _free_port())
    pwfile = os.path.join(base, "pwfile")
    with open(pwfile, "w") as handle:
        handle.write(SUPERUSER_PASSWORD + "\n")
    if os.geteuid() == 0:
        os.chown(pwfile, pw.pw_uid, pw.pw_gid)
    started = False
    try:
        os.makedirs(cluster.socket_dir)
        if os.geteuid() == 0:
            os.chown(cluster.socket_dir, pw.pw_uid, pw.pw_gid)
        _as_server_user([
            os.path.join(PG_BIN, "initdb"), "-D", cluster.data, "-U", "postgres",
            "--auth-host=scram-sha-256", "--auth-local=trust", "--pwfile", pwfile,
            "-E", "UTF8", "--locale=C.UTF-8",
        ])
        options = " ".join([
            "-c port=%d" % cluster.port,
            "-c listen_addresses=127.0.0.1",
            "-c unix_socket_directories=%s" % cluster.socket_dir,
            "-c log_statement=all",
            "-c password_encryption=scram-sha-256",
            "-c fsync=off",
            "-c max_connections=60",
        ])
        _as_server_user([
            os.path.join(PG_BIN, "pg_ctl"), "-D", cluster.data, "-l", cluster.log,
            "-o", options, "-w", "-t", "60", "start",
        ])
        started = True
        yield cluster
    finally:
        if started:
            try:
                _as_server_user([os.path.join(PG_BIN, "pg_ctl"), "-D", cluster.data, "-m", "immediate", "-w", "stop"])
            except subprocess.CalledProcessError:
                pass
        if os.environ.get("KEEP_PG_CLUSTER"):
            sys.stderr.write("cluster kept in %s\n" % base)
        else:
            shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def collection_path():
    """A directory whose ansible_collections/djangodeploy/postgresql is the checkout."""
    base = tempfile.mkdtemp(prefix="djangodeploy-coll-")
    ns = os.path.join(base, "ansible_collections", "djangodeploy")
    os.makedirs(ns)
    os.symlink(REPO, os.path.join(ns, "postgresql"))
    yield base
    shutil.rmtree(base, ignore_errors=True)


class ModuleRunner:
    def __init__(self, cluster, collection_path, driver):
        self.cluster = cluster
        self.collection_path = collection_path
        self.driver = driver

    def __call__(self, module, check=False, diff=False, with_login=True, expect_fail=False, **args):
        params = dict(self.cluster.login()) if with_login else {}
        params.update(args)
        params["_ansible_check_mode"] = check
        params["_ansible_diff"] = diff
        env = dict(os.environ)
        env["PYTHONPATH"] = self.collection_path
        env["DJANGODEPLOY_PG_DRIVER"] = self.driver
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            json.dump({"ANSIBLE_MODULE_ARGS": params}, handle)
            path = handle.name
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "ansible_collections.djangodeploy.postgresql.plugins.modules." + module, path],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=self.collection_path, timeout=120, check=False)
        finally:
            os.unlink(path)
        out = proc.stdout.decode("utf-8", "replace")
        try:
            result = json.loads(out[out.index("{"):])
        except ValueError:
            raise AssertionError("module printed no JSON (rc=%d)\nstdout: %s\nstderr: %s" % (
                proc.returncode, out, proc.stderr.decode("utf-8", "replace")))
        result["_stdout"] = out
        if expect_fail:
            assert result.get("failed"), result
        else:
            assert not result.get("failed"), result.get("msg")
        return result


@pytest.fixture(params=DRIVERS)
def driver(request):
    try:
        __import__(request.param)
    except ImportError:
        pytest.skip("%s not installed" % request.param)
    return request.param


@pytest.fixture
def run_module(cluster, collection_path, driver):
    return ModuleRunner(cluster, collection_path, driver)


_counter = [0]


@pytest.fixture
def uniq(driver):
    """A name prefix unique per test (tests share the session cluster)."""
    _counter[0] += 1
    return "t%d_%s_" % (_counter[0], "p2" if driver == "psycopg2" else "p3")
