# -*- coding: utf-8 -*-
# Copyright (c) djangodeploy maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Databases: desired state from parameters, current state from the catalog,
the difference as SQL, and applying it.

CREATE/DROP DATABASE cannot run inside a transaction, so each statement is
its own (autocommit).  Everything that can be checked is checked before the
first change; if a statement still fails the result says which databases
were done and which one failed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.djangodeploy.postgresql.plugins.module_utils._common import (
    PartialFailure,
    Statement,
    collect_items,
    diff_entry,
)
from ansible_collections.djangodeploy.postgresql.plugins.module_utils._connection import (
    DatabaseError,
)
from ansible_collections.djangodeploy.postgresql.plugins.module_utils._identifiers import (
    ValidationError,
    quote_ident,
    quote_literal,
    validate_identifier,
)

DATABASE_KEYS = (
    "name", "state", "owner", "encoding", "lc_collate", "lc_ctype", "template",
    "conn_limit", "tablespace", "force", "extensions",
)

DATABASE_DEFAULTS = {
    "state": "present",
    "encoding": "UTF8",
    "force": False,
}


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
    )


# ---------------------------------------------------------------- locales

def normalise_codeset(codeset):
    """glibc's _nl_normalize_codeset: keep letters and digits, lowercase;
    all digits gets an 'iso' prefix.  'UTF-8' -> 'utf8', '8859-1' -> 'iso88591'."""
    kept = "".join(ch.lower() for ch in codeset if ch.isalnum())
    if kept.isdigit():
        return "iso" + kept
    return kept


def normalise_locale(value):
    """``language[_territory][.codeset][@modifier]`` with the codeset
    normalised, so that ``en_US.UTF-8`` == ``en_US.utf8``.  ``POSIX`` is ``C``."""
    if value is None:
        return None
    text = value.strip()
    modifier = ""
    if "@" in text:
        text, modifier = text.split("@", 1)
        modifier = "@" + modifier
    if "." in text:
        base, codeset = text.split(".", 1)
        text = base + "." + normalise_codeset(codeset)
    if text == "POSIX":
        text = "C"
    return text + modifier


def same_locale(left, right):
    return normalise_locale(left) == normalise_locale(right)


# ---------------------------------------------------------------- desired

def desired_databases(params):
    items = collect_items(params, "databases", DATABASE_KEYS, DATABASE_DEFAULTS)
    result = []
    for label, item in items:
        validate_identifier(item["name"], label + "name")
        for key in ("owner", "template", "tablespace"):
            if item[key] is not None:
                validate_identifier(item[key], label + key)
        for key in ("encoding", "lc_collate", "lc_ctype"):
            value = item[key]
            if value is not None and (value == "" or "\x00" in value or len(value) > 200):
                raise ValidationError("%s%s: invalid value %r" % (label, key, value))
        if item["conn_limit"] is not None and item["conn_limit"] < -1:
            raise ValidationError("%sconn_limit must be -1 (no limit) or a number >= 0" % label)
        seen = set()
        for index, ext in enumerate(item["extensions"] or []):
            validate_identifier(ext, "%sextensions[%d]" % (label, index))
            if ext in seen:
                raise ValidationError("%sextensions[%d]: %r is listed twice" % (label, index, ext))
            seen.add(ext)
        if item["state"] == "absent" and params.get("login_db") == item["name"]:
            raise ValidationError("%sname: cannot drop %r, the database the module connects to (login_db); "
                                  "set login_db to another database" % (label, item["name"]))
        item = dict(item)
        item["label"] = label
        result.append(item)
    return result


# ---------------------------------------------------------------- current

_DATABASES = """
SELECT d.datname, pg_catalog.pg_get_userbyid(d.datdba), pg_catalog.pg_encoding_to_char(d.encoding),
       d.datcollate, d.datctype, d.datconnlimit, t.spcname
FROM pg_catalog.pg_database d
JOIN pg_catalog.pg_tablespace t ON t.oid = d.dattablespace
WHERE d.datname = ANY(%s::text[]) OR d.datname = 'template1'
"""

_LOOKUPS = """
SELECT 'role', rolname::text FROM pg_catalog.pg_roles WHERE rolname = ANY(%s::text[])
UNION ALL
SELECT 'tablespace', spcname::text FROM pg_catalog.pg_tablespace WHERE spcname = ANY(%s::text[])
UNION ALL
SELECT 'extension', name::text FROM pg_catalog.pg_available_extensions WHERE name = ANY(%s::text[])
UNION ALL
SELECT 'sessions:' || datname, count(*)::text FROM pg_catalog.pg_stat_activity
 WHERE datname = ANY(%s::text[]) AND pid <> pg_catalog.pg_backend_pid() GROUP BY datname
UNION ALL
SELECT 'encoding:' || e, pg_catalog.pg_encoding_to_char(pg_catalog.pg_char_to_encoding(e))
 FROM unnest(%s::text[]) AS e
"""


