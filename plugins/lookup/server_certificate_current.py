# -*- coding: utf-8 -*-
# Copyright: djangodeploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The server_certificate_current lookup: whether postgresql_install's TLS tasks would change
nothing, so that a rerun skips them (plugin_utils/_server_certificate.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: server_certificate_current
author:
  - djangodeploy maintainers (@djangodeploy)
version_added: 0.1.0
short_description: Whether the server certificate and key on a host are the ones postgresql_install would install
description:
  - Returns C(true) when every file given as a term is on the host as I(installed) reports it (from
    M(djangodeploy.postgresql.host_probe)), with the wanted owner, group and mode and the same SHA-1 as the
    controller file it is copied from and, with I(generated), when the certificate postgresql_install generates
    on the controller would not be made or issued again (the PKI folder mode 0700, the CA there, the key of the
    wanted type, the signing request with the wanted name, alternative names and extended key usage, a
    certificate of that key and request signed by that CA and still valid I(renew_days) from now).
  - Returns C(false) in every other case, a file missing or unreadable included; the role's TLS tasks then run
    and decide. With C(-vvv) the reason is shown.
  - postgresql_install uses it to skip those tasks on a rerun; it changes nothing.
options:
  _terms:
    description: The files to install, each a dictionary with C(src) (a controller path, found as
      M(ansible.builtin.copy) finds C(src)), C(dest) (the path on the host) and C(mode) (four octal digits).
    type: list
    elements: dict
    required: true
  installed:
    description: The host's files as M(djangodeploy.postgresql.host_probe) returned them in C(paths), by path.
    type: dict
    required: true
  owner:
    description: The owner the files must have on the host.
    type: str
    default: postgres
  group:
    description: The group the files must have on the host.
    type: str
    default: postgres
  generated:
    description: Whether the files are the ones generated on the controller, whose state is then checked too.
    type: bool
    default: false
  pki_dir:
    description: The controller folder with the CA (C(ca.crt)) and the generated files.
    type: str
  pki_host:
    description: The generated files' path without the C(.key), C(.csr) and C(.crt) suffix.
    type: str
  common_name:
    description: The certificate's common name.
    type: str
  alt_names:
    description: The certificate's alternative names, in order, each C(DNS:name) or C(IP:address).
    type: list
    elements: str
  extended_key_usage:
    description: The certificate's extended key usages (C(serverAuth), C(clientAuth)).
    type: list
    elements: str
  key_type:
    description: C(ECC) (P-256) or C(RSA) (3072 bits).
    type: str
  renew_days:
    description: The certificate must still be valid this many days from now.
    type: int
    default: 0
"""

EXAMPLES = r"""
- name: Skip the TLS tasks where nothing would change
  ansible.builtin.include_tasks: tls.yml
  when: >-
    not query('djangodeploy.postgresql.server_certificate_current',
              {'src': '/srv/pki/db1.crt', 'dest': '/etc/postgresql/15/main/server.crt', 'mode': '0644'},
              installed=probe.paths) | first
"""

RETURN = r"""
_raw:
  description: One boolean, C(true) when the TLS tasks would change nothing.
  type: list
  elements: bool
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display

# The checksum host_probe reports of the host's copies, computed the same way.
from ansible_collections.djangodeploy.postgresql.plugins.module_utils._host_probe import _sha1 as sha1
from ansible_collections.djangodeploy.postgresql.plugins.plugin_utils._server_certificate import generated_problem

display = Display()


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        problem = self._problem(terms, variables)
        if problem:
            display.vvv("server_certificate_current: %s" % problem)
        return [problem is None]

    def _problem(self, terms, variables):
        installed = self.get_option("installed")
        for wanted in terms:
            if not isinstance(wanted, dict) or not {"src", "dest", "mode"} <= set(wanted):
                raise AnsibleLookupError("server_certificate_current: each term is a dictionary with src, dest and mode,"
                                         " not %r" % (wanted,))
            src = self.find_file_in_search_path(variables, "files", wanted["src"], ignore_missing=True)
            if not src:
                return "%s is not on the controller" % wanted["src"]
            try:
                checksum = sha1(src)
            except OSError as exc:
                return "cannot read %s: %s" % (src, exc)
            state = {"exists": True, "type": "file", "owner": self.get_option("owner"),
                     "group": self.get_option("group"), "mode": wanted["mode"], "checksum": checksum}
            if installed.get(wanted["dest"]) != state:
                return "%s on the host is not %s as postgresql_install installs it" % (wanted["dest"], src)
        if not self.get_option("generated"):
            return None
        return generated_problem(self.get_option("pki_dir"), self.get_option("pki_host"),
                                 self.get_option("common_name"), self.get_option("alt_names"),
                                 self.get_option("extended_key_usage"), self.get_option("key_type"),
                                 self.get_option("renew_days"))
