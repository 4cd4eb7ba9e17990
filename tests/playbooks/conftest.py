"""Run a playbook against the controller itself (ansible_connection=local) with extra vars."""
import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

TOP = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def run_local(tmp_path):
    """run_local(playbook, extra_vars, hosts): the finished ansible-playbook process, output in
    .stdout. hosts is an INI inventory body; every host in it is the controller."""
    def run(playbook, extra_vars, hosts):
        inventory = tmp_path / "hosts.ini"
        inventory.write_text(
            hosts + "[all:vars]\nansible_connection=local\nansible_python_interpreter=%s\n" % sys.executable)
        extra = tmp_path / "vars.json"
        extra.write_text(json.dumps(extra_vars))
        env = dict(os.environ, ANSIBLE_CONFIG=str(TOP / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
        return subprocess.run(
            ["ansible-playbook", "-i", str(inventory), "-e", "@%s" % extra, str(playbook)],
            cwd=TOP, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300,
            check=False)
    return run


def assert_stopped_every_host(result, named, hosts):
    """The run failed before any change with `named` in its error, and every host in hosts failed."""
    assert result.returncode != 0, result.stdout
    assert named in result.stdout[result.stdout.find("fatal:"):], result.stdout
    assert "Traceback" not in result.stdout
    recap = result.stdout[result.stdout.rfind("PLAY RECAP"):]
    for host in hosts:
        assert re.search(r"^%s\s+:.*failed=1" % re.escape(host), recap, re.M), result.stdout
