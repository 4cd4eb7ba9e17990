# -*- coding: utf-8 -*-
"""One locale normalisation for the module and the role, checked against the names
Debian's `locale -a` prints (bookworm, after locale-gen of en_US.UTF-8, de_DE ISO-8859-1,
de_DE@euro ISO-8859-15, sr_RS@latin UTF-8, ja_JP.EUC-JP): C, C.utf8, POSIX, de_DE,
de_DE.iso88591, de_DE.iso885915@euro, de_DE.utf8, de_DE@euro, en_US.utf8, ja_JP.eucjp,
sr_RS.utf8@latin, sr_RS@latin."""
import pytest

from ansible_collections.djangodeploy.postgresql.plugins.module_utils._locale import (
    locale_codeset,
    normalise_codeset,
    normalise_locale,
    same_locale,
)

LOCALE_A = ["C", "C.utf8", "POSIX", "de_DE", "de_DE.iso88591", "de_DE.iso885915@euro", "de_DE.utf8",
            "de_DE@euro", "en_US.utf8", "ja_JP.eucjp", "sr_RS.utf8@latin", "sr_RS@latin"]


@pytest.mark.parametrize("given, listed", [
    ("en_US.UTF-8", "en_US.utf8"), ("en_US.utf8", "en_US.utf8"), ("en_US.utf-8", "en_US.utf8"),
    ("de_DE.ISO-8859-1", "de_DE.iso88591"), ("de_DE.8859-1", "de_DE.iso88591"), ("de_DE.ISO_8859-1", "de_DE.iso88591"),
    ("de_DE.ISO-8859-15@euro", "de_DE.iso885915@euro"), ("C.UTF-8", "C.utf8"), ("sr_RS@latin", "sr_RS@latin"),
    ("sr_RS.UTF-8@latin", "sr_RS.utf8@latin"), ("ja_JP.EUC-JP", "ja_JP.eucjp"), ("de_DE", "de_DE"), ("C", "C"),
])
def test_normalised_as_locale_a_lists_it(given, listed):
    assert listed in LOCALE_A
    assert normalise_locale(given) == listed


@pytest.mark.parametrize("left, right", [
    ("en_US.UTF-8", "en_US.utf8"), ("en_US.utf-8", "en_US.UTF8"), ("de_DE.ISO-8859-1", "de_DE.iso88591"),
    ("de_DE.8859-1", "de_DE.iso88591"), ("C.UTF-8", "C.utf8"), ("POSIX", "C"), ("sr_RS.UTF-8@latin", "sr_RS.utf8@latin"),
])
def test_same_locale(left, right):
    assert same_locale(left, right)


@pytest.mark.parametrize("left, right", [("en_US.UTF-8", "en_GB.UTF-8"), ("en_US.UTF-8", "en_US"), ("C", "C.UTF-8"),
                                         ("sr_RS.UTF-8@latin", "sr_RS.UTF-8")])
def test_different_locale(left, right):
    assert not same_locale(left, right)


@pytest.mark.parametrize("value, codeset", [
    ("en_US.UTF-8", "utf8"), ("de_DE.8859_15", "iso885915"), ("sr_RS.UTF-8@latin", "utf8"), ("sr_RS@latin", ""),
    ("C", ""), ("ja_JP.EUC-JP", "eucjp"),
])
def test_codeset(value, codeset):
    assert locale_codeset(value) == codeset


def test_normalise_codeset_is_glibcs():
    assert normalise_codeset("UTF-8") == "utf8"
    assert normalise_codeset("8859-1") == "iso88591"
    assert normalise_codeset("ISO-8859-1") == "iso88591"
