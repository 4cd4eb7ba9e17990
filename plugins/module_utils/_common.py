# -*- coding: utf-8 -*-
# Copyright (c) djangodeploy maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pieces shared by the role and database logic: statements that carry a
masked twin, the single-or-list parameter form, and the result shape."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.djangodeploy.postgresql.plugins.module_utils._identifiers import (
    ValidationError,
)

MASK = "********"


class Statement:
    """One SQL statement; ``masked`` is what may be shown or logged."""

    __slots__ = ("sql", "masked", "target")

    def __init__(self, sql, masked=None, target=None):
        self.sql = sql
        self.masked = masked if masked is not None else sql
        self.target = target

    def __repr__(self):
        return "Statement(%r)" % self.masked

    def __eq__(self, other):
        return isinstance(other, Statement) and other.sql == self.sql and other.masked == self.masked

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self.sql)


def collect_items(params, list_key, item_keys, defaults, required_bool=()):
    """Turn the module parameters into a list of (label, item) pairs.

    Single form: ``name`` plus the object keys at the top level.  List form:
    ``<list_key>: [{name: .., ...}, ...]``; object keys given at the top level
    act as defaults for every item.  ``label`` prefixes parameter names in
    error messages (``''`` or ``'roles[3].'``).
    """
    top = dict((key, params.get(key)) for key in item_keys if key != "name")
    items = []
    if params.get(list_key) is not None:
        if params.get("name") is not None:
            raise ValidationError("name and %s are mutually exclusive" % list_key)
        for index, raw in enumerate(params[list_key]):
            label = "%s[%d]." % (list_key, index)
            if not isinstance(raw, dict):
                raise ValidationError("%s must be a dict" % label[:-1])
            item = {}
            for key in item_keys:
                value = raw.get(key)
                if value is None and key != "name":
                    value = top.get(key)
                if value is None:
                    value = defaults.get(key)
                item[key] = value
            items.append((label, item))
    else:
        if params.get("name") is None:
            raise ValidationError("one of name or %s is required" % list_key)
        item = {}
        for key in item_keys:
            value = params.get(key)
            if value is None:
                value = defaults.get(key)
            item[key] = value
        items.append(("", item))
    seen = {}
    for label, item in items:
        if item["name"] in seen:
            raise ValidationError("%sname %r is listed twice (also at %sname)" % (
                label, item["name"], seen[item["name"]] or ""))
        seen[item["name"]] = label
    return items


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


class PartialFailure(Exception):
    """Some changes were made before a failure (databases: no transaction)."""

    def __init__(self, msg, result):
        Exception.__init__(self, msg)
        self.msg = msg
        self.result = result
