"""Patroni's dynamic configuration from our conf.d files, and its diff against the live one."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.djangodeploy.postgresql.plugins.filter.patroni import (
    patroni_config_changes,
    patroni_parameters,
)
from ansible_collections.djangodeploy.postgresql.plugins.module_utils._patroni import parse_postgresql_conf

REPLICATION = """# managed
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
wal_log_hints = on
hot_standby = on
"""
PROJECTS = """password_encryption = scram-sha-256
listen_addresses = 'localhost,10.0.0.5'
ssl = on
max_connections = 50   # lowered
shared_buffers = '256MB'
"""


def test_parse_quotes_comments_and_last_value_wins():
    text = "a = 'it''s' # c\nb=2\n# x = 1\n b = 3 \nc 'x\\'y'\ninclude_dir = 'conf.d'\n"
    assert parse_postgresql_conf(text) == {"a": "it's", "b": "3", "c": "x'y"}


def test_only_command_line_settings_and_later_files_win():
    later = "max_connections = 200\n"
    assert patroni_parameters([REPLICATION, PROJECTS, later]) == {
        "wal_level": "replica",
        "max_wal_senders": "10",
        "max_replication_slots": "10",
        "wal_log_hints": "on",
        "hot_standby": "on",
        "max_connections": "200",
    }


def test_changes_only_what_differs_and_keeps_other_keys():
    live = {"ttl": 30, "synchronous_mode": False, "postgresql": {"parameters": {"max_connections": 100,
            "wal_log_hints": "on"}, "use_slots": True}, "operator_key": 1}
    wanted = {"ttl": 30, "synchronous_mode": True, "postgresql": {"parameters": {"max_connections": "50",
              "wal_log_hints": True}, "use_slots": True}}
    assert patroni_config_changes(live, wanted) == [
        "postgresql.parameters.max_connections=50",
        "synchronous_mode=true",
    ]


def test_same_values_give_no_change():
    wanted = {"loop_wait": 10, "postgresql": {"parameters": {"max_connections": "100"}}}
    assert patroni_config_changes({"loop_wait": "10", "postgresql": {"parameters": {"max_connections": 100}}}, wanted) == []
    assert patroni_config_changes(None, {"ttl": 30}) == ["ttl=30"]


@pytest.mark.parametrize("value", ["text", [1], None])
def test_bad_input_is_a_clear_error(value):
    with pytest.raises(AnsibleFilterError):
        patroni_parameters(value)
    with pytest.raises(AnsibleFilterError):
        patroni_config_changes({}, value)
