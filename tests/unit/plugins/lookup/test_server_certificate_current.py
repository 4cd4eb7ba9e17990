# -*- coding: utf-8 -*-
"""The server_certificate_current lookup: the host's copies must be the controller's files with
the owner, group and mode the copy task gives them; anything else lets the tasks run."""
import hashlib

import pytest
import yaml
from ansible.constants import config
from ansible.errors import AnsibleLookupError
from ansible.parsing.dataloader import DataLoader

from ansible_collections.djangodeploy.postgresql.plugins.lookup import server_certificate_current

NAME = "djangodeploy.postgresql.server_certificate_current"


@pytest.fixture
def files(tmp_path):
    cert, key = tmp_path / "server.crt", tmp_path / "server.key"
    cert.write_bytes(b"CERT\n")
    key.write_bytes(b"KEY\n")
    terms = [{"src": str(cert), "dest": "/etc/postgresql/15/main/djangodeploy-server.crt", "mode": "0644"},
             {"src": str(key), "dest": "/etc/postgresql/15/main/djangodeploy-server.key", "mode": "0600"}]
    installed = {term["dest"]: {"exists": True, "type": "file", "owner": "postgres", "group": "postgres",
                                "mode": term["mode"], "checksum": hashlib.sha1(open(term["src"], "rb").read()).hexdigest()}
                 for term in terms}
    return terms, installed


def current(terms, installed, **options):
    """The lookup as Ansible loads it: its options as its documentation declares them."""
    config.initialize_plugin_configuration_definitions(
        "lookup", NAME, yaml.safe_load(server_certificate_current.DOCUMENTATION)["options"])
    lookup = server_certificate_current.LookupModule(loader=DataLoader())
    lookup._load_name = NAME  # pylint: disable=protected-access
    return lookup.run(terms, variables={}, installed=installed, **options)


def test_copies_as_the_task_leaves_them_are_current(files):
    assert current(*files) == [True]


@pytest.mark.parametrize("drift", [
    {"checksum": "0" * 40}, {"mode": "0644"}, {"owner": "root"}, {"group": "root"}, {"type": "link"}])
def test_a_copy_that_differs_is_not(files, drift):
    terms, installed = files
    installed[terms[1]["dest"]] = dict(installed[terms[1]["dest"]], **drift)
    assert current(terms, installed) == [False]


def test_a_missing_copy_or_source_is_not(files):
    terms, installed = files
    assert current(terms, dict(installed, **{terms[0]["dest"]: {"exists": False}})) == [False]
    assert current(terms, {}) == [False]
    assert current([dict(terms[0], src=terms[0]["src"] + ".gone"), terms[1]], installed) == [False]


def test_generated_files_are_checked_too(files, tmp_path):
    terms, installed = files
    # No PKI folder: the generated certificate is not as tls.yml leaves it.
    assert current(terms, installed, generated=True, pki_dir=str(tmp_path / "pki"), pki_host=str(tmp_path / "pki" / "db1"),
                   common_name="db1", alt_names=["DNS:db1"], extended_key_usage=["serverAuth"], key_type="ECC",
                   renew_days=30) == [False]


def test_a_term_without_src_dest_and_mode_is_refused_by_name(files):
    terms, installed = files
    with pytest.raises(AnsibleLookupError, match="src, dest and mode"):
        current([{"src": terms[0]["src"], "dest": terms[0]["dest"]}], installed)
    with pytest.raises(AnsibleLookupError, match="src, dest and mode"):
        current([terms[0]["src"]], installed)
