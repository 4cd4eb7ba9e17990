# Copyright: djangodeploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The patroni_parameters and patroni_config_changes filters (postgresql_patroni)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.djangodeploy.postgresql.plugins.module_utils._patroni import (
    config_changes,
    dynamic_parameters,
)


def patroni_parameters(texts):
    if not isinstance(texts, (list, tuple)) or not all(isinstance(text, str) for text in texts):
        raise AnsibleFilterError("patroni_parameters needs a list of configuration file texts")
    return dynamic_parameters(texts)


def patroni_config_changes(live, wanted):
    if not isinstance(wanted, dict) or not isinstance(live or {}, dict):
        raise AnsibleFilterError("patroni_config_changes needs two dictionaries (the live and the wanted configuration)")
    return config_changes(live or {}, wanted)


class FilterModule:
    def filters(self):
        return {"patroni_parameters": patroni_parameters, "patroni_config_changes": patroni_config_changes}
