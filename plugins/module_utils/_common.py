# -*- coding: utf-8 -*-
# Copyright (c) djangodeploy maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pieces shared by the role and database logic: statements that carry a
masked twin, the single-or-list parameter form, range checks, rehearsing
statements, and the diff shape."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.djangodeploy.postgresql.plugins.module_utils._errors import DatabaseError, ValidationError

MASK = "********"

# PostgreSQL stores connection limits as int4; -1 means no limit.
CONN_LIMIT_MAX = 2147483647


class Statement:
    """One SQL statement; ``masked`` is what may be shown or logged."""

    __slots__ = ("sql", "masked")

    def __init__(self, sql, masked=None):
        self.sql = sql
        self.masked = masked if masked is not None else sql

    def __repr__(self):
        return "Statement(%r)" % self.masked

    def __eq__(self, other):
        return isinstance(other, Statement) and other.sql == self.sql and other.masked == self.masked

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self.sql)


def collect_items(params, list_key, item_keys, defaults):
    """Turn the module parameters into a list of (label, item) pairs.

    Single form: ``name`` plus the object keys at the top level.  List form:
    ``<list_key>: [{name: .., ...}, ...]``; object keys given at the top level
    act as defaults for every item.  ``label`` prefixes parameter names in
    error messages (``''`` or ``'roles[3].'``).  That exactly one of ``name``
    and ``list_key`` is given is AnsibleModule's job (mutually_exclusive,
    required_one_of).
    """
    single = params.get(list_key) is None
    if single:
        raws = [("", {})]
    else:
        raws = [("%s[%d]." % (list_key, index), raw) for index, raw in enumerate(params[list_key])]
    items = []
    seen = {}
    for label, raw in raws:
        item = {}
        for key in item_keys:
            value = raw.get(key)
            if value is None and (single or key != "name"):
                value = params.get(key)
            if value is None:
                value = defaults.get(key)
            item[key] = value
        if item["name"] in seen:
            raise ValidationError("%sname %r is listed twice (also at %sname)" % (label, item["name"], seen[item["name"]]))
        seen[item["name"]] = label
        items.append((label, item))
    return items


def check_conn_limit(value, label):
    if value is not None and not -1 <= value <= CONN_LIMIT_MAX:
        raise ValidationError("%sconn_limit is %d; it must be -1 (no limit) or a number from 0 to %d"
                              % (label, value, CONN_LIMIT_MAX))


def rehearse(conn, statements, dbname):
    """Run ``statements`` in a transaction and roll it back: the server's own
    checks, before anything is committed anywhere.  Raises DatabaseError."""
    try:
        for statement in statements:
            try:
                conn.execute(statement.sql)
            except DatabaseError as exc:
                raise DatabaseError("%s%s (statement: %s); nothing was changed" % (
                    "in database %r: " % dbname if dbname else "", exc, statement.masked))
    finally:
        conn.rollback()


def diff_entry(name, before, after, statements):
    entry = {
        "before_header": name,
        "after_header": name,
        "before": before,
        "after": after,
    }
    if statements:
        entry["prepared"] = "\n".join(s.masked + ";" for s in statements)
    return entry
