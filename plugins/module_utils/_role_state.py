# -*- coding: utf-8 -*-
# Copyright (c) djangodeploy maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Roles: desired state from parameters, current state from the catalog,
the difference as a plan of SQL statements, and applying it.

Nothing here talks to Ansible; the module feeds parameters in and reports
what comes back.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.djangodeploy.postgresql.plugins.module_utils._common import (
    MASK,
    Statement,
    check_conn_limit,
    collect_items,
    diff_entry,
    rehearse,
)
from ansible_collections.djangodeploy.postgresql.plugins.module_utils._errors import DatabaseError, PartialFailure, ValidationError
from ansible_collections.djangodeploy.postgresql.plugins.module_utils._identifiers import quote_ident, quote_literal, validate_identifier
from ansible_collections.djangodeploy.postgresql.plugins.module_utils import _scram

# The role attributes that are a keyword or its NO form: (option, pg_authid
# column, value a new role gets).  The catalog query, the SQL, the diff and the
# argument spec are all built from this table.
FLAGS = (
    ("superuser", "rolsuper", False),
    ("createdb", "rolcreatedb", False),
    ("createrole", "rolcreaterole", False),
    ("inherit", "rolinherit", True),
    ("login", "rolcanlogin", False),
    ("replication", "rolreplication", False),
    ("bypassrls", "rolbypassrls", False),
)

# Every attribute read from the catalog and shown in the diff: (option, SQL
# expression on pg_authid/pg_roles ``r``, value a new role gets).
ATTRIBUTES = tuple((option, "r." + column, new) for option, column, new in FLAGS) + (
    ("conn_limit", "r.rolconnlimit", -1),
    ("valid_until", "r.rolvaliduntil::text", None),
)

# The first OID a user-made object gets (FirstNormalObjectId): roles below it
# come with PostgreSQL and cannot be dropped.
FIRST_NORMAL_OID = 16384

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
    spec = dict(
        name=dict(type="str", aliases=["user", "role"]),
        state=dict(type="str", choices=["present", "absent"]),
        password=dict(type="str", no_log=True),
        update_password=dict(type="str", choices=["always", "on_create"], no_log=False),
        password_encryption=dict(type="str", choices=["scram-sha-256", "md5"], no_log=False),
        upgrade_md5=dict(type="bool"),
        scram_iterations=dict(type="int"),
    )
    for option, _column, _new in FLAGS:
        spec[option] = dict(type="bool")
    spec.update(
        conn_limit=dict(type="int"),
        valid_until=dict(type="str", aliases=["expires"]),
        member_of=dict(type="list", elements="str", aliases=["groups"]),
        member_of_exclusive=dict(type="bool"),
        reassign_owned_to=dict(type="str"),
        drop_owned=dict(type="bool"),
    )
    return spec


ROLE_KEYS = tuple(role_item_spec())


# ---------------------------------------------------------------- desired

def _check_password(password, label):
    if password is None:
        return
    if "\x00" in password:
        raise ValidationError("%spassword must not contain a NUL character" % label)
    if password.startswith(_scram.SCRAM_PREFIX) and not _scram.is_scram_verifier(password):
        # Sent as it is, the server would store this string as a plaintext password.
        raise ValidationError(
            "%spassword starts with %s but is not a valid SCRAM-SHA-256 verifier (expected "
            "SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 32-byte StoredKey>:<base64 32-byte ServerKey>); "
            "give the plaintext password or a verifier as PostgreSQL stores it" % (label, _scram.SCRAM_PREFIX))


def desired_roles(params):
    """Validate every item; return a list of dicts (label included).
    Raises ValidationError naming the parameter; needs no database."""
    result = []
    for label, item in collect_items(params, "roles", ROLE_KEYS, ROLE_DEFAULTS):
        validate_identifier(item["name"], label + "name")
        check_conn_limit(item["conn_limit"], label)
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
            if item["drop_owned"]:
                raise ValidationError("%sreassign_owned_to and %sdrop_owned are mutually exclusive" % (label, label))
        _check_password(item["password"], label)
        if item["valid_until"] is not None and "\x00" in item["valid_until"]:
            raise ValidationError("%svalid_until must not contain a NUL character" % label)
        item["label"] = label
        result.append(item)
    return result


# ---------------------------------------------------------------- current

_ROLE_QUERY = """
SELECT r.rolname AS name, r.oid::int8 AS oid, {attributes}, {password} AS password,
       ARRAY(SELECT g.rolname::text FROM pg_catalog.pg_auth_members m
             JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
             WHERE m.member = r.oid ORDER BY 1) AS member_of
FROM pg_catalog.{table} r
WHERE r.rolname = ANY(%s::text[])
"""


