# -*- coding: utf-8 -*-
# Copyright (c) djangodeploy maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Databases: desired state from parameters, current state from the catalog,
the difference as SQL, and applying it.

CREATE/DROP DATABASE cannot run inside a transaction, so each statement is
its own (autocommit).  Everything that can be checked is checked for every
item before the first change; if a statement still fails the result says
what was done and which database failed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.djangodeploy.postgresql.plugins.module_utils._common import Statement, check_conn_limit, collect_items, diff_entry
from ansible_collections.djangodeploy.postgresql.plugins.module_utils._errors import DatabaseError, PartialFailure, ValidationError
from ansible_collections.djangodeploy.postgresql.plugins.module_utils._identifiers import quote_ident, quote_literal, validate_identifier
from ansible_collections.djangodeploy.postgresql.plugins.module_utils._locale import locale_codeset, normalise_locale, same_locale

DATABASE_DEFAULTS = {
    "state": "present",
    "encoding": "UTF8",
    "force": False,
}

# The attributes read from the catalog and shown in the diff: (option, SQL
# expression on pg_database ``d`` / pg_tablespace ``t``).
ATTRIBUTES = (
    ("owner", "pg_catalog.pg_get_userbyid(d.datdba)"),
    ("encoding", "pg_catalog.pg_encoding_to_char(d.encoding)"),
    ("lc_collate", "d.datcollate"),
    ("lc_ctype", "d.datctype"),
    ("conn_limit", "d.datconnlimit"),
    ("tablespace", "t.spcname"),
    # Whether PUBLIC (grantee 0) may connect, whoever granted it; a NULL datacl is the default,
    # which lets PUBLIC connect.
    ("public_connect", "EXISTS (SELECT 1 FROM pg_catalog.aclexplode(coalesce(d.datacl, pg_catalog.acldefault('d', d.datdba))) a"
                       " WHERE a.grantee = 0 AND a.privilege_type = 'CONNECT')"),
)

LOCALE_KEYS = ("lc_collate", "lc_ctype")


def database_item_spec():
    return dict(
        name=dict(type="str", aliases=["database"]),
        state=dict(type="str", choices=["present", "absent"]),
        owner=dict(type="str"),
        encoding=dict(type="str"),
        lc_collate=dict(type="str"),
        lc_ctype=dict(type="str"),
        template=dict(type="str"),
        conn_limit=dict(type="int"),
        tablespace=dict(type="str"),
        force=dict(type="bool"),
        extensions=dict(type="list", elements="str"),
        public_connect=dict(type="bool"),
        own_public_schema=dict(type="bool"),
    )


DATABASE_KEYS = tuple(database_item_spec())


# ---------------------------------------------------------------- desired

def desired_databases(params):
    result = []
    for label, item in collect_items(params, "databases", DATABASE_KEYS, DATABASE_DEFAULTS):
        validate_identifier(item["name"], label + "name")
        for key in ("owner", "template", "tablespace"):
            if item[key] is not None:
                validate_identifier(item[key], label + key)
        for key in ("encoding",) + LOCALE_KEYS:
            value = item[key]
            if value is not None and (value == "" or "\x00" in value or len(value) > 200):
                raise ValidationError("%s%s: invalid value %r" % (label, key, value))
        check_conn_limit(item["conn_limit"], label)
        seen = set()
        for index, ext in enumerate(item["extensions"] or []):
            validate_identifier(ext, "%sextensions[%d]" % (label, index))
            if ext in seen:
                raise ValidationError("%sextensions[%d]: %r is listed twice" % (label, index, ext))
            seen.add(ext)
        if item["state"] == "absent" and params.get("login_db") == item["name"]:
            raise ValidationError("%sname: cannot drop %r, the database the module connects to (login_db); "
                                  "set login_db to another database" % (label, item["name"]))
        item["label"] = label
        result.append(item)
    return result


# ---------------------------------------------------------------- current

DATABASES_QUERY = """
SELECT d.datname AS name, {attributes}, d.datistemplate AS istemplate, d.datallowconn AS allowconn
FROM pg_catalog.pg_database d
JOIN pg_catalog.pg_tablespace t ON t.oid = d.dattablespace
WHERE d.datname = ANY(%s::text[]) OR d.datname IN ('template0', 'template1')
""".format(attributes=", ".join("%s AS %s" % (expression, option) for option, expression in ATTRIBUTES))

