# -*- coding: utf-8 -*-
# TEST-ONLY stand-in for community.windows.win_firewall_rule (tests/contract), as an action
# plugin: Ansible runs it in the controller's worker for each loop item instead of building
# and running a module (the role calls it once per rule, about 190 times a run). What it
# does is the shim module's (plugins/modules/win_firewall_rule.py, kept as the module the
# action stands for): record the arguments as the controller sent them, then imitate the
# real module on the JSON "firewall".
from __future__ import annotations

import os
import sys

from ansible.plugins.action import ActionBase

sys.path.insert(0, os.environ['JAAS_SHIM_DIR'])
import fakehost  # noqa: E402

sys.path.insert(0, os.path.join(os.environ['JAAS_SHIM_DIR'], 'ansible_collections',
                                'community', 'windows', 'plugins', 'modules'))
import win_firewall_rule as shim_module  # noqa: E402


class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        check_mode = bool(self._task.check_mode)
        fakehost.record('community.windows.win_firewall_rule', args, check_mode)
        try:
            changed = shim_module.converge(args, check_mode)
        except ValueError as exc:
            result.update(failed=True, msg=str(exc))
            return result
        result.update(changed=changed)
        return result