def names_read(wanted):
    """The roles whose rows the plan needs: the items, their groups and reassign_owned_to."""
    names = set(w["name"] for w in wanted)
    for w in wanted:
        names.update(w["member_of"] or [])
        if w["reassign_owned_to"]:
            names.add(w["reassign_owned_to"])
    return sorted(names)


def role_query(can_read):
    """The catalog query of the roles named by its one parameter (a text array)."""
    return _ROLE_QUERY.format(
        attributes=", ".join("%s AS %s" % (expression, option) for option, expression, _new in ATTRIBUTES),
        password="r.rolpassword" if can_read else "NULL::text",
        table="pg_authid" if can_read else "pg_roles")


def current_roles(rows, can_read):
    """{name: dict} from the rows of role_query."""
    current = {}
    for role in rows:
        if not can_read:
            role["password"] = False
        role["member_of"] = list(role["member_of"] or [])
        current[role["name"]] = role
    return current


def read_roles(conn, names):
    """One query for all roles: {name: dict}.  ``password`` is the stored
    verifier, or the special value ``None`` (no password) or ``False`` (not
    readable: the login role may not read pg_authid)."""
    session = conn.query("SELECT pg_catalog.has_table_privilege('pg_catalog.pg_authid', 'SELECT') AS can_read, "
                         "session_user::text AS session_user, current_user::text AS current_user")[0]
    can_read = bool(session["can_read"])
    current = current_roles(conn.query(role_query(can_read), (list(names),)), can_read)
    return current, set([session["session_user"], session["current_user"]])


def normalise_valid_until(conn, values):
    """Map each valid_until text to the server's own rendering of it as a
    timestamptz (in this session), in one query.  Raises ValidationError."""
    values = sorted(set(values))
    if not values:
        return {}
    try:
        rows = conn.query("SELECT v AS given, v::timestamptz::text AS stored FROM unnest(%s::text[]) AS v", (values,))
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
    return dict((row["given"], row["stored"]) for row in rows)


_OWNED_DATABASES = """
SELECT r.rolname AS role, d.datname AS database FROM pg_catalog.pg_database d
JOIN pg_catalog.pg_roles r ON r.oid = d.datdba
WHERE r.rolname = ANY(%s::text[]) ORDER BY 1, 2
"""

_DEPENDENCIES = """
SELECT r.rolname AS role,
       CASE WHEN s.dbid = 0 THEN '' ELSE d.datname END AS database,
       coalesce(d.datallowconn, true) AS allowconn,
       CASE WHEN s.dbid = 0 OR d.datname = current_database()
            THEN pg_catalog.pg_describe_object(s.classid, s.objid, s.objsubid) END AS description,
       s.deptype::text AS deptype,
       s.classid = 'pg_catalog.pg_database'::regclass AS is_database
FROM pg_catalog.pg_shdepend s
JOIN pg_catalog.pg_roles r ON r.oid = s.refobjid AND s.refclassid = 'pg_catalog.pg_authid'::regclass
LEFT JOIN pg_catalog.pg_database d ON d.oid = s.dbid
WHERE r.rolname = ANY(%s::text[]) AND s.deptype <> 'p'
ORDER BY 1, 2, 4
"""

_DEPENDENCY_KINDS = {"o": "owner of", "a": "privileges on", "r": "policy on", "i": "initial privileges on"}


def read_dependencies(conn, names):
    """{role: {"databases": [owned db], "here": [descriptions in this db or
    shared], "elsewhere": {db: count}, "closed": set of those databases that
    refuse connections}}"""
    deps = dict((name, {"databases": [], "here": [], "elsewhere": {}, "closed": set()}) for name in names)
    if not names:
        return deps
    for row in conn.query(_OWNED_DATABASES, (list(names),)):
        deps[row["role"]]["databases"].append(row["database"])
    for row in conn.query(_DEPENDENCIES, (list(names),)):
        if row["is_database"] and row["deptype"] == "o":
            continue  # owned databases: listed above, handled by ALTER DATABASE OWNER
        role = deps[row["role"]]
        if row["description"] is not None:
            role["here"].append("%s %s" % (_DEPENDENCY_KINDS.get(row["deptype"], row["deptype"]), row["description"]))
        else:
            role["elsewhere"][row["database"]] = role["elsewhere"].get(row["database"], 0) + 1
            if not row["allowconn"]:
                role["closed"].add(row["database"])
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
    state = dict((option, role.get(option)) for option, _expression, _new in ATTRIBUTES)
    state["member_of"] = sorted(role.get("member_of") or [])
    state["password"] = _describe_password(role.get("password"))
    return state


