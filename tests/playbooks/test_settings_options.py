"""The OPTIONS that django_settings writes into DATABASES, worked out by Ansible itself from
the role's defaults and vars for each kind of HOST."""
import json
import os
import pathlib
import subprocess
import sys

import pytest

TOP = pathlib.Path(__file__).resolve().parents[2]
ROLE = TOP / "roles" / "django_settings"
PLAY = """
- hosts: app
  gather_facts: false
  tasks:
    - ansible.builtin.include_vars: {defaults}
    - ansible.builtin.include_vars: {vars}
    - ansible.builtin.debug:
        msg: "OPTIONS={{{{ django_db_all_options | to_json }}}}"
"""


def options(tmp_path, extra, hosts="[dbservers]\ndb\n[appservers]\napp\n"):
    (tmp_path / "hosts.ini").write_text(
        hosts + "[all:vars]\nansible_connection=local\nansible_python_interpreter=%s\n" % sys.executable)
    (tmp_path / "play.yml").write_text(PLAY.format(defaults=ROLE / "defaults" / "main.yml",
                                                  vars=ROLE / "vars" / "main.yml"))
    (tmp_path / "vars.json").write_text(json.dumps(dict({"django_project": "geodemo"}, **extra)))
    env = dict(os.environ, ANSIBLE_CONFIG=str(TOP / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    result = subprocess.run(
        ["ansible-playbook", "-i", str(tmp_path / "hosts.ini"), "-e", "@%s" % (tmp_path / "vars.json"),
         str(tmp_path / "play.yml")],
        cwd=TOP, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout
    line = next(l for l in result.stdout.splitlines() if '"msg": "OPTIONS=' in l)
    return json.loads(json.loads("{" + line.strip() + "}")["msg"][len("OPTIONS="):])


CA = "/etc/opt/geodemo/postgresql-ca.crt"


@pytest.mark.parametrize("extra, hosts, expected", [
    ({}, "[dbservers]\napp\n[appservers]\napp\n", {}),
    ({}, None, {"sslmode": "verify-full", "sslrootcert": CA}),
    ({"django_db_sslmode": "require"}, None, {"sslmode": "require"}),
    ({"django_db_sslmode": "verify-ca"}, None, {"sslmode": "verify-ca", "sslrootcert": CA}),
    ({"django_db_options": {"connect_timeout": 5, "sslmode": "verify-ca"}}, None,
     {"sslmode": "verify-ca", "sslrootcert": CA, "connect_timeout": 5}),
    ({"django_db_host": ""}, None, {}),
], ids=["single-server", "other-host-verify-full", "require-has-no-ca", "verify-ca", "own-options-win",
        "unix-socket"])
def test_options_follow_the_host(tmp_path, extra, hosts, expected):
    kwargs = {"hosts": hosts} if hosts else {}
    assert options(tmp_path, extra, **kwargs) == expected
