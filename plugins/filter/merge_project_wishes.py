# Copyright: djangodeploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The merge_project_wishes filter: one server configuration from several projects' wishes."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.djangodeploy.postgresql.plugins.module_utils._projects import merge_wishes


def merge_project_wishes(wishes):
    try:
        return merge_wishes(list(wishes))
    except (KeyError, TypeError, ValueError) as error:
        raise AnsibleFilterError("merge_project_wishes: %s" % error) from error


class FilterModule:
    def filters(self):
        return {"merge_project_wishes": merge_project_wishes}
