# Copyright: djangodeploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only: run a probe shell command before every task and handler and at the end of the run,
and log whether it succeeded, so a test can prove an application was never locked out between
tasks (the command may reload the server first: a run stopped at that point leaves the files
as they are, and the next reload, by anyone, applies them)."""

from __future__ import annotations

DOCUMENTATION = """
name: connectivity_probe
type: aggregate
short_description: Run the shell command PROBE_COMMAND between tasks, log each result as a JSON line to PROBE_LOG
description:
  - Used by the projects Molecule scenario; not part of the collection.
requirements: [PROBE_COMMAND and PROBE_LOG in the environment]
"""

import json
import os
import subprocess

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "connectivity_probe"
    CALLBACK_NEEDS_ENABLED = True

    def _probe(self, before):
        result = subprocess.run(["sh", "-c", os.environ["PROBE_COMMAND"]], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, timeout=60, check=False)
        with open(os.environ["PROBE_LOG"], "a", encoding="utf-8") as log:
            log.write(json.dumps({"before": before, "rc": result.returncode, "output": result.stdout[-300:]}) + "\n")

    # The linear strategy starts a task once the previous one is done on every host: the probe
    # sees the state the previous task (or handler) left.
    def v2_playbook_on_task_start(self, task, is_conditional):
        self._probe(task.get_name())

    def v2_playbook_on_handler_task_start(self, task):
        self._probe("handler " + task.get_name())

    def v2_playbook_on_stats(self, stats):
        self._probe("end of run")
