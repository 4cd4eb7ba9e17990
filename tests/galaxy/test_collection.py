"""What a Galaxy consumer checks in five minutes, without a container: the tarball builds and
holds the collection and nothing else; `ansible-doc` explains every module, the filter and every
role entry point of the INSTALLED tarball; the changelog lints; `ansible-builder create` makes an
execution environment build context and reads our meta/execution-environment.yml; the example
inventories parse and their vaulted password decrypts.
(Container-level: tests/galaxy/install_and_run.sh. Lint: tests/galaxy/test_lint.py.)"""

import glob
import json
import os
import re
import shutil
import subprocess
import tarfile

import pytest
import yaml

from galaxy_helpers import TOP, run, tool

# A password published here FOR TESTS ONLY: it encrypts the example inventories' placeholder
# passwords so that the tests can prove they decrypt. It protects nothing.
TEST_VAULT_PASSWORD_FILE = os.path.join(TOP, "tests", "galaxy", "test-only-vault-password.txt")
INVENTORIES = os.path.join(TOP, "docs", "inventories")


def galaxy():
    with open(os.path.join(TOP, "galaxy.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def members(tarball):
    with tarfile.open(tarball) as archive:
        return sorted(m.name for m in archive.getmembers() if m.isfile())


# --- the tarball ---------------------------------------------------------------------------

def test_tarball_is_named_after_galaxy_yml(tarball):
    meta = galaxy()
    assert os.path.basename(tarball) == "%s-%s-%s.tar.gz" % (meta["namespace"], meta["name"], meta["version"])


def test_tarball_holds_the_collection(tarball):
    files = set(members(tarball))
    expected = {
        "MANIFEST.json", "FILES.json", "README.md", "CHANGELOG.rst", "changelogs/changelog.yaml",
        "meta/runtime.yml", "meta/execution-environment.yml",
        "playbooks/site.yml", "playbooks/validate.yml",
        "plugins/filter/python_literal.py", "plugins/filter/python_literal.yml",
        "docs/inventories/README.md",
    }
    for path in glob.glob(os.path.join(TOP, "plugins", "modules", "*.py")):
        expected.add(os.path.relpath(path, TOP))
    for role in glob.glob(os.path.join(TOP, "roles", "*", "meta", "argument_specs.yml")):
        role = os.path.dirname(os.path.dirname(role))
        expected.add(os.path.relpath(os.path.join(role, "meta", "argument_specs.yml"), TOP))
        expected.add(os.path.relpath(os.path.join(role, "tasks", "main.yml"), TOP))
    missing = sorted(p for p in expected if p not in files)
    assert not missing, "missing from the tarball: %s" % missing


FORBIDDEN = [  # (regex on the member path, why)
    (r"^tests/", "tests and test fixtures"),
    (r"^molecule/", "Molecule scenarios"),
    (r"^bench/", "benchmarks"),
    (r"(^|/)\.venv/|(^|/)venv/", "virtualenvs"),
    (r"(^|/)\.cache/|(^|/)\.pytest_cache/|(^|/)__pycache__/|\.pyc$|(^|/)\.ansible/", "caches"),
    (r"(^|/)\.git", "git metadata"),
    (r"\.tar\.gz$", "build results"),
    (r"(^|/)(vault-password|[^/]*\.vault-pass)$|test-only-vault-password", "vault passwords"),
    (r"^(ansible\.cfg|requirements\.txt|Makefile|execution-environment\.yml|\.ansible-lint)$",
     "development configuration"),
    (r"^\.(ci|config)/", "CI and tool configuration"),
    (r"^changelogs/\.plugin-cache\.yaml$", "antsibull-changelog's cache"),
]


def test_tarball_has_no_fixtures_caches_or_venvs(tarball):
    bad = ["%s (%s)" % (name, why) for name in members(tarball)
           for pattern, why in FORBIDDEN if re.search(pattern, name)]
    assert not bad, "should not ship: %s" % bad


def test_tarball_has_nothing_git_ignores(tarball):
    names = [n for n in members(tarball) if n not in ("MANIFEST.json", "FILES.json")]
    result = subprocess.run(["git", "check-ignore", "--no-index", "--stdin"], cwd=TOP, check=False,
                            input="\n".join(names), capture_output=True, text=True)
    assert result.stdout.split() == [], "ignored by .gitignore but in the tarball: %s" % result.stdout.split()


# --- ansible-doc on the installed tarball ----------------------------------------------------

def _plugins():
    names = [("module", os.path.splitext(os.path.basename(p))[0])
             for p in sorted(glob.glob(os.path.join(TOP, "plugins", "modules", "*.py")))
             if not os.path.basename(p).startswith("_")]
    names += [("filter", os.path.splitext(os.path.basename(p))[0])
              for p in sorted(glob.glob(os.path.join(TOP, "plugins", "filter", "*.yml")))]
    return names


def _role_entry_points():
    found = []
    for spec in sorted(glob.glob(os.path.join(TOP, "roles", "*", "meta", "argument_specs.yml"))):
        role = spec.split(os.sep)[-3]
        with open(spec, encoding="utf-8") as handle:
            entry_points = yaml.safe_load(handle)["argument_specs"]
        found += [(role, entry) for entry in entry_points]
    return found


def _assert_rendered(result, name):
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[ERROR]" not in result.stderr and "[WARNING]" not in result.stderr, result.stderr
    assert "djangodeploy.postgresql." + name in result.stdout, result.stdout[:300]


@pytest.mark.parametrize("plugin_type,name", _plugins(), ids=lambda v: v)
def test_ansible_doc_renders_plugin(installed, plugin_type, name):
    env, work = installed[1], installed[2]
    result = run([tool("ansible-doc"), "-t", plugin_type, "djangodeploy.postgresql." + name], cwd=work, env=env)
    _assert_rendered(result, name)
    for section in ("EXAMPLES", "RETURN VALUES") if plugin_type in ("module", "filter") else ():
        assert section in result.stdout, "%s has no %s" % (name, section)


@pytest.mark.parametrize("role,entry_point", _role_entry_points(), ids=lambda v: v)
def test_ansible_doc_renders_role_entry_point(installed, role, entry_point):
    env, work = installed[1], installed[2]
    result = run([tool("ansible-doc"), "-t", "role", "-e", entry_point, "djangodeploy.postgresql." + role],
                 cwd=work, env=env)
    _assert_rendered(result, role)
    assert re.search(r"ENTRY POINT: \*?%s\b" % re.escape(entry_point), result.stdout), result.stdout[:300]


def test_ansible_doc_lists_everything(installed):
    env, work = installed[1], installed[2]
    result = run([tool("ansible-doc"), "-t", "role", "-l", "--json", "djangodeploy.postgresql"], cwd=work, env=env)
    assert result.returncode == 0, result.stderr
    roles = {name.rsplit(".", 1)[1] for name in json.loads(result.stdout)}
    assert roles == {role for role, dummy in _role_entry_points()}


# --- changelog ------------------------------------------------------------------------------

def test_changelog_fragments_lint():
    result = run([tool("antsibull-changelog"), "lint"])
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_changelog_yaml_lints_and_has_this_version():
    path = os.path.join(TOP, "changelogs", "changelog.yaml")
    result = run([tool("antsibull-changelog"), "lint-changelog-yaml", path])
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr
    with open(path, encoding="utf-8") as handle:
        releases = yaml.safe_load(handle)["releases"]
    assert galaxy()["version"] in releases
    with open(os.path.join(TOP, "CHANGELOG.rst"), encoding="utf-8") as handle:
        assert "v%s" % galaxy()["version"] in handle.read()


# --- execution environment -------------------------------------------------------------------

def test_execution_environment_names_this_version():
    with open(os.path.join(TOP, "execution-environment.yml"), encoding="utf-8") as handle:
        ee = yaml.safe_load(handle)
    tarball_name = "djangodeploy-postgresql-%s.tar.gz" % galaxy()["version"]
    assert [f["src"] for f in ee["additional_build_files"]] == [tarball_name]
    assert [c["name"] for c in ee["dependencies"]["galaxy"]["collections"]] == ["collections/" + tarball_name]


@pytest.fixture(scope="module")
def ee_context(tarball, tmp_path_factory):
    """`ansible-builder create` for execution-environment.yml, beside the built tarball."""
    work = tmp_path_factory.mktemp("ee")
    shutil.copy(os.path.join(TOP, "execution-environment.yml"), str(work))
    shutil.copy(tarball, str(work))
    result = run([tool("ansible-builder"), "create", "--file", "execution-environment.yml",
                  "--context", "context", "--output-filename", "Containerfile"], cwd=str(work))
    assert result.returncode == 0, result.stdout + result.stderr
    return work / "context"


def test_ansible_builder_create_makes_a_build_context(ee_context, tarball):
    containerfile = (ee_context / "Containerfile").read_text()
    assert "ansible-galaxy collection install" in containerfile
    assert (ee_context / "_build" / "collections" / os.path.basename(tarball)).is_file()
    requirements = yaml.safe_load((ee_context / "_build" / "requirements.yml").read_text())
    assert requirements["collections"][0]["type"] == "file"


def test_builder_reads_our_ee_dependencies(ee_context, installed):
    """What `ansible-builder build` will install for this collection, by builder's own
    introspection script run on the installed tarball."""
    collections, env, work = installed
    result = run([tool("python"), str(ee_context / "_build" / "scripts" / "introspect.py"), "introspect",
                  collections], cwd=work, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "psycopg2-binary" in result.stdout and "# from collection djangodeploy.postgresql" in result.stdout
    assert "libpq5 [platform:dpkg]" in result.stdout


# --- example inventories ---------------------------------------------------------------------

TOPOLOGIES = {  # inventory: {group: hosts}
    "single_server": {"dbservers": ["web1.example.com"], "appservers": ["web1.example.com"]},
    "split": {"dbservers": ["db1.example.com"], "appservers": ["app1.example.com", "app2.example.com"]},
    "ha": {"dbservers": ["db1.example.com", "db2.example.com", "db3.example.com"],
           "appservers": ["app1.example.com", "app2.example.com"]},
}


def test_every_example_inventory_is_tested():
    assert sorted(os.listdir(INVENTORIES)) == sorted(list(TOPOLOGIES) + ["README.md"])


@pytest.mark.parametrize("name", sorted(TOPOLOGIES))
def test_example_inventory_parses(name, tmp_path):
    inventory = os.path.join(INVENTORIES, name, "hosts.yml")
    result = run([tool("ansible-inventory"), "-i", inventory, "--list",
                  "--vault-password-file", TEST_VAULT_PASSWORD_FILE], cwd=str(tmp_path))
    assert result.returncode == 0 and "[WARNING]" not in result.stderr, result.stderr
    listing = json.loads(result.stdout)
    for group, hosts in TOPOLOGIES[name].items():
        assert sorted(listing[group]["hosts"]) == hosts


@pytest.mark.parametrize("name", sorted(TOPOLOGIES))
def test_example_password_is_vaulted_and_decrypts(name, tmp_path):
    vault_file = os.path.join(INVENTORIES, name, "group_vars", "all", "vault.yml")
    with open(vault_file, encoding="utf-8") as handle:
        assert "vault_django_db_password: !vault |" in handle.read()
    for path in glob.glob(os.path.join(INVENTORIES, name, "**", "*.yml"), recursive=True):
        with open(path, encoding="utf-8") as handle:
            assert "example-" not in handle.read(), "%s holds a password in clear" % path
    inventory = os.path.join(INVENTORIES, name, "hosts.yml")
    argv = [tool("ansible"), "all", "-i", inventory, "-c", "local", "-m", "ansible.builtin.debug",
            "-a", "var=django_db_password"]
    result = run(argv + ["--vault-password-file", TEST_VAULT_PASSWORD_FILE], cwd=str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count('"django_db_password": "example-%s-password"' % name.replace("_", "-")) == \
        len(set(sum(TOPOLOGIES[name].values(), [])))
    wrong = tmp_path / "wrong"
    wrong.write_text("not the password\n")
    result = run(argv + ["--vault-password-file", str(wrong)], cwd=str(tmp_path))
    assert result.returncode != 0 and "Decryption failed" in result.stdout + result.stderr
