"""django_projects (several projects in one inventory) checked by playbooks/validate.yml."""
import pathlib

import pytest

TOP = pathlib.Path(__file__).resolve().parents[2]
VALIDATE = TOP / "playbooks" / "validate.yml"
ONE_HOST = "[dbservers]\ncontroller\n[appservers]\ncontroller\n"
SHOP = {"django_project": "shop", "django_db_password": "secret-shop"}
BLOG = {"django_project": "blog", "django_db_password": "secret-blog"}


def test_two_projects_pass_and_each_is_checked(run_local):
    result = run_local(VALIDATE, {"django_projects": [SHOP, BLOG]}, ONE_HOST)
    assert result.returncode == 0, result.stdout
    assert "(item=shop)" in result.stdout and "(item=blog)" in result.stdout


@pytest.mark.parametrize("projects, named", [
    ([SHOP, dict(BLOG, django_db_password="")], "django_db_password"),
    ([SHOP, dict(SHOP, django_db_password="other")], "each with its own django_project"),
    ([SHOP, {"django_db_password": "x"}], "each with its own django_project"),
    ([SHOP, dict(BLOG, postgresql_version="15")], "sets postgresql_version, which every project shares"),
    ([SHOP, dict(BLOG, django_project_state="gone")], "django_project_state of project blog"),
    ([SHOP, dict(BLOG, django_project="my-blog")], "django_project"),
], ids=["a-project-without-password", "same-name-twice", "no-name", "shared-variable-per-project",
        "bad-state", "project-not-a-package"])
def test_a_bad_project_stops_the_run_with_it_named(run_local, projects, named):
    result = run_local(VALIDATE, {"django_projects": projects}, ONE_HOST)
    assert result.returncode != 0, result.stdout
    assert named in result.stdout[result.stdout.find("fatal:"):], result.stdout
    assert "Traceback" not in result.stdout


def test_a_name_shared_by_every_project_is_refused(run_local):
    result = run_local(VALIDATE, {"django_projects": [SHOP, BLOG], "django_database": "everyone"}, ONE_HOST)
    assert result.returncode != 0, result.stdout
    assert "django_database in the inventory would give every" in result.stdout
