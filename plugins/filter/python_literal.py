# Copyright: djangodeploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The python_literal filter: a value written as Python source, for settings.py templates."""

from __future__ import annotations

DOCUMENTATION = r"""
name: python_literal
short_description: Write a value as a Python literal
version_added: 0.1.0
description:
  - Renders strings, numbers, booleans, None, lists and dicts as Python source that evaluates
    back to the same value, with quotes and backslashes escaped. Templates of C(settings.py)
    use it so that a password holding quotes cannot break or inject code.
  - JSON (C(to_json)) is not enough: C(true), C(false) and C(null) are not Python.
positional: _input
options:
  _input:
    description: The value.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: A settings line
  ansible.builtin.debug:
    msg: "PASSWORD = {{ django_db_password | djangodeploy.postgresql.python_literal }}"
"""

RETURN = r"""
_value:
  description: Python source for the value.
  type: str
"""

from collections.abc import Mapping, Sequence

from ansible.errors import AnsibleFilterError


def _plain(value):
    """The value as plain built-in types (Ansible hands templates str subclasses)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Mapping):
        return {_plain(key): _plain(item) for key, item in value.items()}
    if isinstance(value, Sequence):
        return [_plain(item) for item in value]
    raise AnsibleFilterError(
        "python_literal cannot write a value of type %s as Python" % type(value).__name__)


def python_literal(value):
    return repr(_plain(value))


class FilterModule:
    def filters(self):
        return {"python_literal": python_literal}
