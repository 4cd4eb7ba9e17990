# -*- coding: utf-8 -*-
# Copyright (c) djangodeploy maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every error the module_utils raise; ``_module.run_module`` turns each into
``fail_json``.  One place, so a module never lets a driver exception (and its
traceback) reach the user."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ValidationError(Exception):
    """A bad input value, found before any change; the message names the parameter."""


class DriverMissing(Exception):
    """Neither psycopg2 nor psycopg can be imported; the message says what to install."""


class DatabaseError(Exception):
    """Any error raised by the driver, with the server's message."""


class PartialFailure(Exception):
    """A failure after something was committed: ``result`` says what was done
    (``changed: true``), so that a rerun is not the only way to find out."""

    def __init__(self, msg, result):
        Exception.__init__(self, msg)
        self.msg = msg
        self.result = result
