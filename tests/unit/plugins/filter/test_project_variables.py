"""project_variables: each project's variables from its entry, the inventory, then the roles' defaults."""
import pathlib
import re

import pytest
import yaml

from ansible.errors import AnsibleFilterError
from ansible_collections.djangodeploy.postgresql.plugins.filter.project_variables import project_variables
from ansible_collections.djangodeploy.postgresql.plugins.module_utils._projects import PROJECT_VARIABLES


def test_the_one_project_of_an_inventory_takes_the_roles_defaults_named_after_it():
    (project,) = project_variables([{}], {"django_project": "shop", "django_db_password": "s3cret"})
    assert project == {
        "django_project": "shop", "django_project_state": "present", "django_project_drop_database": False,
        "django_user": "shop", "django_group": "shop", "django_db_user": "shop", "django_database": "shop",
        "django_db_password": "s3cret", "django_db_engine": "django.contrib.gis.db.backends.postgis",
        "django_db_options": {}, "django_settings_extra": "", "postgresql_settings": {},
    }


def test_an_entry_wins_over_the_inventory_and_names_follow_the_entry():
    inventory = {"django_project": "ignored", "django_db_engine": "django.db.backends.postgresql",
                 "postgresql_settings": {"work_mem": "8MB"}}
    shop, blog = project_variables([{"django_project": "shop", "django_user": "www"},
                                    {"django_project": "blog", "postgresql_settings": {}}], inventory)
    assert (shop["django_user"], shop["django_group"], shop["django_db_user"]) == ("www", "www", "shop")
    assert shop["django_db_engine"] == blog["django_db_engine"] == "django.db.backends.postgresql"
    assert shop["postgresql_settings"] == {"work_mem": "8MB"} and blog["postgresql_settings"] == {}
    assert blog["django_database"] == "blog"


def test_an_inventory_name_is_a_default_for_the_names_after_it():
    (project,) = project_variables([{}], {"django_project": "shop", "django_user": "www"})
    assert project["django_group"] == "www"
    assert project["django_db_user"] == "shop"


def test_a_default_is_a_new_value_for_each_project():
    first, second = project_variables([{"django_project": "a"}, {"django_project": "b"}], {})
    first["django_db_options"]["sslmode"] = "require"
    assert second["django_db_options"] == {}


def test_the_keys_are_the_variables_a_project_may_set_and_nothing_is_added():
    entry = {"django_project": "shop"}
    (project,) = project_variables([entry], {"django_settings_module": "shop.settings"})
    assert "django_settings_module" not in project
    assert entry == {"django_project": "shop"}


@pytest.mark.parametrize("entries, inventory", [(["shop"], {}), ([{}], ["django_project"]), ("shop", {}), (3, {})])
def test_what_is_not_a_mapping_is_refused(entries, inventory):
    with pytest.raises(AnsibleFilterError, match="must be a list of mappings"):
        project_variables(entries, inventory)


def test_the_defaults_are_the_roles_own():
    # The filter restates the roles' defaults (include variables hide them): the two must not drift.
    roles = pathlib.Path(__file__).resolve().parents[4] / "roles"
    role_defaults = {}
    for defaults in roles.glob("*/defaults/main.yml"):
        role_defaults.update(yaml.safe_load(defaults.read_text()) or {})
    compared = [name for name in PROJECT_VARIABLES if name in role_defaults]
    assert len(compared) >= 9
    # The project and its system user differ in the second, so each name default is told apart.
    for entry in ({}, {"django_user": "www"}):
        (project,) = project_variables([entry], {"django_project": "shop"})
        for name in set(compared) - set(entry):
            named = re.fullmatch(r"\{\{ (\w+) \}\}", str(role_defaults[name]))
            assert project[name] == (project[named.group(1)] if named else role_defaults[name]), name
