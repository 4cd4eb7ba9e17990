"""Major upgrade across a Debian release (issue 15), on the bullseye host as the other tests left it:
rows and PostGIS points written through Django; sources switched to bookworm and `apt-get
full-upgrade`; the site playbook keeps PostgreSQL 13 serving Django, creates no 15 cluster and says
an upgrade is pending (also with the empty 15/main Debian's package makes when it is installed
without our playbook); a pre-flight failure (an extension 15 lacks) changes nothing; upgrade.yml
moves the data to 15 (every row and point, migrate --check, new rows, the unchanged password over
TCP, PostGIS's new version); the site playbook then changes nothing; drop_old removes 13.

The file name sorts it after every other test of the scenario (molecule runs them sorted): it
turns the bullseye host into bookworm for good. The tests of this module run in order, each on
the state the one before left."""

import json
import os
import subprocess
import time

import pytest
import testinfra

from conftest import TOP, django_serves, manage, psql, run_playbook

UPGRADE = TOP / "playbooks" / "upgrade.yml"
FULL_UPGRADE = ("DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Options::=--force-confold "
                "-o Dpkg::Options::=--force-confdef full-upgrade")
FAKE_EXTENSION = "djangodeploy_only_13"
TIMES = {}


@pytest.fixture(scope="module")
def bullseye(inventory, inventory_file):
    for name in inventory["dbservers"]["hosts"]:
        host = testinfra.get_host("ansible://%s?ansible_inventory=%s" % (name, inventory_file))
        if host.system_info.codename in ("bullseye", "bookworm") and host.exists("pg_lsclusters"):
            if host.system_info.codename == "bullseye" or "13" in host.check_output("ls /etc/postgresql"):
                return host
    pytest.skip("no bullseye database server in this scenario")


@pytest.fixture(scope="module")
def name(bullseye):
    return bullseye.backend.host


@pytest.fixture(scope="module")
def project(bullseye):
    return bullseye.ansible.get_variables()["django_project"]


@pytest.fixture(scope="module")
def run(inventory_file, name):
    """A playbook against this host only; (rc, output, recap of this host), timed."""
    def play(playbook, label, *args):
        start = time.monotonic()
        rc, output, recap = run_playbook(playbook, inventory_file, "--limit", name, *args)
        TIMES[label] = round(time.monotonic() - start, 1)
        return rc, output, recap.get(name, {})
    return play


@pytest.fixture(scope="module", autouse=True)
def report_times(record_testsuite_property):
    yield
    record_testsuite_property("upgrade_seconds", json.dumps(TIMES))
    where = os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY")
    if where:
        with open(os.path.join(where, "upgrade-times.json"), "w") as out:
            json.dump(TIMES, out, indent=1)


def clusters(host):
    """pg_lsclusters as (version, port, status) of cluster main."""
    return sorted((f[0], f[2], f[3]) for f in map(str.split, host.check_output("pg_lsclusters --no-header").splitlines())
                  if f[1] == "main")


def fingerprint(host, project, but=""):
    """Row counts and checksums of the app's tables (without the notes whose text is `but`), the
    points as PostGIS writes them."""
    return psql(host, "SELECT (SELECT count(*) || ' ' || md5(string_agg(id || ':' || text || ':' || created, ',' ORDER BY id))"
                      " FROM places_note WHERE text <> '%s') || ' / ' || (SELECT count(*) || ' ' || md5(string_agg(id || ':' || name || ':'"
                      " || ST_AsEWKT(location), ',' ORDER BY id)) FROM places_place)" % but, project)


def django(host, project, code):
    result = manage(host, project, "shell", "-c", code)
    assert result.rc == 0, result.stdout + result.stderr
    return result.stdout.strip()


def write_rows(host, project, tag, count):
    django(host, project, (
        "from django.contrib.gis.geos import Point\n"
        "from places.models import Note, Place\n"
        "for i in range(%d):\n"
        "    Note.objects.create(text='%s note %%d' %% i)\n"
        "    Place.objects.get_or_create(name='%s place %%d' %% i,"
        " defaults={'location': Point(20 + i / 1000, 40 - i / 1000, srid=4326)})\n"
    ) % (count, tag, tag))


def login_over_tcp(host, project):
    password = host.ansible.get_variables()["django_db_password"]
    return host.run("PGPASSWORD=%s psql -XAt -h localhost -U %s -d %s -c 'SELECT 1'", password, project, project)


def config_state(host, version):
    return host.check_output("cd /etc/postgresql/%s/main && find . -type f | sort | xargs md5sum", version)