_NEW_ROLE = dict((option, new) for option, _expression, new in ATTRIBUTES)
_NEW_ROLE.update(password=None, member_of=[])

# PostgreSQL refuses these names for a new role (gram.y's RoleId and
# user.c's IsReservedName), quoted or not.
_RESERVED = ("public", "none")


def _password_clause(verifier):
    if verifier is None:
        return "PASSWORD NULL", "PASSWORD NULL"
    return "PASSWORD " + quote_literal(verifier), "PASSWORD '" + MASK + "'"


def _attribute_clauses(want, have, valid_until):
    """The CREATE/ALTER ROLE clauses for the attributes that differ (all that
    are given, for a new role)."""
    clauses = []
    for option, _column, _new in FLAGS:
        if want[option] is not None and (have is None or bool(want[option]) != bool(have[option])):
            clauses.append(option.upper() if want[option] else "NO" + option.upper())
    if want["conn_limit"] is not None and (have is None or want["conn_limit"] != have["conn_limit"]):
        clauses.append("CONNECTION LIMIT %d" % want["conn_limit"])
    if want["valid_until"] is not None and (have is None or valid_until[want["valid_until"]] != have["valid_until"]):
        clauses.append("VALID UNTIL " + quote_literal(want["valid_until"]))
    return clauses


