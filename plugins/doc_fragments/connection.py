# -*- coding: utf-8 -*-
# Copyright (c) djangodeploy maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
options:
  login_user:
    description:
      - The role to connect as.
    type: str
    default: postgres
  login_password:
    description:
      - The password of O(login_user). Not needed for peer authentication over the Unix socket.
    type: str
    default: ''
  login_host:
    description:
      - Host name or IP address of the server, or a socket directory.
      - Empty (the default) means the Unix socket in libpq's default directory
        (V(/var/run/postgresql) on Debian), the usual choice with C(become_user=postgres).
    type: str
    default: ''
    aliases: [host]
  login_port:
    description:
      - Port of the server (also the number in the socket file name).
    type: int
    default: 5432
    aliases: [port]
  login_unix_socket:
    description:
      - Directory of the Unix socket, used when O(login_host) is empty.
    type: str
    default: ''
    aliases: [unix_socket]
  login_db:
    description:
      - The database to connect to.
    type: str
    default: postgres
    aliases: [db, login_database]
  ssl_mode:
    description:
      - libpq's C(sslmode).
    type: str
    default: prefer
    choices: [allow, disable, prefer, require, verify-ca, verify-full]
  ca_cert:
    description:
      - File with the certificate authorities that the server certificate is checked against (libpq's C(sslrootcert)).
    type: str
    aliases: [ssl_rootcert]
  connect_timeout:
    description:
      - Seconds to wait for the connection.
    type: int
    default: 10
requirements:
  - psycopg2 (Debian package C(python3-psycopg2), or C(psycopg2-binary) from PyPI) or psycopg 3
    (C(psycopg) from PyPI), importable by the Python that runs the module on the target
    (see C(ansible_python_interpreter)). psycopg2 is used when both are installed.
notes:
  - The default connects as C(postgres) over the Unix socket with peer authentication;
    run the task with C(become=true) and C(become_user=postgres).
  - Only one database connection is opened for all the objects of a task (plus one per database
    whose extensions are managed, or where REASSIGN/DROP OWNED must run).
"""
