"""python_literal writes values that settings.py evaluates back to the same value."""
import ast

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.djangodeploy.postgresql.plugins.filter.python_literal import python_literal

TRICKY = [
    "S3cret 'single' \"double\" back\\slash ünïcødé",
    "'''; import os; os.system('x') #",
    '"""\n',
    "line\nbreak\ttab\x00nul",
    "",
]


@pytest.mark.parametrize("value", TRICKY + [0, 5432, -1, 1.5, True, False, None,
                                            ["a", 1, None], {"sslmode": "verify-full", "connect_timeout": 10}])
def test_round_trips_through_python(value):
    assert ast.literal_eval(python_literal(value)) == value


def test_booleans_and_none_are_python_not_json():
    assert python_literal({"a": True, "b": None}) == "{'a': True, 'b': None}"


def test_tagged_string_subclasses_are_written_as_plain_strings():
    class Tagged(str):
        def __repr__(self):
            return "Tagged(%s)" % str.__repr__(self)

    assert python_literal(Tagged("x")) == "'x'"


def test_an_object_that_is_not_data_is_refused():
    with pytest.raises(AnsibleFilterError, match="python_literal cannot write"):
        python_literal(object())
