# Copyright: djangodeploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Several Django projects on one PostgreSQL server: each project records what it wants of the
server (a "wish"), and the server's configuration is the merge of every recorded wish.

How wishes combine, and why (README "Several projects on one database server"):
- listen_addresses: the union, in the order of the projects' names, so that no project's run
  reorders what another wrote (the file would otherwise change on every run).
- ssl: on when any project wants it; a project that does not need TLS is not hurt by it.
- every other setting: the same value from every project that names it, or no value from
  the others; two different values stop the run with both named. Picking one would make
  the file flip on every run of the other project.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

# The variables each project of django_projects may set (README "Several projects on one
# server"), in the order they are resolved, with the roles' defaults. A name default is the
# same project's value of the variable it names.
PROJECT_VARIABLES = (
    "django_project", "django_project_state", "django_project_drop_database", "django_user", "django_group",
    "django_db_user", "django_database", "django_db_password", "django_db_engine", "django_db_options",
    "django_settings_extra", "postgresql_settings",
)
_VALUE_DEFAULTS = {
    "django_project": "", "django_project_state": "present", "django_project_drop_database": False,
    "django_db_password": "", "django_db_engine": "django.contrib.gis.db.backends.postgis",
    "django_db_options": {}, "django_settings_extra": "", "postgresql_settings": {},
}
_NAME_DEFAULTS = {
    "django_user": "django_project", "django_group": "django_user",
    "django_db_user": "django_project", "django_database": "django_project",
}


def resolve_projects(entries, inventory):
    """Each project's variables, complete: the entry's value, else the inventory's (inventory is
    the host's variables, a mapping), else the roles' default. entries are django_projects'
    dicts; [{}] is the one project the inventory describes."""
    projects = []
    for entry in entries:
        project = {}
        for name in PROJECT_VARIABLES:
            if name in entry:
                project[name] = entry[name]
            elif name in inventory:
                project[name] = inventory[name]
            elif name in _NAME_DEFAULTS:
                project[name] = project[_NAME_DEFAULTS[name]]
            else:
                project[name] = copy.deepcopy(_VALUE_DEFAULTS[name])
        projects.append(project)
    return projects


def render_value(value):
    """A postgresql.conf value: booleans on/off, numbers bare, anything else quoted."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (int, float)):
        return str(value)
    return "'%s'" % str(value).replace("'", "''")


def merge_wishes(wishes):
    """The server's configuration from every project's wish (dicts with project,
    listen_addresses, ssl, settings). Returns listen_addresses, ssl, settings (rendered
    values, by name), projects, and conflicts: one sentence per setting two projects disagree on."""
    ordered = sorted(wishes, key=lambda wish: str(wish["project"]))
    names = [str(wish["project"]) for wish in ordered]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError("project recorded twice: %s" % ", ".join(duplicates))
    addresses, settings, owners, conflicts = [], {}, {}, []
    for wish in ordered:
        for address in wish.get("listen_addresses") or []:
            if str(address) not in addresses:
                addresses.append(str(address))
        wanted = wish.get("settings") or {}
        if not isinstance(wanted, Mapping):
            raise ValueError("the settings of project %s are not a mapping" % wish["project"])
        for name in sorted(wanted):
            rendered = render_value(wanted[name])
            if name not in settings:
                settings[name], owners[name] = rendered, wish["project"]
            elif settings[name] != rendered:
                conflicts.append(
                    "%s: project %s wants %s, project %s wants %s" % (
                        name, owners[name], settings[name], wish["project"], rendered))
    return {
        "projects": names,
        "listen_addresses": addresses,
        "ssl": any(bool(wish.get("ssl")) for wish in ordered),
        "settings": settings,
        "conflicts": conflicts,
    }
