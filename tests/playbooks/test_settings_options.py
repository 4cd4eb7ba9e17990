"""What django_settings works out from its defaults, vars and the inventory, asked of the role
itself (imported, as a play imports it) against the controller: the OPTIONS it writes into
DATABASES for each kind of HOST, and the book's paths that an inventory may move."""
import json
import pathlib

import pytest

PLAY = """
- hosts: app
  gather_facts: false
  tasks:
    - ansible.builtin.import_role:
        name: djangodeploy.postgresql.django_settings
        tasks_from: validate
    - ansible.builtin.debug:
        msg: "VALUES={{{{ {expression} | to_json }}}}"
"""
SPLIT = "[dbservers]\ndb\n[appservers]\napp\n"


def role_values(run_local, tmp_path, expression, extra, hosts):
    """The role's value of a Jinja expression on host app, with extra vars and an inventory."""
    play = tmp_path / "play.yml"
    play.write_text(PLAY.format(expression=expression))
    result = run_local(play, dict({"django_project": "geodemo", "django_db_password": "secret"}, **extra), hosts)
    assert result.returncode == 0, result.stdout
    line = next(l for l in result.stdout.splitlines() if '"msg": "VALUES=' in l)
    return json.loads(json.loads("{" + line.strip() + "}")["msg"][len("VALUES="):])


CA = "/etc/opt/geodemo/postgresql-ca.crt"


@pytest.mark.parametrize("extra, hosts, expected", [
    ({}, "[dbservers]\napp\n[appservers]\napp\n", {}),
    ({}, None, {"sslmode": "verify-full", "sslrootcert": CA}),
    ({"django_db_sslmode": "require"}, None, {"sslmode": "require"}),
    ({"django_db_sslmode": "verify-ca"}, None, {"sslmode": "verify-ca", "sslrootcert": CA}),
    ({"django_db_options": {"connect_timeout": 5, "sslmode": "verify-ca"}}, None,
     {"sslmode": "verify-ca", "sslrootcert": CA, "connect_timeout": 5}),
    ({"django_db_host": ""}, None, {}),
    ({"django_db_host": "/var/run/postgresql"}, None, {}),
], ids=["single-server", "other-host-verify-full", "require-has-no-ca", "verify-ca", "own-options-win",
        "unix-socket", "socket-directory"])
def test_options_follow_the_host(run_local, tmp_path, extra, hosts, expected):
    assert role_values(run_local, tmp_path, "__django_db_all_options", extra, hosts or SPLIT) == expected


PATHS = ("{'python': __django_python, 'settings': __django_settings_file, 'ca': __django_db_ssl_ca,"
         " 'env': __django_environment, 'manage': __django_manage, 'data': django_data_dir, 'log': django_log_dir}")


def test_book_paths_by_default(run_local, tmp_path):
    assert role_values(run_local, tmp_path, PATHS, {}, SPLIT) == {
        "python": "/opt/geodemo/venv/bin/python", "settings": "/etc/opt/geodemo/settings.py", "ca": CA,
        "env": {"PYTHONPATH": "/etc/opt/geodemo:/opt/geodemo", "DJANGO_SETTINGS_MODULE": "settings"},
        "manage": ["/opt/geodemo/venv/bin/python", "/opt/geodemo/manage.py"],
        "data": "/var/opt/geodemo", "log": "/var/log/geodemo"}


def test_inventory_moves_the_paths(run_local, tmp_path):
    # group_vars, the lowest inventory level: role vars/ would beat it, role defaults must not.
    hosts = SPLIT + ("[appservers:vars]\ndjango_project_dir=/srv/site\ndjango_settings_dir=/srv/etc\n"
                     "django_data_dir=/srv/data\ndjango_log_dir=/srv/log\n")
    assert role_values(run_local, tmp_path, PATHS, {}, hosts) == {
        "python": "/srv/site/venv/bin/python", "settings": "/srv/etc/settings.py", "ca": "/srv/etc/postgresql-ca.crt",
        "env": {"PYTHONPATH": "/srv/etc:/srv/site", "DJANGO_SETTINGS_MODULE": "settings"},
        "manage": ["/srv/site/venv/bin/python", "/srv/site/manage.py"],
        "data": "/srv/data", "log": "/srv/log"}


def test_role_uses_an_inventory_venv(run_local):
    """The role's own first steps, on the controller: the venv it looks for is the inventory's."""
    top = pathlib.Path(__file__).resolve().parents[2]
    play = top / "tests" / "playbooks" / "django_settings_play.yml"
    hosts = "[appservers]\napp django_venv=/nonexistent/custom-venv\n"
    result = run_local(play, {"django_project": "geodemo", "django_db_password": "secret"}, hosts)
    assert result.returncode != 0, result.stdout
    assert "/nonexistent/custom-venv/bin/python does not exist" in result.stdout, result.stdout
