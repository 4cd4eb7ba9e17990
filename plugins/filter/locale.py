# Copyright: djangodeploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The locale_normalise and locale_codeset filters: glibc's spelling of a locale name,
the same implementation the pg_database module compares locales with."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.djangodeploy.postgresql.plugins.module_utils._locale import (
    locale_codeset as _codeset,
    normalise_locale as _normalise,
)


def _text(value, name):
    if not isinstance(value, str):
        raise AnsibleFilterError("%s needs a locale name (a string), not %s" % (name, type(value).__name__))
    return value


def locale_normalise(value):
    return _normalise(_text(value, "locale_normalise"))


def locale_codeset(value):
    return _codeset(_text(value, "locale_codeset"))


class FilterModule:
    def filters(self):
        return {"locale_normalise": locale_normalise, "locale_codeset": locale_codeset}
