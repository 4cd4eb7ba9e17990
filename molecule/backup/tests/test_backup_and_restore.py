"""Backups one can restore: rows made through Django are dumped by the timer's service,
fetched, the database (and its role) dropped, restored with playbooks/restore.yml, and
checked row by row; a restore never drops data unasked; a failed dump (server down, disk
full) keeps the last good one and fails the service; retention keeps N.

The tests run in file order and build on each other, as an operator's day would."""

import gzip
import hashlib
import json

import pytest

from conftest import TOP, manage, psql

DIR = "/var/backups/postgresql"
UNIT = "postgresql-backup.service"
BACKUP = TOP / "playbooks" / "backup.yml"
RESTORE = TOP / "playbooks" / "restore.yml"
SITE = TOP / "playbooks" / "site.yml"

# Everything a restore must bring back, as one line per table: count and md5 of the rows
# in id order (text with quotes, tabs, newlines and non-ASCII; timestamps; points as EWKT),
# and the sequences, so new rows do not collide after a restore.
FINGERPRINT = (
    "SELECT (SELECT count(*) || ' ' || md5(coalesce(string_agg(id || '|' || text || '|' || created::text, E'\\n'"
    " ORDER BY id), '')) FROM places_note) || ' / ' ||"
    " (SELECT count(*) || ' ' || md5(coalesce(string_agg(id || '|' || name || '|' || ST_AsEWKT(location), E'\\n'"
    " ORDER BY id), '')) FROM places_place) || ' / ' ||"
    " (SELECT last_value FROM places_note_id_seq) || ' ' || (SELECT last_value FROM places_place_id_seq)")

state = {}


def fingerprint(host, project):
    return psql(host, FINGERPRINT, project)


def dumps(host, kind):
    """The dumps of one kind on the host, oldest first, with their md5."""
    listing = host.run("cd %s && for f in %s-*Z.sql*; do [ -e \"$f\" ] && md5sum \"$f\"; done; true", DIR, kind)
    return [tuple(reversed(line.split())) for line in listing.stdout.splitlines()]


def stray_temporary_files(host):
    return host.run("find %s -name '.*.tmp.*'", DIR).stdout.split()


@pytest.fixture(scope="module")
def original(host, project):
    """Rows made through Django: 2000 notes and 20 GeoDjango places (on empty tables, so that a
    second `molecule verify` finds the same ids)."""
    psql(host, "TRUNCATE places_note, places_place RESTART IDENTITY", project)
    code = (
        "from django.contrib.gis.geos import Point\n"
        "from places.models import Note, Place\n"
        "Note.objects.bulk_create(Note(text='n%d \\'quote\\' \"dq\" tab\\there\\nnewline ünïcødé %s' % (i, 'x' * (i % 97)))"
        " for i in range(2000))\n"
        "for i in range(20):\n"
        "    Place.objects.create(name='place %d' % i, location=Point(23.7 + i / 100, 37.9 - i / 100, srid=4326))\n"
        "print(Note.objects.count(), Place.objects.count())\n")
    result = manage(host, project, "shell", "-c", code)
    assert result.rc == 0, result.stdout + result.stderr
    assert result.stdout.split()[-2:] == ["2000", "20"]
    return fingerprint(host, project)


def test_timer_is_enabled_and_active(host):
    assert host.run("systemctl is-enabled postgresql-backup.timer").stdout.strip() == "enabled"
    assert host.run("systemctl is-active postgresql-backup.timer").stdout.strip() == "active"
    directory = host.file(DIR)
    assert (directory.user, directory.group, directory.mode) == ("postgres", "postgres", 0o700)
    script = host.file("/usr/local/lib/djangodeploy/postgresql-backup")
    assert (script.user, script.mode) == ("root", 0o755)


