# -*- coding: utf-8 -*-
"""The session's throwaway PostgreSQL cluster (tests/pg_cluster.py, shared with
the benchmarks), and a helper that runs the real modules the way Ansible does (a
child Python process with the arguments as JSON, the collection importable
through a symlink)."""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

import pg_cluster

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SUPERUSER_PASSWORD = "fixture-super-secret"
DRIVERS = ("psycopg2", "psycopg")


@pytest.fixture(scope="session")
def cluster():
    if not pg_cluster.available():
        pytest.skip("PostgreSQL server binaries not found in %s (set PG_BIN)" % pg_cluster.PG_BIN)
    server = pg_cluster.Cluster(SUPERUSER_PASSWORD, options=["-c log_statement=all", "-c max_connections=60"])
    try:
        server.start()
        yield server
    finally:
        if os.environ.get("KEEP_PG_CLUSTER"):
            server.stop()
            sys.stderr.write("cluster kept in %s\n" % server.base)
        else:
            server.destroy()


@pytest.fixture(scope="session")
def collection_path():
    """A directory whose ansible_collections/djangodeploy/postgresql is the checkout."""
    base = tempfile.mkdtemp(prefix="djangodeploy-coll-")
    ns = os.path.join(base, "ansible_collections", "djangodeploy")
    os.makedirs(ns)
    os.symlink(REPO, os.path.join(ns, "postgresql"))
    yield base
    shutil.rmtree(base, ignore_errors=True)


class ModuleRunner:
    def __init__(self, cluster, collection_path, driver):
        self.cluster = cluster
        self.collection_path = collection_path
        self.driver = driver

    def __call__(self, module, check=False, diff=False, with_login=True, expect_fail=False, **args):
        params = dict(self.cluster.login()) if with_login else {}
        params.update(args)
        params["_ansible_check_mode"] = check
        params["_ansible_diff"] = diff
        env = dict(os.environ)
        env["PYTHONPATH"] = self.collection_path
        env["DJANGODEPLOY_PG_DRIVER"] = self.driver
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            json.dump({"ANSIBLE_MODULE_ARGS": params}, handle)
            path = handle.name
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "ansible_collections.djangodeploy.postgresql.plugins.modules." + module, path],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=self.collection_path, timeout=120, check=False)
        finally:
            os.unlink(path)
        out = proc.stdout.decode("utf-8", "replace")
        try:
            result = json.loads(out[out.index("{"):])
        except ValueError:
            raise AssertionError("module printed no JSON (rc=%d)\nstdout: %s\nstderr: %s" % (
                proc.returncode, out, proc.stderr.decode("utf-8", "replace")))
        result["_stdout"] = out
        if expect_fail:
            assert result.get("failed"), result
        else:
            assert not result.get("failed"), result.get("msg")
        return result


@pytest.fixture(params=DRIVERS)
def driver(request):
    try:
        __import__(request.param)
    except ImportError:
        pytest.skip("%s not installed" % request.param)
    return request.param


@pytest.fixture
def run_module(cluster, collection_path, driver):
    return ModuleRunner(cluster, collection_path, driver)


_counter = [0]


@pytest.fixture
def uniq(driver):
    """A name prefix unique per test (tests share the session cluster)."""
    _counter[0] += 1
    return "t%d_%s_" % (_counter[0], "p2" if driver == "psycopg2" else "p3")
