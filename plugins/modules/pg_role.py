#!/usr/bin/python
# Copyright (c) djangodeploy maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: pg_role
short_description: Converge PostgreSQL roles (users), their attributes, passwords and memberships
version_added: 0.1.0
description:
  - Creates, alters or drops one role (O(name)) or many (O(roles)) over a single connection,
    reading the catalog once for all of them.
  - Everything that can be checked is checked for every item before any change (names, reserved names such as
    C(pg_*), C(public) and C(none), roles that must exist, the connected role and PostgreSQL's own roles
    not being dropped, objects to reassign or drop sitting in databases that refuse connections).
  - All role changes run in one transaction in O(login_db); if any statement fails nothing is changed.
  - The one exception is O(reassign_owned_to) or O(drop_owned) for a role with objects in B(other) databases;
    C(REASSIGN OWNED) and C(DROP OWNED) work only in the database they run in, and the role can only be dropped
    once their work is committed there; so each such database gets its own transaction, committed before the
    role transaction. To keep that from leaving data changed when something else fails, the module first
    connects to every database and rehearses all statements in each (runs them and rolls them back); only then
    does it commit. If a statement still fails after a commit (the catalog changed in between), the task fails
    with C(changed=true), and RV(queries) and the message list exactly the statements that were committed.
  - Passwords are hashed on the managed host into a SCRAM-SHA-256 verifier (RFC 5802/7677, the
    format PostgreSQL stores) and only the verifier is sent, so the plaintext never reaches the
    server or its logs. An existing verifier is checked by hashing the given password with the
    stored salt and iteration count, so an unchanged password reports no change.
  - Options left out are not managed (an existing role keeps what it has; a new role gets
    PostgreSQL's defaults, for example C(NOLOGIN)).
author:
  - djangodeploy maintainers (@djangodeploy)
extends_documentation_fragment:
  - djangodeploy.postgresql.connection
options:
  name: &name
    description:
      - Name of the role. At most 63 bytes in UTF-8; any character but NUL (the name is always quoted).
      - Exactly one of O(name) and O(roles) is required.
    type: str
    aliases: [user, role]
  state: &state
    description:
      - V(present) creates or alters the role, V(absent) drops it. Default V(present).
    type: str
    choices: [present, absent]
  password: &password
    description:
      - The role's password. Hashed on the managed host; only the verifier is sent.
      - A precomputed verifier (a string starting with C(SCRAM-SHA-256$), or an md5 hash C(md5) plus 32 hex digits)
        is stored as it is and compared as a string. A SCRAM verifier must be complete, as PostgreSQL stores it,
        C(SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>) with iterations above 0, a non-empty base64
        salt and both keys 32 bytes in base64. Anything else that starts with C(SCRAM-SHA-256$) is refused
        (the server would store it as a plaintext password).
      - An empty string means no password (C(PASSWORD NULL)); password authentication then always fails for the role.
      - Not given means the password is not managed.
      - SASLprep is applied like PostgreSQL does it. ASCII passwords are used as they are; others are mapped
        and NFKC-normalised (RFC 4013), falling back to the raw UTF-8 bytes when SASLprep would reject them.
        Characters assigned in Unicode versions newer than the one of the managed host's Python may
        normalise differently.
    type: str
  update_password: &update_password
    description:
      - V(always) sets the password whenever it differs from the stored one; V(on_create) sets it only
        when the role is created. Default V(always).
    type: str
    choices: [always, on_create]
  password_encryption: &password_encryption
    description:
      - How a new password is stored. V(md5) is deprecated by PostgreSQL; use it only for old clients.
        Default V(scram-sha-256).
      - A stored SCRAM verifier that matches the password is never downgraded to md5.
    type: str
    choices: [scram-sha-256, md5]
  upgrade_md5: &upgrade_md5
    description:
      - When the stored password is an md5 hash of the given password and O(password_encryption) is
        V(scram-sha-256), replace it with a SCRAM verifier (reported as a change). Set to V(false) to
        leave such md5 hashes alone. Default V(true).
    type: bool
  scram_iterations: &scram_iterations
    description:
      - PBKDF2 iteration count for new SCRAM verifiers. Default V(4096), PostgreSQL's default.
    type: int
  superuser: &superuser
    description:
      - C(SUPERUSER) or C(NOSUPERUSER). Not managed when left out.
      - A superuser bypasses every permission check and can read every table and run any program as the
        server's OS user; an application's role should not be one.
    type: bool
  createdb: &createdb
    description: C(CREATEDB) or C(NOCREATEDB). Not managed when left out.
    type: bool
  createrole: &createrole
    description:
      - C(CREATEROLE) or C(NOCREATEROLE), the right to create, alter and drop other roles. Not managed when left out.
    type: bool
  inherit: &inherit
    description:
      - C(INHERIT) or C(NOINHERIT). Not managed when left out.
      - A C(NOINHERIT) role uses the privileges of the roles it is a member of only after C(SET ROLE).
    type: bool
  login: &login
    description:
      - C(LOGIN) or C(NOLOGIN). Not managed when left out.
      - A new role gets C(NOLOGIN), PostgreSQL's default.
      - The role Django connects as needs V(true).
    type: bool
  replication: &replication
    description:
      - Streaming standbys and C(pg_basebackup) connect as a role with C(REPLICATION) and C(LOGIN)
        (and a C(replication) line in C(pg_hba.conf)).
      - C(REPLICATION) or C(NOREPLICATION). Not managed when left out.
    type: bool
  bypassrls: &bypassrls
    description: C(BYPASSRLS) or C(NOBYPASSRLS). Not managed when left out.
    type: bool
  conn_limit: &conn_limit
    description: Connection limit of the role; V(-1) means no limit, at most V(2147483647). Not managed when left out.
    type: int
  valid_until: &valid_until
    description:
      - Date and time after which the password is no longer valid, in any form PostgreSQL accepts
        for a C(timestamptz) (for example V(2030-01-01) or V(infinity)). Compared as a timestamp, not as text.
      - Not managed when left out.
    type: str
    aliases: [expires]
  member_of: &member_of
    description:
      - Roles this role must be a member of. Missing memberships are granted; memberships that are not
        listed are kept unless O(member_of_exclusive=true).
      - Every listed role must exist or be created in the same task.
    type: list
    elements: str
    aliases: [groups]
  member_of_exclusive: &member_of_exclusive
    description:
      - With O(member_of), also revoke the role's direct memberships in roles that are not listed.
        Default V(false). O(member_of=[]) with V(true) revokes all of them.
    type: bool
  reassign_owned_to: &reassign_owned_to
    description:
      - With O(state=absent), the role that takes over what the dropped role owns
        (C(REASSIGN OWNED BY .. TO ..) then C(DROP OWNED BY ..), and C(ALTER DATABASE .. OWNER TO ..)
        for the databases it owns).
      - C(REASSIGN OWNED) and C(DROP OWNED) act only in the database they run in. The module runs
        them in the connected database (O(login_db)) inside the role transaction, and first in each
        other database that holds objects of the role (one connection and transaction each, committed
        only after every database has been rehearsed; see the description).
      - The role must exist already when the dropped role has objects in other databases.
    type: str
  drop_owned: &drop_owned
    description:
      - With O(state=absent), drop the objects the role owns and revoke its privileges (C(DROP OWNED BY)),
        in every database that holds some (see O(reassign_owned_to)). Databases it owns are never dropped;
        the task fails instead. Default V(false).
      - Without this or O(reassign_owned_to), dropping a role that owns objects or holds privileges fails
        with a message listing them, before any change.
    type: bool
  roles:
    description:
      - A list of roles converged in one connection and one transaction.
      - Each item takes the same keys as the single form (O(name), O(state), O(password), ...).
        Keys given at the top level of the task act as defaults for every item.
    type: list
    elements: dict
    suboptions: {name: *name, state: *state, password: *password, update_password: *update_password,
                 password_encryption: *password_encryption, upgrade_md5: *upgrade_md5,
                 scram_iterations: *scram_iterations, superuser: *superuser, createdb: *createdb,
                 createrole: *createrole, inherit: *inherit, login: *login, replication: *replication,
                 bypassrls: *bypassrls, conn_limit: *conn_limit, valid_until: *valid_until,
                 member_of: *member_of, member_of_exclusive: *member_of_exclusive,
                 reassign_owned_to: *reassign_owned_to, drop_owned: *drop_owned}
notes:
  - Check mode is supported and changes nothing; it reports what would change and the statements
    that would run. Diff mode shows the before and after state of each role and the SQL, with
    every password and verifier masked.
  - Reading the stored password needs access to C(pg_authid) (a superuser). Without it a given
    password cannot be compared and is set on every run.
seealso:
  - module: djangodeploy.postgresql.pg_database
"""

EXAMPLES = r"""
- name: The Django application's database user
  djangodeploy.postgresql.pg_role:
    name: "{{ django_db_user }}"
    password: "{{ django_db_password }}"
    login: true
  become: true
  become_user: postgres

- name: Many roles in one connection and one transaction
  djangodeploy.postgresql.pg_role:
    login: true          # default for every item
    roles:
      - name: app_ro
      - name: alice
        password: "{{ alice_password }}"
        member_of: [app_ro]
      - name: old_app
        state: absent
        reassign_owned_to: postgres

- name: Store a verifier computed elsewhere
  djangodeploy.postgresql.pg_role:
    name: reporting
    password: "SCRAM-SHA-256$4096:c2FsdHNhbHRzYWx0c2FsdA==$...:..."
    login: true
"""

RETURN = r"""
queries:
  description:
    - The statements executed (in check mode, that would be executed), passwords masked as C('********').
    - Statements run in another database are prefixed with a C(/* in database NAME */) comment.
    - When the task fails after statements were committed in other databases, exactly those statements.
  returned: always
  type: list
  elements: str
  sample: ["CREATE ROLE \"app\" WITH LOGIN PASSWORD '********'"]
roles:
  description: One entry per role of the task, in the given order.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Role name.
      type: str
    state:
      description: The requested state.
      type: str
    changed:
      description: Whether this role changed.
      type: bool
    created:
      description: Present and true when the role was created.
      type: bool
    dropped:
      description: Present and true when the role was dropped.
      type: bool
    password_changed:
      description: Present and true when the password was set.
      type: bool
    password_reason:
      description: Why the password was set (for example C(md5 upgraded to SCRAM-SHA-256)).
      type: str
  sample: [{"name": "app", "state": "present", "changed": true, "created": true}]
diff:
  description: In diff mode, one before/after entry per changed role plus the masked SQL (C(prepared)).
  returned: diff mode
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.djangodeploy.postgresql.plugins.module_utils import _module, _role_state


def main():
    _module.run_module(AnsibleModule(**_module.module_kwargs(_role_state.role_item_spec(), "roles")), _role_state.run)


if __name__ == "__main__":
    main()
