# -*- coding: utf-8 -*-
"""host_probe's logic against real files, users and processes of the machine the tests run on."""
import hashlib
import os
import pwd

import pytest

from ansible_collections.djangodeploy.postgresql.plugins.module_utils import _host_probe as host_probe


def test_a_file_reports_owner_group_mode_and_checksum(tmp_path):
    path = tmp_path / "settings.py"
    path.write_bytes(b"DEBUG = False\n")
    os.chmod(str(path), 0o640)
    state = host_probe.path_state(str(path))
    me = pwd.getpwuid(os.getuid())
    assert state["exists"] and state["type"] == "file"
    assert state["owner"] == me.pw_name
    assert state["mode"] == "0640"
    assert state["checksum"] == hashlib.sha1(b"DEBUG = False\n").hexdigest()


def test_a_changed_file_has_another_checksum(tmp_path):
    path = tmp_path / "settings.py"
    path.write_text("A = 1\n")
    before = host_probe.path_state(str(path))["checksum"]
    path.write_text("A = 2\n")
    assert host_probe.path_state(str(path))["checksum"] != before


def test_directories_links_and_missing_paths(tmp_path):
    os.symlink(str(tmp_path / "nowhere"), str(tmp_path / "link"))
    assert host_probe.path_state(str(tmp_path))["type"] == "directory"
    assert "checksum" not in host_probe.path_state(str(tmp_path))
    assert host_probe.path_state(str(tmp_path / "link"))["type"] == "link"
    assert host_probe.path_state(str(tmp_path / "nowhere")) == {"exists": False}


def test_users_and_groups():
    me = pwd.getpwuid(os.getuid())
    state = host_probe.user_state(me.pw_name)
    assert state["exists"] and state["uid"] == me.pw_uid and state["home"] == me.pw_dir
    assert host_probe.user_state("no-such-user-djangodeploy") == {"exists": False}
    assert host_probe.group_state(state["group"])["exists"]
    assert host_probe.group_state("no-such-group-djangodeploy") == {"exists": False}


def run_one(argv, **spec):
    """One command through run_commands, the probe's only way to run them."""
    return host_probe.run_commands({"it": dict(spec, argv=argv)})["it"]


def test_a_command_reports_its_exit_code_output_and_environment(tmp_path):
    result = run_one(["sh", "-c", 'pwd; echo "$PROBE" >&2; exit 3'],
                     environment={"PROBE": "set"}, chdir=str(tmp_path))
    assert result == {"rc": 3, "stdout": str(tmp_path) + "\n", "stderr": "set\n"}


def test_what_keeps_a_command_from_running_is_a_failure_not_a_traceback():
    assert run_one(["/nonexistent/program"])["rc"] != 0
    assert run_one(["true"], user="no-such-user-djangodeploy")["rc"] != 0
    timed_out = run_one(["sleep", "5"], timeout=0.2)
    assert timed_out["rc"] != 0 and "timed out" in timed_out["stderr"]


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can run a command as another user")
def test_a_command_runs_as_the_user_asked_with_its_home():
    nobody = pwd.getpwnam("nobody")
    result = run_one(["sh", "-c", 'id -u; id -G; echo "$HOME"'], user="nobody")
    uid, groups, home = result["stdout"].split("\n")[:3]
    assert result["rc"] == 0
    assert int(uid) == nobody.pw_uid
    assert "0" not in groups.split()  # root's groups are dropped
    assert home == nobody.pw_dir


def test_probe_keys_the_answers_by_what_was_asked(tmp_path):
    found = host_probe.probe(paths=[str(tmp_path)], users=["root"], groups=["root"],
                             commands={"check": {"argv": ["false"]}})
    assert found["paths"][str(tmp_path)]["type"] == "directory"
    assert found["users"]["root"]["uid"] == 0
    assert found["groups"]["root"]["gid"] == 0
    assert found["commands"]["check"]["rc"] == 1


def test_contents_reads_the_files_a_glob_matches_and_leaves_out_what_it_cannot(tmp_path):
    (tmp_path / "shop.json").write_text('{"project": "shop"}\n')
    (tmp_path / "blog.json").write_text("ünïcødé\n")
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe")
    (tmp_path / "big.json").write_bytes(b"x" * (host_probe.CONTENT_LIMIT + 1))
    (tmp_path / "dir.json").mkdir()
    os.symlink(str(tmp_path / "shop.json"), str(tmp_path / "link.json"))
    (tmp_path / "notes.txt").write_text("not matched")
    found = host_probe.probe(contents=[str(tmp_path / "*.json"), str(tmp_path / "missing.conf")])["contents"]
    assert found == {str(tmp_path / "blog.json"): "ünïcødé\n", str(tmp_path / "shop.json"): '{"project": "shop"}\n'}


def test_commands_run_side_by_side_each_with_its_own_answer_and_time_out(tmp_path):
    # The first waits for a file only the second makes: one after the other, it would time out.
    signal = str(tmp_path / "second-ran")
    answers = host_probe.run_commands({
        "first": {"argv": ["sh", "-c", 'while [ ! -e "$1" ]; do sleep 0.05; done; echo one', "sh", signal], "timeout": 20},
        "second": {"argv": ["sh", "-c", 'touch "$1"; echo two >&2; exit 4', "sh", signal]},
        "slow": {"argv": ["sleep", "30"], "timeout": 0.3},
        "missing": {"argv": ["/nonexistent/program"]},
    })
    assert answers["first"] == {"rc": 0, "stdout": "one\n", "stderr": ""}
    assert answers["second"] == {"rc": 4, "stdout": "", "stderr": "two\n"}
    assert answers["slow"]["rc"] != 0 and "timed out after 0.3 s" in answers["slow"]["stderr"]
    assert answers["missing"]["rc"] == -1


