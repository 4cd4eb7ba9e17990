# -*- coding: utf-8 -*-
# Copyright (c) djangodeploy maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Locale names as glibc compares them.

glibc spells one locale many ways: ``en_US.UTF-8``, ``en_US.utf8`` and
``en_US.utf-8`` are the same, and ``locale -a`` lists it as ``en_US.utf8``.
PostgreSQL compares locale names as strings, so both the pg_database module
and the postgresql_install role (through the ``locale_normalise`` and
``locale_codeset`` filters) normalise with this one implementation.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def normalise_codeset(codeset):
    """glibc's ``_nl_normalize_codeset``: keep letters and digits, lowercased;
    an all-digit result gets an ``iso`` prefix.  ``UTF-8`` -> ``utf8``,
    ``8859-1`` -> ``iso88591``."""
    kept = "".join(ch.lower() for ch in codeset if ch.isalnum() and ch.isascii())
    if kept.isdigit():
        return "iso" + kept
    return kept


def split_locale(value):
    """``language[_territory][.codeset][@modifier]`` -> (base, codeset, modifier);
    codeset and modifier are '' when absent."""
    text = value.strip()
    modifier = ""
    if "@" in text:
        text, modifier = text.split("@", 1)
    codeset = ""
    if "." in text:
        text, codeset = text.split(".", 1)
    return text, codeset, modifier


def locale_codeset(value):
    """The normalised codeset of a locale name ('' when it names none)."""
    return normalise_codeset(split_locale(value)[1])


def normalise_locale(value):
    """The name ``locale -a`` prints for ``value``: codeset normalised, the
    modifier kept after it (``sr_RS.UTF-8@latin`` -> ``sr_RS.utf8@latin``);
    ``POSIX`` is ``C``.  ``None`` stays ``None``."""
    if value is None:
        return None
    base, codeset, modifier = split_locale(value)
    if base == "POSIX" and not codeset:
        base = "C"
    text = base
    if codeset:
        text += "." + normalise_codeset(codeset)
    if modifier:
        text += "@" + modifier
    return text


def same_locale(left, right):
    return normalise_locale(left) == normalise_locale(right)