class RolePlan:
    """The statements in order, per-role reports and diff entries.  Built by
    ``plan_present`` and ``plan_drop`` for each item; ``elsewhere`` holds the
    statements for other databases, ``deferred`` the DROP ROLEs that can only
    run once those are committed."""

    def __init__(self, current, will_exist, login_db, session_roles):
        self.current = current
        self.will_exist = will_exist
        self.login_db = login_db
        self.session_roles = session_roles
        self.creates = []   # CREATE/ALTER ROLE, in the given order
        self.grants = []    # after every creation: every role of the list exists by then
        self.drops = []     # last: a reassign_owned_to target may be created above
        self.elsewhere = []  # (dbname, [Statement])
        self.deferred = []
        self.reports = []
        self.diffs = []

    @property
    def statements(self):
        return self.creates + self.grants + self.drops

    @property
    def changed(self):
        return bool(self.statements or self.elsewhere)

    def _record(self, want, report, before, after, statements):
        if statements:
            report["changed"] = True
            self.diffs.append(diff_entry(want["name"], before or {}, after or {}, statements))
        self.reports.append(report)

    def plan_present(self, want, valid_until):
        name, label = want["name"], want["label"]
        have = self.current.get(name)
        report = {"name": name, "state": "present", "changed": False}
        for index, group in enumerate(want["member_of"] or []):
            if group not in self.will_exist:
                raise ValidationError("%smember_of[%d]: role %r does not exist" % (label, index, group))
        if have is None and (name.startswith("pg_") or name in _RESERVED):
            raise ValidationError("%sname: %r is reserved by PostgreSQL (role names starting with pg_, and "
                                  "public and none, cannot be created); choose another name" % (label, name))
        verifier, reason = _password_plan(want, have, have is None)
        clauses = _attribute_clauses(want, have, valid_until)
        masked = list(clauses)
        before = _public_state(have) if have else None
        after = dict(before or _public_state(_NEW_ROLE))
        for option, _column, _new in FLAGS:
            if want[option] is not None:
                after[option] = bool(want[option])
        if want["conn_limit"] is not None:
            after["conn_limit"] = want["conn_limit"]
        if want["valid_until"] is not None:
            after["valid_until"] = valid_until[want["valid_until"]]
        if verifier is not _KEEP:
            real, shown = _password_clause(verifier)
            clauses.append(real)
            masked.append(shown)
            report["password_changed"] = True
            report["password_reason"] = reason
            after["password"] = _describe_password(verifier) + (" (changed)" if verifier is not None else "")
        statements = []
        if have is None:
            head = "CREATE ROLE " + quote_ident(name)
            statements.append(Statement(head + (" WITH " + " ".join(clauses) if clauses else ""),
                                        head + (" WITH " + " ".join(masked) if masked else "")))
            report["created"] = True
        elif clauses:
            head = "ALTER ROLE " + quote_ident(name) + " WITH "
            statements.append(Statement(head + " ".join(clauses), head + " ".join(masked)))
        self.creates.extend(statements)
        memberships = self._memberships(want, have, after)
        self.grants.extend(memberships)
        self._record(want, report, before, after, statements + memberships)

    def _memberships(self, want, have, after):
        quoted = quote_ident(want["name"])
        existing = set(have["member_of"]) if have else set()
        wanted = list(want["member_of"] or [])
        statements = [Statement("GRANT %s TO %s" % (quote_ident(group), quoted))
                      for group in wanted if group not in existing]
        if want["member_of"] is not None and want["member_of_exclusive"]:
            statements.extend(Statement("REVOKE %s FROM %s" % (quote_ident(group), quoted))
                              for group in sorted(existing - set(wanted)))
            after["member_of"] = sorted(wanted)
        else:
            after["member_of"] = sorted(existing | set(wanted))
        return statements

    def plan_drop(self, want, deps):
        name = want["name"]
        have = self.current.get(name)
        report = {"name": name, "state": "absent", "changed": False}
        statements = []
        if have is not None:
            self._check_drop(want, have, deps)
            statements = self._drop_statements(want, deps)
            report["dropped"] = True
        self._record(want, report, _public_state(have) if have else None, None, statements)

    def _check_drop(self, want, have, deps):
        """Everything that would make the drop fail, before any change: above
        all before DROP/REASSIGN OWNED is committed in another database."""
        name, label, target = want["name"], want["label"], want["reassign_owned_to"]
        if name in self.session_roles:
            raise ValidationError("%sname: cannot drop %r, the role this task is connected as (login_user); "
                                  "connect as another role" % (label, name))
        if have["oid"] < FIRST_NORMAL_OID:
            raise ValidationError("%sname: %r is a role PostgreSQL itself needs; it cannot be dropped" % (label, name))
        if target is not None and target not in self.will_exist:
            raise ValidationError("%sreassign_owned_to: role %r does not exist" % (label, target))
        if target is not None and deps["elsewhere"] and target not in self.current:
            raise ValidationError(
                "%sreassign_owned_to: role %r is created by this same task, but %r has objects in other databases "
                "(%s) where REASSIGN OWNED runs before the new role is committed; create %r in an earlier task"
                % (label, target, name, ", ".join(sorted(deps["elsewhere"])), target))
        for db in sorted(deps["closed"]):
            raise ValidationError(
                "%sname: role %r has objects in database %r, which does not accept connections "
                "(datallowconn is false), so they cannot be reassigned or dropped; allow connections "
                "(ALTER DATABASE .. ALLOW_CONNECTIONS true) or remove them first" % (label, name, db))
        has_objects = deps["databases"] or deps["here"] or deps["elsewhere"]
        if has_objects and target is None and not want["drop_owned"]:
            raise ValidationError(
                "%sname: cannot drop role %r, objects depend on it: %s. Set %sreassign_owned_to to a role "
                "that takes them over (REASSIGN OWNED + DROP OWNED, ALTER DATABASE .. OWNER), or %sdrop_owned: true "
                "to drop what it owns (owned databases are never dropped)."
                % (label, name, _describe_dependencies(deps, self.login_db), label, label))
        if want["drop_owned"] and deps["databases"]:
            raise ValidationError(
                "%sname: role %r owns database(s) %s; drop_owned never drops databases: set %sreassign_owned_to, "
                "or remove the databases first (djangodeploy.postgresql.pg_database state=absent)"
                % (label, name, ", ".join(repr(d) for d in deps["databases"]), label))

    def _drop_statements(self, want, deps):
        quoted = quote_ident(want["name"])
        target = want["reassign_owned_to"]
        owned = []
        if target is not None:
            owned.append(Statement("REASSIGN OWNED BY %s TO %s" % (quoted, quote_ident(target))))
        owned.append(Statement("DROP OWNED BY %s" % quoted))
        statements = []
        if target is not None:
            statements.extend(Statement("ALTER DATABASE %s OWNER TO %s" % (quote_ident(db), quote_ident(target)))
                              for db in deps["databases"])
        for db in sorted(deps["elsewhere"]):
            self.elsewhere.append((db, list(owned)))
        if deps["here"] or (target is not None and (deps["databases"] or deps["elsewhere"])):
            statements.extend(owned)
        drop = Statement("DROP ROLE %s" % quoted)
        if deps["elsewhere"]:
            self.deferred.append(drop)
        statements.append(drop)
        self.drops.extend(statements)
        return statements