def test_backup_playbook_takes_a_dump_and_fetches_it(host, playbook, original, tmp_path_factory):
    fetched = tmp_path_factory.mktemp("fetched")
    rc, output, _ = playbook(BACKUP, "-e", "postgresql_backup_fetch_to=%s" % fetched)
    assert rc == 0, output
    written = host.file(DIR + "/last-run").content_string.split()
    assert sorted(name.split("-2")[0] for name in written) == ["pg_dump-geodemo", "pg_dumpall"]
    for name in written:
        dump = host.file("%s/%s" % (DIR, name))
        assert (dump.user, dump.group, dump.mode) == ("postgres", "postgres", 0o600)
        local = next(fetched.glob("*/" + name))
        assert local.stat().st_mode & 0o777 == 0o600
        text = gzip.decompress(local.read_bytes()).decode()
        assert any(line.startswith("-- PostgreSQL database") and line.endswith("dump complete")
                   for line in text.rstrip().splitlines()[-6:])
        assert hashlib.md5(local.read_bytes()).hexdigest() == dump.md5sum
        state[name.split("-2")[0]] = (DIR + "/" + name, local)
    assert "CREATE ROLE geodemo;" in gzip.decompress(state["pg_dumpall"][1].read_bytes()).decode()


def test_restore_refuses_a_database_that_holds_data(host, project, playbook, original):
    rc, output, _ = playbook(RESTORE, "-e", "postgresql_restore_from=%s" % state["pg_dumpall"][0])
    assert rc != 0
    assert "postgresql_restore_overwrite" in output and "refusing to overwrite data: geodemo" in output
    assert fingerprint(host, project) == original


def test_restore_inputs_are_checked_with_the_variable_named(playbook):
    rc, output, _ = playbook(RESTORE)
    assert rc != 0 and "Give exactly one of postgresql_restore_from" in output
    rc, output, _ = playbook(RESTORE, "-e", "postgresql_restore_from=/var/backups/postgresql/nope.sql")
    assert rc != 0 and "postgresql_restore_from: no such file" in output
    rc, output, _ = playbook(RESTORE, "-e", "postgresql_restore_src=/nonexistent/dump.sql.gz")
    assert rc != 0 and "postgresql_restore_src: no such file on the controller" in output
    rc, output, _ = playbook(BACKUP, "-e", "postgresql_backup_fetch_to=relative/dir")
    assert rc != 0 and "postgresql_backup_fetch_to must be an absolute folder" in output


def test_dropped_database_and_role_come_back_from_the_controllers_dump(host, project, ansible_vars, playbook, original):
    psql(host, "DROP DATABASE %s WITH (FORCE)" % project)
    psql(host, "DROP ROLE %s" % project)
    rc, output, _ = playbook(RESTORE, "-e", "postgresql_restore_src=%s" % state["pg_dumpall"][1])
    assert rc == 0, output
    assert fingerprint(host, project) == original
    # Django works as before: the role logs in with its password and owns the database...
    login = host.run("PGPASSWORD=%s psql -XAt -h localhost -U %s -d %s -c %s", ansible_vars["django_db_password"],
                     project, project, "SELECT current_user || ' ' || pg_get_userbyid(datdba) FROM pg_database "
                                       "WHERE datname = current_database()")
    assert login.rc == 0, login.stderr
    assert login.stdout.strip() == "%s %s" % (project, project)
    assert psql(host, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner <> '%s' "
                      "AND tablename <> 'spatial_ref_sys'" % project, project) == "0"
    # ...no migration is pending, and the ORM reads a point and writes a new row.
    result = manage(host, project, "migrate", "--check")
    assert result.rc == 0, result.stdout + result.stderr
    code = ("import json\nfrom places.models import Note, Place\n"
            "p = Place.objects.get(name='place 3')\n"
            "n = Note.objects.create(text='after the restore')\n"
            "print(json.dumps([p.location.x, p.location.y, n.id]))\n")
    result = manage(host, project, "shell", "-c", code)
    assert result.rc == 0, result.stdout + result.stderr
    x, y, new_id = json.loads(result.stdout.strip().splitlines()[-1])
    assert (round(x, 4), round(y, 4), new_id) == (23.73, 37.87, 2001)


def test_overwrite_puts_the_dump_back_over_newer_rows(host, project, playbook, original):
    assert fingerprint(host, project) != original  # the note written after the restore
    rc, output, _ = playbook(RESTORE, "-e", "postgresql_restore_from=%s" % state["pg_dumpall"][0],
                             "-e", "postgresql_restore_overwrite=true")
    assert rc == 0, output
    assert "2 expected 'already exists' errors" in output
    assert fingerprint(host, project) == original


def test_check_mode_restore_changes_nothing(host, project, playbook, original):
    psql(host, "INSERT INTO places_note (text, created) VALUES ('newer', now())", project)
    changed_before = fingerprint(host, project)
    rc, output, _ = playbook(RESTORE, "--check", "-e", "postgresql_restore_from=%s" % state["pg_dumpall"][0],
                             "-e", "postgresql_restore_overwrite=true")
    assert rc == 0, output
    assert "check mode: would drop: geodemo" in output
    assert fingerprint(host, project) == changed_before


