# -*- coding: utf-8 -*-
import hashlib

import pytest

from ansible_collections.djangodeploy.postgresql.plugins.module_utils import _scram as scram
from ansible_collections.djangodeploy.postgresql.plugins.module_utils._identifiers import (
    ValidationError,
    quote_ident,
    quote_literal,
    validate_identifier,
)

# Verifiers made by PostgreSQL 15 itself (SET password_encryption='scram-sha-256'; CREATE ROLE .. PASSWORD ..)
PG_PENCIL = ("SCRAM-SHA-256$4096:dyqLMJT5Fi6bhCahZiXejQ==$PH/8SG6rTdRIG0yYQGeKiVgtOOZSnMDUV+tKdAoNeIQ="
             ":AM7GdaAZC5H9m0GpT/FIkDRQgS0C6L21hmb8t/ySorY=")
PG_UNICODE = ("SCRAM-SHA-256$4096:vQIngY9FfsODokoiuYyHjA==$CNP92O8aXnkBGo+sopj9wUw6Vm5HRhpT/yh44qasVZg="
              ":2mKaZq2vUx9S8Hg1fu16E2Wk3skoPA7aIqu9eN1mMIk=")


@pytest.mark.parametrize("name, quoted", [
    ("simple", '"simple"'),
    ("MixedCase", '"MixedCase"'),
    ("user", '"user"'),
    ("select", '"select"'),
    ('with "quotes"', '"with ""quotes"""'),
    ('"', '""""'),
    ("with space", '"with space"'),
    ("ünï-名前", '"ünï-名前"'),
    ("semi;colon--", '"semi;colon--"'),
    ("back\\slash", '"back\\slash"'),
    ("it's", '"it\'s"'),
])
def test_quote_ident(name, quoted):
    assert quote_ident(name) == quoted


def test_quote_literal():
    assert quote_literal("abc") == "'abc'"
    assert quote_literal("it's") == "'it''s'"
    assert quote_literal("a\\b'c") == "E'a\\\\b''c'"
    with pytest.raises(ValueError):
        quote_literal("nul\x00")


@pytest.mark.parametrize("value", ["x" * 63, "é" * 31 + "x", "名" * 21])
def test_identifier_limit_ok(value):
    assert validate_identifier(value, "name") == value


@pytest.mark.parametrize("value", ["x" * 64, "é" * 32, "名" * 22, "", "a\x00b"])
def test_identifier_limit_bad(value):
    with pytest.raises(ValidationError) as info:
        validate_identifier(value, "roles[2].name")
    assert "roles[2].name" in str(info.value)


def test_scram_matches_postgresql_made_verifiers():
    assert scram.scram_matches(PG_PENCIL, "pencil")
    assert not scram.scram_matches(PG_PENCIL, "pencil ")
    assert scram.scram_matches(PG_UNICODE, u"Ångström ﬁ")
    # SASLprep: NFKC makes the ligature 'ﬁ' into 'fi'
    assert scram.scram_matches(PG_UNICODE, u"Ångström fi")
    iterations, salt, _stored, _server = scram.parse_scram(PG_PENCIL)
    assert scram.scram_verifier("pencil", salt=salt, iterations=iterations) == PG_PENCIL


def test_scram_format_and_randomness():
    one, two = scram.scram_verifier("x"), scram.scram_verifier("x")
    assert one != two
    iterations, salt, stored, server = scram.parse_scram(one)
    assert iterations == 4096 and len(salt) == 16 and len(stored) == 32 and len(server) == 32
    assert scram.is_scram_verifier(one)
    assert not scram.is_scram_verifier("SCRAM-SHA-256$garbage")
    assert not scram.is_scram_verifier(None)
    assert scram.parse_scram(scram.scram_verifier("x", iterations=10000))[0] == 10000


def test_saslprep_rules():
    assert scram.saslprep("ascii\x07ctl") == b"ascii\x07ctl"      # ASCII untouched, like PostgreSQL
    assert scram.saslprep(u"a\u00a0b\u00e9") == u"a b\u00e9".encode("utf-8")  # non-ASCII space mapped
    assert scram.saslprep(u"I\u00adX\u00e9") == u"IX\u00e9".encode("utf-8")   # soft hyphen removed
    prohibited = u"\u00e9\u0007"                                 # control char in non-ASCII string
    assert scram.saslprep(prohibited) == prohibited.encode("utf-8")  # raw fallback
    bidi = u"\u0627x"                                             # RandALCat mixed with LCat
    assert scram.saslprep(bidi) == bidi.encode("utf-8")


def test_md5():
    expected = "md5" + hashlib.md5(b"secretalice").hexdigest()
    assert scram.md5_hash("secret", "alice") == expected
    assert scram.md5_matches(expected, "secret", "alice")
    assert not scram.md5_matches(expected, "secret", "bob")
    assert scram.is_md5_hash(expected) and not scram.is_md5_hash("md5xyz")
