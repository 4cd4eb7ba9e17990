"""postgresql_cluster_choice: the cluster that holds the data is managed, never an empty newer one."""
import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.djangodeploy.postgresql.plugins.filter.postgresql_cluster_choice import postgresql_cluster_choice


def line(version, databases=4, status="online", name="main", port=5432, tablespaces=0):
    """pg_lsclusters' line for the cluster, then the counts the role's probe appends."""
    fields = (version, name, port, status, version, name, version, name, databases, tablespaces)
    return "%s %s %d %s postgres /var/lib/postgresql/%s/%s /var/log/postgresql/postgresql-%s-%s.log %d %d" % fields


def test_a_fresh_host_gets_the_release_major():
    assert postgresql_cluster_choice([], "main", "15") == {"major": "15", "cluster": None, "upgrade_to": "",
                                                           "empty_new": False, "old": [], "error": ""}


def test_after_a_release_upgrade_the_old_cluster_stays_managed_and_an_upgrade_is_pending():
    chosen = postgresql_cluster_choice([line("13")], "main", "15")
    assert (chosen["major"], chosen["upgrade_to"], chosen["empty_new"]) == ("13", "15", False)
    assert chosen["cluster"] == {"version": "13", "name": "main", "port": 5432, "status": "online",
                                 "data": "/var/lib/postgresql/13/main", "holds_data": True}


def test_an_empty_new_main_beside_the_data_is_never_managed():
    chosen = postgresql_cluster_choice([line("13"), line("15", databases=3, port=5433)], "main", "15")
    assert (chosen["major"], chosen["upgrade_to"], chosen["empty_new"]) == ("13", "15", True)
    assert [c["version"] for c in chosen["old"]] == ["15"]


def test_after_the_upgrade_the_new_cluster_is_managed_though_the_old_one_still_holds_data():
    chosen = postgresql_cluster_choice([line("13", status="down", port=5433), line("15")], "main", "15")
    assert (chosen["major"], chosen["upgrade_to"]) == ("15", "")
    assert [(c["version"], c["status"]) for c in chosen["old"]] == [("13", "down")]


def test_a_stopped_cluster_holding_data_is_still_found():
    assert postgresql_cluster_choice([line("13", status="down")], "main", "15")["major"] == "13"


def test_a_tablespace_counts_as_data():
    chosen = postgresql_cluster_choice([line("13", databases=3, tablespaces=1), line("15", databases=3)], "main", "15")
    assert chosen["major"] == "13"


def test_without_data_the_release_cluster_wins_and_an_older_lone_one_is_kept():
    assert postgresql_cluster_choice([line("13", databases=3), line("15", databases=3)], "main", "15")["major"] == "15"
    assert postgresql_cluster_choice([line("13", databases=3)], "main", "15")["major"] == "13"


def test_other_cluster_names_are_ignored():
    chosen = postgresql_cluster_choice([line("13", name="other"), line("15", databases=3)], "main", "15")
    assert (chosen["major"], chosen["upgrade_to"], chosen["old"]) == ("15", "", [])


def test_versions_compare_as_numbers():
    assert postgresql_cluster_choice([line("9.6"), line("13")], "main", "15")["major"] == "13"
    assert postgresql_cluster_choice([line("9.6")], "main", "10")["upgrade_to"] == "10"


def test_a_newer_cluster_than_the_release_is_no_pending_upgrade():
    chosen = postgresql_cluster_choice([line("16")], "main", "15")
    assert (chosen["major"], chosen["upgrade_to"], chosen["cluster"]["port"]) == ("16", "", 5432)


def test_a_set_version_is_managed():
    assert postgresql_cluster_choice([line("13")], "main", "15", "13")["major"] == "13"
    assert postgresql_cluster_choice([], "main", "15", "16")["major"] == "16"
    assert postgresql_cluster_choice([line("13", databases=3)], "main", "15", "15")["error"] == ""


def test_a_set_version_without_a_cluster_while_an_older_one_holds_the_data_is_refused():
    error = postgresql_cluster_choice([line("13")], "main", "15", "15")["error"]
    assert "cluster 13/main holds the data" in error and "postgresql_upgrade_to=15" in error
    assert "set postgresql_version to 13" in error


def test_an_unknown_release_and_no_version_choose_nothing():
    assert postgresql_cluster_choice([], "main", "")["major"] == ""


def test_a_malformed_line_is_an_error_naming_the_filter():
    with pytest.raises(AnsibleFilterError, match="postgresql_cluster_choice: unexpected cluster line"):
        postgresql_cluster_choice(["13 main"], "main", "15")