def test_after_the_release_upgrade_the_site_playbook_keeps_13_and_says_an_upgrade_is_pending(bullseye, project, run):
    host = bullseye
    write_rows(host, project, "before", 200)
    before = fingerprint(host, project)
    settings = host.file("/etc/opt/%s/settings.py" % project).md5sum
    start = time.monotonic()
    upgraded = host.run("sed -i s/bullseye/bookworm/g /etc/apt/sources.list && apt-get -q update && " + FULL_UPGRADE)
    TIMES["apt full-upgrade bullseye to bookworm"] = round(time.monotonic() - start, 1)
    assert upgraded.rc == 0, upgraded.stdout[-3000:] + upgraded.stderr
    assert "VERSION_CODENAME=bookworm" in host.file("/etc/os-release").content_string
    # The reboot Debian's release notes ask for: until then the old server runs with the old
    # libraries loaded, and PostGIS 3.1 built for bullseye fails to load bookworm's GEOS.
    subprocess.run(["docker", "restart", host.backend.host], check=True, stdout=subprocess.DEVNULL, timeout=120)
    for _ in range(60):
        if host.run("systemctl is-system-running --wait").stdout.strip() in ("running", "degraded"):
            break
        time.sleep(1)
    assert clusters(host) == [("13", "5432", "online")]
    # The code's venv follows the new Python (3.9 to 3.11): redeployed as the operator does, with
    # the Django it had (Django 4.2 still supports PostgreSQL 13).
    redeploy = host.run("cd /opt/%s && rm -rf venv && python3 -m venv --system-site-packages venv"
                        " && venv/bin/pip install -q --no-index --find-links wheelhouse django", project)
    assert redeploy.rc == 0, redeploy.stderr

    rc, output, recap = run(TOP / "playbooks" / "site.yml", "site after full-upgrade")
    assert rc == 0, output
    assert clusters(host) == [("13", "5432", "online")], output
    assert not host.file("/etc/postgresql/15").exists
    assert not host.package("postgresql-15").is_installed
    assert output.count("PostgreSQL major upgrade pending on") == 1, output
    assert "djangodeploy.postgresql.upgrade -e postgresql_upgrade_to=15" in output
    assert host.file("/etc/opt/%s/settings.py" % project).md5sum == settings
    assert fingerprint(host, project) == before
    django_serves(host, project)


def test_an_empty_15_main_made_by_the_package_is_left_alone(bullseye, project, run):
    host = bullseye
    # What `apt install postgresql` (the metapackage) does on bookworm: an empty 15/main on 5433.
    installed = host.run("DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql-15")
    assert installed.rc == 0, installed.stderr
    assert clusters(host) == [("13", "5432", "online"), ("15", "5433", "online")]
    empty = config_state(host, "15")
    rc, output, recap = run(TOP / "playbooks" / "site.yml", "site with an empty 15/main")
    assert rc == 0, output
    assert recap["changed"] == 0, output
    assert "An empty 15/main made by its package is left alone" in output, output
    assert config_state(host, "15") == empty  # nothing of ours was written there
    assert psql(host, "SELECT count(*) FROM pg_database WHERE datname = '%s'" % project) == "1"
    django_serves(host, project)


def test_an_extension_15_lacks_stops_the_upgrade_before_any_change(bullseye, project, run):
    host = bullseye
    extension_dir = "/usr/share/postgresql/13/extension"
    host.run("printf '%%s\\n' \"default_version = '1.0'\" 'relocatable = true' > %s/%s.control", extension_dir,
             FAKE_EXTENSION)
    host.run("printf '%%s\\n' 'CREATE FUNCTION only_13() RETURNS int LANGUAGE sql AS $$ SELECT 13 $$;' > %s/%s--1.0.sql",
             extension_dir, FAKE_EXTENSION)
    psql(host, "CREATE EXTENSION %s" % FAKE_EXTENSION, project)
    before = (clusters(host), config_state(host, "13"), config_state(host, "15"), fingerprint(host, project))
    try:
        rc, output, _ = run(UPGRADE, "upgrade refused by pre-flight", "-e", "postgresql_upgrade_skip_backup=true")
        assert rc != 0, output
        assert "PostgreSQL 15 has no extension %s" % FAKE_EXTENSION in output, output
        assert "database %s (%s)" % (project, FAKE_EXTENSION) in output, output
        assert (clusters(host), config_state(host, "13"), config_state(host, "15"), fingerprint(host, project)) == before
        django_serves(host, project)
    finally:
        psql(host, "DROP EXTENSION IF EXISTS %s" % FAKE_EXTENSION, project)
        host.run("rm -f %s/%s*", extension_dir, FAKE_EXTENSION)


WRITER = """import time
import django
django.setup()
from places.models import Note
while True:
    Note.objects.create(text="writer")
    time.sleep(0.2)
"""


