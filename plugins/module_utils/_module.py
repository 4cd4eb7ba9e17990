# -*- coding: utf-8 -*-
# Copyright (c) djangodeploy maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The glue both modules share: build the argument spec, run the algorithm,
turn exceptions into fail_json with a masked, useful message."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.djangodeploy.postgresql.plugins.module_utils._common import (
    PartialFailure,
)
from ansible_collections.djangodeploy.postgresql.plugins.module_utils._connection import (
    Connection,
    DatabaseError,
    DriverMissing,
    connection_argument_spec,
)
from ansible_collections.djangodeploy.postgresql.plugins.module_utils._identifiers import (
    ValidationError,
)


def argument_spec(item_spec, list_key):
    spec = connection_argument_spec()
    spec.update(item_spec)
    spec[list_key] = dict(type="list", elements="dict", options=item_spec)
    return spec


def run_module(module, run, list_key):
    """``run(params, conn_factory, check_mode)`` returns the result dict."""
    params = module.params

    def conn_factory(dbname, autocommit=False):
        return Connection(params, dbname=dbname, autocommit=autocommit)

    try:
        result = run(params, conn_factory, module.check_mode)
    except ValidationError as exc:
        module.fail_json(msg=str(exc), changed=False)
    except DriverMissing as exc:
        module.fail_json(msg=str(exc), changed=False)
    except PartialFailure as exc:
        module.fail_json(msg=exc.msg, **exc.result)
    except DatabaseError as exc:
        module.fail_json(msg=str(exc), changed=False)
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)
