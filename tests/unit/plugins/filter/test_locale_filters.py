# -*- coding: utf-8 -*-
"""The locale filters are the module_utils implementation, reachable from Jinja."""
import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.djangodeploy.postgresql.plugins.filter.locale import FilterModule


def test_filters_normalise_like_glibc():
    filters = FilterModule().filters()
    assert filters["locale_normalise"]("de_DE.ISO-8859-1") == "de_DE.iso88591"
    assert filters["locale_normalise"]("sr_RS.UTF-8@latin") == "sr_RS.utf8@latin"
    assert filters["locale_codeset"]("de_DE.8859-1") == "iso88591"
    assert filters["locale_codeset"]("en_US.UTF-8") == "utf8"


def test_filter_refuses_a_non_string():
    with pytest.raises(AnsibleFilterError):
        FilterModule().filters()["locale_normalise"](5)
