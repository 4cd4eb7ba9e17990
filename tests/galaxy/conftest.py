"""Fixtures for the Galaxy-consumer checks: the collection tarball as `ansible-galaxy collection
build` makes it, and that tarball installed into an empty collections path."""

import glob

import pytest

from galaxy_helpers import TOP, consumer_env, run, tool


@pytest.fixture(scope="session")
def tarball(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    result = run([tool("ansible-galaxy"), "collection", "build", "--output-path", str(out), TOP])
    assert result.returncode == 0, result.stdout + result.stderr
    (path,) = glob.glob(str(out / "djangodeploy-postgresql-*.tar.gz"))
    return path


@pytest.fixture(scope="session")
def installed(tarball, tmp_path_factory):
    """(collections path, env) with the tarball installed and nothing else."""
    work = tmp_path_factory.mktemp("consumer")
    collections = str(work / "collections")
    env = consumer_env(collections, str(work))
    result = run([tool("ansible-galaxy"), "collection", "install", tarball], cwd=str(work), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return collections, env, str(work)
