"""The site playbook's rerun skips what a converged host does not need (issue 18): its apt tasks
when every package is there (one dpkg-query instead), the roles' input checks that
playbooks/validate.yml made already, the backup timer's tasks when one probe finds it as they
would leave it. Each shortcut still fixes real drift."""

import os

import pytest

# They need the default scenario's single server (its paths, one project, no standbys): a
# verifier run under another scenario's name skips them.
pytestmark = pytest.mark.skipif(os.environ.get("MOLECULE_SCENARIO_NAME") != "default",
                                reason="the default scenario proves the shortcuts")


@pytest.fixture(scope="module")
def converged_rerun(inventory_file, run_site):
    """One rerun of the converged host, for the tests that only read what it did."""
    rc, output, recap = run_site(inventory_file)
    assert rc == 0, output
    assert set(counts["changed"] for counts in recap.values()) == {0}, output
    return output


def test_a_rerun_puts_back_a_removed_package_a_stopped_server_and_edited_files(inventory_file, db_host, run_site):
    settings = "/etc/opt/geodemo/settings.py"
    timer = "/etc/systemd/system/postgresql-backup.timer"
    converged = db_host.file(settings).content_string
    converged_timer = db_host.file(timer).content_string
    # libproj-dev: one of django_settings' packages that nothing else depends on; acl, one of
    # postgresql_install's.
    db_host.run_expect([0], "dpkg --remove libproj-dev acl")
    db_host.run_expect([0], "systemctl stop postgresql@15-main")
    db_host.run_expect([0], "echo 'DEBUG = True' >> %s" % settings)
    db_host.run_expect([0], "sed -i 's/^OnCalendar=.*/OnCalendar=hourly/' %s && systemctl daemon-reload" % timer)
    db_host.run_expect([0], "chmod 0600 /usr/local/lib/djangodeploy/postgresql-backup")
    assert not db_host.package("libproj-dev").is_installed

    rc, output, recap = run_site(inventory_file)

    assert rc == 0, output
    assert db_host.package("libproj-dev").is_installed and db_host.package("acl").is_installed, output
    for apt_task in ("postgresql_install : Install PostgreSQL, PostGIS for GeoDjango, and acl",
                     "django_settings : Install acl, GeoDjango's system libraries (GDAL, PROJ, binutils) and Debian's python3-psycopg2"):
        assert _task_status(output, apt_task) == "changed", apt_task + "\n" + output
    assert db_host.service("postgresql@15-main").is_running, output
    assert db_host.file(settings).content_string == converged
    assert db_host.file(timer).content_string == converged_timer
    assert db_host.file("/usr/local/lib/djangodeploy/postgresql-backup").mode == 0o755
    shown = db_host.check_output("systemctl show -p NeedDaemonReload -p ActiveState postgresql-backup.timer")
    assert sorted(shown.split()) == ["ActiveState=active", "NeedDaemonReload=no"]
    assert recap[db_host.backend.host]["changed"] >= 5, output


def test_a_rerun_starts_a_stopped_backup_timer(inventory_file, db_host, run_site):
    db_host.run_expect([0], "systemctl disable --now postgresql-backup.timer")
    rc, output, recap = run_site(inventory_file)
    assert rc == 0, output
    assert recap[db_host.backend.host]["changed"] == 1, output
    assert db_host.run("systemctl is-enabled postgresql-backup.timer").stdout.strip() == "enabled"
    assert db_host.run("systemctl is-active postgresql-backup.timer").stdout.strip() == "active"


