# -*- coding: utf-8 -*-
"""A throwaway PostgreSQL cluster, for the integration tests (tests/integration/conftest.py)
and the benchmarks (bench/_bench.py).

initdb and pg_ctl refuse to run as root, and CI runs the suite as root: then the server runs
as the ``postgres`` OS user (``runuser``) in a temp directory it owns.  That is also why this
is not pytest-postgresql: its executor runs pg_ctl as the current user and has no option for
another one (dbfixtures/pytest-postgresql#341 and #455, closed as "use a non-root user").
Clients connect over TCP to 127.0.0.1 on a free port (scram-sha-256) or over the Unix socket
in the temp directory (trust).
"""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile

PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")


def available():
    return os.path.exists(os.path.join(PG_BIN, "initdb"))


def _free_port():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def as_server_user(cmd):
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


class Cluster:
    """initdb (UTF8, C.UTF-8) in a temp directory; ``start`` serves it on 127.0.0.1 and
    a socket directory; ``save_pristine`` + ``reset`` bring back that first state in
    about a second; ``destroy`` removes everything."""

    def __init__(self, password, prefix="djangodeploy-pg-", options=()):
        self.password = password
        self.options = list(options)
        self.base = tempfile.mkdtemp(prefix=prefix)
        os.chmod(self.base, 0o755)
        self.data = os.path.join(self.base, "data")
        self.pristine = os.path.join(self.base, "pristine")
        self.socket_dir = self.make_dir("sock")
        self.log = os.path.join(self.base, "server.log")
        self.host = "127.0.0.1"
        self.port = _free_port()
        self.running = False
        self._chown(self.base)
        pwfile = os.path.join(self.base, "pwfile")
        with open(pwfile, "w") as handle:
            handle.write(password + "\n")
        self._chown(pwfile)
        as_server_user([os.path.join(PG_BIN, "initdb"), "-D", self.data, "-U", "postgres",
                        "--auth-host=scram-sha-256", "--auth-local=trust", "--pwfile", pwfile,
                        "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])
        os.unlink(pwfile)

    @staticmethod
    def _chown(path):
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def make_dir(self, name):
        """An empty directory in the cluster's base that the server may write."""
        path = os.path.join(self.base, name)
        os.makedirs(path)
        self._chown(path)
        return path

    def start(self):
        options = ["-c port=%d" % self.port, "-c listen_addresses=127.0.0.1",
                   "-c unix_socket_directories=%s" % self.socket_dir,
                   "-c password_encryption=scram-sha-256",
                   "-c fsync=off"] + self.options  # throwaway: durability buys nothing
        as_server_user([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-l", self.log,
                        "-o", " ".join(options), "-w", "-t", "60", "start"])
        self.running = True

    def stop(self):
        if self.running:
            try:
                as_server_user([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-m", "immediate", "-w", "stop"])
            except subprocess.CalledProcessError:
                pass
            self.running = False

    def save_pristine(self):
        """Keep a copy of the data directory as it is now (stopped) for ``reset``."""
        as_server_user(["cp", "-a", self.data, self.pristine])

    def reset(self):
        self.stop()
        as_server_user(["rm", "-rf", self.data])
        as_server_user(["cp", "-a", self.pristine, self.data])
        self.start()

    def destroy(self):
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def login(self, **extra):
        """The modules' connection parameters for this cluster."""
        params = {"login_host": self.host, "login_port": self.port, "login_user": "postgres",
                  "login_password": self.password}
        params.update(extra)
        return params

    def connect(self, dbname="postgres", user="postgres", password=None, autocommit=True):
        import psycopg2  # pylint: disable=import-outside-toplevel

        conn = psycopg2.connect(host=self.host, port=self.port, user=user, dbname=dbname,
                                password=self.password if password is None else password)
        conn.autocommit = autocommit
        return conn

    def has_extension(self, name):
        """Whether the server's packages provide the extension (contrib may be missing)."""
        return bool(self.query("SELECT 1 FROM pg_available_extensions WHERE name = %s", (name,)))

    def query(self, sql, args=None, dbname="postgres"):
        conn = self.connect(dbname)
        try:
            cur = conn.cursor()
            cur.execute(sql, args)
            return cur.fetchall() if cur.description else None
        finally:
            conn.close()

    def psql_cmd(self, *args):
        return [os.path.join(PG_BIN, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.host,
                "-p", str(self.port), "-U", "postgres", "-d", "postgres"] + list(args)

    def psql_env(self):
        env = dict(os.environ)
        env["PGPASSWORD"] = self.password
        return env

    def log_text(self):
        with open(self.log, "rb") as handle:
            return handle.read().decode("utf-8", "replace")