# PG_VALID_BE_ENCODING: server encodings are numbered 0 to PG_ENCODING_BE_LAST
# (KOI8U); the ones after it (SJIS, BIG5, GBK, ...) are client-only.
LOOKUPS_QUERY = """
SELECT 'role' AS kind, rolname::text AS key, NULL AS value FROM pg_catalog.pg_roles WHERE rolname = ANY(%s::text[])
UNION ALL
SELECT 'tablespace', spcname::text, NULL FROM pg_catalog.pg_tablespace WHERE spcname = ANY(%s::text[])
UNION ALL
SELECT 'extension', name::text, NULL FROM pg_catalog.pg_available_extensions WHERE name = ANY(%s::text[])
UNION ALL
SELECT 'sessions', datname::text, count(*)::text FROM pg_catalog.pg_stat_activity
 WHERE datname = ANY(%s::text[]) AND pid <> pg_catalog.pg_backend_pid() GROUP BY datname
UNION ALL
SELECT CASE WHEN pg_catalog.pg_char_to_encoding(e) BETWEEN 0 AND pg_catalog.pg_char_to_encoding('KOI8U')
            THEN 'encoding' ELSE 'client_encoding' END,
       e, pg_catalog.pg_encoding_to_char(pg_catalog.pg_char_to_encoding(e))
 FROM unnest(%s::text[]) AS e
UNION ALL
SELECT 'collation', collcollate::text,
       CASE WHEN collencoding >= 0 THEN pg_catalog.pg_encoding_to_char(collencoding) END
 FROM pg_catalog.pg_collation WHERE collprovider = 'c'
UNION ALL
SELECT 'codeset', c, pg_catalog.pg_encoding_to_char(pg_catalog.pg_char_to_encoding(c)) FROM unnest(%s::text[]) AS c
"""


def read_databases(conn, names):
    return dict((row["name"], row) for row in conn.query(DATABASES_QUERY, (list(names),)))


class Lookups:
    """What the catalog says about the names the items refer to."""

    def __init__(self):
        self.roles = set()
        self.tablespaces = set()
        self.extensions = set()
        self.sessions = {}
        self.encodings = {}         # given spelling -> server encoding name
        self.client_encodings = {}  # given spelling -> encoding a server cannot use
        self.collations = {}        # normalised libc locale -> its encoding (None: any)
        self.codesets = {}          # normalised codeset -> encoding name ('' if unknown)

    def locale_encoding(self, locale):
        """The encoding a locale requires, None when any will do or it is not
        known (then the server decides), as pg_get_encoding_from_locale."""
        normalised = normalise_locale(locale)
        if normalised in ("C", "POSIX"):
            return None
        if normalised in self.collations:
            return self.collations[normalised]
        return self.codesets.get(locale_codeset(locale)) or None


def lookup_args(wanted, current):
    """The parameters of LOOKUPS_QUERY: the names the items refer to, and the codesets of their
    locales and of the existing databases'."""
    present = [w for w in wanted if w["state"] == "present"]
    locales = set(w[key] for w in present for key in LOCALE_KEYS if w[key])
    locales.update(db[key] for db in current.values() for key in LOCALE_KEYS)
    return (
        sorted(set(w["owner"] for w in present if w["owner"])),
        sorted(set(w["tablespace"] for w in present if w["tablespace"])),
        sorted(set(e for w in present for e in (w["extensions"] or []))),
        sorted(set(w["name"] for w in wanted) | set(w["template"] for w in present if w["template"])),
        sorted(set(w["encoding"] for w in present if w["encoding"])),
        sorted(set(locale_codeset(value) for value in locales) - set([""])),
    )


def read_lookups(conn, wanted, current):
    return lookups_from_rows(conn.query(LOOKUPS_QUERY, lookup_args(wanted, current)))


def lookups_from_rows(rows):
    found = Lookups()
    for row in rows:
        kind, key, value = row["kind"], row["key"], row["value"]
        if kind == "role":
            found.roles.add(key)
        elif kind == "tablespace":
            found.tablespaces.add(key)
        elif kind == "extension":
            found.extensions.add(key)
        elif kind == "sessions":
            found.sessions[key] = int(value)
        elif kind == "collation":
            found.collations[normalise_locale(key)] = value
        else:
            getattr(found, kind + "s")[key] = value
    return found


