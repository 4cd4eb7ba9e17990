# -*- coding: utf-8 -*-
"""Make the collection importable from the checkout for plain pytest (ansible-test units
and the installed collection do this themselves)."""

import atexit
import os
import shutil
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _make_collection_importable():
    """Make ``ansible_collections.djangodeploy.postgresql`` importable from the
    checkout (ansible-test units already does it)."""
    try:
        import ansible_collections.djangodeploy.postgresql.plugins.module_utils._scram  # noqa: F401
        return
    except ImportError:
        pass
    base = tempfile.mkdtemp(prefix="djangodeploy-import-")
    os.makedirs(os.path.join(base, "ansible_collections", "djangodeploy"))
    os.symlink(REPO, os.path.join(base, "ansible_collections", "djangodeploy", "postgresql"))
    sys.path.insert(0, base)
    for mod in [m for m in sys.modules if m == "ansible_collections" or m.startswith("ansible_collections.")]:
        del sys.modules[mod]
    atexit.register(shutil.rmtree, base, True)


_make_collection_importable()
