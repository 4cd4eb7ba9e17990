"""Helpers for the Galaxy-consumer checks (tests/galaxy)."""

import os
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)  # the venv that runs pytest (.venv, from requirements.txt)


def tool(name):
    return os.path.join(BIN, name)


def run(argv, **kwargs):
    """Run a tool; the result carries stdout and stderr as text, never raises."""
    kwargs.setdefault("cwd", TOP)
    env = dict(kwargs.pop("env", None) or os.environ)
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")  # tools call each other (antsibull-docs: ansible-doc)
    kwargs["env"] = env
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
