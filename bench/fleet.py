#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""The site playbook's idempotent rerun on 1, 4 and 8 hosts, as time per host.

Usage: .venv/bin/python bench/fleet.py [--hosts 1,4,8] [--repeat 3] [--variants default,pipelining,ssh,free]

Creates bookworm containers djangodeploy-bench-1..N with the platform settings of
molecule/default/molecule.yml (systemd as PID 1 without --privileged), deploys the
test project with molecule/shared/prepare.yml, converges all of them once with
playbooks/site.yml (forks=8, each host in dbservers and appservers), then times
the rerun (nothing to do) on the first 1, 4 and 8 hosts, interleaved, for each
variant:

  default     forks=8, linear strategy, no pipelining (the community.docker
              connection copies each module into the container, then runs it)
  pipelining  ANSIBLE_PIPELINING=True (the module goes through docker exec's stdin)
  ssh         pipelining over SSH as the unprivileged user deploy with sudo (molecule/default's
              prepare.yml sets it up), as a real fleet is reached: no docker exec client per task
  free        ANSIBLE_STRATEGY=free (+ pipelining): hosts do not wait for each other
  factcache   pipelining + jsonfile fact cache with gathering=smart
  mitogen     mitogen 0.3.54's mitogen_linear strategy (+ ansible_connection=docker);
              needs `pip install --target .cache/mitogen mitogen==0.3.54`; optional

The containers are always removed at the end.  Prints a Markdown section and
returns it (bench/roles_and_databases.py includes it in bench/results/latest.md).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _bench  # noqa: E402  pylint: disable=wrong-import-position

IMAGE = "djangodeploy-testbed/debian:bookworm"
NAME = "djangodeploy-bench-%d"
DOCKER_RUN = [
    "docker", "run", "-d", "--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined",
    "--security-opt", "apparmor=unconfined", "--cgroupns=host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
    "--tmpfs", "/run", "--tmpfs", "/tmp",
]
MITOGEN_DIR = os.path.join(_bench.REPO, ".cache", "mitogen")
DB_PASSWORD = "S3cret 'single' \"double\" back\\slash"


def _docker(*args, check=True):
    return subprocess.run(["docker"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=check)


def create(names):
    for name in names:
        _docker("rm", "-f", name, check=False)
        subprocess.run(DOCKER_RUN + ["--name", name, "--hostname", name, IMAGE, "/lib/systemd/systemd"],
                       check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def destroy(names):
    for name in names:
        _docker("rm", "-f", name, check=False)


def write_inventory(work, names, connection="community.docker.docker", host_vars=None, tls=True):
    """One inventory per host count: the site playbook needs the facts of every
    application server, so a subset is its own inventory, not a --limit. host_vars:
    {name: {variable: value}} (JSON is YAML); tls: postgresql_ssl."""
    path = os.path.join(work, "hosts-%d-%s.yml" % (len(names), connection.replace(".", "_")))
    hosts = "".join("        %s: %s\n" % (name, json.dumps((host_vars or {}).get(name, {}))) for name in names)
    with open(path, "w") as handle:
        handle.write("""---
all:
  vars:
    ansible_connection: %s
    django_project: geodemo
    django_db_password: %s
    django_test_wheelhouse: %s
    djangodeploy_pki_dir: %s
    # Each host is the book's single server (PostgreSQL and Django on it): no clients on
    # other hosts, so pg_hba.conf is the same whatever the inventory's size and the
    # rerun of a 1-, 4- or 8-host inventory has nothing to do. TLS too: by default it is on
    # where the inventory has more than one database server, so a 1-host rerun after the
    # 8-host converge would turn it off on the first host.
    postgresql_client_hosts: []
    postgresql_ssl: %s
  children:
    dbservers:
      hosts:
%s    appservers:
      hosts:
%s""" % (connection, _yaml_str(DB_PASSWORD), os.path.join(_bench.REPO, ".cache", "wheelhouse"),
         os.path.join(work, "pki"), "true" if tls else "false", hosts, hosts))
    return path


def ssh_host_vars(work, name):
    """How molecule/default reaches a container: SSH as deploy with the key its prepare.yml
    generated in work."""
    address = _docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                      name).stdout.decode().split()[0]
    return {"ansible_connection": "ansible.builtin.ssh", "ansible_host": address, "ansible_user": "deploy",
            "ansible_ssh_private_key_file": os.path.join(work, "deploy_ed25519"),
            "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"}


def _yaml_str(value):
    return "'" + value.replace("'", "''") + "'"


def variant_env(variant, work):
    env = {"ANSIBLE_FORKS": "8", "ANSIBLE_PIPELINING": "False"}  # ansible.cfg turns it on
    if variant in ("pipelining", "ssh", "free", "factcache", "mitogen"):
        env["ANSIBLE_PIPELINING"] = "True"
    if variant == "free":
        env["ANSIBLE_STRATEGY"] = "free"
    if variant == "factcache":
        env["ANSIBLE_CACHE_PLUGIN"] = "ansible.builtin.jsonfile"
        env["ANSIBLE_CACHE_PLUGIN_CONNECTION"] = os.path.join(work, "facts")
        env["ANSIBLE_CACHE_PLUGIN_TIMEOUT"] = "3600"
        env["ANSIBLE_GATHERING"] = "smart"
    if variant == "mitogen":
        import glob  # pylint: disable=import-outside-toplevel
        plugin = glob.glob(os.path.join(MITOGEN_DIR, "ansible_mitogen", "plugins", "strategy"))
        if not plugin:
            raise _bench.RunFailed("mitogen is not installed in %s" % MITOGEN_DIR)
        env["ANSIBLE_STRATEGY_PLUGINS"] = plugin[0]
        env["ANSIBLE_STRATEGY"] = "mitogen_linear"
        env["PYTHONPATH"] = MITOGEN_DIR
    return env


def playbook(path, inventory, env_extra, log, ssh=False):
    """(wall seconds, machine-wide busy CPU seconds, controller CPU seconds, output) of one run;
    the controller's is user+sys of the ansible-playbook process tree (_bench.timed_cpu), with
    ssh the SSH ControlPersist masters too (_bench.timed_playbook)."""
    cpu_before = _bench.busy_cpu_seconds()
    if ssh:
        seconds, controller, out = _bench.timed_playbook(path, inventory, dict(env_extra, ANSIBLE_FORKS="8"),
                                                         cwd=_bench.REPO, log=log)
    else:
        cmd = [os.path.join(_bench.VENV_BIN, "ansible-playbook"), "-i", inventory, path, "-f", "8"]
        seconds, controller, out = _bench.timed_cpu(cmd, env=_bench.ansible_env(env_extra), cwd=_bench.REPO, log=log,
                                                    timeout=3600)
    return seconds, _bench.busy_cpu_seconds() - cpu_before, controller, out


def run_fleet(hosts=(1, 4, 8), repeat=3, variants=("default", "pipelining", "free"), log=None):
    """Create, converge, time the reruns, destroy.  Returns Markdown text."""
    hosts = sorted(hosts)
    names = [NAME % (i + 1) for i in range(max(hosts))]
    work = tempfile.mkdtemp(prefix="djangodeploy-fleet-")
    log = log or os.path.join(work, "fleet.log")
    site = os.path.join(_bench.REPO, "playbooks", "site.yml")
    prepare = os.path.join(_bench.REPO, "molecule", "shared", "prepare.yml")
    times = {}
    cpu = {}
    controller_cpu = {}
    changed = {}
    notes = []
    converge = None
    _bench.raise_on_sigterm()  # so that the containers are removed
    if "ssh" in variants:
        _bench.become_subreaper()
    try:
        _bench.say("fleet: creating %d containers" % len(names))
        create(names)
        inventory = write_inventory(work, names)
        seconds, _, _, _ = playbook(prepare, inventory, {"ANSIBLE_FORKS": "8"}, log)
        _bench.say("fleet: prepare on %d hosts %.1f s" % (len(names), seconds))
        seconds, _, _, out = playbook(site, inventory, {"ANSIBLE_FORKS": "8"}, log)
        converge = seconds
        _bench.say("fleet: first converge on %d hosts in parallel %.1f s, changed=%d"
                   % (len(names), seconds, _bench.changed_total(out)))
        inventories = {}
        if "ssh" in variants:
            # The controller's key and the user deploy on every host, over docker exec as root.
            playbook(os.path.join(_bench.REPO, "molecule", "default", "prepare.yml"), inventory,
                     {"ANSIBLE_FORKS": "8", "MOLECULE_EPHEMERAL_DIRECTORY": work}, log)
            ssh_vars = {name: ssh_host_vars(work, name) for name in names}
        for count in hosts:
            inventories[("default", count)] = write_inventory(work, names[:count])
            if "ssh" in variants:
                inventories[("ssh", count)] = write_inventory(work, names[:count], connection="ansible.builtin.ssh",
                                                              host_vars=ssh_vars)
            if "mitogen" in variants:
                inventories[("mitogen", count)] = write_inventory(work, names[:count], connection="docker")
        for rep in range(repeat):
            for variant in variants:
                for count in hosts:
                    inv = inventories.get((variant, count), inventories[("default", count)])
                    try:
                        seconds, cpu_seconds, controller, out = playbook(site, inv, variant_env(variant, work), log,
                                                                         ssh=variant == "ssh")
                    except _bench.RunFailed as exc:
                        if variant == "mitogen":
                            notes.append("mitogen row failed: %s" % str(exc).splitlines()[0])
                            variants = [v for v in variants if v != "mitogen"]
                            break
                        raise
                    times.setdefault((variant, count), []).append(seconds)
                    cpu.setdefault((variant, count), []).append(cpu_seconds)
                    controller_cpu.setdefault((variant, count), []).append(controller / count)
                    changed.setdefault((variant, count), []).append(_bench.changed_total(out))
                    _bench.say("fleet rep %d %s: %d host(s) %.1f s, %.1f CPU-s, controller %.1f CPU-s, changed=%d"
                               % (rep + 1, variant, count, seconds, cpu_seconds, controller,
                                  _bench.changed_total(out)))
    except _bench.RunFailed as exc:
        notes.append("fleet run failed: %s" % exc)
        _bench.say(notes[-1])
    finally:
        _bench.say("fleet: removing the containers")
        destroy(names)

    cores = os.cpu_count() or 1
    header = (["variant"] + ["%d host(s): s (s/host)" % n for n in hosts]
              + ["%d hosts / 1 host" % max(hosts), "CPU-s 1 / %d host(s)" % max(hosts)]
              + ["controller CPU-s/host, %d host(s)" % n for n in hosts] + ["controller CPU/host %d / 1" % max(hosts), "changed"])
    rows = []
    verdicts = []
    for variant in variants:
        if (variant, hosts[0]) not in times:
            continue
        row = [variant]
        for count in hosts:
            med = _bench.median(times.get((variant, count), []))
            row.append("%.1f (%.2f)" % (med, med / count))
        one = _bench.median(times.get((variant, hosts[0]), []))
        most = _bench.median(times.get((variant, hosts[-1]), []))
        cpu_one = _bench.median(cpu.get((variant, hosts[0]), []))
        cpu_most = _bench.median(cpu.get((variant, hosts[-1]), []))
        row.append("%.2fx" % (most / one))
        row.append("%.0f / %.0f" % (cpu_one, cpu_most))
        per_host = [_bench.median(controller_cpu.get((variant, n), [])) for n in hosts]
        row.extend("%.2f" % value for value in per_host)
        row.append("%.2fx" % (per_host[-1] / per_host[0]))
        row.append("/".join(str(v) for v in sorted(set(c for n in hosts for c in changed.get((variant, n), [])))))
        rows.append(row)
        # The wall time of a CPU-bound run cannot fall below its CPU seconds spread over every core.
        floor = cpu_most / cores
        verdicts.append(
            "- %s: %d hosts take %.2fx the time of 1 host -> %s. The %d-host rerun kept the machine busy for "
            "%.0f CPU-s (%.1f per host; 1 host: %.0f); on %d cores that is at least %.0f s of wall time, "
            "%.2fx the 1-host rerun, before any waiting."
            % (variant, max(hosts), most / one, "target reached" if most / one <= 2 else "target NOT reached",
               max(hosts), cpu_most, cpu_most / max(hosts), cpu_one, cores, floor, floor / one))
    text = ["## Fleet: the site playbook's idempotent rerun", "",
            "bookworm containers (systemd PID 1, community.docker.docker connection; the ssh variant over SSH as "
            "deploy with sudo), each host in dbservers and "
            "appservers, forks=8; first converge of %d hosts in parallel: %s. Wall seconds of the whole rerun, median of "
            "%d, and seconds per host in brackets; CPU-s is the whole machine's busy CPU time during the rerun "
            "(/proc/stat: the controller, docker and the containers); controller CPU-s/host is user+sys of the "
            "ansible-playbook process tree (workers, `docker exec` or SSH clients) divided by the hosts, the cost that "
            "grows with a fleet on a real controller (target: at most 3, and flat within 20 %% from 1 to %d hosts). "
            "The earlier target was %d hosts within 2x of one host."
            % (len(names), "%.0f s" % converge if converge is not None else "failed", repeat, max(hosts), max(hosts)),
            ""]
    if rows:
        text.append(_bench.markdown_table(header, rows))
        text.append("")
        text.extend(verdicts)
        text.append("")
    text.extend("- " + note.replace("\n", " ")[:600] for note in notes)
    return "\n".join(text) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=lambda s: [int(x) for x in s.split(",")], default=[1, 4, 8])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--variants", default="default,pipelining,free")
    parser.add_argument("--output", default=os.path.join(_bench.RESULTS, "fleet.md"))
    opts = parser.parse_args()
    text = run_fleet(opts.hosts, opts.repeat, opts.variants.split(","))
    print(text)
    os.makedirs(os.path.dirname(opts.output), exist_ok=True)
    with open(opts.output, "w") as handle:
        handle.write("# Fleet benchmark\n\n" + "\n".join(_bench.machine()) + "\n\n" + text)


if __name__ == "__main__":
    main()
