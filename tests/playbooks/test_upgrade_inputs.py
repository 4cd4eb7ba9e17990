"""playbooks/upgrade.yml: bad input stops it before any change, with the variable named."""
import pathlib

import pytest

TOP = pathlib.Path(__file__).resolve().parents[2]
UPGRADE = TOP / "playbooks" / "upgrade.yml"
ONE_HOST = "[dbservers]\ncontroller\n[appservers]\ncontroller\n"
BASE = {"django_project": "shop", "django_db_password": "secret-shop"}


@pytest.mark.parametrize("extra, named", [
    ({"postgresql_upgrade_method": "copy"}, "postgresql_upgrade_method"),
    ({"postgresql_upgrade_to": "fifteen"}, "postgresql_upgrade_to is 'fifteen'"),
    ({"postgresql_upgrade_to": "99", "postgresql_version": "13"}, "postgresql_version is 13 in the inventory"),
], ids=["unknown-method", "target-not-a-number", "pinned-version-elsewhere"])
def test_bad_upgrade_input_stops_before_any_change(run_local, extra, named):
    result = run_local(UPGRADE, dict(BASE, **extra), ONE_HOST)
    assert result.returncode != 0, result.stdout
    failure = result.stdout[result.stdout.find("fatal:"):]
    assert named in failure, result.stdout
    assert "Traceback" not in result.stdout
    assert "changed=0" in result.stdout.split("PLAY RECAP", 1)[1], result.stdout