def test_the_roles_skip_the_input_checks_the_site_playbook_made(converged_rerun):
    output = converged_rerun
    # Each role's own copy of the checks is skipped whole, and no apt task runs.
    assert "Stop on bad database server inputs]" in output.split("PLAY [Install PostgreSQL", 1)[0]
    assert "Stop on bad database server inputs]" not in output.split("PLAY [Install PostgreSQL", 1)[1]
    # The argument specs were checked by the validate play: the roles' entry points check them no more.
    assert "Validating arguments against arg spec" not in output.split("PLAY [Install PostgreSQL", 1)[1]
    assert output.split("postgresql_backup : Install the backup timer]", 1)[1].split("\n", 2)[1].startswith("skipping:")
    for apt_task in ("postgresql_install : Install PostgreSQL, PostGIS for GeoDjango, and acl",
                     "db_user_and_database : Install the driver our modules use on the database host, and acl",
                     "django_settings : Install acl, GeoDjango's system libraries (GDAL, PROJ, binutils) and Debian's python3-psycopg2"):
        assert _task_status(output, apt_task) in ("skipping", "not run"), apt_task + "\n" + output
    # The check-mode refresh of apt's lists is asked only before an apt task (not by every role
    # and validate entry point), and skipped outside --check: here not even reached.
    assert "Refresh apt's package lists for check mode]" not in output, output
    # The probe's reads of the running server stand: no second read of the clusters, nor of the
    # cluster's encoding or of whether it runs with the files on disk. The whole of
    # postgresql_install's converge.yml is one skipped include, db_user_and_database's prepare.yml too.
    for include in ("postgresql_install : Install PostgreSQL, run its cluster and write its configuration where anything differs",
                    "db_user_and_database : Install the driver, or find the server in check mode"):
        assert _task_status(output, include) == "skipping", include + "\n" + output
    for task in ("Read the clusters again", "Read the cluster's encoding and what it holds",
                 "Compare the configuration on disk with the one the server runs", "Start PostgreSQL now and at boot",
                 "Keep the configuration the server runs with, to put back if a change fails", "Read pg_hba.conf"):
        assert _task_status(output, "postgresql_install : " + task) == "not run", task + "\n" + output


MANAGE = ("cd /opt/geodemo && runuser -u geodemo -- env PYTHONPATH=/etc/opt/geodemo:/opt/geodemo "
          "DJANGO_SETTINGS_MODULE=settings DJANGODEPLOY_DB_DIRECT=1 /opt/geodemo/venv/bin/python manage.py ")


def _task_status(output, task):
    """What a task reported, once per item: "changed" when any item changed, else the one status
    (ok, skipping, ...) all its lines share; "not run" when the run did not reach it (a skipped
    include)."""
    if task + "]" not in output:
        return "not run"
    lines = output.split(task + "]", 1)[1].split("\n\n", 1)[0].split("\n")[1:]
    statuses = set(line.split(":", 1)[0] for line in lines if line and not line.startswith(" "))
    return "changed" if "changed" in statuses else "/".join(sorted(statuses))


def test_django_settings_reads_the_host_once_and_skips_what_is_converged(converged_rerun):
    output = converged_rerun
    # Every task the probe found nothing for is inside one skipped include.
    include = "django_settings : Configure the project for PostgreSQL and migrate where anything differs"
    assert _task_status(output, include) == "skipping", output
    for task in ("Write settings.py with DATABASES", "Create the system user, the folders and the packages the project runs with",
                 "Add the standbys as the replica alias, or remove the router of the standbys there were",
                 "Migrate the database", "Create the group geodemo", "Create the system user geodemo", "Create the data and log directories",
                 "Create the settings directory, readable by the Django group only, /etc/opt/geodemo",
                 "Install acl, GeoDjango's system libraries (GDAL, PROJ, binutils) and Debian's python3-psycopg2",
                 "List the migrations Django would apply", "Check that the venv imports psycopg2",
                 "Remove the router when reads stay on the primary"):
        assert _task_status(output, "django_settings : " + task) == "not run", task + "\n" + output


def test_db_user_and_database_runs_neither_module_on_a_converged_host(converged_rerun):
    output = converged_rerun
    assert _task_status(output, "db_user_and_database : Read the database user and the database as pg_role and pg_database would") == "ok", output
    assert _task_status(output, "db_user_and_database : Create the database user and the database it owns where they differ") == "skipping", output
    for task in ("Create the database user", "Create the database it owns"):
        assert _task_status(output, "db_user_and_database : " + task) == "not run", task + "\n" + output


