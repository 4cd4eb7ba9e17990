# Copyright: djangodeploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pg_state_query and pg_state_settled filters: one read-only query of what pg_role and
pg_database read, and whether by its answer they would change nothing, so that a role which
read the host skips the two module runs (module_utils/_settled.py)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.djangodeploy.postgresql.plugins.module_utils._errors import ValidationError
from ansible_collections.djangodeploy.postgresql.plugins.module_utils._settled import probe_query, settled


def _check(role, database, name):
    if not isinstance(role, dict) or not isinstance(database, dict):
        raise AnsibleFilterError("%s needs pg_role's and pg_database's parameters, each as a dict" % name)


def pg_state_query(role, database):
    _check(role, database, "pg_state_query")
    try:
        return probe_query(role, database)
    except (ValidationError, ValueError) as exc:
        raise AnsibleFilterError("pg_state_query: %s" % exc)


def pg_state_settled(answer, role, database):
    _check(role, database, "pg_state_settled")
    return settled(answer, role, database) if isinstance(answer, str) else False


class FilterModule:
    def filters(self):
        return {"pg_state_query": pg_state_query, "pg_state_settled": pg_state_settled}