def read_databases(conn, names):
    current = {}
    for row in conn.query(_DATABASES, (list(names),)):
        current[row[0]] = {
            "name": row[0], "owner": row[1], "encoding": row[2], "lc_collate": row[3],
            "lc_ctype": row[4], "conn_limit": row[5], "tablespace": row[6],
        }
    return current


class Lookups:
    def __init__(self):
        self.roles = set()
        self.tablespaces = set()
        self.extensions = set()
        self.sessions = {}
        self.encodings = {}


def read_lookups(conn, wanted):
    owners = sorted(set(w["owner"] for w in wanted if w["owner"]))
    spaces = sorted(set(w["tablespace"] for w in wanted if w["tablespace"]))
    exts = sorted(set(e for w in wanted if w["state"] == "present" for e in (w["extensions"] or [])))
    drops = sorted(set(w["name"] for w in wanted if w["state"] == "absent"))
    encodings = sorted(set(w["encoding"] for w in wanted if w["encoding"]))
    found = Lookups()
    for kind, value in conn.query(_LOOKUPS, (owners, spaces, exts, drops, encodings)):
        if kind == "role":
            found.roles.add(value)
        elif kind == "tablespace":
            found.tablespaces.add(value)
        elif kind == "extension":
            found.extensions.add(value)
        elif kind.startswith("sessions:"):
            found.sessions[kind[len("sessions:"):]] = int(value)
        elif kind.startswith("encoding:"):
            found.encodings[kind[len("encoding:"):]] = value
    return found


# ---------------------------------------------------------------- plan

def _public(db):
    if db is None:
        return {}
    return dict((k, db.get(k)) for k in ("owner", "encoding", "lc_collate", "lc_ctype", "conn_limit", "tablespace"))


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


def plan_databases(wanted, current, found):
    """Check everything the catalog can tell; raise ValidationError before any change."""
    template1 = current.get("template1")
    steps = []
    for want in wanted:
        label = want["label"]
        name = want["name"]
        have = current.get(name)
        step = DatabaseStep(want, have)
        if want["state"] == "absent":
            if have is not None:
                sessions = found.sessions.get(name, 0)
                if sessions and not want["force"]:
                    raise ValidationError(
                        "%sname: database %r has %d open session(s); set %sforce: true to terminate them "
                        "and drop it (DROP DATABASE .. WITH (FORCE), PostgreSQL 13+)" % (label, name, sessions, label))
                sql = "DROP DATABASE " + quote_ident(name)
                if want["force"]:
                    sql += " WITH (FORCE)"
                step.statements.append(Statement(sql, target=name))
                step.report["dropped"] = True
                step.after = {}
            steps.append(step)
            continue
        encoding = found.encodings.get(want["encoding"], "")
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
        if have is None:
            step.statements.append(_create_statement(want, encoding, template1))
            step.report["created"] = True
            step.after = {
                "owner": want["owner"], "encoding": encoding,
                "lc_collate": want["lc_collate"] or (template1 or {}).get("lc_collate"),
                "lc_ctype": want["lc_ctype"] or (template1 or {}).get("lc_ctype"),
                "conn_limit": want["conn_limit"] if want["conn_limit"] is not None else -1,
                "tablespace": want["tablespace"] or "pg_default",
            }
        else:
            if encoding != have["encoding"]:
                raise ValidationError(
                    "%sencoding: database %r exists with encoding %s, not %s; PostgreSQL cannot change the "
                    "encoding of a database (dump, drop, recreate and restore it)" % (label, name, have["encoding"], encoding))
            for key in ("lc_collate", "lc_ctype"):
                if want[key] is not None and not same_locale(want[key], have[key]):
                    raise ValidationError(
                        "%s%s: database %r exists with %s %r, not %r; PostgreSQL cannot change it "
                        "(dump, drop, recreate and restore the database)" % (label, key, name, key, have[key], want[key]))
            quoted = quote_ident(name)
            after = dict(step.before)
            if want["owner"] is not None and want["owner"] != have["owner"]:
                step.statements.append(Statement("ALTER DATABASE %s OWNER TO %s" % (quoted, quote_ident(want["owner"])), target=name))
                after["owner"] = want["owner"]
            if want["conn_limit"] is not None and want["conn_limit"] != have["conn_limit"]:
                step.statements.append(Statement("ALTER DATABASE %s WITH CONNECTION LIMIT %d" % (quoted, want["conn_limit"]), target=name))
                after["conn_limit"] = want["conn_limit"]
            if want["tablespace"] is not None and want["tablespace"] != have["tablespace"]:
                step.statements.append(Statement("ALTER DATABASE %s SET TABLESPACE %s" % (quoted, quote_ident(want["tablespace"])), target=name))
                after["tablespace"] = want["tablespace"]
            step.after = after
        steps.append(step)
    return steps