def test_a_rerun_lets_a_database_user_that_lost_its_login_in_again(inventory_file, db_host, run_site):
    db_host.run_expect([0], "runuser -u postgres -- psql -Xq --command 'ALTER ROLE geodemo NOLOGIN'")
    assert db_host.run(MANAGE + "migrate --check").rc != 0  # Django cannot log in

    rc, output, recap = run_site(inventory_file)

    assert rc == 0, output
    assert _task_status(output, "db_user_and_database : Create the database user") == "changed", output
    assert _task_status(output, "db_user_and_database : Create the database it owns") == "ok", output
    assert db_host.run(MANAGE + "migrate --check").rc == 0


def test_a_rerun_fixes_django_settings_drift_the_probe_sees(inventory_file, db_host, run_site):
    settings = "/etc/opt/geodemo/settings.py"
    # An unapplied migration: auth's last one rolled back (it only widens a column).
    db_host.run_expect([0], MANAGE + "migrate --no-input auth 0011")
    assert db_host.run(MANAGE + "migrate --check").rc != 0
    db_host.run_expect([0], "chmod 0644 %s" % settings)
    db_host.run_expect([0], "chmod 0755 /etc/opt/geodemo")
    db_host.run_expect([0], "chown root /var/log/geodemo")
    db_host.run_expect([0], "usermod --shell /bin/sh geodemo")

    rc, output, recap = run_site(inventory_file)

    assert rc == 0, output
    for task in ("Create the system user geodemo", "Create the data and log directories",
                 "Create the settings directory, readable by the Django group only, /etc/opt/geodemo",
                 "Write settings.py with DATABASES", "Apply migrations"):
        assert _task_status(output, "django_settings : " + task) == "changed", task + "\n" + output
    assert db_host.run(MANAGE + "migrate --check").rc == 0
    assert db_host.file(settings).mode == 0o640
    assert db_host.file("/etc/opt/geodemo").mode == 0o750
    assert db_host.file("/var/log/geodemo").user == "geodemo"
    assert db_host.user("geodemo").shell == "/bin/bash"


def test_a_rerun_fixes_postgresql_drift_the_probe_sees(inventory_file, db_host, run_site):
    config = "/etc/postgresql/15/main"
    files = ["%s/conf.d/50-djangodeploy.conf" % config, "%s/pg_hba.conf" % config,
             "%s/djangodeploy-projects/geodemo.json" % config]
    converged = dict((path, db_host.file(path).content_string) for path in files)
    db_host.run_expect([0], "echo 'work_mem = 7MB' >> %s/conf.d/50-djangodeploy.conf" % config)
    # A block under our markers that this single server does not want (it uses the socket).
    db_host.run_expect([0], "printf '%%s\\n' '# BEGIN djangodeploy.postgresql: project geodemo' "
                            "'host all all 0.0.0.0/0 trust' '# END djangodeploy.postgresql: project geodemo' >> %s/pg_hba.conf" % config)
    db_host.run_expect([0], "echo '{}' > %s/djangodeploy-projects/geodemo.json" % config)
    db_host.run_expect([0], "chmod 0755 %s/djangodeploy-projects" % config)
    db_host.run_expect([0], "systemctl disable postgresql")
    db_host.run_expect([0], "touch %s/conf.d/40-djangodeploy-replication.conf" % config)
    # The cluster's locale gone from the host (the cluster keeps running with it).
    db_host.run_expect([0], "sed -i 's/^en_US.UTF-8 /# en_US.UTF-8 /' /etc/locale.gen && locale-gen")
    # Read by pg_database itself (the role has no task of its own for them any more).
    db_host.run_expect([0], "runuser -u postgres -- psql -Xq --command 'GRANT CONNECT ON DATABASE geodemo TO PUBLIC'")
    db_host.run_expect([0], "runuser -u postgres -- psql -Xq --dbname geodemo --command 'GRANT CREATE ON SCHEMA public TO PUBLIC'")

    rc, output, recap = run_site(inventory_file)

    assert rc == 0, output
    for task in ("Configure the cluster", "Let this project's application servers in (pg_hba.conf)",
                 "Record what this project wants of the server", "Create the folder of the projects' wishes",
                 "Start PostgreSQL now and at boot", "Remove the replication settings of a server now alone",
                 "Enable in /etc/locale.gen en_US.UTF-8", "Run locale-gen",
                 "Reload PostgreSQL"):
        assert _task_status(output, "postgresql_install : " + task) == "changed", task + "\n" + output
    for path in files:
        assert db_host.file(path).content_string == converged[path], path
    assert not db_host.file("%s/conf.d/40-djangodeploy-replication.conf" % config).exists
    assert db_host.file("%s/djangodeploy-projects" % config).mode == 0o750
    assert db_host.run("systemctl is-enabled postgresql").stdout.strip() == "enabled"
    assert "en_US.utf8" in db_host.check_output("locale -a").split()
    assert db_host.check_output("runuser -u postgres -- psql -XAtc 'SHOW work_mem'") != "7MB"
    assert db_host.check_output("runuser -u postgres -- psql -XAtc \"SELECT count(*) FROM pg_hba_file_rules "
                                "WHERE 'trust' = auth_method AND address = '0.0.0.0'\"") == "0"
    assert _task_status(output, "db_user_and_database : Create the database it owns") == "changed", output
    assert db_host.check_output("runuser -u postgres -- psql -XAt --dbname geodemo --command \"SELECT "
                                "has_database_privilege('public', 'geodemo', 'CONNECT') "
                                "OR has_schema_privilege('public', 'public', 'CREATE')\"") == "f"


