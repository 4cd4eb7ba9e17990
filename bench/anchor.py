#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""Our whole site rerun against the most-used PostgreSQL role's database-only rerun (issue 18).

Usage: .venv/bin/python bench/anchor.py --geerlingguy DIR [--repeat 3] [--output bench/results/anchor.md]

DIR is a checkout of https://github.com/geerlingguy/ansible-role-postgresql (Ansible Galaxy's
geerlingguy.postgresql; its commit is reported). Two bookworm containers (systemd PID 1),
each reached as molecule/default reaches it (SSH as the unprivileged user deploy with sudo,
pipelining on as in ansible.cfg):

  theirs     geerlingguy.postgresql with one user and one database it owns (its
             postgresql_users and postgresql_databases, which run community.postgresql's
             modules): PostgreSQL's side only, facts gathered as a play does by default
  ours-db    our database roles alone on the other container (postgresql_install, then
             db_user_and_database), facts gathered as a play does by default
  ours-site  this checkout's playbooks/site.yml on that container: PostgreSQL, the user and
             database, the backup timer, and Django's settings and migrations

Each is converged once, run once more untimed, then the three reruns alternate, repeat
times; the table gives the medians of wall seconds and of the controller's CPU seconds
(user+sys of the ansible-playbook process tree, SSH clients and ControlPersist masters
included), and the changed counts. The containers are removed at the end.
"""

import argparse
import datetime
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _bench  # noqa: E402  pylint: disable=wrong-import-position
import fleet  # noqa: E402  pylint: disable=wrong-import-position
import rerun  # noqa: E402  pylint: disable=wrong-import-position

THEIRS, OURS = "djangodeploy-bench-anchor-theirs", "djangodeploy-bench-anchor-ours"

THEIR_PLAY = """---
- name: PostgreSQL, one user and the database it owns, by geerlingguy.postgresql
  hosts: dbservers
  become: true
  vars:
    postgresql_users:
      - name: geodemo
        password: "{{ django_db_password }}"
    postgresql_databases:
      - name: geodemo
        owner: geodemo
  roles:
    - geerlingguy.postgresql
"""

OUR_DB_PLAY = """---
- name: PostgreSQL, the user and the database it owns, by our database roles alone
  hosts: dbservers
  become: true
  vars:
    postgresql_postgis: true  # what site.yml derives from the GeoDjango engine
  roles:
    - djangodeploy.postgresql.postgresql_install
    - djangodeploy.postgresql.db_user_and_database