# ---------------------------------------------------------------- plan

def _public(db):
    if db is None:
        return {}
    return dict((option, db.get(option)) for option, _expression in ATTRIBUTES)


class DatabaseStep:
    """What to do for one database: statements on the main connection, and
    the extensions wanted (checked in the database itself)."""

    def __init__(self, want, have):
        self.want = want
        self.have = have
        self.statements = []
        self.report = {"name": want["name"], "state": want["state"], "changed": False}
        self.before = _public(have)
        self.after = None
        self.extensions = (want["extensions"] or []) if want["state"] == "present" else []
        self.own_public_schema = bool(want["own_public_schema"]) and want["state"] == "present"


class DatabasePlan:
    """Built by ``plan_present`` and ``plan_drop`` for each item, checking
    everything the catalog can tell before any change."""

    def __init__(self, current, found, login_db):
        self.current = current
        self.found = found
        self.login_db = login_db
        self.steps = []

    def plan_drop(self, want):
        name, label = want["name"], want["label"]
        step = DatabaseStep(want, self.current.get(name))
        if step.have is not None:
            if step.have["istemplate"]:
                raise ValidationError(
                    "%sname: %r is a template database (datistemplate), which PostgreSQL refuses to drop; "
                    "make it an ordinary database first (ALTER DATABASE .. IS_TEMPLATE false)" % (label, name))
            sessions = self.found.sessions.get(name, 0)
            if sessions and not want["force"]:
                raise ValidationError(
                    "%sname: database %r has %d open session(s); set %sforce: true to terminate them "
                    "and drop it (DROP DATABASE .. WITH (FORCE), PostgreSQL 13+)" % (label, name, sessions, label))
            sql = "DROP DATABASE " + quote_ident(name)
            if want["force"]:
                sql += " WITH (FORCE)"
            step.statements.append(Statement(sql))
            step.report["dropped"] = True
            step.after = {}
        self.steps.append(step)

    def plan_present(self, want):
        step = DatabaseStep(want, self.current.get(want["name"]))
        encoding = self._check_references(want)
        if step.have is None:
            self._plan_create(step, encoding)
        else:
            self._plan_alter(step, encoding)
        self.steps.append(step)

    def _check_references(self, want):
        """The names the item refers to exist and fit; returns the server's
        name of the encoding."""
        label, found = want["label"], self.found
        if want["encoding"] in found.client_encodings:
            raise ValidationError(
                "%sencoding: %s is a client-only encoding; PostgreSQL cannot store a database in it "
                "(use UTF8)" % (label, found.client_encodings[want["encoding"]]))
        encoding = found.encodings.get(want["encoding"])
        if not encoding:
            raise ValidationError("%sencoding: %r is not an encoding PostgreSQL knows" % (label, want["encoding"]))
        if want["owner"] is not None and want["owner"] not in found.roles:
            raise ValidationError("%sowner: role %r does not exist (create it first with "
                                  "djangodeploy.postgresql.pg_role)" % (label, want["owner"]))
        if want["tablespace"] is not None and want["tablespace"] not in found.tablespaces:
            raise ValidationError("%stablespace: tablespace %r does not exist" % (label, want["tablespace"]))
        for index, ext in enumerate(want["extensions"] or []):
            if ext not in found.extensions:
                raise ValidationError(
                    "%sextensions[%d]: extension %r is not available on the server (install its package "
                    "on the database host, e.g. postgresql-NN-postgis-3 for postgis)" % (label, index, ext))
        return encoding

    def _template(self, want, encoding):
        """The template CREATE DATABASE copies, checked as PostgreSQL will."""
        label, name = want["label"], want["template"]
        if name is None:
            template1 = self.current.get("template1")
            differs = template1 is not None and (encoding != template1["encoding"] or any(
                want[key] is not None and not same_locale(want[key], template1[key]) for key in LOCALE_KEYS))
            # PostgreSQL allows another encoding or locale only from template0.
            return "template0" if differs else "template1"
        if name not in self.current:
            raise ValidationError("%stemplate: database %r does not exist" % (label, name))
        if name == self.login_db or self.found.sessions.get(name):
            raise ValidationError(
                "%stemplate: database %r has other sessions (or is login_db), and PostgreSQL copies a "
                "template only while nobody is connected to it" % (label, name))
        return name

    def _plan_create(self, step, encoding):
        want, label = step.want, step.want["label"]
        template = self._template(want, encoding)
        # template0 has template1's locale unless someone changed it.
        source = self.current.get(template) or self.current.get("template1") or {}
        locales = {}
        for key in LOCALE_KEYS:
            locales[key] = want[key] or source.get(key)
            required = self.found.locale_encoding(locales[key]) if locales[key] else None
            # check_encoding_locale_matches: a non-C locale fixes the encoding.
            if required not in (None, "SQL_ASCII", encoding) and encoding != "SQL_ASCII":
                raise ValidationError(
                    "%sencoding: %s does not match %s %r (of %s), which requires %s; set %sencoding to %s, "
                    "or %s%s to a locale of that encoding (or C)"
                    % (label, encoding, key, locales[key], "the item" if want[key] else "template " + template,
                       required, label, required, label, key))
            if want[key] is not None and same_locale(want[key], source.get(key)):
                # PostgreSQL compares locale names as strings against the
                # template's: send its own spelling when both name one locale.
                locales[key] = source[key]
        parts = ["CREATE DATABASE " + quote_ident(want["name"])]
        if want["owner"] is not None:
            parts.append("OWNER " + quote_ident(want["owner"]))
        parts.append("TEMPLATE " + quote_ident(template))
        parts.append("ENCODING " + quote_literal(encoding))
        for key in LOCALE_KEYS:
            if want[key] is not None:
                parts.append("%s %s" % (key.upper(), quote_literal(locales[key])))
        if want["conn_limit"] is not None:
            parts.append("CONNECTION LIMIT %d" % want["conn_limit"])
        if want["tablespace"] is not None:
            parts.append("TABLESPACE " + quote_ident(want["tablespace"]))
        step.statements.append(Statement(" ".join(parts)))
        # A new database's ACL is the default, which lets PUBLIC connect.
        if want["public_connect"] is False:
            step.statements.append(Statement("REVOKE CONNECT ON DATABASE %s FROM PUBLIC" % quote_ident(want["name"])))
        step.report["created"] = True
        step.after = {
            "owner": want["owner"], "encoding": encoding,
            "lc_collate": locales["lc_collate"], "lc_ctype": locales["lc_ctype"],
            "conn_limit": want["conn_limit"] if want["conn_limit"] is not None else -1,
            "tablespace": want["tablespace"] or "pg_default",
            "public_connect": want["public_connect"] is not False,
        }

    def _plan_alter(self, step, encoding):
        want, have, label, name = step.want, step.have, step.want["label"], step.want["name"]
        if encoding != have["encoding"]:
            raise ValidationError(
                "%sencoding: database %r exists with encoding %s, not %s; PostgreSQL cannot change the "
                "encoding of a database (dump, drop, recreate and restore it)" % (label, name, have["encoding"], encoding))
        for key in LOCALE_KEYS:
            if want[key] is not None and not same_locale(want[key], have[key]):
                raise ValidationError(
                    "%s%s: database %r exists with %s %r, not %r; PostgreSQL cannot change it "
                    "(dump, drop, recreate and restore the database)" % (label, key, name, key, have[key], want[key]))
        for wanted, key in ((step.extensions, "extensions"), (step.own_public_schema, "own_public_schema")):
            if wanted and not have["allowconn"]:
                raise ValidationError(
                    "%s%s: database %r does not accept connections (datallowconn is false), so nothing can be "
                    "done in it; allow connections (ALTER DATABASE .. ALLOW_CONNECTIONS true) or leave out %s%s"
                    % (label, key, name, label, key))
        quoted = quote_ident(name)
        after = dict(step.before)
        if want["owner"] is not None and want["owner"] != have["owner"]:
            step.statements.append(Statement("ALTER DATABASE %s OWNER TO %s" % (quoted, quote_ident(want["owner"]))))
            after["owner"] = want["owner"]
        if want["conn_limit"] is not None and want["conn_limit"] != have["conn_limit"]:
            step.statements.append(Statement("ALTER DATABASE %s WITH CONNECTION LIMIT %d" % (quoted, want["conn_limit"])))
            after["conn_limit"] = want["conn_limit"]
        if want["tablespace"] is not None and want["tablespace"] != have["tablespace"]:
            sessions = self.found.sessions.get(name, 0) + (1 if name == self.login_db else 0)
            if sessions:
                raise ValidationError(
                    "%stablespace: moving database %r to tablespace %r needs it to have no other sessions, and it "
                    "has %d; close them (or run the task when it is idle)" % (label, name, want["tablespace"], sessions))
            step.statements.append(Statement("ALTER DATABASE %s SET TABLESPACE %s" % (quoted, quote_ident(want["tablespace"]))))
            after["tablespace"] = want["tablespace"]
        if want["public_connect"] is not None and want["public_connect"] != have["public_connect"]:
            step.statements.append(Statement(
                ("GRANT CONNECT ON DATABASE %s TO PUBLIC" if want["public_connect"] else "REVOKE CONNECT ON DATABASE %s FROM PUBLIC")
                % quoted))
            after["public_connect"] = want["public_connect"]
        step.after = after


