# Copyright: djangodeploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The postgresql_cluster_choice filter: the Debian cluster that holds the data."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.djangodeploy.postgresql.plugins.module_utils._clusters import choose_cluster, parse_clusters


def postgresql_cluster_choice(lines, name, release_major, wanted=""):
    try:
        return choose_cluster(parse_clusters(list(lines)), str(name), release_major, wanted)
    except (TypeError, ValueError) as error:
        raise AnsibleFilterError("postgresql_cluster_choice: %s" % error) from error


class FilterModule:
    def filters(self):
        return {"postgresql_cluster_choice": postgresql_cluster_choice}
