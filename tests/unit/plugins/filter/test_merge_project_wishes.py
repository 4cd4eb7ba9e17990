"""merge_project_wishes: several projects' wishes become one server configuration."""
import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.djangodeploy.postgresql.plugins.filter.merge_project_wishes import merge_project_wishes
from ansible_collections.djangodeploy.postgresql.plugins.module_utils._projects import render_value


def wish(project, addresses=("localhost",), ssl=False, **settings):
    return {"project": project, "listen_addresses": list(addresses), "ssl": ssl, "settings": settings}


def test_addresses_are_united_in_the_order_of_the_project_names_whoever_runs_last():
    shop = wish("shop", ["localhost", "10.0.0.5"], ssl=True)
    blog = wish("blog", ["localhost", "10.0.0.7"])
    for order in ([shop, blog], [blog, shop]):
        merged = merge_project_wishes(order)
        assert merged["listen_addresses"] == ["localhost", "10.0.0.7", "10.0.0.5"]
        assert merged["projects"] == ["blog", "shop"]


def test_ssl_is_on_when_any_project_wants_it():
    assert merge_project_wishes([wish("a"), wish("b", ssl=True)])["ssl"] is True
    assert merge_project_wishes([wish("a"), wish("b")])["ssl"] is False
    assert merge_project_wishes([])["ssl"] is False


def test_a_setting_named_by_one_project_applies_to_the_server():
    merged = merge_project_wishes([wish("a", work_mem="8MB"), wish("b", max_connections=200)])
    assert merged["settings"] == {"work_mem": "'8MB'", "max_connections": "200"}
    assert merged["conflicts"] == []


def test_equal_values_agree_however_they_are_spelled_in_yaml():
    merged = merge_project_wishes([wish("a", jit=False, port=5432), wish("b", jit=False, port=5432)])
    assert merged["settings"] == {"jit": "off", "port": "5432"}
    assert merged["conflicts"] == []


def test_a_conflict_names_the_setting_both_projects_and_both_values():
    merged = merge_project_wishes([wish("shop", max_connections=200), wish("blog", max_connections=100)])
    assert merged["conflicts"] == ["max_connections: project blog wants 100, project shop wants 200"]


def test_a_project_recorded_twice_is_an_error_not_a_silent_pick():
    with pytest.raises(AnsibleFilterError, match="recorded twice: a"):
        merge_project_wishes([wish("a"), wish("a")])


def test_a_wish_without_a_project_name_is_an_error():
    with pytest.raises(AnsibleFilterError, match="merge_project_wishes"):
        merge_project_wishes([{"listen_addresses": []}])


@pytest.mark.parametrize("value, written", [
    (True, "on"), (False, "off"), (0, "0"), (1.5, "1.5"), ("8MB", "'8MB'"), ("it's", "'it''s'"),
])
def test_values_are_written_as_postgresql_conf_reads_them(value, written):
    assert render_value(value) == written