def plan_databases(wanted, current, found, login_db="postgres"):
    """Check everything the catalog can tell for every item; raise
    ValidationError before any change."""
    plan = DatabasePlan(current, found, login_db)
    for want in wanted:
        if want["state"] == "present":
            plan.plan_present(want)
        else:
            plan.plan_drop(want)
    return plan.steps


def extension_statements(missing):
    return [Statement("CREATE EXTENSION IF NOT EXISTS %s CASCADE" % quote_ident(ext)) for ext in missing]


# Schema public of the connected database: its owner's name, whether it belongs to the database
# owner (PostgreSQL 15 gives it to pg_database_owner, which is always the owner), and whether
# PUBLIC may create in it. No row: the database has no schema public.
PUBLIC_SCHEMA_QUERY = """
SELECT pg_catalog.pg_get_userbyid(d.datdba) AS owner,
       pg_catalog.pg_get_userbyid(n.nspowner) IN (pg_catalog.pg_get_userbyid(d.datdba), 'pg_database_owner') AS owned,
       EXISTS (SELECT 1 FROM pg_catalog.aclexplode(coalesce(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) a
               WHERE a.grantee = 0 AND a.privilege_type = 'CREATE') AS public_create
FROM pg_catalog.pg_database d, pg_catalog.pg_namespace n
WHERE d.datname = pg_catalog.current_database() AND n.nspname = 'public'
"""


