"""Bad pooling input (PgBouncer and Django's own pool) stops playbooks/validate.yml, the site
playbook's first play, with the variable named; run against the controller (a bookworm host)."""
import pathlib
import subprocess
import sys

import pytest

TOP = pathlib.Path(__file__).resolve().parents[2]
VALIDATE = TOP / "playbooks" / "validate.yml"
ONE_HOST = "[dbservers]\ncontroller\n[appservers]\ncontroller\n"
POOLED = {"django_project": "geodemo", "django_db_password": "secret", "postgresql_pgbouncer": True}


def failure(result):
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stdout
    return result.stdout[result.stdout.find("fatal:"):]


def test_pooling_with_good_input_passes(run_local):
    result = run_local(VALIDATE, dict(POOLED, postgresql_settings={"max_connections": 50},
                                      postgresql_pgbouncer_pool_mode="session"), ONE_HOST)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("bad, named", [
    ({"postgresql_pgbouncer_pool_mode": "statement"}, "postgresql_pgbouncer_pool_mode must be one of: transaction, session"),
    ({"postgresql_settings": {"max_connections": 50}, "postgresql_pgbouncer_default_pool_size": 48},
     "could open 48 server connections"),
    # Two projects of 25 each, with PostgreSQL's default max_connections of 100 less 3 reserved: fine
    # alone, too many with a reserve pool of 24 each.
    ({"django_projects": [{"django_project": "shop"}, {"django_project": "blog"}],
      "postgresql_pgbouncer_default_pool_size": 25, "postgresql_pgbouncer_reserve_pool_size": 24},
     "could open 98 server connections (2 database(s)"),
    ({"ansible_distribution_release": "bullseye"}, "packages PgBouncer 1.15"),
    ({"postgresql_pgbouncer_port": 70000}, "postgresql_pgbouncer_port (70000) must be a TCP port"),
], ids=["unknown-pool-mode", "pool-larger-than-max-connections", "pools-of-two-projects", "bullseye", "port"])
def test_bad_pgbouncer_input_stops_with_the_variable_named(run_local, bad, named):
    given = dict(POOLED, **bad)
    if "django_projects" in given:
        del given["django_project"]
    assert named in failure(run_local(VALIDATE, given, ONE_HOST))


def test_the_computed_pool_size_fits_a_small_max_connections(run_local):
    # (10 - 3 - 10 direct) // 1 < 1: the computed size is 1, and one connection still fits.
    result = run_local(VALIDATE, dict(POOLED, postgresql_settings={"max_connections": 10}), ONE_HOST)
    assert result.returncode == 0, result.stdout


def test_django_pool_with_persistent_connections_is_refused(run_local):
    given = dict(POOLED, postgresql_pgbouncer=False, django_db_pool=True, django_db_conn_max_age=60)
    assert "django_db_pool is set, so django_db_conn_max_age must be 0 (it is 60)" in failure(
        run_local(VALIDATE, given, ONE_HOST))


@pytest.fixture(scope="module")
def psycopg2_venv(tmp_path_factory):
    """A real venv with Django 5.2 (the bookworm wheelhouse) that imports psycopg2 and not psycopg 3,
    as django_psycopg2_source leaves a project's venv."""
    wheelhouse = TOP / ".cache" / "wheelhouse" / "bookworm"
    if not any(wheelhouse.glob("django-5.*.whl")):
        pytest.skip("no Django 5 wheel in %s: run tests/testbed/setup.sh" % wheelhouse)
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--find-links", str(wheelhouse),
                    "--target", str(next(venv.glob("lib/python*")) / "site-packages"), "django"], check=True)
    import psycopg2  # the controller's, shared with the venv through a .pth of its own folder
    drivers = tmp_path_factory.mktemp("drivers")
    source = pathlib.Path(psycopg2.__file__).parent.parent
    for name in ("psycopg2", "psycopg2_binary.libs"):
        if (source / name).exists():
            (drivers / name).symlink_to(source / name)
    (next(venv.glob("lib/python*")) / "site-packages" / "drivers.pth").write_text(str(drivers) + "\n")
    return venv


def test_django_pool_with_psycopg2_is_refused(run_local, psycopg2_venv):
    given = dict(POOLED, postgresql_pgbouncer=False, django_db_pool=True, django_venv=str(psycopg2_venv))
    seen = failure(run_local(VALIDATE, given, ONE_HOST))
    assert "django_db_pool needs Django 5.1 or later with psycopg 3" in seen
    assert "it has Django 5.2 using psycopg2" in seen


@pytest.mark.parametrize("extra, expected", [
    ({}, [5432, 0, False, False]),
    ({"postgresql_pgbouncer": True}, [6432, 60, True, True]),
    ({"postgresql_pgbouncer": True, "postgresql_pgbouncer_pool_mode": "session"}, [6432, 0, False, True]),
    ({"postgresql_pgbouncer": True, "postgresql_pgbouncer_port": 6543, "django_db_conn_max_age": 0}, [6543, 0, False, True]),
    # Over the Unix socket (peer authentication) PgBouncer would have no password to log in with.
    ({"postgresql_pgbouncer": True, "django_db_host": "", "django_db_user": "geodemo"}, [5432, 0, False, False]),
], ids=["direct", "transaction", "session", "own-port-and-age", "socket"])
def test_django_settings_follow_the_pooler(run_local, tmp_path, extra, expected):
    from test_settings_options import SPLIT, role_values
    seen = role_values(run_local, tmp_path,
                       "[__django_db_port | int, django_db_conn_max_age | int, django_db_conn_health_checks | bool,"
                       " __django_db_pooled | bool]", extra, SPLIT)
    assert seen == expected
