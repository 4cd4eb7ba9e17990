# -*- coding: utf-8 -*-
"""Where a run's controller CPU goes, task by task (bench/rerun.py --profile; not shipped).

Ansible runs every task, skipped ones too, in a forked worker process. This callback wraps
the worker's run to record, per task, the worker's own CPU (user+sys since the fork: its
conditional, its templating, the module's build and transfer) and the Jinja templates it
compiled (Ansible compiles a variable's template again at every reference, in every worker),
and writes them with the main process's own CPU to the TSV file named by
DJANGODEPLOY_CONTROLLER_CPU. The forks, the workers' exits and the connection clients are the
rest of the process tree's CPU (bench/_bench.timed_cpu measures the whole tree).
"""

import os
import time

import jinja2.environment
from ansible.executor.process import worker
from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: controller_cpu
type: aggregate
short_description: per-task worker CPU and Jinja compiles, for bench/rerun.py --profile
description: Writes one TSV line per task run to the file DJANGODEPLOY_CONTROLLER_CPU names.
"""

_OUTPUT = os.environ.get("DJANGODEPLOY_CONTROLLER_CPU", "")
_compiled = {"seconds": 0.0, "count": 0}


def _timed_compile(original):
    def compile_counted(self, *args, **kwargs):
        start = time.process_time()
        try:
            return original(self, *args, **kwargs)
        finally:
            _compiled["seconds"] += time.process_time() - start
            _compiled["count"] += 1
    return compile_counted


def _profiled_run(original):
    def run(self):
        _compiled.update(seconds=0.0, count=0)
        try:
            return original(self)
        finally:
            times = os.times()
            with open(_OUTPUT, "a", encoding="utf-8") as handle:
                handle.write("task\t%.4f\t%.4f\t%d\t%s\n" % (times.user + times.system, _compiled["seconds"],
                                                            _compiled["count"], self._task.get_name()))
    return run


if _OUTPUT:
    jinja2.environment.Environment.compile = _timed_compile(jinja2.environment.Environment.compile)
    worker.WorkerProcess._run = _profiled_run(worker.WorkerProcess._run)  # pylint: disable=protected-access


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "controller_cpu"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_stats(self, stats):
        if _OUTPUT:
            times = os.times()
            with open(_OUTPUT, "a", encoding="utf-8") as handle:
                handle.write("main\t%.4f\t0\t0\tansible-playbook\n" % (times.user + times.system))