def public_schema_statements(state):
    """What makes schema public as PostgreSQL 15 makes it in a new database: the database
    owner's, and no CREATE for PUBLIC. state: a row of PUBLIC_SCHEMA_QUERY, None without the schema."""
    if state is None:
        return []
    statements = []
    if not state["owned"]:
        statements.append(Statement("ALTER SCHEMA public OWNER TO %s" % quote_ident(state["owner"])))
    if state["public_create"]:
        statements.append(Statement("REVOKE CREATE ON SCHEMA public FROM PUBLIC"))
    return statements


def predicted_public_schema(server_version_num, owner):
    """Check mode, for a database it would create: from PostgreSQL 15 on, a new database's
    schema public is as wanted; before, it belongs to the bootstrap superuser and PUBLIC may
    create in it (template1's, unless someone changed it)."""
    if server_version_num >= 150000:
        return None
    return {"owner": owner, "owned": False, "public_create": True}


EXTENSIONS_QUERY = "SELECT extname::text AS name FROM pg_catalog.pg_extension WHERE extname = ANY(%s::text[])"


def missing_extensions(conn, wanted_exts):
    return missing_from_rows(conn.query(EXTENSIONS_QUERY, (list(wanted_exts),)), wanted_exts)


def missing_from_rows(rows, wanted_exts):
    have = set(row["name"] for row in rows)
    return [e for e in wanted_exts if e not in have]


# ---------------------------------------------------------------- apply

