"""Fixtures for the Galaxy-consumer checks: the collection tarball as `ansible-galaxy collection
build` makes it, and that tarball installed into an empty collections path."""

import glob
import os
import subprocess
import sys

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)  # the venv that runs pytest (.venv, from requirements.txt)


def tool(name):
    return os.path.join(BIN, name)


def run(argv, **kwargs):
    """Run a tool; the result carries stdout and stderr as text, never raises."""
    kwargs.setdefault("cwd", TOP)
    return subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)


def consumer_env(collections_path, workdir):
    """Ansible as a user who installed the tarball sees it: only that collections path (plus
    the collections bundled in the `ansible` package), a neutral ansible.cfg."""
    cfg = os.path.join(workdir, "ansible.cfg")
    if not os.path.exists(cfg):
        with open(cfg, "w", encoding="utf-8") as handle:
            handle.write("[defaults]\ninterpreter_python = auto_silent\n")
    env = dict(os.environ)
    env.update(ANSIBLE_CONFIG=cfg, ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_NOCOLOR="1")
    return env


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