"""


def run(playbook, inventory, work, log):
    """(wall s, controller CPU s, changed) of one ansible-playbook run, its SSH masters reaped."""
    seconds, cpu, out = _bench.timed_playbook(playbook, inventory, {"ANSIBLE_ROLES_PATH": os.path.join(work, "roles")},
                                              cwd=_bench.REPO, log=log)
    return seconds, cpu, _bench.changed_total(out)


def main():  # pylint: disable=too-many-locals
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--geerlingguy", required=True, help="a checkout of geerlingguy/ansible-role-postgresql")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--output", default=os.path.join(_bench.RESULTS, "anchor.md"))
    opts = parser.parse_args()
    theirs_dir = os.path.abspath(opts.geerlingguy)
    their_commit = subprocess.run(["git", "-C", theirs_dir, "log", "-1", "--format=%h %cs"], stdout=subprocess.PIPE,
                                  text=True, check=False).stdout.strip() or "unknown commit"
    head = subprocess.run(["git", "-C", _bench.REPO, "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE,
                          text=True, check=True).stdout.strip()
    work = tempfile.mkdtemp(prefix="djangodeploy-anchor-")
    _bench.become_subreaper()  # the SSH masters' CPU is counted
    log = os.path.join(work, "anchor.log")
    os.makedirs(os.path.join(work, "roles"))
    os.symlink(theirs_dir, os.path.join(work, "roles", "geerlingguy.postgresql"))
    plays = {"theirs": os.path.join(work, "theirs.yml"), "ours-db": os.path.join(work, "ours-db.yml"),
             "ours-site": os.path.join(_bench.REPO, "playbooks", "site.yml")}
    for label, text in (("theirs", THEIR_PLAY), ("ours-db", OUR_DB_PLAY)):
        with open(plays[label], "w") as handle:
            handle.write(text)
    started = datetime.datetime.now(datetime.timezone.utc)
    _bench.raise_on_sigterm()
    results, notes, firsts = {}, [], {}
    try:
        _bench.say("anchor: creating %s, %s" % (THEIRS, OURS))
        fleet.create([THEIRS, OURS])
        inventories = {name: rerun.write_inventory(work, name, "ssh") for name in (THEIRS, OURS)}
        for inventory in inventories.values():
            _bench.timed_cpu([os.path.join(_bench.VENV_BIN, "ansible-playbook"), "-i", inventory,
                              os.path.join(_bench.REPO, "molecule", "default", "prepare.yml")],
                             env=_bench.ansible_env({"MOLECULE_EPHEMERAL_DIRECTORY": work}), log=log)
        targets = {"theirs": inventories[THEIRS], "ours-db": inventories[OURS], "ours-site": inventories[OURS]}
        for label in ("theirs", "ours-site", "ours-db"):
            firsts[label] = run(plays[label], targets[label], work, log)
            _bench.say("anchor: first run %s %.1f s, %.1f CPU-s, changed=%d" % ((label,) + firsts[label]))
            run(plays[label], targets[label], work, log)
        for rep in range(opts.repeat):
            for label in ("theirs", "ours-db", "ours-site"):
                measured = run(plays[label], targets[label], work, log)
                results.setdefault(label, []).append(measured)
                _bench.say("anchor rep %d %s: %.1f s, %.2f CPU-s, changed=%d" % ((rep + 1, label) + measured))
    except (_bench.RunFailed, subprocess.CalledProcessError) as exc:
        notes.append("run failed: %s" % exc)
        _bench.say(notes[-1])
    finally:
        fleet.destroy([THEIRS, OURS])
    what = {"theirs": "geerlingguy.postgresql %s: PostgreSQL, one user, one database" % their_commit,
            "ours-db": "our postgresql_install + db_user_and_database at %s" % head,
            "ours-site": "our playbooks/site.yml at %s: the above, backups, Django settings and migrations" % head}
    rows = [[what[label], "%.1f" % _bench.median([m[0] for m in results[label]]),
             "%.2f" % _bench.median([m[1] for m in results[label]]),
             ",".join(sorted(set(str(m[2]) for m in results[label]))),
             ("%.1f s, %.1f CPU-s" % firsts[label][:2] + (" (on the host site.yml converged)" if label == "ours-db" else ""))
             if label in firsts else "-"]
            for label in ("theirs", "ours-db", "ours-site") if results.get(label)]
    text = ["# Our site rerun against geerlingguy.postgresql's database-only rerun", "",
            "Run %s by `bench/anchor.py %s` (%.0f s in all, log %s)."
            % (started.strftime("%Y-%m-%d %H:%M UTC"), " ".join(sys.argv[1:]),
               (datetime.datetime.now(datetime.timezone.utc) - started).total_seconds(), log), ""]
    text += _bench.machine() + [""]
    text.append("Two bookworm containers (systemd PID 1) reached over SSH as the unprivileged user deploy with "
                "sudo, pipelining on; each rerun converged before, the three alternating, median of %d. "
                "Controller CPU-s: user+sys of the ansible-playbook process tree (workers, SSH clients and "
                "masters included)." % opts.repeat)
    text += ["", _bench.markdown_table(["rerun", "s", "controller CPU-s", "changed", "first run"], rows), ""]
    text += ["- " + note.replace("\n", " ")[:800] for note in notes]
    output = "\n".join(text) + "\n"
    print(output)
    with open(opts.output, "w") as handle:
        handle.write(output)


if __name__ == "__main__":
    main()
