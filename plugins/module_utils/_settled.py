# -*- coding: utf-8 -*-
# Copyright (c) djangodeploy maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether pg_role and pg_database would change anything, decided from one read-only query.

A role that has read the host anyway (host_probe, psql as postgres in the database) skips the
two module runs when they would change nothing. The query is the modules' own catalog queries
with their parameters bound as literals, and the decision is the modules' own plan on its rows,
so a task skipped on this answer is one the module would have reported unchanged. Whatever the
answer cannot settle (no such database, an expiry date PostgreSQL must normalise, a malformed
answer, an input the module would refuse) counts as a change: the modules then run and decide,
or fail with their own message, as they always do."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.djangodeploy.postgresql.plugins.module_utils import _database_state, _role_state
from ansible_collections.djangodeploy.postgresql.plugins.module_utils._connection import connection_argument_spec
from ansible_collections.djangodeploy.postgresql.plugins.module_utils._errors import ValidationError
from ansible_collections.djangodeploy.postgresql.plugins.module_utils._identifiers import quote_literal

# pg_role and pg_database connect to this database unless login_db says otherwise.
_LOGIN_DB = connection_argument_spec()["login_db"]["default"]


def bind(sql, args):
    """``sql`` with each ``%s`` replaced by the literal of its argument: a string quoted, a list
    as a text array.  What psycopg would send, for a client (psql) that takes no parameters."""
    parts = sql.split("%s")
    if len(parts) != len(args) + 1 or any("%" in part for part in parts):
        raise ValueError("bind: the query needs %d parameters and no other %% signs" % (len(parts) - 1))
    bound = [parts[0]]
    for arg, part in zip(args, parts[1:]):
        if isinstance(arg, (list, tuple)):
            bound.append("ARRAY[%s]::text[]" % ", ".join(quote_literal(value) for value in arg))
        else:
            bound.append(quote_literal(arg))
        bound.append(part)
    return "".join(bound)


def _wanted(role, database):
    roles = _role_state.desired_roles(role)
    databases = _database_state.desired_databases(database)
    if len(databases) != 1:
        raise ValidationError("the probe reads one database, the one it connects to")
    return roles, databases[0]


def probe_query(role, database):
    """One SELECT, run in the database itself by its superuser, that answers with a JSON object
    of the rows pg_role and pg_database read.  ``role`` and ``database`` are the modules'
    parameters (single or list form; one database)."""
    roles, wanted = _wanted(role, database)
    queries = (
        ("database", "SELECT pg_catalog.current_database() AS name"),
        ("roles", bind(_role_state.role_query(True), (_role_state.names_read(roles),))),
        ("databases", bind(_database_state.DATABASES_QUERY, ([wanted["name"]],))),
        ("lookups", bind(_database_state.LOOKUPS_QUERY, _database_state.lookup_args([wanted], {}))),
        ("extensions", bind(_database_state.EXTENSIONS_QUERY, (wanted["extensions"] or [],))),
        ("public_schema", _database_state.PUBLIC_SCHEMA_QUERY),
    )
    return "SELECT pg_catalog.json_build_object(%s)" % ", ".join(
        "%s, (SELECT coalesce(pg_catalog.json_agg(q), '[]') FROM (%s) q)" % (quote_literal(key), sql.strip())
        for key, sql in queries)


def settled(answer, role, database):
    """True when neither pg_role nor pg_database would change anything, by the answer (the
    text psql printed) to probe_query(role, database)."""
    try:
        return _settled(json.loads(answer), role, database)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, ValidationError):
        return False


def _settled(answer, role, database):
    roles, wanted = _wanted(role, database)
    if [row["name"] for row in answer["database"]] != [wanted["name"]]:
        return False
    if any(w["valid_until"] is not None for w in roles):
        return False
    plan = _role_state.plan_roles(roles, _role_state.current_roles(answer["roles"], True), {}, {},
                                  role.get("login_db") or _LOGIN_DB, frozenset())
    if plan.changed:
        return False
    current = dict((row["name"], row) for row in answer["databases"])
    steps = _database_state.plan_databases([wanted], current, _database_state.lookups_from_rows(answer["lookups"]),
                                           database.get("login_db") or _LOGIN_DB)
    for step in steps:
        if step.statements:
            return False
        if step.extensions and _database_state.missing_from_rows(answer["extensions"], step.extensions):
            return False
        schema = answer["public_schema"][0] if answer["public_schema"] else None
        if step.own_public_schema and _database_state.public_schema_statements(schema):
            return False
    return True
