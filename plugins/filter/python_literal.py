# Copyright: djangodeploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The python_literal filter: a value written as Python source, for settings.py templates."""

from __future__ import annotations

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
