# -*- coding: utf-8 -*-
# Copyright (c) djangodeploy maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The glue both modules share: build the argument spec, run the algorithm,
turn exceptions into fail_json with a masked, useful message."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.djangodeploy.postgresql.plugins.module_utils._connection import Connection, connection_argument_spec
from ansible_collections.djangodeploy.postgresql.plugins.module_utils._errors import DatabaseError, DriverMissing, PartialFailure, ValidationError


def module_kwargs(item_spec, list_key):
    """AnsibleModule's arguments for pg_role / pg_database: the connection
    options, one object's options at the top level, and ``list_key`` for many."""
    spec = connection_argument_spec()
    spec.update(item_spec)
    spec[list_key] = dict(type="list", elements="dict", options=item_spec)
    return dict(
        argument_spec=spec,
        mutually_exclusive=[["name", list_key]],
        required_one_of=[["name", list_key]],
        supports_check_mode=True,
    )


def run_module(module, run):
    """``run(params, conn_factory, check_mode)`` returns the result dict."""
    params = module.params

    def conn_factory(dbname, autocommit=False):
        return Connection(params, dbname=dbname, autocommit=autocommit)

    try:
        result = run(params, conn_factory, module.check_mode)
    except PartialFailure as exc:
        module.fail_json(msg=exc.msg, **exc.result)
    except (ValidationError, DriverMissing, DatabaseError) as exc:
        module.fail_json(msg=str(exc), changed=False)
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)
