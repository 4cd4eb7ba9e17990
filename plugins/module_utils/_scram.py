# -*- coding: utf-8 -*-
# Copyright (c) djangodeploy maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Client-side password verifiers in PostgreSQL's formats.

SCRAM-SHA-256 (RFC 5802 / RFC 7677) as PostgreSQL stores it in
pg_authid.rolpassword::

    SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>

    SaltedPassword = PBKDF2-HMAC-SHA-256(SASLprep(password), salt, iterations)
    ClientKey      = HMAC(SaltedPassword, "Client Key")
    StoredKey      = SHA-256(ClientKey)
    ServerKey      = HMAC(SaltedPassword, "Server Key")

SASLprep follows PostgreSQL's ``pg_saslprep`` (src/common/saslprep.c):
pure-ASCII passwords are used as they are; otherwise RFC 4013 mapping and
NFKC normalisation are applied, and if the result would contain a prohibited
or unassigned code point or break the bidi rules PostgreSQL falls back to the
raw UTF-8 bytes, which we do too.  Limits: the stringprep tables come from
Python's ``stringprep`` module (Unicode 3.2 as the RFC says) and NFKC from
Python's ``unicodedata``, whose Unicode version may differ from the server's
for code points assigned recently; passwords made of such characters could
hash differently.  ASCII passwords (the usual case) are not affected.

md5 (legacy): ``'md5' + hex(md5(password + rolname))``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import hmac
import os
import re
import stringprep
import unicodedata

SCRAM_PREFIX = "SCRAM-SHA-256$"
DEFAULT_ITERATIONS = 4096
SALT_BYTES = 16
KEY_BYTES = 32  # SHA-256 digests

_SCRAM_RE = re.compile(
    r"^SCRAM-SHA-256\$(?P<iter>[0-9]+):(?P<salt>[A-Za-z0-9+/=]+)"
    r"\$(?P<stored>[A-Za-z0-9+/=]+):(?P<server>[A-Za-z0-9+/=]+)$")
_MD5_RE = re.compile(r"^md5[0-9a-f]{32}$")

_PROHIBITED = (
    stringprep.in_table_c12, stringprep.in_table_c21, stringprep.in_table_c22,
    stringprep.in_table_c3, stringprep.in_table_c4, stringprep.in_table_c5,
    stringprep.in_table_c6, stringprep.in_table_c7, stringprep.in_table_c8,
    stringprep.in_table_c9, stringprep.in_table_a1,
)


def saslprep(password):
    """Return the bytes PostgreSQL feeds to PBKDF2 for ``password`` (str)."""
    raw = password.encode("utf-8")
    try:
        raw.decode("ascii")
        return raw
    except UnicodeDecodeError:
        pass
    mapped = []
    for ch in password:
        if stringprep.in_table_c12(ch):
            mapped.append(" ")
        elif stringprep.in_table_b1(ch):
            continue
        else:
            mapped.append(ch)
    if not mapped:
        return raw
    # PostgreSQL runs the prohibition and bidi checks on the mapped input
    # (before normalisation); mirror that.
    for ch in mapped:
        for table in _PROHIBITED:
            if table(ch):
                return raw
    if any(stringprep.in_table_d1(ch) for ch in mapped):
        if any(stringprep.in_table_d2(ch) for ch in mapped):
            return raw
        if not (stringprep.in_table_d1(mapped[0]) and stringprep.in_table_d1(mapped[-1])):
            return raw
    return unicodedata.normalize("NFKC", "".join(mapped)).encode("utf-8")


def _b64(data):
    return base64.b64encode(data).decode("ascii")


def _keys(password, salt, iterations):
    salted = hashlib.pbkdf2_hmac("sha256", saslprep(password), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    return stored_key, server_key


def scram_verifier(password, salt=None, iterations=DEFAULT_ITERATIONS):
    """Build a SCRAM-SHA-256 verifier; a random 16-byte salt unless given."""
    if salt is None:
        salt = os.urandom(SALT_BYTES)
    stored_key, server_key = _keys(password, salt, iterations)
    return "%s%d:%s$%s:%s" % (SCRAM_PREFIX, iterations, _b64(salt), _b64(stored_key), _b64(server_key))


def parse_scram(verifier):
    """Return (iterations, salt bytes, stored_key bytes, server_key bytes), or
    None unless ``verifier`` is well formed the way PostgreSQL's
    ``parse_scram_secret`` requires: iterations > 0, a non-empty salt, and
    StoredKey and ServerKey of exactly 32 bytes (SHA-256) in base64.  Anything
    else the server would not take as a verifier: it would store the string
    as a plaintext password."""
    if not verifier:
        return None
    match = _SCRAM_RE.match(verifier)
    if not match:
        return None
    try:
        parsed = (int(match.group("iter")),
                  base64.b64decode(match.group("salt"), validate=True),
                  base64.b64decode(match.group("stored"), validate=True),
                  base64.b64decode(match.group("server"), validate=True))
    except (ValueError, TypeError):
        return None
    iterations, salt, stored_key, server_key = parsed
    if iterations < 1 or not salt or len(stored_key) != KEY_BYTES or len(server_key) != KEY_BYTES:
        return None
    return parsed


def is_scram_verifier(value):
    return parse_scram(value) is not None


def is_md5_hash(value):
    return bool(value) and _MD5_RE.match(value) is not None


def md5_hash(password, rolname):
    digest = hashlib.md5((password + rolname).encode("utf-8")).hexdigest()  # nosec - PostgreSQL's format
    return "md5" + digest


def scram_matches(verifier, password):
    """True if ``password`` hashed with the verifier's own salt and iteration
    count gives the same StoredKey and ServerKey."""
    parsed = parse_scram(verifier)
    if parsed is None:
        return False
    iterations, salt, stored_key, server_key = parsed
    new_stored, new_server = _keys(password, salt, iterations)
    return hmac.compare_digest(new_stored, stored_key) and hmac.compare_digest(new_server, server_key)


def md5_matches(stored, password, rolname):
    if not is_md5_hash(stored):
        return False
    return hmac.compare_digest(stored, md5_hash(password, rolname))
