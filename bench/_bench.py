# -*- coding: utf-8 -*-
"""Shared pieces of the benchmarks: the environment every ansible-playbook run
gets, timing a command, reading the play recap, medians, Markdown tables and
the machine description.  Not an Ansible plugin; imported by the bench
scripts only."""

import ctypes
import glob
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The throwaway PostgreSQL cluster is the integration tests' own (tests/pg_cluster.py):
# one helper, so the benchmarks measure against the server the tests trust.
sys.path.insert(0, os.path.join(REPO, "tests"))
import pg_cluster  # noqa: E402  pylint: disable=wrong-import-position

PgCluster = pg_cluster.Cluster
PG_BIN = pg_cluster.PG_BIN
VENV_BIN = os.path.join(REPO, ".venv", "bin")
PYTHON = os.path.join(VENV_BIN, "python")
RESULTS = os.path.join(REPO, "bench", "results")

_RECAP = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
    r"\s+failed=(?P<failed>\d+)", re.M)


def ansible_env(extra=None):
    """The environment of every ansible-playbook run of the benchmarks."""
    env = dict(os.environ)
    env["PATH"] = VENV_BIN + os.pathsep + env.get("PATH", "")
    env["ANSIBLE_CONFIG"] = os.path.join(REPO, "ansible.cfg")
    env["ANSIBLE_COLLECTIONS_PATH"] = os.path.join(REPO, ".cache", "collections")
    env["ANSIBLE_NOCOLOR"] = "1"
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env["ANSIBLE_RETRY_FILES_ENABLED"] = "0"
    env.pop("ANSIBLE_STDOUT_CALLBACK", None)
    if extra:
        env.update(extra)
    return env


class RunFailed(Exception):
    pass


def raise_on_sigterm():
    """SIGTERM raises RunFailed, so a benchmark's finally block removes what it made."""
    def _terminate(signum, _frame):
        raise RunFailed("interrupted by signal %d" % signum)

    signal.signal(signal.SIGTERM, _terminate)


def timed(cmd, env=None, cwd=None, log=None, timeout=3600):
    """Run ``cmd``; return (seconds, stdout text).  Raises RunFailed with the
    tail of the output when it fails."""
    seconds, _cpu, out = timed_cpu(cmd, env=env, cwd=cwd, log=log, timeout=timeout)
    return seconds, out


def become_subreaper():
    """Make the SSH masters that ControlPersist puts in the background this process's children
    (PR_SET_CHILD_SUBREAPER), so that timed_playbook counts their CPU."""
    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_cpu(cmd, env=None, cwd=None, log=None, timeout=3600):
    """Run ``cmd``; return (wall seconds, controller CPU seconds, stdout text).  The CPU is
    user+sys of the command's whole process tree as the kernel accounts it to its waiting
    parents: ansible-playbook, its forked workers and the connection clients they run
    (`docker exec`, ssh), not the containers' side.  Raises RunFailed when it fails."""
    start = time.monotonic()
    cpu_before = children_cpu()
    proc = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=timeout, check=False)
    seconds = time.monotonic() - start
    cpu = children_cpu() - cpu_before
    out = proc.stdout.decode("utf-8", "replace")
    if log:
        with open(log, "a") as handle:
            handle.write("\n$ %s\n# %.2f s, rc=%d\n%s" % (" ".join(cmd), seconds, proc.returncode, out))
    if proc.returncode != 0:
        raise RunFailed("%s failed (rc=%d):\n%s" % (" ".join(cmd[:3]), proc.returncode, out[-4000:]))
    return seconds, cpu, out


def reap_ssh_masters(control_dir):
    """Stop the SSH ControlPersist masters of a run and wait for them (they are this
    process's children: it is their subreaper), so their CPU time is counted."""
    for socket in glob.glob(os.path.join(control_dir, "*")):
        subprocess.run(["ssh", "-o", "ControlPath=" + socket, "-O", "exit", "bench"], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            os.wait()
        except ChildProcessError:
            return


def timed_playbook(playbook, inventory, extra_env=None, cwd=None, log=None, args=()):
    """(wall s, controller CPU s, output) of one ansible-playbook run over SSH: its own
    ControlPersist directory beside the inventory, whose masters are stopped and reaped
    afterwards so that their CPU counts."""
    extra = dict(extra_env or {})
    control_dir = tempfile.mkdtemp(prefix="cp-", dir=os.path.dirname(inventory))
    extra["ANSIBLE_SSH_CONTROL_PATH_DIR"] = control_dir
    cmd = [os.path.join(VENV_BIN, "ansible-playbook"), "-i", inventory, playbook] + list(args)
    try:
        seconds, cpu, out = timed_cpu(cmd, env=ansible_env(extra), cwd=cwd, log=log, timeout=3600)
    finally:
        before = children_cpu()
        reap_ssh_masters(control_dir)
        masters = children_cpu() - before
        shutil.rmtree(control_dir, ignore_errors=True)
    return seconds, cpu + masters, out


def busy_cpu_seconds():
    """CPU seconds the whole machine has spent busy since boot (every core, every
    process: the controller, docker and the containers), from /proc/stat."""
    with open("/proc/stat") as handle:
        fields = [int(v) for v in handle.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = fields[:7]
    return float(user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def recap(out):
    """{host: {'ok': n, 'changed': n, ...}} from ansible-playbook's PLAY RECAP."""
    hosts = {}
    for match in _RECAP.finditer(out):
        hosts[match.group("host")] = dict(
            (key, int(match.group(key))) for key in ("ok", "changed", "unreachable", "failed"))
    return hosts


def changed_total(out):
    return sum(h["changed"] for h in recap(out).values())


def median(values):
    return statistics.median(values) if values else float("nan")


def fmt_s(value):
    return "-" if value is None or value != value else "%.2f" % value


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(str(c) for c in row) + " |")
    return "\n".join(lines)


def _version(cmd):
    try:
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False).stdout
        return out.decode("utf-8", "replace").strip().splitlines()[0]
    except (OSError, IndexError):
        return "n/a"


def machine(pg_bin=None):
    """Lines describing the machine and the versions in play."""
    lines = [
        "- host: %s, %s, nproc=%d, Python %s" % (platform.node(), platform.platform(), os.cpu_count() or 0,
                                                  platform.python_version()),
        "- %s" % _version([os.path.join(VENV_BIN, "ansible-playbook"), "--version"]),
    ]
    try:
        from importlib.metadata import version  # pylint: disable=import-outside-toplevel
        parts = []
        for dist in ("ansible", "psycopg2-binary", "psycopg"):
            try:
                parts.append("%s %s" % (dist, version(dist)))
            except Exception:  # pylint: disable=broad-except
                pass
        lines.append("- " + ", ".join(parts))
    except ImportError:
        pass
    if pg_bin:
        lines.append("- %s" % _version([os.path.join(pg_bin, "postgres"), "--version"]))
    try:
        with open("/proc/loadavg") as handle:
            lines.append("- load average at start: %s" % " ".join(handle.read().split()[:3]))
    except OSError:
        pass
    return lines


def say(msg):
    sys.stderr.write("[bench] %s\n" % msg)
    sys.stderr.flush()
