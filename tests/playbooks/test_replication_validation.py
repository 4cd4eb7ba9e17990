"""The replication inputs checked by playbooks/validate.yml: each bad one stops every host before
any change, with the variable named."""
import pathlib

import pytest

from conftest import assert_stopped_every_host

TOP = pathlib.Path(__file__).resolve().parents[2]
VALIDATE = TOP / "playbooks" / "validate.yml"
GOOD = {"django_project": "geodemo", "django_db_password": "secret", "postgresql_replication_password": "rep"}


def test_a_primary_and_a_standby_pass(run_local):
    result = run_local(VALIDATE, GOOD, "[dbservers]\ndb1\ndb2 postgresql_role=primary\n[appservers]\napp1\n")
    assert result.returncode == 0, result.stdout


# The book's single server, several of them in one inventory (each host in both groups): no
# standbys, so no replication password; each is its own primary.
def test_single_servers_in_one_inventory_are_not_standbys(run_local):
    given = dict(GOOD, postgresql_replication_password="")
    result = run_local(VALIDATE, given, "[dbservers]\nweb1\nweb2\n[appservers]\nweb1\nweb2\n")
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("hosts, extra, named", [
    ("[dbservers]\ndb1 postgresql_role=primary\ndb2 postgresql_role=primary\n[appservers]\napp1\n", {},
     "only one host may be the primary"),
    ("[dbservers]\ndb1\ndb2\n[appservers]\napp1 postgresql_role=primary\n", {},
     "not in group dbservers: app1"),
    ("[dbservers]\ndb1\ndb2 postgresql_role=leader\n[appservers]\napp1\n", {}, "postgresql_role is 'leader'"),
    ("[dbservers]\ndb1\ndb2\n[appservers]\napp1\n", {"postgresql_replication_password": ""},
     "postgresql_replication_password is required"),
    ("[dbservers]\ndb1\ndb2\n[appservers]\napp1\n", {"postgresql_new_primary": "app1"},
     "postgresql_new_primary is 'app1', which is not a host of dbservers"),
], ids=["two-primaries", "primary-outside-dbservers", "unknown-role", "no-replication-password",
        "switchover-target-outside"])
def test_bad_replication_input_stops_every_host(run_local, hosts, extra, named):
    result = run_local(VALIDATE, dict(GOOD, **extra), hosts)
    assert_stopped_every_host(result, named, ("db1", "db2", "app1"))
