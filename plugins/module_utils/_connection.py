# -*- coding: utf-8 -*-
# Copyright (c) djangodeploy maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by the modules, and the database driver.

Driver choice: psycopg2 when it is importable (Debian's ``python3-psycopg2``
is what most targets have), else psycopg 3.  The environment variable
``DJANGODEPLOY_PG_DRIVER`` (``psycopg2`` or ``psycopg``) forces one; the
test-suite uses it to run every integration test with both drivers.

All DDL is sent as complete SQL text (identifiers and literals quoted by
``_identifiers``), so the two drivers behave the same; catalog queries use
query parameters.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys
from contextlib import contextmanager

from ansible_collections.djangodeploy.postgresql.plugins.module_utils._errors import DatabaseError, DriverMissing

DRIVER_ENV = "DJANGODEPLOY_PG_DRIVER"


def connection_argument_spec():
    return dict(
        login_user=dict(type="str", default="postgres"),
        login_password=dict(type="str", default="", no_log=True),
        login_host=dict(type="str", default="", aliases=["host"]),
        login_port=dict(type="int", default=5432, aliases=["port"]),
        login_unix_socket=dict(type="str", default="", aliases=["unix_socket"]),
        login_db=dict(type="str", default="postgres", aliases=["db", "login_database"]),
        ssl_mode=dict(type="str", default="prefer",
                      choices=["allow", "disable", "prefer", "require", "verify-ca", "verify-full"]),
        ca_cert=dict(type="str", aliases=["ssl_rootcert"]),
        connect_timeout=dict(type="int", default=10),
    )


def _missing_message(detail):
    return (
        "Neither psycopg2 nor psycopg (3) can be imported by the Python that runs this module "
        "(%s, Python %d.%d)%s. Install one on the managed host: the Debian/Ubuntu package "
        "python3-psycopg2, or 'pip install psycopg2-binary' (or 'psycopg[binary]') into that Python; "
        "or set ansible_python_interpreter to a Python that has one."
        % (sys.executable, sys.version_info[0], sys.version_info[1], detail))


def load_driver():
    """Return (name, module).  Raises DriverMissing with an actionable message."""
    wanted = os.environ.get(DRIVER_ENV, "").strip()
    order = ["psycopg2", "psycopg"]
    if wanted:
        if wanted not in order:
            raise DriverMissing("%s must be psycopg2 or psycopg, not %r" % (DRIVER_ENV, wanted))
        order = [wanted]
    errors = []
    for name in order:
        try:
            if name == "psycopg2":
                import psycopg2  # pylint: disable=import-outside-toplevel
                import psycopg2.extensions  # noqa: F401 pylint: disable=import-outside-toplevel
                return name, psycopg2
            import psycopg  # pylint: disable=import-outside-toplevel
            return name, psycopg
        except ImportError as exc:
            errors.append("%s: %s" % (name, exc))
    raise DriverMissing(_missing_message(" (" + "; ".join(errors) + ")"))


def connect_kwargs(params, dbname=None):
    """libpq keyword arguments from the module parameters.  An empty host
    means libpq's default: the Unix socket."""
    kwargs = {
        "user": params.get("login_user") or "postgres",
        "dbname": dbname or params.get("login_db") or "postgres",
        "port": params.get("login_port") or 5432,
        "sslmode": params.get("ssl_mode") or "prefer",
        "application_name": "djangodeploy.postgresql",
    }
    if params.get("connect_timeout") is not None:
        kwargs["connect_timeout"] = params["connect_timeout"]
    host = params.get("login_host") or params.get("login_unix_socket")
    if host:
        kwargs["host"] = host
    if params.get("login_password"):
        kwargs["password"] = params["login_password"]
    if params.get("ca_cert"):
        kwargs["sslrootcert"] = params["ca_cert"]
    return kwargs


class Connection:
    """A thin wrapper that hides the differences between the two drivers."""

    def __init__(self, params, dbname=None, autocommit=False):
        self._driver = load_driver()[1]
        kwargs = connect_kwargs(params, dbname)
        with self._translated("unable to connect to database %r as %r: " % (kwargs["dbname"], kwargs["user"])):
            self._conn = self._driver.connect(**kwargs)
            self._conn.autocommit = autocommit
        self.dbname = kwargs["dbname"]

    @contextmanager
    def _translated(self, prefix=""):
        """Driver errors become DatabaseError with the server's message."""
        try:
            yield
        except self._driver.Error as exc:
            raise DatabaseError(prefix + _message(exc))

    def query(self, sql, args=None):
        """Run a query and return all rows as dicts keyed by column name."""
        with self._translated():
            cur = self._conn.cursor()
            try:
                cur.execute(sql, args)
                if cur.description is None:
                    return []
                names = [column[0] for column in cur.description]
                return [dict(zip(names, row)) for row in cur.fetchall()]
            finally:
                cur.close()

    def execute(self, sql):
        """Run one statement given as complete SQL text (no parameters)."""
        with self._translated():
            cur = self._conn.cursor()
            try:
                # Without parameters neither driver looks for placeholders,
                # so '%' in a quoted name or literal is safe.
                cur.execute(sql)
            finally:
                cur.close()

    def commit(self):
        with self._translated():
            self._conn.commit()

    def rollback(self):
        try:
            self._conn.rollback()
        except Exception:  # pylint: disable=broad-except
            pass

    def close(self):
        try:
            self._conn.close()
        except Exception:  # pylint: disable=broad-except
            pass


def _message(exc):
    text = str(exc).strip()
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    return text or (primary or exc.__class__.__name__)