def test_a_rerun_refreshes_a_stale_copy_of_the_configuration(inventory_file, db_host, run_site):
    config = "/etc/postgresql/15/main"
    previous = "/var/backups/djangodeploy-postgresql/15-main"
    db_host.run_expect([0], "echo '# stale' >> %s/postgresql.conf" % previous)
    rc, output, recap = run_site(inventory_file)
    assert rc == 0, output
    assert _task_status(output, "postgresql_install : Keep the configuration the server runs with, to put back if a change fails") == "ok"
    db_host.run_expect([0], "diff -r -q %s %s" % (config, previous))


PSQL = "runuser -u postgres -- psql -XAt --command "


def test_a_rerun_applies_a_file_written_after_the_last_reload(inventory_file, db_host, run_site):
    # A run stopped between writing a file and reloading leaves it as the next run wants it:
    # only its time says the server does not run with it yet.
    db_host.run_expect([0], "touch /etc/postgresql/15/main/conf.d/50-djangodeploy.conf")
    rc, output, recap = run_site(inventory_file)
    assert rc == 0, output
    assert _task_status(output, "postgresql_install : Compare the configuration on disk with the one the server runs") == "changed", output
    assert _task_status(output, "postgresql_install : Reload PostgreSQL") == "changed", output
    rc, output, recap = run_site(inventory_file)
    assert rc == 0 and recap[db_host.backend.host]["changed"] == 0, output


def test_a_rerun_still_refuses_a_cluster_that_is_not_utf8(inventory_file, db_host, run_site):
    # The probe's read of the running cluster stands for cluster.yml's: template1 made to say
    # SQL_ASCII (a catalog edit, undone below) must stop the run as a real one would.
    db_host.run_expect([0], PSQL + "\"UPDATE pg_database SET encoding = pg_char_to_encoding('SQL_ASCII') WHERE datname = 'template1'\"")
    try:
        rc, output, recap = run_site(inventory_file)
    finally:
        db_host.run_expect([0], PSQL + "\"UPDATE pg_database SET encoding = pg_char_to_encoding('UTF8') WHERE datname = 'template1'\"")
    assert rc != 0, output
    assert "uses encoding SQL_ASCII" in output and "databases [geodemo]" in output, output
    # The task's own block, up to the next task or the recap (the error's excerpt has blank lines).
    refusal = output.split("postgresql_install : Stop on a non-UTF-8 cluster that holds data]", 1)[1]
    assert "fatal: [" in refusal.split("\nTASK [", 1)[0].split("\nPLAY RECAP", 1)[0], output
