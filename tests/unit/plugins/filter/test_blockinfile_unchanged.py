# -*- coding: utf-8 -*-
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.djangodeploy.postgresql.plugins.filter.blockinfile_unchanged import blockinfile_unchanged

MARKER = "# {mark} ours"
LINES = ["host db app 10.0.0.1/32 scram-sha-256", "host db app 10.0.0.2/32 scram-sha-256"]
FILE = "local all all peer\n# BEGIN ours\n%s\n%s\n# END ours\nhost all all ::1/128 md5\n" % tuple(LINES)


def test_the_block_as_wanted_is_unchanged():
    assert blockinfile_unchanged(FILE, MARKER, LINES)
    assert blockinfile_unchanged(FILE.rstrip("\n"), MARKER, LINES)


@pytest.mark.parametrize("text", [
    FILE.replace(LINES[1] + "\n", ""),                          # a line removed
    FILE.replace("10.0.0.2", "10.0.0.3"),                       # a line edited
    FILE.replace("# END ours\n", LINES[0] + "\n# END ours\n"),  # a line added
    FILE.replace("# END ours\n", ""),                           # a marker lost
    FILE + "# BEGIN ours\n# END ours\n",                        # a block doubled
    "# END ours\n# BEGIN ours\n",                               # markers swapped
    "local all all peer\n",                                     # no block
])
def test_any_drift_lets_blockinfile_decide(text):
    assert not blockinfile_unchanged(text, MARKER, LINES)


def test_an_absent_block():
    assert blockinfile_unchanged("local all all peer\n", MARKER, [], present=False)
    assert not blockinfile_unchanged(FILE, MARKER, [], present=False)
    assert not blockinfile_unchanged("# END ours\n", MARKER, [], present=False)


def test_bad_arguments_are_named():
    with pytest.raises(AnsibleFilterError):
        blockinfile_unchanged(FILE, "# ours", LINES)
    with pytest.raises(AnsibleFilterError):
        blockinfile_unchanged(FILE, MARKER, "a line")
