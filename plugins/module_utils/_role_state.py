# -*- coding: utf-8 -*-
# Copyright (c) djangodeploy maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Roles: desired state from parameters, current state from the catalog,
the difference as a plan of SQL statements, and applying it in one
transaction.

Nothing here talks to Ansible; the module feeds parameters in and reports
what comes back.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.djangodeploy.postgresql.plugins.module_utils._common import (
    MASK,
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
from ansible_collections.djangodeploy.postgresql.plugins.module_utils import _scram

# (option name, catalog column, keyword when true, keyword when false)
ATTRIBUTES = (
    ("superuser", "rolsuper", "SUPERUSER", "NOSUPERUSER"),
    ("createdb", "rolcreatedb", "CREATEDB", "NOCREATEDB"),
    ("createrole", "rolcreaterole", "CREATEROLE", "NOCREATEROLE"),
    ("inherit", "rolinherit", "INHERIT", "NOINHERIT"),
    ("login", "rolcanlogin", "LOGIN", "NOLOGIN"),
    ("replication", "rolreplication", "REPLICATION", "NOREPLICATION"),
    ("bypassrls", "rolbypassrls", "BYPASSRLS", "NOBYPASSRLS"),
)

ROLE_KEYS = (
    "name", "state", "password", "update_password", "password_encryption", "upgrade_md5",
    "scram_iterations", "superuser", "createdb", "createrole", "inherit", "login",
    "replication", "bypassrls", "conn_limit", "valid_until", "member_of",
    "member_of_exclusive", "reassign_owned_to", "drop_owned",
)

ROLE_DEFAULTS = {
    "state": "present",
    "update_password": "always",
    "password_encryption": "scram-sha-256",
    "upgrade_md5": True,
    "scram_iterations": _scram.DEFAULT_ITERATIONS,
    "member_of_exclusive": False,
    "drop_owned": False,
}


def role_item_spec():
    """Argument spec of one role (shared by the single and the list form).
    No defaults here: top-level values act as defaults for list items, and
    ROLE_DEFAULTS fills the rest."""
    return dict(
        name=dict(type="str", aliases=["user", "role"]),
        state=dict(type="str", choices=["present", "absent"]),
        password=dict(type="str", no_log=True),
        update_password=dict(type="str", choices=["always", "on_create"], no_log=False),
        password_encryption=dict(type="str", choices=["scram-sha-256", "md5"], no_log=False),
        upgrade_md5=dict(type="bool"),
        scram_iterations=dict(type="int"),
        superuser=dict(type="bool"),
        createdb=dict(type="bool"),
        createrole=dict(type="bool"),
        inherit=dict(type="bool"),
        login=dict(type="bool"),
        replication=dict(type="bool"),
        bypassrls=dict(type="bool"),
        conn_limit=dict(type="int"),
        valid_until=dict(type="str", aliases=["expires"]),
        member_of=dict(type="list", elements="str", aliases=["groups"]),
        member_of_exclusive=dict(type="bool"),
        reassign_owned_to=dict(type="str"),
        drop_owned=dict(type="bool"),
    )


# ---------------------------------------------------------------- desired

def desired_roles(params):
    """Validate every item; return a list of dicts (label included).
    Raises ValidationError naming the parameter; needs no database."""
    items = collect_items(params, "roles", ROLE_KEYS, ROLE_DEFAULTS)
    result = []
    for label, item in items:
        validate_identifier(item["name"], label + "name")
        if item["conn_limit"] is not None and item["conn_limit"] < -1:
            raise ValidationError("%sconn_limit must be -1 (no limit) or a number >= 0" % label)
        if item["scram_iterations"] < 1:
            raise ValidationError("%sscram_iterations must be a positive number" % label)
        for index, group in enumerate(item["member_of"] or []):
            validate_identifier(group, "%smember_of[%d]" % (label, index))
            if group == item["name"]:
                raise ValidationError("%smember_of: a role cannot be a member of itself (%r)" % (label, group))
        if item["reassign_owned_to"] is not None:
            validate_identifier(item["reassign_owned_to"], label + "reassign_owned_to")
            if item["reassign_owned_to"] == item["name"]:
                raise ValidationError("%sreassign_owned_to must name another role" % label)
        if item["reassign_owned_to"] is not None and item["drop_owned"]:
            raise ValidationError("%sreassign_owned_to and %sdrop_owned are mutually exclusive" % (label, label))
        password = item["password"]
        if password is not None and "\x00" in password:
            raise ValidationError("%spassword must not contain a NUL character" % label)
        if password and password.startswith(_scram.SCRAM_PREFIX) and not _scram.is_scram_verifier(password):
            raise ValidationError("%spassword starts with %s but is not a valid SCRAM-SHA-256 verifier"
                                  % (label, _scram.SCRAM_PREFIX))
        if item["valid_until"] is not None and "\x00" in item["valid_until"]:
            raise ValidationError("%svalid_until must not contain a NUL character" % label)
        item = dict(item)
        item["label"] = label
        result.append(item)
    return result


# ---------------------------------------------------------------- current

_ROLE_QUERY = """
SELECT r.rolname, r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolinherit, r.rolcanlogin,
       r.rolreplication, r.rolbypassrls, r.rolconnlimit, r.rolvaliduntil::text, %s,
       ARRAY(SELECT g.rolname::text FROM pg_catalog.pg_auth_members m
             JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
             WHERE m.member = r.oid ORDER BY 1)
FROM pg_catalog.%s r
WHERE r.rolname = ANY(%%s::text[])
"""


def read_roles(conn, names):
    """One query for all roles: {name: dict}.  ``password`` is the stored
    verifier, or the special value ``None`` (no password) or ``False`` (not
    readable: the login role may not read pg_authid)."""
    rows = conn.query("SELECT pg_catalog.has_table_privilege('pg_catalog.pg_authid', 'SELECT')")
    can_read = bool(rows[0][0])
    if can_read:
        sql = _ROLE_QUERY % ("r.rolpassword", "pg_authid")
    else:
        sql = _ROLE_QUERY % ("NULL::text", "pg_roles")
    current = {}
    for row in conn.query(sql, (list(names),)):
        role = {"name": row[0]}
        for index, (option, _column, _yes, _no) in enumerate(ATTRIBUTES):
            role[option] = row[1 + index]
        role["conn_limit"] = row[8]
        role["valid_until"] = row[9]
        role["password"] = row[10] if can_read else False
        role["member_of"] = list(row[11] or [])
        current[row[0]] = role
    return current


def normalise_valid_until(conn, values):
    """Map each valid_until text to the server's own rendering of it as a
    timestamptz (in this session), in one query.  Raises ValidationError."""
    values = sorted(set(values))
    if not values:
        return {}
    try:
        rows = conn.query("SELECT v, v::timestamptz::text FROM unnest(%s::text[]) AS v", (values,))
    except DatabaseError:
        conn.rollback()
        for value in values:
            try:
                conn.query("SELECT %s::timestamptz", (value,))
            except DatabaseError as exc:
                conn.rollback()
                raise ValidationError("valid_until %r is not a timestamp PostgreSQL understands: %s"
                                      % (value, exc))
        raise
    return dict(rows)


_OWNED_DATABASES = """
SELECT r.rolname, d.datname FROM pg_catalog.pg_database d
JOIN pg_catalog.pg_roles r ON r.oid = d.datdba
WHERE r.rolname = ANY(%s::text[]) ORDER BY 1, 2
"""

_DEPENDENCIES = """
SELECT r.rolname,
       CASE WHEN s.dbid = 0 THEN '' ELSE d.datname END,
       CASE WHEN s.dbid = 0 OR d.datname = current_database()
            THEN pg_catalog.pg_describe_object(s.classid, s.objid, s.objsubid) END,
       s.deptype::text,
       s.classid = 'pg_catalog.pg_database'::regclass
FROM pg_catalog.pg_shdepend s
JOIN pg_catalog.pg_roles r ON r.oid = s.refobjid AND s.refclassid = 'pg_catalog.pg_authid'::regclass
LEFT JOIN pg_catalog.pg_database d ON d.oid = s.dbid
WHERE r.rolname = ANY(%s::text[]) AND s.deptype <> 'p'
ORDER BY 1, 2, 3
"""


def read_dependencies(conn, names):
    """{role: {"databases": [owned db], "here": [descriptions in this db or
    shared], "elsewhere": {db: count}}}"""
    deps = dict((name, {"databases": [], "here": [], "elsewhere": {}}) for name in names)
    if not names:
        return deps
    for rolname, datname in conn.query(_OWNED_DATABASES, (list(names),)):
        deps[rolname]["databases"].append(datname)
    for rolname, datname, description, deptype, is_database in conn.query(_DEPENDENCIES, (list(names),)):
        if is_database and deptype == "o":
            continue  # owned databases: listed above, handled by ALTER DATABASE OWNER
        if description is not None:
            kind = {"o": "owner of", "a": "privileges on", "r": "policy on", "i": "initial privileges on"}.get(deptype, deptype)
            deps[rolname]["here"].append("%s %s" % (kind, description))
        else:
            deps[rolname]["elsewhere"][datname] = deps[rolname]["elsewhere"].get(datname, 0) + 1
    return deps


# ---------------------------------------------------------------- diff / plan

def _password_plan(want, have, creating):
    """Return (new stored value or the marker _KEEP, reason).  The new value
    is a verifier, or None for 'no password'."""
    password = want["password"]
    if password is None:
        return _KEEP, None
    if not creating and want["update_password"] == "on_create":
        return _KEEP, None
    current = None if creating else have["password"]
    if password == "":
        if creating or current is None:
            return _KEEP, None
        return None, "password removed"
    if _scram.is_scram_verifier(password) or _scram.is_md5_hash(password):
        if current == password:
            return _KEEP, None
        return password, "verifier given"
    if current is False:
        # Unreadable (no access to pg_authid): cannot compare, always set.
        return _make_verifier(want), "password set (stored verifier not readable)"
    if current is not None:
        if _scram.is_scram_verifier(current):
            if _scram.scram_matches(current, password):
                return _KEEP, None
        elif _scram.is_md5_hash(current):
            if _scram.md5_matches(current, password, want["name"]):
                if want["password_encryption"] == "scram-sha-256" and want["upgrade_md5"]:
                    return _make_verifier(want), "md5 upgraded to SCRAM-SHA-256"
                return _KEEP, None
        elif current == password:
            return _make_verifier(want), "plaintext replaced by a verifier"
    if creating:
        return _make_verifier(want), "password set"
    return _make_verifier(want), "password changed"


class _Keep:
    def __repr__(self):
        return "KEEP"


_KEEP = _Keep()


def _make_verifier(want):
    if want["password_encryption"] == "md5":
        return _scram.md5_hash(want["password"], want["name"])
    return _scram.scram_verifier(want["password"], iterations=want["scram_iterations"])


def _describe_password(value):
    if value is False:
        return "unknown (not readable)"
    if value is None:
        return "none"
    if _scram.is_scram_verifier(value):
        return "set (SCRAM-SHA-256)"
    if _scram.is_md5_hash(value):
        return "set (md5)"
    return "set"


def _public_state(role):
    state = dict((key, role.get(key)) for key in (
        "superuser", "createdb", "createrole", "inherit", "login", "replication", "bypassrls",
        "conn_limit", "valid_until"))
    state["member_of"] = sorted(role.get("member_of") or [])
    state["password"] = _describe_password(role.get("password"))
    return state


def _password_clause(verifier):
    if verifier is None:
        return " PASSWORD NULL", " PASSWORD NULL"
    return " PASSWORD " + quote_literal(verifier), " PASSWORD '" + MASK + "'"


class RolePlan:
    """The result of planning: statements in order, per-role reports, the
    diff entries; ``elsewhere`` holds statements for other databases."""

    def __init__(self):
        self.statements = []
        self.elsewhere = []  # (dbname, [Statement])
        self.reports = []
        self.diffs = []

    @property
    def changed(self):
        return bool(self.statements or self.elsewhere)


def plan_roles(wanted, current, valid_until, dependencies, login_db):
    """Build the plan.  Raises ValidationError (before any change) for
    problems that only the catalog reveals."""
    plan = RolePlan()
    will_exist = set(current)
    for want in wanted:
        if want["state"] == "present":
            will_exist.add(want["name"])
        else:
            will_exist.discard(want["name"])
    grants = []
    drops = []
    for want in wanted:
        name = want["name"]
        label = want["label"]
        have = current.get(name)
        report = {"name": name, "state": want["state"], "changed": False}
        statements = []
        memberships = []
        if want["state"] == "absent":
            if have is not None:
                statements = _plan_drop(want, have, dependencies[name], will_exist, plan, login_db)
                drops.extend(statements)
                report["dropped"] = True
                after = None
            else:
                after = None
            before = _public_state(have) if have else None
        else:
            for index, group in enumerate(want["member_of"] or []):
                if group not in will_exist:
                    raise ValidationError("%smember_of[%d]: role %r does not exist" % (label, index, group))
            creating = have is None
            verifier, reason = _password_plan(want, have, creating)
            want_vu = valid_until.get(want["valid_until"]) if want["valid_until"] is not None else None
            clauses, masked = [], []
            if creating:
                for option, _column, yes, no in ATTRIBUTES:
                    if want[option] is not None:
                        clauses.append(yes if want[option] else no)
            else:
                for option, _column, yes, no in ATTRIBUTES:
                    if want[option] is not None and bool(want[option]) != bool(have[option]):
                        clauses.append(yes if want[option] else no)
            if want["conn_limit"] is not None and (creating or want["conn_limit"] != have["conn_limit"]):
                clauses.append("CONNECTION LIMIT %d" % want["conn_limit"])
            if want["valid_until"] is not None and (creating or want_vu != have["valid_until"]):
                clauses.append("VALID UNTIL " + quote_literal(want["valid_until"]))
            masked = list(clauses)
            if verifier is not _KEEP:
                real, shown = _password_clause(verifier)
                clauses.append(real.strip())
                masked.append(shown.strip())
                report["password_changed"] = True
                report["password_reason"] = reason
            if creating:
                head = "CREATE ROLE " + quote_ident(name)
                statements.append(Statement(
                    head + (" WITH " + " ".join(clauses) if clauses else ""),
                    head + (" WITH " + " ".join(masked) if masked else ""), name))
                report["created"] = True
            elif clauses:
                head = "ALTER ROLE " + quote_ident(name) + " WITH "
                statements.append(Statement(head + " ".join(clauses), head + " ".join(masked), name))
            before = _public_state(have) if have else None
            after = dict(before or _public_state({"password": None}))
            for option, _column, _yes, _no in ATTRIBUTES:
                if want[option] is not None:
                    after[option] = bool(want[option])
                elif creating:
                    after[option] = option == "inherit"
            if want["conn_limit"] is not None:
                after["conn_limit"] = want["conn_limit"]
            elif creating:
                after["conn_limit"] = -1
            if want["valid_until"] is not None:
                after["valid_until"] = want_vu
            if verifier is not _KEEP:
                after["password"] = _describe_password(verifier) + (" (changed)" if verifier is not None else "")
            existing_groups = set(have["member_of"]) if have else set()
            wanted_groups = list(want["member_of"] or [])
            for group in wanted_groups:
                if group not in existing_groups:
                    memberships.append(Statement("GRANT %s TO %s" % (quote_ident(group), quote_ident(name)), target=name))
            if want["member_of"] is not None and want["member_of_exclusive"]:
                for group in sorted(existing_groups - set(wanted_groups)):
                    memberships.append(Statement("REVOKE %s FROM %s" % (quote_ident(group), quote_ident(name)), target=name))
                after["member_of"] = sorted(wanted_groups)
            else:
                after["member_of"] = sorted(existing_groups | set(wanted_groups))
            grants.extend(memberships)
        if statements or memberships:
            report["changed"] = True
            plan.diffs.append(diff_entry(name, before or {}, after or {}, statements + memberships))
        plan.reports.append(report)
        if want["state"] == "present":
            plan.statements.extend(statements)
    # Memberships after every creation (every role of the list exists by
    # then), drops last (a reassign_owned_to target may be created above).
    plan.statements.extend(grants)
    plan.statements.extend(drops)
    return plan


def _plan_drop(want, have, deps, will_exist, plan, login_db):
    name = want["name"]
    label = want["label"]
    target = want["reassign_owned_to"]
    statements = []
    if target is not None and target not in will_exist:
        raise ValidationError("%sreassign_owned_to: role %r does not exist" % (label, target))
    has_objects = deps["databases"] or deps["here"] or deps["elsewhere"]
    if has_objects and target is None and not want["drop_owned"]:
        parts = []
        if deps["databases"]:
            parts.append("owns database(s) %s" % ", ".join(repr(d) for d in deps["databases"]))
        if deps["here"]:
            shown = deps["here"][:20]
            more = len(deps["here"]) - len(shown)
            parts.append("in database %r: %s%s" % (login_db, "; ".join(shown), " and %d more" % more if more > 0 else ""))
        for db, count in sorted(deps["elsewhere"].items()):
            parts.append("in database %r: %d object(s) or privilege(s)" % (db, count))
        raise ValidationError(
            "%sname: cannot drop role %r, objects depend on it: %s. Set %sreassign_owned_to to a role "
            "that takes them over (REASSIGN OWNED + DROP OWNED, ALTER DATABASE .. OWNER), or %sdrop_owned: true "
            "to drop what it owns (owned databases are never dropped)."
            % (label, name, " | ".join(parts), label, label))
    if want["drop_owned"] and target is None and deps["databases"]:
        raise ValidationError(
            "%sname: role %r owns database(s) %s; drop_owned never drops databases: set %sreassign_owned_to, "
            "or remove the databases first (djangodeploy.postgresql.pg_database state=absent)"
            % (label, name, ", ".join(repr(d) for d in deps["databases"]), label))
    quoted = quote_ident(name)
    if target is not None:
        for db in deps["databases"]:
            statements.append(Statement("ALTER DATABASE %s OWNER TO %s" % (quote_ident(db), quote_ident(target)), target=name))
    for db in sorted(deps["elsewhere"]):
        other = []
        if target is not None:
            other.append(Statement("REASSIGN OWNED BY %s TO %s" % (quoted, quote_ident(target)), target=name))
        other.append(Statement("DROP OWNED BY %s" % quoted, target=name))
        plan.elsewhere.append((db, other))
    if deps["here"] or (target is not None and has_objects):
        if target is not None:
            statements.append(Statement("REASSIGN OWNED BY %s TO %s" % (quoted, quote_ident(target)), target=name))
        statements.append(Statement("DROP OWNED BY %s" % quoted, target=name))
    statements.append(Statement("DROP ROLE %s" % quoted, target=name))
    return statements


# ---------------------------------------------------------------- apply

def apply_plan(conn, plan, connect_other):
    """Run the plan.  Other databases first (each its own transaction: REASSIGN
    and DROP OWNED act only in the connected database), then every statement
    of the connected database in ONE transaction: all or nothing.  Returns the
    list of masked statements executed.  Raises DatabaseError."""
    executed = []
    for dbname, statements in plan.elsewhere:
        other = connect_other(dbname)
        try:
            for statement in statements:
                other.execute(statement.sql)
            other.commit()
        except DatabaseError as exc:
            other.rollback()
            raise DatabaseError("in database %r: %s" % (dbname, exc))
        finally:
            other.close()
        executed.extend("/* in database %s */ %s" % (dbname, s.masked) for s in statements)
    try:
        for statement in plan.statements:
            try:
                conn.execute(statement.sql)
            except DatabaseError as exc:
                raise DatabaseError("%s (statement: %s; the transaction was rolled back, no role was changed)"
                                    % (exc, statement.masked))
        conn.commit()
    except DatabaseError:
        conn.rollback()
        raise
    executed.extend(s.masked for s in plan.statements)
    return executed


def planned_queries(plan):
    queries = []
    for dbname, statements in plan.elsewhere:
        queries.extend("/* in database %s */ %s" % (dbname, s.masked) for s in statements)
    queries.extend(s.masked for s in plan.statements)
    return queries


def run(params, conn_factory, check_mode):
    """The whole algorithm for pg_role.  Returns a result dict; raises
    ValidationError or DatabaseError."""
    wanted = desired_roles(params)
    conn = conn_factory(None)
    try:
        names = set(w["name"] for w in wanted)
        for w in wanted:
            names.update(w["member_of"] or [])
            if w["reassign_owned_to"]:
                names.add(w["reassign_owned_to"])
        current = read_roles(conn, sorted(names))
        valid_until = normalise_valid_until(conn, [w["valid_until"] for w in wanted if w["valid_until"] is not None])
        to_drop = [w["name"] for w in wanted if w["state"] == "absent" and w["name"] in current]
        dependencies = read_dependencies(conn, to_drop)
        plan = plan_roles(wanted, current, valid_until, dependencies, conn.dbname)
        # End the read-only transaction before applying (or leaving).
        conn.rollback()
        result = {
            "changed": plan.changed,
            "roles": plan.reports,
            "diff": plan.diffs,
        }
        if check_mode or not plan.changed:
            result["queries"] = planned_queries(plan)
            return result
        result["queries"] = apply_plan(conn, plan, conn_factory)
        return result
    finally:
        conn.close()
