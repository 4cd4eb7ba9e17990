"""The OPTIONS that django_settings writes into DATABASES, worked out by Ansible itself from
the role's defaults and vars for each kind of HOST."""
import json
import pathlib

import pytest

ROLE = pathlib.Path(__file__).resolve().parents[2] / "roles" / "django_settings"
PLAY = """
- hosts: app
  gather_facts: false
  tasks:
    - ansible.builtin.include_vars: {defaults}
    - ansible.builtin.include_vars: {vars}
    - ansible.builtin.debug:
        msg: "OPTIONS={{{{ django_db_all_options | to_json }}}}"
"""
SPLIT = "[dbservers]\ndb\n[appservers]\napp\n"


def options(run_local, tmp_path, extra, hosts):
    play = tmp_path / "play.yml"
    play.write_text(PLAY.format(defaults=ROLE / "defaults" / "main.yml", vars=ROLE / "vars" / "main.yml"))
    result = run_local(play, dict({"django_project": "geodemo"}, **extra), hosts)
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
def test_options_follow_the_host(run_local, tmp_path, extra, hosts, expected):
    assert options(run_local, tmp_path, extra, hosts or SPLIT) == expected
