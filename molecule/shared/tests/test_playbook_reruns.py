"""The site playbook run again from the controller against a converged scenario: check mode,
diff mode, secrets and bad input. Each run leaves the hosts as the scenario converged them."""


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
