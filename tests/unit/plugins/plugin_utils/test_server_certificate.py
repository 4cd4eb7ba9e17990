# -*- coding: utf-8 -*-
"""The controller's generated server certificate, checked as tls.yml's tasks would find it: a
certificate, request and key made as community.crypto makes them are current, and every drift
those tasks would fix (or might) is reported, so the role runs them."""
import datetime
import os

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ansible_collections.djangodeploy.postgresql.plugins.plugin_utils._server_certificate import generated_problem

NOW = datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc)
NAMES = ("DNS:db1", "DNS:db1.example.org", "IP:10.0.0.5")


def _pem(path, data, mode):
    with open(path, "wb") as handle:
        handle.write(data)
    os.chmod(path, mode)


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _san(names):
    import ipaddress
    return x509.SubjectAlternativeName([
        x509.IPAddress(ipaddress.ip_address(name[3:])) if name.startswith("IP:") else x509.DNSName(name[4:])
        for name in names])


def _eku(usages):
    return x509.ExtendedKeyUsage([getattr(ExtendedKeyUsageOID, usage) for usage in usages])


def make_ca(pki, subject="djangodeploy PostgreSQL CA"):
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(subject))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - datetime.timedelta(days=1)).not_valid_after(NOW + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    _pem(os.path.join(pki, "ca.key"), _key_pem(key), 0o600)
    _pem(os.path.join(pki, "ca.crt"), cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return key, cert


def make_server(pki, host, ca, key=None, names=NAMES, usages=("SERVER_AUTH",), days=825, common_name="db1"):
    ca_key, ca_cert = ca
    key = key or ec.generate_private_key(ec.SECP256R1())
    request = (x509.CertificateSigningRequestBuilder().subject_name(_name(common_name))
               .add_extension(_san(names), critical=False).add_extension(_eku(usages), critical=False)
               .sign(key, hashes.SHA256()))
    cert = (x509.CertificateBuilder().subject_name(request.subject).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - datetime.timedelta(days=1)).not_valid_after(NOW + datetime.timedelta(days=days))
            .add_extension(_san(names), critical=False).add_extension(_eku(usages), critical=False)
            .sign(ca_key, hashes.SHA256()))
    _pem(host + ".key", _key_pem(key), 0o600)
    _pem(host + ".csr", request.public_bytes(serialization.Encoding.PEM), 0o644)
    _pem(host + ".crt", cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return key


@pytest.fixture
def pki(tmp_path):
    folder = tmp_path / "pki"
    folder.mkdir(mode=0o700)
    folder.chmod(0o700)
    ca = make_ca(str(folder))
    host = str(folder / "db1-0123456789")
    make_server(host=host, pki=str(folder), ca=ca)
    return str(folder), host, ca


def problem(pki_dir, host, names=NAMES, usages=("serverAuth",), key_type="ECC", renew_days=30, common_name="db1"):
    return generated_problem(pki_dir, host, common_name, names, list(usages), key_type, renew_days, now=NOW)


def test_files_as_the_tasks_leave_them_are_current(pki):
    pki_dir, host = pki[:2]
    assert problem(pki_dir, host) is None


def test_a_certificate_due_for_renewal_is_not(pki):
    pki_dir, host = pki[:2]
    assert problem(pki_dir, host, renew_days=824) is None
    assert "not valid 826 days from now" in problem(pki_dir, host, renew_days=826)


def test_other_names_or_usage_are_not(pki):
    pki_dir, host = pki[:2]
    assert "names" in problem(pki_dir, host, names=NAMES + ("IP:10.0.0.6",))
    assert "names" in problem(pki_dir, host, names=NAMES[::-1])
    assert "extended key usage" in problem(pki_dir, host, usages=("serverAuth", "clientAuth"))
    assert "subject" in problem(pki_dir, host, common_name="db2")


def test_another_key_type_is_not(pki):
    pki_dir, host = pki[:2]
    assert "RSA" in problem(pki_dir, host, key_type="RSA")
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    make_server(pki_dir, host, pki[2], key=rsa_key)
    assert problem(pki_dir, host, key_type="RSA") is None
    assert "ECC" in problem(pki_dir, host)


def test_a_certificate_of_another_key_or_ca_is_not(pki):
    pki_dir, host, ca = pki
    other = str(os.path.join(pki_dir, "other"))
    make_server(pki_dir, other, ca)
    os.replace(other + ".key", host + ".key")
    assert "not the key's" in problem(pki_dir, host)

    make_server(pki_dir, host, ca)
    make_ca(pki_dir)  # a new CA with the same name: the certificate is not signed by it
    assert "not signed by" in problem(pki_dir, host)


@pytest.mark.parametrize("drift", ["csr", "crt", "key", "ca.crt", "ca.key"])
def test_a_missing_file_is_not(pki, drift):
    pki_dir, host = pki[:2]
    os.remove(os.path.join(pki_dir, drift) if drift.startswith("ca.") else host + "." + drift)
    assert problem(pki_dir, host) is not None


@pytest.mark.parametrize("path, mode", [(None, 0o755), ("key", 0o644), ("crt", 0o600), ("csr", 0o640)])
def test_a_mode_the_tasks_would_set_is_not(pki, path, mode):
    pki_dir, host = pki[:2]
    os.chmod(host + "." + path if path else pki_dir, mode)
    assert "mode" in problem(pki_dir, host)


def test_a_damaged_file_is_not(pki):
    pki_dir, host = pki[:2]
    with open(host + ".crt", "wb") as handle:
        handle.write(b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    assert "cannot read" in problem(pki_dir, host)