def test_output_limit_keeps_the_last_characters_or_all_of_them():
    script = "printf 'a%.0s' $(seq 5000); printf 'b%.0s' $(seq 5000) >&2"
    default = run_one(["bash", "-c", script])
    assert default["stdout"] == "a" * 4000 and default["stderr"] == "b" * 4000
    assert run_one(["bash", "-c", script], output_limit=10)["stdout"] == "a" * 10
    whole = run_one(["bash", "-c", script], output_limit=0)
    assert whole["stdout"] == "a" * 5000 and whole["stderr"] == "b" * 4000


def test_commands_are_checked_and_numbers_in_argv_passed_as_written():
    checked, error = host_probe.normalise_commands(
        {"route": {"argv": ["echo", -4, 15, 1.5], "environment": {"N": 3}, "timeout": "30"}})
    assert error is None
    assert checked["route"]["argv"] == ["echo", "-4", "15", "1.5"]
    assert checked["route"]["environment"] == {"N": "3"} and checked["route"]["timeout"] == 30.0
    assert checked["route"]["output_limit"] == 4000
    assert host_probe.run_commands(checked)["route"]["stdout"] == "-4 15 1.5\n"


@pytest.mark.parametrize("spec, message", [
    ({"argv": []}, "commands.it: give a dictionary with a non-empty list argv"),
    ("true", "commands.it: give a dictionary with a non-empty list argv"),
    ({"argv": ["true"], "outputlimit": 0}, "commands.it: unknown key outputlimit"),
    ({"argv": ["true", ["x"]]}, "commands.it.argv: give each argument as a string"),
    ({"argv": ["true"], "environment": ["A=1"]}, "commands.it.environment: give a dictionary of strings"),
    ({"argv": ["true"], "output_limit": -1}, "commands.it.output_limit: give a number of characters"),
    ({"argv": ["true"], "output_limit": "all"}, "commands.it.output_limit: give a number of characters"),
    ({"argv": ["true"], "timeout": "soon"}, "commands.it.timeout: give a number of seconds above 0"),
    ({"argv": ["true"], "timeout": 0}, "commands.it.timeout: give a number of seconds above 0"),
])
def test_a_bad_command_is_named_with_the_fix(spec, message):
    checked, error = host_probe.normalise_commands({"it": spec})
    assert checked is None and error.startswith(message)


BOOKWORM = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n'
SID = 'PRETTY_NAME="Debian GNU/Linux trixie/sid"\nNAME="Debian GNU/Linux"\nVERSION_CODENAME=trixie\nID=debian\n'
UBUNTU = 'PRETTY_NAME="Ubuntu 24.04 LTS"\nNAME="Ubuntu"\nVERSION_CODENAME=noble\nID=ubuntu\n'


@pytest.mark.parametrize("text, release", [(BOOKWORM, "bookworm"), (SID, "trixie"), (UBUNTU, "noble"),
                                           ('NAME="Old Ubuntu"\nUBUNTU_CODENAME=xenial\n', "xenial"), ("", "NA")])
def test_distribution_release_as_setup_reads_it(text, release):
    assert host_probe.distribution_release(text) == release


@pytest.mark.parametrize("route, found", [
    ("8.8.8.8 via 172.17.0.1 dev eth0 src 172.17.0.2 uid 0 \n    cache \n",
     {"interface": "eth0", "address": "172.17.0.2", "gateway": "172.17.0.1"}),
    ("8.8.8.8 dev wg0 src 10.0.0.5 uid 1000 \n    cache \n", {"interface": "wg0", "address": "10.0.0.5"}),
    ("RTNETLINK answers: Network is unreachable\n", {}),
    ("", {}),
])
def test_default_ipv4_as_setup_reads_the_route(route, found):
    assert host_probe.default_ipv4(route) == found


def test_the_facts_are_the_ones_setup_gathers_on_this_machine():
    """Side by side with ansible.builtin.setup on the machine the tests run on."""
    import json
    import subprocess
    import sys
    ansible = os.path.join(os.path.dirname(sys.executable), "ansible")
    if not os.path.exists(ansible):
        pytest.skip("no ansible beside this Python")
    proc = subprocess.run([ansible, "localhost", "-c", "local", "-m", "ansible.builtin.setup", "-a",
                           "gather_subset=!all,!min,distribution,platform,network", "-o"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=True,
                          env=dict(os.environ, ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0"))
    setup = json.loads(proc.stdout.split("=>", 1)[1])["ansible_facts"]
    ours = host_probe.probe(facts=host_probe.FACTS)["ansible_facts"]
    assert sorted(ours) == ["ansible_default_ipv4", "ansible_distribution_release", "ansible_fqdn"]
    assert ours["ansible_distribution_release"] == setup["ansible_distribution_release"]
    assert ours["ansible_fqdn"] == setup["ansible_fqdn"]
    wanted = dict((key, setup["ansible_default_ipv4"][key]) for key in ("address", "interface", "gateway")
                  if key in setup["ansible_default_ipv4"])
    assert ours["ansible_default_ipv4"] == wanted
