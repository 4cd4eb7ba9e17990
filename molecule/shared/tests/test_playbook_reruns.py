"""The site playbook run again from the controller against a converged scenario: check mode,
diff mode, secrets, bad input and an interrupted run. Each test leaves the hosts as the scenario
converged them."""

import os

import pytest


def changed(recap):
    return {host: counts["changed"] for host, counts in recap.items()}


def test_check_and_diff_on_converged_hosts_change_nothing_and_show_no_secret(inventory_file, db_host, run_site):
    password = db_host.ansible.get_variables()["django_db_password"]
    rc, output, recap = run_site(inventory_file, "--check", "--diff", "-v")
    assert rc == 0, output
    assert recap and set(changed(recap).values()) == {0}, output
    assert password not in output


def test_check_mode_reports_a_password_change_without_making_it(inventory_file, db_host, run_site):
    variables = db_host.ansible.get_variables()
    password, project = variables["django_db_password"], variables["django_project"]
    rc, output, recap = run_site(inventory_file, "--check", "--diff", "-e", "django_db_password=Another-Pass-123")
    assert rc == 0, output
    assert set(changed(recap).values()) != {0}, output
    assert "Another-Pass-123" not in output and password not in output
    login = db_host.run("PGPASSWORD=%s psql -XAt -h localhost -U %s -d %s -c 'SELECT 1'", password, project, project)
    assert login.rc == 0, login.stderr  # nothing changed: the old password still logs in


def test_bad_input_stops_before_any_change(inventory_file, db_host, run_site):
    rc, output, recap = run_site(inventory_file, "-e", "django_db_password=", "-e", "django_database=never_created")
    assert rc != 0
    assert "django_db_password" in output
    assert set(changed(recap).values()) == {0}, output
    exists = db_host.run("runuser -u postgres -- psql -XAt -c %s",
                         "SELECT count(*) FROM pg_database WHERE datname = 'never_created'")
    assert exists.stdout.strip() == "0", exists.stderr


def test_a_run_stopped_before_its_reload_is_finished_by_the_next(inventory_file, db_host, run_site):
    if os.environ.get("MOLECULE_SCENARIO_NAME") != "default":
        pytest.skip("the role's reload logic does not depend on the topology: the default scenario proves it")

    def work_mem():
        return db_host.check_output("runuser -u postgres -- psql -XAtc 'SHOW work_mem'")

    config_dir = os.path.dirname(db_host.check_output("runuser -u postgres -- psql -XAtc 'SHOW config_file'"))
    ours = config_dir + "/conf.d/50-djangodeploy.conf"
    converged = db_host.file(ours).content_string
    before = work_mem()
    assert before != "5MB"
    # The file exactly as a run with work_mem = 5MB writes it, and no reload: what a run
    # killed between its template task and its handler leaves behind.
    db_host.run("printf '%%s\\n' %s >> %s", "work_mem = '5MB'", ours)
    try:
        rc, output, recap = run_site(inventory_file, "-e", '{"postgresql_settings": {"work_mem": "5MB"}}')
        assert rc == 0, output
        after_template = output.split("postgresql_install : Configure the cluster]", 1)[1]
        # The file was already right: skipped on the probe's checksum (issue 18), never rewritten.
        assert after_template.split("\n", 2)[1].startswith("skipping:"), output
        assert recap[db_host.backend.host]["changed"] > 0, output
        assert work_mem() == "5MB"
    finally:
        rc, output, _ = run_site(inventory_file)
    assert rc == 0, output
    assert db_host.file(ours).content_string == converged
    assert work_mem() == before
