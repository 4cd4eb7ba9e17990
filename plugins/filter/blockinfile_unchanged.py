# Copyright: djangodeploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The blockinfile_unchanged filter: whether ansible.builtin.blockinfile would leave a file's
text as it is, so that a role which read the file skips the module run."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.djangodeploy.postgresql.plugins.module_utils._blocks import block_unchanged


def blockinfile_unchanged(text, marker, lines, present=True):
    if not isinstance(text, str) or not isinstance(marker, str) or "{mark}" not in marker:
        raise AnsibleFilterError("blockinfile_unchanged needs the file's text and a marker with {mark} in it")
    if isinstance(lines, str) or not all(isinstance(line, str) for line in lines):
        raise AnsibleFilterError("blockinfile_unchanged needs the block as a list of lines")
    return block_unchanged(text, marker, lines, bool(present))


class FilterModule:
    def filters(self):
        return {"blockinfile_unchanged": blockinfile_unchanged}