class Progress:
    """What has been done so far, for the result and for a failure's message."""

    def __init__(self, check_mode):
        self.check_mode = check_mode
        self.queries = []
        self.done = []
        self.reports = []
        self.diffs = []

    def result(self):
        return {"changed": bool(self.done), "databases": self.reports, "queries": self.queries,
                "done": self.done, "diff": self.diffs}

    def fail(self, step, ran, exc):
        name = step.want["name"]
        if self.check_mode:
            raise DatabaseError("database %r: %s (check mode: nothing was changed)" % (name, exc))
        if ran:
            step.report["changed"] = True
            self.reports.append(step.report)
        result = {"changed": bool(self.done or ran), "done": self.done, "failed_database": name,
                  "queries": self.queries, "databases": self.reports}
        raise PartialFailure(
            "database %r failed: %s. Already done for it: %s. Databases done before it: %s; later ones were "
            "not attempted." % (name, exc, "; ".join(s.masked for s in ran) or "nothing",
                                ", ".join(repr(d) for d in self.done) or "none"), result)


def apply_steps(conn, steps, conn_factory, check_mode):
    """Run each step's statements (autocommit), then what it wants in the
    database itself (extensions, schema public) over a connection to that
    database.  Returns the result dict."""
    progress = Progress(check_mode)
    server = _ServerFacts(conn)
    for step in steps:
        ran = []
        try:
            for statement in step.statements:
                if not check_mode:
                    conn.execute(statement.sql)
                ran.append(statement)
                progress.queries.append(statement.masked)
            missing, schema = _apply_in_database(step, conn_factory, check_mode, server, ran, progress.queries)
        except DatabaseError as exc:
            progress.fail(step, ran, exc)
        if missing:
            step.report["extensions_created"] = missing
        if schema:
            step.report["public_schema_changed"] = True
        if ran:
            step.report["changed"] = True
            before, after = dict(step.before), dict(step.after or {})
            if missing:
                after["extensions_created"] = missing
            if schema:
                before.update(public_schema_owned=schema["owned"], public_schema_create=schema["public_create"])
                after.update(public_schema_owned=True, public_schema_create=False)
            progress.diffs.append(diff_entry(step.want["name"], before, after, ran))
            progress.done.append(step.want["name"])
        progress.reports.append(step.report)
    return progress.result()


class _ServerFacts:
    """The login role and server version, read only when check mode predicts a new database's schema public."""

    def __init__(self, conn):
        self._conn = conn
        self._row = None

    def get(self, key):
        if self._row is None:
            self._row = self._conn.query(
                "SELECT current_user::text AS login_role, current_setting('server_version_num')::int AS version")[0]
        return self._row[key]


def _apply_in_database(step, conn_factory, check_mode, server, ran, queries):
    """Create the missing extensions, then make schema public the owner's; returns the
    extensions' names and the state schema public was found in (None when it needed
    nothing).  A database that check mode did not create has every extension missing and
    its schema predicted."""
    name = step.want["name"]
    if not step.extensions and not step.own_public_schema:
        return [], None
    other = None
    if step.have is not None or not check_mode:
        other = conn_factory(name, autocommit=True)
    try:
        missing = list(step.extensions)
        if other and missing:
            missing = missing_extensions(other, missing)
        state = None
        if step.own_public_schema:
            if other:
                rows = other.query(PUBLIC_SCHEMA_QUERY)
                state = rows[0] if rows else None
            else:
                state = predicted_public_schema(server.get("version"), step.want["owner"] or server.get("login_role"))
        schema = public_schema_statements(state)
        for statement in extension_statements(missing) + schema:
            if not check_mode:
                other.execute(statement.sql)
            ran.append(Statement("/* in database %s */ %s" % (name, statement.sql)))
            queries.append(ran[-1].masked)
    finally:
        if other is not None:
            other.close()
    return missing, state if schema else None


def run(params, conn_factory, check_mode):
    """The whole algorithm for pg_database.  Returns the result dict; raises
    ValidationError, DatabaseError, or PartialFailure (with done/failed)."""
    wanted = desired_databases(params)
    conn = conn_factory(None, autocommit=True)
    try:
        current = read_databases(conn, [w["name"] for w in wanted] + [w["template"] for w in wanted if w["template"]])
        found = read_lookups(conn, wanted, current)
        steps = plan_databases(wanted, current, found, conn.dbname)
        return apply_steps(conn, steps, conn_factory, check_mode)
    finally:
        conn.close()
