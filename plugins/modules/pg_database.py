#!/usr/bin/python
# Copyright (c) djangodeploy maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: pg_database
short_description: Converge PostgreSQL databases, their owner, who may connect, and the extensions in them
version_added: 0.1.0
description:
  - Creates, alters or drops one database (O(name)) or many (O(databases)) over a single connection,
    reading the catalog once for all of them.
  - Everything that can be checked is checked for every item before the first change (names, owners,
    tablespaces, templates, O(conn_limit) ranges, available extensions; that the encoding is one a server can
    use (not a client-only one such as C(SJIS)) and fits the locale (with a locale other than C(C)/C(POSIX) the
    encoding must be the locale's codeset, as PostgreSQL requires); the encoding and locales of existing
    databases; open sessions before a drop or a tablespace move; template databases that cannot be dropped;
    extensions wanted in a database that refuses connections).
  - C(CREATE DATABASE) and C(DROP DATABASE) cannot run in a transaction, so each database is changed by
    its own statements. If one still fails, the task fails and its result lists the databases that were
    done (RV(done)) and the one that failed (RV(failed_database)), and its message says what was already done
    for the failed one (for example its C(CREATE DATABASE) when an extension failed); later ones are not attempted.
  - In check mode a failure (for example a database that cannot be connected to) reports nothing done.
extends_documentation_fragment:
  - djangodeploy.postgresql.connection
author:
  - djangodeploy maintainers (@djangodeploy)
options:
  name: &name
    description:
      - Name of the database. At most 63 bytes in UTF-8 (the name is always quoted).
      - Exactly one of O(name) and O(databases) is required.
    type: str
    aliases: [database]
  state: &state
    description:
      - V(present) creates the database or alters its owner, connection limit and tablespace;
        V(absent) drops it. Default V(present).
    type: str
    choices: [present, absent]
  owner: &owner
    description:
      - Owner of the database; an existing database whose owner differs is altered (C(ALTER DATABASE .. OWNER TO)).
      - The role must exist. Left out, a new database is owned by O(login_user) and an existing one keeps its owner.
    type: str
  encoding: &encoding
    description:
      - Encoding of the database. Default V(UTF8). Any spelling PostgreSQL accepts (V(utf8), V(UTF-8)).
      - An existing database with another encoding is an error; PostgreSQL cannot convert it.
    type: str
  lc_collate: &lc_collate
    description:
      - Collation order (C(LC_COLLATE)) of a new database; left out, the template's.
      - Compared normalised, as glibc does (V(en_US.UTF-8) is V(en_US.utf8)). An existing database with
        another collation is an error.
    type: str
  lc_ctype: &lc_ctype
    description:
      - Character classification (C(LC_CTYPE)) of a new database; left out, the template's. Compared like O(lc_collate).
    type: str
  template: &template
    description:
      - Template of a new database. Left out, V(template1), or V(template0) when the encoding or a locale
        differs from V(template1)'s (PostgreSQL allows that only from V(template0)).
    type: str
  conn_limit: &conn_limit
    description:
      - Connection limit; V(-1) means no limit, at most V(2147483647). Not managed when left out.
    type: int
  tablespace: &tablespace
    description:
      - Default tablespace of the database; an existing database is moved (C(ALTER DATABASE .. SET TABLESPACE),
        which needs it to have no other sessions). Not managed when left out.
    type: str
  force: &force
    description:
      - With O(state=absent), terminate the sessions connected to the database and drop it
        (C(DROP DATABASE .. WITH (FORCE)), PostgreSQL 13 and later). Without it, a database with sessions
        is an error. Default V(false).
    type: bool
  extensions: &extensions
    description:
      - Extensions that must exist in the database (C(CREATE EXTENSION IF NOT EXISTS .. CASCADE), run
        over a second connection to that database). Reported as a change only when one is created.
        Extensions that are not listed are left alone.
      - Each must be available on the server (its package installed on the database host).
    type: list
    elements: str
  public_connect: &public_connect
    description:
      - Whether every role (C(PUBLIC)) may connect to the database. V(false) revokes C(CONNECT) from C(PUBLIC)
        (granted by default to every new database), so that only the owner, superusers and roles granted
        C(CONNECT) get in; V(true) grants it back. Not managed when left out.
    type: bool
  own_public_schema: &own_public_schema
    description:
      - With V(true), schema C(public) of the database belongs to the database owner (C(ALTER SCHEMA public OWNER TO))
        and C(PUBLIC) may not create in it (C(REVOKE CREATE ON SCHEMA public FROM PUBLIC)), as PostgreSQL 15 makes
        it in a new database. Owned by C(pg_database_owner) (PostgreSQL 15's
        default) counts as owned. Run over a connection to the database itself; a database without schema
        C(public) is left alone.
      - In check mode, for a database it would create, the module predicts from the server version (before 15,
        both statements). Not managed when left out or V(false).
    type: bool
  databases:
    description:
      - A list of databases converged in one connection.
      - Each item takes the same keys as the single form. Keys given at the top level of the task act as
        defaults for every item.
    type: list
    elements: dict
    suboptions: {name: *name, state: *state, owner: *owner, encoding: *encoding, lc_collate: *lc_collate,
                 lc_ctype: *lc_ctype, template: *template, conn_limit: *conn_limit, tablespace: *tablespace,
                 force: *force, extensions: *extensions, public_connect: *public_connect,
                 own_public_schema: *own_public_schema}
notes:
  - Check mode is supported and changes nothing; it reports what would change and the statements
    that would run (for an existing database the module connects to it to see which extensions are missing
    and how schema C(public) is).
  - Diff mode shows the before and after state of each changed database and its SQL.
  - The database the module connects to (O(login_db)) cannot be dropped by it.
seealso:
  - module: djangodeploy.postgresql.pg_role
"""

EXAMPLES = r"""
- name: The Django application's database, with PostGIS, that no other role may connect to
  djangodeploy.postgresql.pg_database:
    name: "{{ django_database }}"
    owner: "{{ django_db_user }}"
    extensions: [postgis]
    public_connect: false
    own_public_schema: true
  become: true
  become_user: postgres

- name: Many databases in one connection
  djangodeploy.postgresql.pg_database:
    owner: app          # default for every item
    databases:
      - name: app_prod
        lc_collate: en_US.UTF-8
        lc_ctype: en_US.UTF-8
      - name: app_old
        state: absent
        force: true
"""

RETURN = r"""
diff:
  description: In diff mode, one before/after entry per changed database plus its SQL (C(prepared)).
  returned: diff mode
  type: list
  elements: dict
queries:
  description:
    - The statements executed (in check mode, that would be executed), in order. Statements run in the
      database itself (extensions, schema C(public)) are prefixed with a C(/* in database NAME */) comment.
  returned: always
  type: list
  elements: str
  sample: ["CREATE DATABASE \"app\" OWNER \"app\" TEMPLATE \"template1\" ENCODING 'UTF8'"]
databases:
  description: One entry per database handled (up to the failed one on failure), in the given order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Database name.
      type: str
    state:
      description: The requested state.
      type: str
    changed:
      description: Whether this database changed.
      type: bool
    extensions_created:
      description: Extensions created in it.
      returned: when one was created
      type: list
      elements: str
    public_schema_changed:
      description: True when schema C(public) was given to the owner or C(CREATE) on it revoked from C(PUBLIC).
      returned: when it changed
      type: bool
    created:
      description: True when the database was created.
      returned: when it was created
      type: bool
    dropped:
      description: True when the database was dropped.
      returned: when it was dropped
      type: bool
done:
  description: Names of the databases that were changed completely (on failure, the ones done before it).
  returned: always
  type: list
  elements: str
failed_database:
  description: Name of the database whose statement failed.
  returned: failure after the first change was attempted
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.djangodeploy.postgresql.plugins.module_utils import _module, _database_state


def main():
    _module.run_module(AnsibleModule(**_module.module_kwargs(_database_state.database_item_spec(), "databases")), _database_state.run)


if __name__ == "__main__":
    main()
