"""A configuration change never takes a serving database down (issue 19), on two single servers
(bullseye's PostgreSQL 13 and trixie's 17): bad values stop the run with the setting named while
Django keeps working and nothing is reloaded; a good change is applied; a server left down by a
bad file in our conf.d file is repaired by the next run; a restart that fails on the first host
stops the run before the second, which keeps serving. Each test leaves the hosts as converged."""

import json

import pytest
import testinfra

from conftest import django_serves, psql


@pytest.fixture(scope="module")
def fleet(inventory, inventory_file):
    """The database servers in inventory order (the order the site playbook restarts them in)."""
    return [testinfra.get_host("ansible://%s?ansible_inventory=%s" % (name, inventory_file))
            for name in inventory["dbservers"]["hosts"]]


@pytest.fixture(scope="module")
def project(fleet):
    """Not the shared fixture: that one would run each test once per host."""
    return fleet[0].ansible.get_variables()["django_project"]


@pytest.fixture(scope="module")
def converge(run_site, inventory_file):
    """The site playbook with extra vars; (exit code, output, recap)."""
    return lambda **extra: run_site(inventory_file, *(["-e", json.dumps(extra)] if extra else []))


def config_dir(host):
    return host.check_output("dirname %s", psql(host, "SHOW config_file"))


def server_state(host):
    """The configuration files' checksums, and when the server started and last reloaded."""
    files = host.check_output("cd %s && find . -type f | sort | xargs md5sum", config_dir(host))
    return files, psql(host, "SELECT pg_postmaster_start_time() || '|' || pg_conf_load_time()")


def failure(output):
    return output[output.find("fatal:"):]


def memory_mb(host):
    return int(host.check_output("awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo"))


BAD = {
    "unit typo": ({"postgresql_settings": {"shared_buffers": "128MBB"}},
                  r'invalid value for parameter \"shared_buffers\": \"128MBB\"'),
    "unknown name": ({"postgresql_settings": {"shared_bufers": "128MB"}},
                     r'unrecognized configuration parameter \"shared_bufers\"'),
    "out of range": ({"postgresql_settings": {"max_connections": 1000000}},
                     r'outside the valid range for parameter \"max_connections\"'),
    "more shared memory than the host has": (None, "shared_buffers: the configuration needs"),
    "malformed listen address": ({"postgresql_listen_addresses": ["localhost", "10.0.0.300"]},
                                 "postgresql_listen_addresses has 10.0.0.300"),
    "malformed pg_hba address": ({"postgresql_client_addresses": ["192.0.2.300"]},
                                 r'pg_hba.conf line'),
}


@pytest.mark.parametrize("case", BAD.keys())
def test_a_bad_value_stops_the_run_and_the_servers_keep_serving(fleet, project, converge, case):
    extra, named = BAD[case]
    if extra is None:  # twice the memory of the host
        extra = {"postgresql_settings": {"shared_buffers": "%dMB" % (2 * memory_mb(fleet[0]))}}
    before = [server_state(host) for host in fleet]
    rc, output, recap = converge(**extra)
    assert rc != 0, output
    assert named in failure(output), output
    for host, state in zip(fleet, before):
        # The files as the server runs them, and neither a reload nor a restart.
        assert server_state(host) == state, output
        django_serves(host, project)


def test_a_good_change_is_applied_with_a_restart_and_then_changes_nothing(fleet, project, converge):
    started = [server_state(host)[1].split('|')[0] for host in fleet]
    wanted = {"postgresql_settings": {"shared_buffers": "160MB", "work_mem": "5MB"}}
    try:
        rc, output, _ = converge(**wanted)
        assert rc == 0, output
        for host, was in zip(fleet, started):
            assert psql(host, "SELECT current_setting('shared_buffers') || ' ' || current_setting('work_mem')") == "160MB 5MB"
            assert server_state(host)[1].split('|')[0] != was, "shared_buffers needs a restart"
            assert psql(host, "SELECT count(*) FROM pg_settings WHERE pending_restart") == "0"
            django_serves(host, project)
        rc, output, recap = converge(**wanted)
        assert rc == 0, output
        assert {counts["changed"] for counts in recap.values()} == {0}, output
    finally:
        rc, output, _ = converge()
    assert rc == 0, output
    assert all(psql(host, "SHOW shared_buffers") == "128MB" for host in fleet)


