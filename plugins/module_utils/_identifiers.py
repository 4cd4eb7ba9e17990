# -*- coding: utf-8 -*-
# Copyright (c) djangodeploy maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Identifier validation and quoting, literal quoting.

PostgreSQL silently truncates identifiers longer than NAMEDATALEN - 1 (63)
*bytes* of the server encoding.  We assume UTF-8 and refuse such names instead
of letting the server create a role or database with a different name than the
one asked for (which would then never compare equal on the next run).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.djangodeploy.postgresql.plugins.module_utils._errors import ValidationError

MAX_IDENTIFIER_BYTES = 63


def validate_identifier(value, param):
    """Return ``value`` if it is a usable PostgreSQL identifier, else raise.

    ``param`` is the parameter name used in the message (e.g. ``roles[3].name``).
    """
    if value is None:
        raise ValidationError("%s is required" % param)
    if value == "":
        raise ValidationError("%s must not be empty" % param)
    if "\x00" in value:
        raise ValidationError("%s must not contain a NUL character" % param)
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValidationError("%s is not valid Unicode text" % param)
    if size > MAX_IDENTIFIER_BYTES:
        raise ValidationError(
            "%s is %d bytes long in UTF-8; PostgreSQL identifiers are limited to %d bytes "
            "(longer names would be silently truncated by the server): %r"
            % (param, size, MAX_IDENTIFIER_BYTES, value))
    return value


def quote_ident(value):
    """Quote an identifier: always double-quoted, embedded quotes doubled.

    Always quoting keeps case (``MyRole`` stays ``MyRole``) and makes reserved
    words (``user``, ``select``) and names with spaces or unicode safe.
    """
    if "\x00" in value:
        raise ValueError("identifier contains NUL")
    return '"' + value.replace('"', '""') + '"'


def quote_literal(value):
    """Quote a string literal so that it means the same with either setting
    of standard_conforming_strings: the E'' form with backslashes and single
    quotes escaped."""
    if "\x00" in value:
        raise ValueError("literal contains NUL")
    escaped = value.replace("\\", "\\\\").replace("'", "''")
    if "\\" in value:
        return "E'" + escaped + "'"
    return "'" + escaped + "'"
