# Copyright: djangodeploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The project_variables filter: each project's variables, resolved once for a loop over them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ansible.errors import AnsibleFilterError
from ansible_collections.djangodeploy.postgresql.plugins.module_utils._projects import resolve_projects


def project_variables(entries, inventory):
    if (not isinstance(entries, Sequence) or isinstance(entries, str) or not isinstance(inventory, Mapping)
            or any(not isinstance(entry, Mapping) for entry in entries)):
        raise AnsibleFilterError(
            "project_variables: the projects must be a list of mappings, and the inventory's variables a mapping")
    return resolve_projects(list(entries), inventory)


class FilterModule:
    def filters(self):
        return {"project_variables": project_variables}