def test_a_single_database_dump_restores_alone(host, project, playbook, original):
    rc, output, _ = playbook(RESTORE, "-e", "postgresql_restore_from=%s" % state["pg_dump-geodemo"][0],
                             "-e", "postgresql_restore_overwrite=yes")
    assert rc == 0, output
    assert fingerprint(host, project) == original
    assert psql(host, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '%s'" % project) == project
    result = manage(host, project, "migrate", "--check")
    assert result.rc == 0, result.stdout + result.stderr


def test_check_mode_on_the_converged_host_changes_nothing(playbook):
    rc, output, recap = playbook(SITE, "--check")
    assert rc == 0, output
    assert recap and {counts["changed"] for counts in recap.values()} == {0}, output


def test_a_dump_that_fails_keeps_the_last_good_one(host, playbook):
    before = {kind: dumps(host, kind) for kind in ("pg_dumpall", "pg_dump-geodemo")}
    last_run = host.file(DIR + "/last-run").content_string
    since = host.check_output("date '+%Y-%m-%d %H:%M:%S'")
    host.run_expect([0], "systemctl stop postgresql")
    try:
        assert host.run("systemctl start %s", UNIT).rc != 0
        assert host.run("systemctl is-failed %s", UNIT).stdout.strip() == "failed"
        journal = host.check_output("journalctl --no-pager -o cat -u %s --since %s", UNIT, since)
        assert "postgresql-backup: FAILED: pg_dumpall: pg_dumpall --no-password exited non-zero" in journal
        assert "connection to server" in journal
        rc, output, _ = playbook(BACKUP)
        assert rc != 0
        assert "postgresql-backup.service failed; the last good dump" in output and "FAILED" in output
    finally:
        host.run_expect([0], "systemctl start postgresql")
    assert {kind: dumps(host, kind) for kind in before} == before
    assert host.file(DIR + "/last-run").content_string == last_run
    assert stray_temporary_files(host) == []


def test_a_full_disk_keeps_the_last_good_one(host):
    newest, md5 = dumps(host, "pg_dumpall")[-1]
    uid = host.check_output("id -u postgres")
    keep = "/root/backup-dir-saved"
    # A tiny tmpfs on the backup directory holding a copy of the last good dump and two
    # free pages: the next dump cannot fit.
    pages = -(-host.file("%s/%s" % (DIR, newest)).size // 4096) + 2
    host.run_expect([0], "mkdir -p %s && cp -a %s/%s %s/", keep, DIR, newest, keep)
    host.run_expect([0], "mount -t tmpfs -o size=%sk,mode=0700,uid=%s,gid=%s tmpfs %s", str(pages * 4), uid, uid, DIR)
    try:
        host.run_expect([0], "cp -a %s/%s %s/", keep, newest, DIR)
        since = host.check_output("date '+%Y-%m-%d %H:%M:%S'")
        assert host.run("systemctl start %s", UNIT).rc != 0
        assert host.run("systemctl is-failed %s", UNIT).stdout.strip() == "failed"
        journal = host.check_output("journalctl --no-pager -o cat -u %s --since %s", UNIT, since)
        assert "No space left on device" in journal and "not written" in journal
        assert dumps(host, "pg_dumpall") == [(newest, md5)]
        assert dumps(host, "pg_dump-geodemo") == []
        assert stray_temporary_files(host) == []
    finally:
        host.run_expect([0], "umount %s", DIR)
        host.run("rm -rf %s", keep)
    host.run_expect([0], "systemctl reset-failed %s", UNIT)


def test_retention_keeps_the_newest_of_each_kind(host, ansible_vars):
    keep = int(ansible_vars["postgresql_backup_keep"])
    for _ in range(keep + 1):
        host.run_expect([0], "systemctl start %s", UNIT)
    newest = host.file(DIR + "/last-run").content_string.split()
    for kind in ("pg_dumpall", "pg_dump-geodemo"):
        names = [name for name, _ in dumps(host, kind)]
        assert len(names) == keep, names
        assert names[-1] in newest
    assert host.run("systemctl is-failed %s", UNIT).stdout.strip() != "failed"
