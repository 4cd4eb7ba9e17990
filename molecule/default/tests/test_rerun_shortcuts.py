"""The site playbook's rerun skips what a converged host does not need (issue 18): its apt tasks
when every package is there (one dpkg-query instead), the roles' input checks that
playbooks/validate.yml made already, the backup timer's tasks when one probe finds it as they
would leave it. Each shortcut still fixes real drift."""

import os

import pytest


def test_a_rerun_puts_back_a_removed_package_a_stopped_server_and_edited_files(inventory_file, db_host, run_site):
    if os.environ.get("MOLECULE_SCENARIO_NAME") != "default":
        pytest.skip("the default scenario proves the shortcuts")
    settings = "/etc/opt/geodemo/settings.py"
    timer = "/etc/systemd/system/postgresql-backup.timer"
    converged = db_host.file(settings).content_string
    converged_timer = db_host.file(timer).content_string
    # libproj-dev: one of django_settings' packages that nothing else depends on.
    db_host.run_expect([0], "dpkg --remove libproj-dev")
    db_host.run_expect([0], "systemctl stop postgresql@15-main")
    db_host.run_expect([0], "echo 'DEBUG = True' >> %s" % settings)
    db_host.run_expect([0], "sed -i 's/^OnCalendar=.*/OnCalendar=hourly/' %s && systemctl daemon-reload" % timer)
    db_host.run_expect([0], "chmod 0600 /usr/local/lib/djangodeploy/postgresql-backup")
    assert not db_host.package("libproj-dev").is_installed

    rc, output, recap = run_site(inventory_file)

    assert rc == 0, output
    assert db_host.package("libproj-dev").is_installed, output
    apt_task = output.split("django_settings : Install acl, GeoDjango's system libraries", 1)[1]
    assert apt_task.split("\n", 2)[1].startswith("changed:"), output
    assert db_host.service("postgresql@15-main").is_running, output
    assert db_host.file(settings).content_string == converged
    assert db_host.file(timer).content_string == converged_timer
    assert db_host.file("/usr/local/lib/djangodeploy/postgresql-backup").mode == 0o755
    shown = db_host.check_output("systemctl show -p NeedDaemonReload -p ActiveState postgresql-backup.timer")
    assert sorted(shown.split()) == ["ActiveState=active", "NeedDaemonReload=no"]
    assert recap[db_host.backend.host]["changed"] >= 5, output


def test_a_rerun_starts_a_stopped_backup_timer(inventory_file, db_host, run_site):
    if os.environ.get("MOLECULE_SCENARIO_NAME") != "default":
        pytest.skip("the default scenario proves the shortcuts")
    db_host.run_expect([0], "systemctl disable --now postgresql-backup.timer")
    rc, output, recap = run_site(inventory_file)
    assert rc == 0, output
    assert recap[db_host.backend.host]["changed"] == 1, output
    assert db_host.run("systemctl is-enabled postgresql-backup.timer").stdout.strip() == "enabled"
    assert db_host.run("systemctl is-active postgresql-backup.timer").stdout.strip() == "active"


def test_the_roles_skip_the_input_checks_the_site_playbook_made(inventory_file, run_site):
    if os.environ.get("MOLECULE_SCENARIO_NAME") != "default":
        pytest.skip("the default scenario proves the shortcuts")
    rc, output, recap = run_site(inventory_file)
    assert rc == 0, output
    assert set(counts["changed"] for counts in recap.values()) == {0}, output
    # Each role's own copy of the checks is skipped whole, and no apt task runs.
    assert "Stop when the version cannot be chosen]" in output.split("PLAY [Install PostgreSQL", 1)[0]
    assert "Stop when the version cannot be chosen]" not in output.split("PLAY [Install PostgreSQL", 1)[1]
    assert output.split("postgresql_backup : Install the backup timer]", 1)[1].split("\n", 2)[1].startswith("skipping:")
    for apt_task in ("Install PostgreSQL, PostGIS for GeoDjango, and acl]",
                     "Install the driver our modules use on the database host, and acl]",
                     "Install acl, GeoDjango's system libraries"):
        after = output.split(apt_task, 1)[1]
        assert after.split("\n", 2)[1].startswith("skipping:"), apt_task + "\n" + output
