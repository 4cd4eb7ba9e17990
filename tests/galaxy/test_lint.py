"""The linters a Galaxy consumer (and Galaxy's importer) runs, on the whole checkout: each one
failing fails this suite. ansible-test sanity runs separately (tests/sanity.sh)."""

from galaxy_helpers import TOP, run, tool


def test_ansible_lint_production_profile():
    # Configuration (profile production, offline, excludes, skips with reasons): .ansible-lint
    result = run([tool("ansible-lint"), "--nocolor", "-f", "pep8"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Profile 'production' was required, and it passed" in result.stderr, result.stderr


def test_antsibull_docs_lint_collection_docs():
    result = run([tool("antsibull-docs"), "lint-collection-docs", "--plugin-docs", TOP])
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr
