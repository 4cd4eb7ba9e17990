#!/usr/bin/python
# Copyright (c) djangodeploy maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: host_probe
short_description: Read the state of files, users, groups and read-only commands in one module run
version_added: 0.1.0
description:
  - Returns, in one round trip, what a role would otherwise learn with a module run per item
    (C(stat), C(getent), a C(command) with C(changed_when=false)), so that it can skip the tasks
    whose answer is already as they would leave it.
  - Changes nothing on the host. The commands must be read-only too; they run in check mode as well.
  - A command that cannot be run (no such user or program, a time-out) reports an exit code other than 0
    with the reason in its stderr, like one that failed.
author:
  - djangodeploy maintainers (@djangodeploy)
options:
  paths:
    description: Paths to describe; a last symlink is not followed.
    type: list
    elements: path
    default: []
  users:
    description: User names to look up.
    type: list
    elements: str
    default: []
  groups:
    description: Group names to look up.
    type: list
    elements: str
    default: []
  contents:
    description:
      - Paths or glob patterns (C(/etc/postgresql/15/main/djangodeploy-projects/*.json)) of files to read
        whole, as C(slurp) would, without a module run per file.
      - A file that is not a regular file, cannot be read, is not UTF-8 or is over 1 MiB is left out of
        RV(contents), as a file that does not exist is.
    type: list
    elements: str
    default: []
  commands:
    description:
      - Read-only commands, keyed by a name of the caller's choice. Each is a dictionary with
        C(argv) (a list, required; a number in it is passed as written), C(user) (run as this user;
        needs root unless it is the connected user), C(environment) (added to the module's own),
        C(chdir), C(timeout) (seconds, from the command's start) and C(output_limit) (how many of the
        last characters of its standard output to return; 4000 unless given, 0 for all of it).
      - They run side by side, all started at once, so the module run takes as long as the slowest
        one. None may depend on another's effect.
    type: dict
    default: {}
  facts:
    description:
      - Facts to return as RV(ansible_facts), each as M(ansible.builtin.setup) computes it, for a play
        that needs these and not setup's run (the costliest module to build).
      - V(distribution_release) (Debian's codename, from C(/etc/os-release)), V(fqdn) (Python's
        C(socket.getfqdn())), V(default_ipv4) (from C(ip -4 route get 8.8.8.8), with only the keys
        C(address), C(interface) and C(gateway); empty without a default route).
    type: list
    elements: str
    choices: [distribution_release, fqdn, default_ipv4]
    default: []
notes:
  - Supports check mode (it changes nothing either way).
"""

EXAMPLES = r"""
- name: Read what the role needs to decide
  djangodeploy.postgresql.host_probe:
    paths: [/etc/opt/geodemo/settings.py]
    users: [geodemo]
    commands:
      migrations:
        argv: [/opt/geodemo/venv/bin/python, /opt/geodemo/manage.py, migrate, --check]
        user: geodemo
        environment: {DJANGO_SETTINGS_MODULE: settings, PYTHONPATH: /etc/opt/geodemo:/opt/geodemo}
  register: probe
"""

RETURN = r"""
paths:
  description:
    - Per path, C(exists); when it exists also C(type) (C(file), C(directory), C(link) or C(other)),
      C(owner), C(group), C(mode) (four octal digits) and for a file its SHA-1 C(checksum) (null if unreadable).
  returned: always
  type: dict
contents:
  description: The text of each file the O(contents) patterns matched, by its path.
  returned: always
  type: dict
users:
  description: Per user, C(exists); when it exists also C(uid), C(group) (primary), C(home) and C(shell).
  returned: always
  type: dict
groups:
  description: Per group, C(exists) and when it exists C(gid).
  returned: always
  type: dict
commands:
  description:
    - Per command name, C(rc), C(stdout) and C(stderr), each its last 4000 characters, or for
      C(stdout) as many as the command's C(output_limit) says.
  returned: always
  type: dict
ansible_facts:
  description: The facts O(facts) asked for, named and set on the host as setup's are (C(ansible_fqdn), ...).
  returned: when O(facts) is not empty
  type: dict
  sample: {"ansible_distribution_release": "bookworm", "ansible_fqdn": "db1.example.com",
           "ansible_default_ipv4": {"address": "192.0.2.10", "interface": "eth0", "gateway": "192.0.2.1"}}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.djangodeploy.postgresql.plugins.module_utils import _host_probe


def main():
    module = AnsibleModule(
        argument_spec=dict(
            paths=dict(type="list", elements="path", default=[]),
            users=dict(type="list", elements="str", default=[]),
            groups=dict(type="list", elements="str", default=[]),
            commands=dict(type="dict", default={}),
            contents=dict(type="list", elements="str", default=[]),
            facts=dict(type="list", elements="str", default=[], choices=list(_host_probe.FACTS)),
        ),
        supports_check_mode=True,
    )
    commands, error = _host_probe.normalise_commands(module.params["commands"])
    if error:
        module.fail_json(msg=error)
    result = _host_probe.probe(module.params["paths"], module.params["users"], module.params["groups"], commands,
                               module.params["contents"], module.params["facts"])
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
