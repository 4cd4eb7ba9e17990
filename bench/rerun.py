#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""The site playbook's idempotent rerun on one converged host, this checkout against a base commit.

Usage: .venv/bin/python bench/rerun.py [--base 4a49c24] [--repeat 3] [--connection ssh|docker] [--first] [--profile] [--tls]

Makes a `git worktree` of the base commit and one of HEAD in a temporary directory (each with its own collection
path, so each run uses its own roles), creates one bookworm container with the platform
settings of molecule/default (systemd as PID 1), reached as molecule/default reaches it (ssh:
SSH as the unprivileged user deploy with sudo, set up by molecule/default/prepare.yml) or over
`docker exec` (docker: community.docker.docker as root, as bench/fleet.py does), deploys the
test project, converges it, then times, alternating base and HEAD against that same
converged container, repeat times each, TLS off (postgresql_ssl: false, the default where one
host is the whole inventory) or with --tls on (the default of a split or replicated inventory):

  rerun        ansible-playbook playbooks/site.yml, pipelining on (ansible.cfg)
  rerun-nopipe the same with ANSIBLE_PIPELINING=False (molecule/default's setting)
  check        --check, pipelining on
  check-nopipe --check without pipelining

Wall seconds and the controller's CPU seconds (user+sys of the ansible-playbook process tree,
the connection clients included: _bench.timed_cpu; the bench is the subreaper of the SSH
ControlPersist masters, which it stops and reaps after each run so their CPU counts) are
reported as medians, with the
recap's changed count. --first also converges two fresh containers, one per checkout, and
reports the first converge's time and CPU. --profile adds one more rerun of each checkout
with bench/callback_plugins/controller_cpu.py: where its controller CPU went (the main
process, the task workers and the Jinja compiles in them, and the rest: forks, worker exits,
connection clients) and the tasks whose workers cost most. The container and the worktree
are removed at the end.
"""

import argparse
import datetime
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _bench  # noqa: E402  pylint: disable=wrong-import-position
import fleet  # noqa: E402  pylint: disable=wrong-import-position

NAME = "djangodeploy-bench-rerun-%d"
VARIANTS = {
    "rerun": ([], {}),
    "rerun-nopipe": ([], {"ANSIBLE_PIPELINING": "False"}),
    "check": (["--check"], {}),
    "check-nopipe": (["--check"], {"ANSIBLE_PIPELINING": "False"}),
}


class Checkout:
    """A checkout of the collection as ansible-playbook sees it: its playbooks, its
    ansible.cfg and a collection path that resolves djangodeploy.postgresql to it."""

    def __init__(self, label, top, collections):
        self.label, self.top, self.collections = label, top, collections

    def run(self, inventory, args=(), env=None, log=None):
        extra = {"ANSIBLE_CONFIG": os.path.join(self.top, "ansible.cfg"),
                 "ANSIBLE_COLLECTIONS_PATH": self.collections}
        extra.update(env or {})
        return _bench.timed_playbook(os.path.join(self.top, "playbooks", "site.yml"), inventory, extra, cwd=self.top,
                                     log=log, args=args)


def write_inventory(work, name, connection, tls=False):
    """The inventory of one container (its own file, in its own directory); TLS as in
    bench/fleet.py's inventories (a split or replicated inventory's default) with tls, else off
    (the default on the book's single server, molecule/default's kind of host)."""
    folder = os.path.join(work, name)
    os.makedirs(folder)
    if connection == "docker":
        return fleet.write_inventory(folder, [name], tls=tls)
    return fleet.write_inventory(folder, [name], host_vars={name: fleet.ssh_host_vars(work, name)}, tls=tls)


def checkout_of(work, commit, label):
    """A worktree of commit (so the checkout can be edited while the bench runs)."""
    top = os.path.join(work, label)
    subprocess.run(["git", "-C", _bench.REPO, "worktree", "add", "--detach", top, commit], check=True,
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    collections = os.path.join(work, label + "-collections")
    os.makedirs(os.path.join(collections, "ansible_collections", "djangodeploy"))
    os.symlink(top, os.path.join(collections, "ansible_collections", "djangodeploy", "postgresql"))
    # The wheelhouse of the test project is the checkout's cache, not in git.
    os.symlink(os.path.join(_bench.REPO, ".cache"), os.path.join(top, ".cache"))
    return Checkout(label, top, collections)


def profile(checkout, inventory, work, log):
    """Where one rerun's controller CPU went (bench/callback_plugins/controller_cpu.py), as
    text lines: the split, then the twelve tasks whose workers cost most."""
    output = os.path.join(work, "controller-cpu-%s.tsv" % checkout.label)
    if os.path.exists(output):
        os.remove(output)
    _, cpu, _ = checkout.run(inventory, log=log, env={
        "ANSIBLE_CALLBACK_PLUGINS": os.path.join(os.path.dirname(os.path.abspath(__file__)), "callback_plugins"),
        "ANSIBLE_CALLBACKS_ENABLED": "controller_cpu", "DJANGODEPLOY_CONTROLLER_CPU": output})
    with open(output, encoding="utf-8") as handle:
        rows = [line.rstrip("\n").split("\t") for line in handle]
    tasks = [(float(row[1]), float(row[2]), int(row[3]), row[4]) for row in rows if row[0] == "task"]
    main_cpu = sum(float(row[1]) for row in rows if row[0] == "main")
    workers = sum(task[0] for task in tasks)
    compiles = sum(task[1] for task in tasks)
    lines = ["%.2f CPU-s in all: ansible-playbook itself %.2f; %d task workers %.2f (%.2f of it compiling %d Jinja "
             "templates); the rest %.2f (forks, worker exits, connection clients)"
             % (cpu, main_cpu, len(tasks), workers, compiles, sum(task[2] for task in tasks),
                cpu - main_cpu - workers), "",
             "worker CPU-s  compiling  templates  task"]
    lines += ["%12.3f %10.3f %10d  %s" % task for task in sorted(tasks, reverse=True)[:12]]
    return lines


def main():  # pylint: disable=too-many-locals,too-many-statements
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="4a49c24")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--connection", choices=["ssh", "docker"], default="ssh")
    parser.add_argument("--first", action="store_true", help="also time the first converge of base and HEAD")
    parser.add_argument("--profile", action="store_true", help="add a controller CPU profile run of each checkout")
    parser.add_argument("--tls", action="store_true", help="postgresql_ssl: true (default: false, as on one host)")
    parser.add_argument("--output", default=os.path.join(_bench.RESULTS, "rerun.md"))
    opts = parser.parse_args()
    variants = opts.variants.split(",")
    work = tempfile.mkdtemp(prefix="djangodeploy-rerun-")
    _bench.become_subreaper()
    log = os.path.join(work, "rerun.log")
    started = datetime.datetime.now(datetime.timezone.utc)
    head = subprocess.run(["git", "-C", _bench.REPO, "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE,
                          text=True, check=True).stdout.strip()

    _bench.raise_on_sigterm()  # so that the container and worktrees are removed
    names = [NAME % 1] + ([NAME % 2] if opts.first else [])
    results = {}
    firsts = {}
    profiles = {}
    notes = []
    checkouts = []
    try:
        checkouts = [checkout_of(work, opts.base, "base"), checkout_of(work, head, "HEAD")]
        base = checkouts[0]
        _bench.say("rerun: creating %s" % ", ".join(names))
        fleet.create(names)
        inventories = [write_inventory(work, name, opts.connection, opts.tls) for name in names]
        prepare = os.path.join(_bench.REPO, "molecule", "default" if opts.connection == "ssh" else "shared",
                               "prepare.yml")
        for inventory in inventories:
            _bench.timed_cpu([os.path.join(_bench.VENV_BIN, "ansible-playbook"), "-i", inventory, prepare],
                             env=_bench.ansible_env({"MOLECULE_EPHEMERAL_DIRECTORY": work}), log=log)
        if opts.first:
            # The base converges the container every rerun then uses; this checkout the second.
            for checkout, inventory in zip(checkouts, inventories):
                seconds, cpu, out = checkout.run(inventory, log=log)
                firsts[checkout.label] = (seconds, cpu, _bench.changed_total(out))
                _bench.say("rerun: first converge %s %.1f s, %.1f CPU-s" % (checkout.label, seconds, cpu))
        else:
            base.run(inventories[0], log=log)
        inventory = inventories[0]
        # Each checkout once more, untimed: a checkout's first run on a host another one
        # converged may legitimately change something (a file it writes differently).
        for checkout in checkouts:
            checkout.run(inventory, log=log)
        for rep in range(opts.repeat):
            for variant in variants:
                args, env = VARIANTS[variant]
                for checkout in (checkouts if rep % 2 == 0 else checkouts[::-1]):
                    seconds, cpu, out = checkout.run(inventory, args, env, log=log)
                    results.setdefault((variant, checkout.label), []).append((seconds, cpu, _bench.changed_total(out)))
                    _bench.say("rerun rep %d %s %s: %.1f s, %.1f CPU-s, changed=%d"
                               % (rep + 1, variant, checkout.label, seconds, cpu, _bench.changed_total(out)))
        if opts.profile:
            for checkout in checkouts:
                profiles[checkout.label] = profile(checkout, inventory, work, log)
    except (_bench.RunFailed, subprocess.CalledProcessError) as exc:
        notes.append("run failed: %s" % exc)
        _bench.say(notes[-1])
    finally:
        fleet.destroy(names)
        for checkout in checkouts:
            subprocess.run(["git", "-C", _bench.REPO, "worktree", "remove", "--force", checkout.top], check=False)
    labels = ["base", "HEAD"]
    header = ["run", "base %s: s" % opts.base, "HEAD %s: s" % head, "base: controller CPU-s",
              "HEAD: controller CPU-s", "changed base / HEAD"]
    rows = []
    for variant in variants:
        cells = [variant]
        measured = [results.get((variant, label), []) for label in labels]
        if not all(measured):
            continue
        cells += ["%.1f" % _bench.median([m[0] for m in runs]) for runs in measured]
        cells += ["%.2f" % _bench.median([m[1] for m in runs]) for runs in measured]
        cells.append(" / ".join(",".join(sorted(set(str(m[2]) for m in runs))) for runs in measured))
        rows.append(cells)
    text = ["# The site playbook's idempotent rerun, base against HEAD", "",
            "Run %s by `bench/rerun.py %s` (%s in all, log %s)."
            % (started.strftime("%Y-%m-%d %H:%M UTC"), " ".join(sys.argv[1:]),
               "%.0f s" % (datetime.datetime.now(datetime.timezone.utc) - started).total_seconds(), log), ""]
    text += _bench.machine() + [""]
    text.append("One bookworm container (systemd PID 1, reached over %s) in dbservers and "
                "appservers, TLS %s, converged once; each row alternates the two checkouts against that same host, "
                "median of %d. Controller CPU-s: user+sys of the ansible-playbook process tree (workers and "
                "connection clients included)."
                % ("SSH as the unprivileged user deploy with sudo, as molecule/default does" if opts.connection == "ssh"
                   else "community.docker.docker as root",
                   "on (postgresql_ssl: true, --tls)" if opts.tls else "off (postgresql_ssl: false, as on one host)",
                   opts.repeat))
    text += ["", _bench.markdown_table(header, rows), ""]
    for label, (seconds, cpu, changed) in firsts.items():
        text.append("- first converge, %s: %.1f s, %.1f controller CPU-s, changed=%d" % (label, seconds, cpu, changed))
    for label, lines in profiles.items():
        text += ["", "Controller CPU of one more rerun with pipelining, %s (--profile):" % label, "", "```"] + lines + ["```"]
    text += ["- " + note.replace("\n", " ")[:800] for note in notes]
    output = "\n".join(text) + "\n"
    print(output)
    os.makedirs(os.path.dirname(opts.output), exist_ok=True)
    with open(opts.output, "w") as handle:
        handle.write(output)
    for label in labels:
        shutil.rmtree(os.path.join(work, label + "-collections"), ignore_errors=True)


if __name__ == "__main__":
    main()