def test_a_server_left_down_by_a_bad_file_of_ours_is_repaired(fleet, project, converge):
    host = fleet[0]
    ours = config_dir(host) + "/conf.d/50-djangodeploy.conf"
    converged = host.file(ours).content_string
    host.run("printf '%%s\\n' %s >> %s", "shared_buffers = '128MBB'", ours)
    service = "postgresql@%s-main" % psql(host, "SHOW server_version_num")[:2]
    assert host.run("systemctl restart %s", service).rc != 0
    assert not host.service(service).is_running
    rc, output, _ = converge()
    assert rc == 0, output
    assert host.service(service).is_running
    assert host.file(ours).content_string == converged
    django_serves(host, project)


def test_a_restart_that_fails_stops_before_the_next_host(fleet, project, converge):
    first, second = fleet
    before = [server_state(host) for host in fleet]
    # Valid, so every check passes; but these hosts have no huge pages, so PostgreSQL cannot
    # start with it: an honest failure that only the restart finds.
    assert first.check_output("awk '/^HugePages_Total:/ { print $2 }' /proc/meminfo") == "0"
    try:
        rc, output, _ = converge(postgresql_settings={"huge_pages": "on"})
        assert rc != 0, output
        stop = failure(output)
        assert stop.startswith("fatal: [%s]" % first.backend.host), output
        assert "did not start with the new configuration" in stop and "huge pages" in stop, output
        assert "It runs again on the configuration it ran with before" in stop, output
        # The first host is back on its old files; the second was never restarted.
        assert server_state(first)[0] == before[0][0]
        assert psql(first, "SHOW huge_pages") == "try"
        assert server_state(second)[1].split('|')[0] == before[1][1].split('|')[0], output
        assert psql(second, "SELECT string_agg(name, ',') FROM pg_settings WHERE pending_restart") == "huge_pages"
        for host in fleet:
            django_serves(host, project)
    finally:
        rc, output, _ = converge()
    # PostgreSQL keeps huge_pages pending once it was, even after the file no longer sets it,
    # so this run may restart the second host: what matters is that it does so cleanly.
    assert rc == 0, output
    for host in fleet:
        assert psql(host, "SELECT count(*) FROM pg_settings WHERE pending_restart") == "0"
        django_serves(host, project)


def connections_and_pending(host):
    """max_connections as the server runs it, then the settings waiting for a restart (or none)."""
    return psql(host, "SELECT current_setting('max_connections') || ' ' || "
                      "coalesce((SELECT string_agg(name, ',') FROM pg_settings WHERE pending_restart), 'none')")


@pytest.fixture
def role_alone(playbook, tmp_path):
    """postgresql_install alone on the database servers, with extra vars."""
    play = tmp_path / "role.yml"
    play.write_text("- hosts: dbservers\n  become: true\n  roles: [djangodeploy.postgresql.postgresql_install]\n")
    return lambda **extra: playbook(play, *(["-e", json.dumps(extra)] if extra else []))


def test_the_role_alone_restarts_where_a_setting_needs_it(fleet, role_alone):
    try:
        rc, output, _ = role_alone(postgresql_settings={"max_connections": 120})
        assert rc == 0, output
        for host in fleet:
            assert connections_and_pending(host) == "120 none"
    finally:
        rc, output, _ = role_alone()
    assert rc == 0, output
    assert all(psql(host, "SHOW max_connections") == "100" for host in fleet)


def test_a_restart_left_pending_by_a_stopped_run_is_done_by_the_next(fleet, role_alone, converge):
    wanted = {"postgresql_settings": {"max_connections": 120}}
    try:
        # The site playbook's database play and no more: a run stopped before its restart play.
        rc, output, _ = role_alone(postgresql_restart_when_needed=False, **wanted)
        assert rc == 0, output
        for host in fleet:
            assert connections_and_pending(host) == "100 max_connections"
        rc, output, _ = converge(**wanted)
        assert rc == 0, output
        for host in fleet:
            assert connections_and_pending(host) == "120 none"
    finally:
        rc, output, _ = converge()
    assert rc == 0, output
    assert all(psql(host, "SHOW max_connections") == "100" for host in fleet)
