# -*- coding: utf-8 -*-
# Copyright (c) djangodeploy maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only state of a host in one module run (issue 18): a role asks once what it would
otherwise ask with a module run per file, user and command, and skips the tasks whose
answer is already as they would leave it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import grp
import hashlib
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import time

# A probe's command reports its result, not a log: the last lines say why it failed. A
# command whose whole output is its answer (a package listing) asks for more.
OUTPUT_LIMIT = 4000
# The files a role reads whole are small configuration; a bigger one is not read.
CONTENT_LIMIT = 1024 * 1024


def _name(lookup, number):
    try:
        return lookup(number)[0]
    except KeyError:
        return str(number)


def _sha1(path):
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(65536), b""):
            digest.update(chunk)
    return digest.hexdigest()


def path_state(path):
    """What `stat` and `file` would say of a path, without following a last symlink."""
    try:
        found = os.lstat(path)
    except OSError:
        return {"exists": False}
    if stat.S_ISLNK(found.st_mode):
        kind = "link"
    elif stat.S_ISDIR(found.st_mode):
        kind = "directory"
    elif stat.S_ISREG(found.st_mode):
        kind = "file"
    else:
        kind = "other"
    state = {
        "exists": True,
        "type": kind,
        "owner": _name(pwd.getpwuid, found.st_uid),
        "group": _name(grp.getgrgid, found.st_gid),
        "mode": "%04o" % stat.S_IMODE(found.st_mode),
    }
    if kind == "file":
        try:
            state["checksum"] = _sha1(path)
        except OSError:
            state["checksum"] = None  # unreadable: never equal to a wanted checksum
    return state


def user_state(name):
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return {"exists": False}
    return {
        "exists": True,
        "uid": entry.pw_uid,
        "group": _name(grp.getgrgid, entry.pw_gid),
        "home": entry.pw_dir,
        "shell": entry.pw_shell,
    }


def group_state(name):
    try:
        entry = grp.getgrnam(name)
    except KeyError:
        return {"exists": False}
    return {"exists": True, "gid": entry.gr_gid}


def file_contents(patterns):
    """The text of every regular file that a pattern (a path or a glob) matches, by path.

    A file that cannot be read, is not UTF-8 or is over CONTENT_LIMIT bytes is left out, as
    a missing one is: the caller reads it the long way, or treats it as unknown."""
    found = {}
    for pattern in patterns:
        for path in sorted(glob.glob(pattern)):
            try:
                if not stat.S_ISREG(os.lstat(path).st_mode) or os.path.getsize(path) > CONTENT_LIMIT:
                    continue
                with open(path, "rb") as handle:
                    found[path] = handle.read().decode("utf-8")
            except (OSError, UnicodeDecodeError):
                continue
    return found


def _tail(data, limit=OUTPUT_LIMIT):
    """The last `limit` characters of a command's output (all of it when limit is 0)."""
    text = data.decode("utf-8", "replace")
    return text[-limit:] if limit else text


def _drop_to(entry):
    def change_user():
        os.initgroups(entry.pw_name, entry.pw_gid)
        os.setgid(entry.pw_gid)
        os.setuid(entry.pw_uid)
    return change_user


