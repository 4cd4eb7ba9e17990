# -*- coding: utf-8 -*-
# Copyright: djangodeploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether the server certificate postgresql_install generates on the controller is as its
tasks would leave it (roles/postgresql_install/tasks/tls.yml), read without changing anything.

Those tasks cost a module run each on the controller at every run (issue 18). With this answer
a rerun skips them where every file is already what they would make of it: the PKI folder
0700, the CA there, the key of the wanted type, the request with the wanted name, alternative
names and extended key usage, and a certificate of that key and request, signed by that CA and
still valid postgresql_ssl_renew_days from now. Anything else, an unreadable file included, is
reported as not current, and the tasks run and decide as they always do."""

from __future__ import annotations

import datetime
import os
import stat

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID
except ImportError:  # community.crypto, which the tasks use, needs it as well
    x509 = None

KEY_SIZE = {"RSA": 3072}
KEY_CURVE = {"ECC": "secp256r1"}
_USAGES = {"serverAuth": "SERVER_AUTH", "clientAuth": "CLIENT_AUTH"}


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def _public_bytes(holder):
    """The public key of a private key, a signing request or a certificate, comparable."""
    return holder.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _alt_names(extensions):
    names = []
    for name in extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value:
        if isinstance(name, x509.DNSName):
            names.append("DNS:" + name.value)
        elif isinstance(name, x509.IPAddress):
            names.append("IP:" + str(name.value))
        else:
            names.append(repr(name))
    return names


def _usages(extensions):
    return {usage.dotted_string for usage in extensions.get_extension_for_oid(ExtensionOID.EXTENDED_KEY_USAGE).value}


def _key_problem(key, key_type):
    if key_type == "ECC":
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != KEY_CURVE["ECC"]:
            return "the key is not an ECC %s key" % KEY_CURVE["ECC"]
    elif key_type == "RSA":
        if not isinstance(key, rsa.RSAPrivateKey) or key.key_size != KEY_SIZE["RSA"]:
            return "the key is not an RSA %d key" % KEY_SIZE["RSA"]
    else:
        return "unknown key type %r" % key_type
    return None


def _signed_by(certificate, ca_certificate):
    public = ca_certificate.public_key()
    try:
        if isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(certificate.signature, certificate.tbs_certificate_bytes,
                          ec.ECDSA(certificate.signature_hash_algorithm))
        elif isinstance(public, rsa.RSAPublicKey):
            public.verify(certificate.signature, certificate.tbs_certificate_bytes, padding.PKCS1v15(),
                          certificate.signature_hash_algorithm)
        else:
            return False
    except Exception:  # pylint: disable=broad-except  # InvalidSignature, or an unusable key
        return False
    return certificate.issuer == ca_certificate.subject


def _not_after(certificate):
    when = getattr(certificate, "not_valid_after_utc", None)
    return when if when is not None else certificate.not_valid_after.replace(tzinfo=datetime.timezone.utc)


def _not_before(certificate):
    when = getattr(certificate, "not_valid_before_utc", None)
    return when if when is not None else certificate.not_valid_before.replace(tzinfo=datetime.timezone.utc)


def generated_problem(pki_dir, pki_host, common_name, alt_names, usages, key_type, renew_days, now=None):
    """None when tls.yml's controller tasks would change nothing; else why they would (or may).

    pki_host: the files' path without .key, .csr and .crt; alt_names: as the request lists them
    ("DNS:name", "IP:address"); usages: extended key usage names (serverAuth, clientAuth)."""
    if x509 is None:
        return "the cryptography library is not installed on the controller"
    now = now or datetime.datetime.now(datetime.timezone.utc)
    paths = {kind: "%s.%s" % (pki_host, kind) for kind in ("key", "csr", "crt")}
    ca_path = os.path.join(pki_dir, "ca.crt")
    try:
        if _mode(pki_dir) != 0o700:
            return "the PKI folder %s is not mode 0700" % pki_dir
        if not os.path.isfile(os.path.join(pki_dir, "ca.key")):
            return "the CA's key is not in %s" % pki_dir
        for kind, mode in (("key", 0o600), ("csr", 0o644), ("crt", 0o644)):
            if _mode(paths[kind]) != mode:
                return "%s is not mode %04o" % (paths[kind], mode)
        with open(paths["key"], "rb") as handle:
            key = serialization.load_pem_private_key(handle.read(), password=None)
        with open(paths["csr"], "rb") as handle:
            request = x509.load_pem_x509_csr(handle.read())
        with open(paths["crt"], "rb") as handle:
            certificate = x509.load_pem_x509_certificate(handle.read())
        with open(ca_path, "rb") as handle:
            ca_certificate = x509.load_pem_x509_certificate(handle.read())
    except (OSError, ValueError, TypeError) as exc:
        return "cannot read the generated files: %s" % exc
    problem = _key_problem(key, key_type)
    if problem:
        return problem
    wanted_subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    wanted_usages = {getattr(ExtendedKeyUsageOID, _USAGES[usage]).dotted_string for usage in usages}
    try:
        if not request.is_signature_valid or _public_bytes(request) != _public_bytes(key):
            return "the signing request is not the key's"
        if request.subject != wanted_subject:
            return "the signing request's subject is not CN=%s" % common_name
        wanted_extensions = {ExtensionOID.SUBJECT_ALTERNATIVE_NAME, ExtensionOID.EXTENDED_KEY_USAGE}
        if {ext.oid for ext in request.extensions} != wanted_extensions:
            return "the signing request's extensions are not the wanted ones"
        if any(ext.critical for ext in request.extensions):
            return "the signing request marks an extension critical"
        if _alt_names(request.extensions) != list(alt_names):
            return "the signing request names %s, not %s" % (_alt_names(request.extensions), list(alt_names))
        if _usages(request.extensions) != wanted_usages:
            return "the signing request's extended key usage is not %s" % ", ".join(usages)
        if _public_bytes(certificate) != _public_bytes(key):
            return "the certificate is not the key's"
        if certificate.subject != request.subject:
            return "the certificate's subject is not the request's"
        if _alt_names(certificate.extensions) != _alt_names(request.extensions) \
                or _usages(certificate.extensions) != _usages(request.extensions):
            return "the certificate's names or usage are not the request's"
        if not _signed_by(certificate, ca_certificate):
            return "the certificate is not signed by %s" % ca_path
    except x509.ExtensionNotFound as exc:
        return "an extension is missing: %s" % exc
    renew_at = now + datetime.timedelta(days=int(renew_days))
    if not _not_before(certificate) <= renew_at <= _not_after(certificate):
        return "the certificate is not valid %s days from now" % renew_days
    return None
