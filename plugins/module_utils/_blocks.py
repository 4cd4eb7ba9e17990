# -*- coding: utf-8 -*-
# Copyright (c) djangodeploy maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether ansible.builtin.blockinfile would leave a text as it is (issue 18): a role that read
the file already decides on the controller and skips the module run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def block_unchanged(text, marker, lines, present=True):
    """True when blockinfile with this marker (``{mark}`` in it) and block lines would not
    change ``text``. Only the clear cases count: each marker line once, begin before end and
    exactly these lines between them; with ``present`` false, neither marker line. Anything
    else (a marker lost, doubled or edited, other lines inside) is False: the module decides."""
    found = text.splitlines()
    begin = marker.replace("{mark}", "BEGIN")
    end = marker.replace("{mark}", "END")
    if not present:
        return begin not in found and end not in found
    if found.count(begin) != 1 or found.count(end) != 1:
        return False
    start = found.index(begin)
    return found[start + 1:found.index(end)] == list(lines) and found.index(end) > start