def _create_statement(want, encoding, template1):
    want = dict(want)
    if template1 is not None:
        # PostgreSQL compares locale names as strings against the template's:
        # send the template's own spelling when the two name the same locale.
        for key in ("lc_collate", "lc_ctype"):
            if want[key] is not None and same_locale(want[key], template1[key]):
                want[key] = template1[key]
    template = want["template"]
    if template is None:
        template = "template1"
        if template1 is not None:
            differs = encoding != template1["encoding"]
            for key in ("lc_collate", "lc_ctype"):
                if want[key] is not None and not same_locale(want[key], template1[key]):
                    differs = True
            if differs:
                template = "template0"
    parts = ["CREATE DATABASE " + quote_ident(want["name"])]
    if want["owner"] is not None:
        parts.append("OWNER " + quote_ident(want["owner"]))
    parts.append("TEMPLATE " + quote_ident(template))
    parts.append("ENCODING " + quote_literal(encoding))
    if want["lc_collate"] is not None:
        parts.append("LC_COLLATE " + quote_literal(want["lc_collate"]))
    if want["lc_ctype"] is not None:
        parts.append("LC_CTYPE " + quote_literal(want["lc_ctype"]))
    if want["conn_limit"] is not None:
        parts.append("CONNECTION LIMIT %d" % want["conn_limit"])
    if want["tablespace"] is not None:
        parts.append("TABLESPACE " + quote_ident(want["tablespace"]))
    return Statement(" ".join(parts), target=want["name"])


def extension_statements(missing):
    return [Statement("CREATE EXTENSION IF NOT EXISTS %s CASCADE" % quote_ident(ext)) for ext in missing]


def missing_extensions(conn, wanted_exts):
    rows = conn.query("SELECT extname::text FROM pg_catalog.pg_extension WHERE extname = ANY(%s::text[])",
                      (list(wanted_exts),))
    have = set(r[0] for r in rows)
    return [e for e in wanted_exts if e not in have]


# ---------------------------------------------------------------- run

def run(params, conn_factory, check_mode):
    """The whole algorithm for pg_database.  Returns the result dict; raises
    ValidationError, DatabaseError, or PartialFailure (with done/failed)."""
    wanted = desired_databases(params)
    conn = conn_factory(None, autocommit=True)
    queries = []
    done = []
    reports = []
    diffs = []
    try:
        current = read_databases(conn, [w["name"] for w in wanted])
        found = read_lookups(conn, wanted)
        steps = plan_databases(wanted, current, found)
        changed = False
        for step in steps:
            name = step.want["name"]
            exts = (step.want["extensions"] or []) if step.want["state"] == "present" else []
            ran = []
            missing = []
            try:
                for statement in step.statements:
                    if not check_mode:
                        conn.execute(statement.sql)
                    ran.append(statement)
                    queries.append(statement.masked)
                if exts:
                    if step.have is None and check_mode:
                        missing = list(exts)
                    else:
                        other = conn_factory(name, autocommit=True)
                        try:
                            missing = missing_extensions(other, exts)
                            for statement in extension_statements(missing):
                                if not check_mode:
                                    other.execute(statement.sql)
                                ran.append(statement)
                                queries.append("/* in database %s */ %s" % (name, statement.masked))
                        finally:
                            other.close()
            except DatabaseError as exc:
                result = {
                    "changed": bool(done) or (bool(ran) and not check_mode),
                    "done": done, "failed_database": name, "queries": queries, "databases": reports,
                }
                raise PartialFailure(
                    "database %r failed: %s. Databases done before it: %s; later ones were not attempted."
                    % (name, exc, ", ".join(repr(d) for d in done) or "none"), result)
            if missing:
                step.report["extensions_created"] = missing
            if step.statements or missing:
                step.report["changed"] = True
                changed = True
                after = dict(step.after or {})
                if missing:
                    after["extensions_created"] = missing
                diffs.append(diff_entry(name, step.before, after, step.statements + [
                    Statement("/* in database %s */ %s" % (name, s.sql)) for s in extension_statements(missing)]))
                done.append(name)
            reports.append(step.report)
        return {"changed": changed, "databases": reports, "queries": queries, "done": done, "diff": diffs}
    finally:
        conn.close()