def _describe_dependencies(deps, login_db):
    parts = []
    if deps["databases"]:
        parts.append("owns database(s) %s" % ", ".join(repr(d) for d in deps["databases"]))
    if deps["here"]:
        shown = deps["here"][:20]
        more = len(deps["here"]) - len(shown)
        parts.append("in database %r: %s%s" % (login_db, "; ".join(shown), " and %d more" % more if more > 0 else ""))
    for db, count in sorted(deps["elsewhere"].items()):
        parts.append("in database %r: %d object(s) or privilege(s)" % (db, count))
    return " | ".join(parts)


def plan_roles(wanted, current, valid_until, dependencies, login_db, session_roles=()):
    """Build the plan.  Raises ValidationError (before any change) for
    problems that only the catalog reveals."""
    will_exist = set(current)
    for want in wanted:
        if want["state"] == "present":
            will_exist.add(want["name"])
        else:
            will_exist.discard(want["name"])
    plan = RolePlan(current, will_exist, login_db, set(session_roles))
    for want in wanted:
        if want["state"] == "present":
            plan.plan_present(want, valid_until)
        else:
            plan.plan_drop(want, dependencies.get(want["name"]))
    return plan


# ---------------------------------------------------------------- apply

def _in_database(dbname, statements):
    return ["/* in database %s */ %s" % (dbname, s.masked) for s in statements]


def apply_plan(conn, plan, connect_other):
    """Run the plan; returns the masked statements executed.

    REASSIGN and DROP OWNED act only in the database they run in, and a DROP
    ROLE sees the objects in other databases until their removal is committed,
    so other databases cannot share the role transaction.  To keep a failure
    from leaving them changed and the roles not: every connection is opened
    first, and the whole plan is rehearsed (run, then rolled back) in every
    database; only then is each other database committed, and the role
    transaction last.  A failure after the first commit (something changed
    in between) raises PartialFailure listing what was committed."""
    executed = []
    others = []
    try:
        for dbname, statements in plan.elsewhere:
            others.append((dbname, connect_other(dbname), statements))
        if others:
            rehearse(conn, [s for s in plan.statements if s not in plan.deferred], None)
            for dbname, other, statements in others:
                rehearse(other, statements, dbname)
        for dbname, other, statements in others:
            try:
                _run_in_transaction(other, statements)
            except DatabaseError as exc:
                _fail(exc, dbname, executed)
            executed.extend(_in_database(dbname, statements))
        try:
            _run_in_transaction(conn, plan.statements)
        except DatabaseError as exc:
            _fail(exc, None, executed)
    finally:
        for _dbname, other, _statements in others:
            other.close()
    executed.extend(s.masked for s in plan.statements)
    return executed


def _run_in_transaction(conn, statements):
    try:
        for statement in statements:
            try:
                conn.execute(statement.sql)
            except DatabaseError as exc:
                raise DatabaseError("%s (statement: %s)" % (exc, statement.masked))
        conn.commit()
    except DatabaseError:
        conn.rollback()
        raise


def _fail(exc, dbname, executed):
    where = "in database %r: " % dbname if dbname else ""
    undone = "the role transaction was rolled back, no role was changed"
    if not executed:
        raise DatabaseError("%s%s; %s" % (where, exc, undone))
    raise PartialFailure(
        "%s%s; %s, but these statements were already committed in other databases: %s"
        % (where, exc, undone, "; ".join(executed)),
        {"changed": True, "queries": list(executed)})


def planned_queries(plan):
    queries = []
    for dbname, statements in plan.elsewhere:
        queries.extend(_in_database(dbname, statements))
    queries.extend(s.masked for s in plan.statements)
    return queries


def run(params, conn_factory, check_mode):
    """The whole algorithm for pg_role.  Returns a result dict; raises
    ValidationError, DatabaseError or PartialFailure."""
    wanted = desired_roles(params)
    conn = conn_factory(None)
    try:
        current, session_roles = read_roles(conn, names_read(wanted))
        valid_until = normalise_valid_until(conn, [w["valid_until"] for w in wanted if w["valid_until"] is not None])
        to_drop = [w["name"] for w in wanted if w["state"] == "absent" and w["name"] in current]
        dependencies = read_dependencies(conn, to_drop)
        plan = plan_roles(wanted, current, valid_until, dependencies, conn.dbname, session_roles)
        # End the read-only transaction before applying (or leaving).
        conn.rollback()
        result = {"changed": plan.changed, "roles": plan.reports, "diff": plan.diffs}
        if check_mode or not plan.changed:
            result["queries"] = planned_queries(plan)
            return result
        result["queries"] = apply_plan(conn, plan, conn_factory)
        return result
    finally:
        conn.close()