def _start(argv, user=None, environment=None, chdir=None):
    """Start one read-only command, as `user` when given: the process, or the answer (rc -1,
    the reason in stderr) when it cannot start."""
    env = dict(os.environ)
    preexec = None
    if user:
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            return {"rc": -1, "stdout": "", "stderr": "no user %s" % user}
        if entry.pw_uid != os.geteuid():
            if os.geteuid() != 0:
                return {"rc": -1, "stdout": "", "stderr": "only root can run a command as %s" % user}
            preexec = _drop_to(entry)
        env.update(HOME=entry.pw_dir, USER=entry.pw_name, LOGNAME=entry.pw_name)
    env.update(environment or {})
    try:
        return subprocess.Popen(
            argv, cwd=chdir or None, env=env, preexec_fn=preexec,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except (OSError, subprocess.SubprocessError) as error:
        return {"rc": -1, "stdout": "", "stderr": str(error)}


def _finish(process, timeout, deadline, limit):
    if isinstance(process, dict):
        return process
    try:
        out, err = process.communicate(timeout=None if deadline is None else max(0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        return {"rc": -1, "stdout": _tail(out, limit), "stderr": "timed out after %s s" % timeout}
    return {"rc": process.returncode, "stdout": _tail(out, limit), "stderr": _tail(err)}


def _scalar(value):
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def normalise_commands(commands):
    """The commands option checked: (commands with every argv item, environment value and
    output_limit as run, the first error naming commands.NAME.KEY or None). YAML reads an
    argument such as -4 or 15 as a number; it is passed as the text written."""
    checked = {}
    for name, spec in commands.items():
        where = "commands.%s" % name
        if not isinstance(spec, dict) or not isinstance(spec.get("argv"), list) or not spec["argv"]:
            return None, "%s: give a dictionary with a non-empty list argv" % where
        unknown = sorted(set(spec) - set(["argv", "user", "environment", "chdir", "timeout", "output_limit"]))
        if unknown:
            return None, "%s: unknown key %s (argv, user, environment, chdir, timeout, output_limit)" % (
                where, ", ".join(unknown))
        if not all(_scalar(item) for item in spec["argv"]):
            return None, "%s.argv: give each argument as a string" % where
        environment = spec.get("environment") or {}
        if not isinstance(environment, dict) or not all(_scalar(value) for value in environment.values()):
            return None, "%s.environment: give a dictionary of strings" % where
        limit = spec.get("output_limit", OUTPUT_LIMIT)
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
            return None, "%s.output_limit: give a number of characters, 0 for the whole output" % where
        timeout = spec.get("timeout")
        if timeout is not None:
            try:
                timeout = float(timeout) if _scalar(timeout) else 0
            except ValueError:
                timeout = 0
            if timeout <= 0:
                return None, "%s.timeout: give a number of seconds above 0" % where
        checked[name] = dict(spec, argv=[str(item) for item in spec["argv"]], timeout=timeout,
                             environment=dict((str(key), str(value)) for key, value in environment.items()),
                             output_limit=limit)
    return checked, None


def run_commands(commands):
    """Run read-only commands ({name: {argv, user, environment, chdir, timeout, output_limit}}) side by side
    and return each one's exit code and output by name: the probe waits for the slowest, not
    for their sum. Each is started from this thread (a user change runs in the child before
    exec) and its time-out counts from its start.

    Anything that keeps one from running (no such user or program, a time-out) is an exit
    code other than 0 with the reason in stderr: a probe's caller treats every such answer as
    "not known to be converged" and does the work the long way."""
    started = []
    for name, spec in commands.items():
        timeout = spec.get("timeout")
        deadline = None if timeout is None else time.monotonic() + timeout
        started.append((name, _start(spec["argv"], spec.get("user"), spec.get("environment"), spec.get("chdir")),
                        timeout, deadline, spec.get("output_limit", OUTPUT_LIMIT)))
    return dict((name, _finish(process, timeout, deadline, limit))
                for name, process, timeout, deadline, limit in started)


# The facts a play can have without ansible.builtin.setup's run (the module, about a hundred
# files, is the costliest to build): each as setup computes it.
FACTS = ("distribution_release", "fqdn", "default_ipv4")
# setup's default route lookup: the route to this address names the outgoing interface.
_ROUTE_PROBE = "8.8.8.8"


def distribution_release(os_release):
    """setup's distribution_release from /etc/os-release's text: Debian's (and Raspbian's)
    codename in parentheses in PRETTY_NAME, else VERSION_CODENAME (or UBUNTU_CODENAME), else NA."""
    values = dict((key, value.strip().strip("'\"")) for key, value in re.findall(r"^([A-Z_]+)=(.*)$", os_release, re.M))
    if "Debian" in os_release or "Raspbian" in os_release:
        named = re.search(r"PRETTY_NAME=[^(]+ \(?([^)]+?)\)", os_release)
        if named:
            return named.group(1)
    return values.get("VERSION_CODENAME") or values.get("UBUNTU_CODENAME") or "NA"


def default_ipv4(route):
    """setup's default_ipv4 from `ip -4 route get 8.8.8.8`: the interface, source address and
    gateway of the route (its other keys describe the interface; none is read here)."""
    words = route.splitlines()[0].split() if route.strip() else []
    found = {}
    if words and words[0] == _ROUTE_PROBE:
        for key, value in zip(words, words[1:]):
            if key == "dev":
                found["interface"] = value
            elif key == "src":
                found["address"] = value
            elif key == "via" and value != _ROUTE_PROBE:
                found["gateway"] = value
    return found


def read_facts(names):
    facts = {}
    if "distribution_release" in names:
        try:
            with open("/etc/os-release") as handle:
                facts["distribution_release"] = distribution_release(handle.read())
        except (OSError, UnicodeDecodeError):
            facts["distribution_release"] = "NA"
    if "fqdn" in names:
        facts["fqdn"] = socket.getfqdn()
    if "default_ipv4" in names:
        # sudo's secure_path has the sbin folders; a connected user's PATH may not.
        ip = shutil.which("ip", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin", "/usr/bin", "/bin"]))
        route = run_commands({"route": {"argv": [ip, "-4", "route", "get", _ROUTE_PROBE]}})["route"] if ip else {"rc": 1}
        facts["default_ipv4"] = default_ipv4(route["stdout"]) if route["rc"] == 0 else {}
    return facts


def probe(paths=(), users=(), groups=(), commands=None, contents=(), facts=()):
    """The state of every named path, user, group and command, keyed by what was asked, the
    text of the files the contents patterns match, and the facts asked for."""
    result = {
        "paths": dict((path, path_state(path)) for path in paths),
        "contents": file_contents(contents),
        "users": dict((name, user_state(name)) for name in users),
        "groups": dict((name, group_state(name)) for name in groups),
        "commands": run_commands(commands or {}),
    }
    if facts:
        # Prefixed as setup's are: Ansible sets them as variables under these names.
        result["ansible_facts"] = dict(("ansible_" + name, value) for name, value in read_facts(facts).items())
    return result