def writer_rows(host, project):
    """How many rows the writer made, and the longest pause between two of them (seconds)."""
    return psql(host, "SELECT count(*) || ' ' || coalesce(round(extract(epoch FROM max(gap))::numeric, 1), 0) FROM "
                      "(SELECT created - lag(created) OVER (ORDER BY id) AS gap FROM places_note WHERE text = 'writer') g",
                project).split()


def wait_for_writes(host, project, than):
    """The writer's row count once it is above `than` (Django takes seconds to start here)."""
    for _ in range(120):
        count = int(writer_rows(host, project)[0])
        if count > than:
            return count
        time.sleep(0.5)
    raise AssertionError("the writer wrote nothing after %d rows" % than)


def test_upgrade_moves_every_row_and_point_to_15(bullseye, project, run):
    host = bullseye
    write_rows(host, project, "just before", 50)
    # The app, writing a row every 0.2 s: django_service names it, so the upgrade stops it
    # first (it would fail on the server going away) and starts it again at the end.
    host.run("printf '%%s' %s > /opt/%s/writer.py", WRITER, project)
    unit = ("[Service]\nUser={p}\nWorkingDirectory=/opt/{p}\nEnvironment=PYTHONPATH=/etc/opt/{p}:/opt/{p} "
            "DJANGO_SETTINGS_MODULE=settings\nExecStart=/opt/{p}/venv/bin/python /opt/{p}/writer.py\n").format(p=project)
    host.run("printf %s > /etc/systemd/system/%s-writer.service && systemctl daemon-reload", unit, project)
    assert host.run("systemctl start %s-writer", project).rc == 0
    writes_before = wait_for_writes(host, project, 0)
    before = fingerprint(host, project, "writer")
    settings = host.file("/etc/opt/%s/settings.py" % project).md5sum
    rc, output, _ = run(UPGRADE, "upgrade.yml 13 to 15", "-e", "postgresql_upgrade_to=15",
                        "-e", "django_service=%s-writer" % project)
    assert rc == 0, output
    assert host.service("%s-writer" % project).is_running
    wait_for_writes(host, project, writes_before)
    longest_pause = writer_rows(host, project)[1]
    TIMES["app stopped to app writing again (upgrade.yml, link)"] = float(longest_pause)
    journal = host.check_output("journalctl --no-pager -u %s-writer", project)
    assert "Traceback" not in journal, journal  # stopped before the server went away
    assert host.run("systemctl stop %s-writer", project).rc == 0
    versions = clusters(host)
    assert versions[1] == ("15", "5432", "online") and versions[0][0] == "13" and versions[0][2] == "down", versions
    assert psql(host, "SHOW server_version_num").startswith("15")
    assert fingerprint(host, project, "writer") == before
    assert host.file("/etc/opt/%s/settings.py" % project).md5sum == settings  # same port: Django untouched
    django_serves(host, project)
    write_rows(host, project, "after", 10)
    assert int(fingerprint(host, project, "writer").split()[0]) == int(before.split()[0]) + 10
    login = login_over_tcp(host, project)
    assert login.rc == 0, login.stderr
    postgis = psql(host, "SELECT postgis_full_version()", project)
    assert 'POSTGIS="3.3' in postgis and 'PGSQL="150"' in postgis and "need upgrade" not in postgis, postgis
    ours = host.file("/etc/postgresql/15/main/conf.d/50-djangodeploy.conf")
    assert ours.exists and "password_encryption = 'scram-sha-256'" in ours.content_string
    assert host.file("/etc/postgresql/15/main/djangodeploy-projects/%s.json" % project).exists
    dumps = host.check_output("ls -t /var/backups/postgresql | grep -vx last-run | head -n 1")  # the run's marker
    assert dumps.startswith("pg_dumpall-"), dumps


def test_the_site_playbook_then_manages_15_and_changes_nothing(bullseye, project, run):
    rc, output, recap = run(TOP / "playbooks" / "site.yml", "site after the upgrade")
    assert rc == 0, output
    assert recap["changed"] == 0, output
    assert "upgrade pending" not in output
    assert "postgresql@15-main" in output
    django_serves(bullseye, project)


def test_drop_old_removes_13(bullseye, project, run):
    host = bullseye
    rc, output, recap = run(UPGRADE, "upgrade.yml drop_old", "-e", "postgresql_upgrade_drop_old=true")
    assert rc == 0, output
    assert clusters(host) == [("15", "5432", "online")]
    assert not host.file("/var/lib/postgresql/13/main").exists
    django_serves(host, project)
    login = login_over_tcp(host, project)
    assert login.rc == 0, login.stderr
