# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller half of jaas.firewall.verify_policy: the catalog's rules are computed here, with
the backends' own code (BackendAction.desired_rules: same lookup, filter, validation, cache),
and sent to the read-only module."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

from ansible_collections.jaas.firewall.plugins.plugin_utils.backend_action import (
    BackendAction, check_control_characters)


class ActionModule(BackendAction):
    module = 'jaas.firewall.verify_policy'
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = ActionBase.run(self, tmp, task_vars)
        args = dict(self._task.args)
        selection = args.pop('catalog', None)
        try:
            check_control_characters(args)
            if selection is not None:
                rules, _domains = self.desired_rules(selection, task_vars)
                args['rules'] = list(args.get('rules') or []) + rules
        except AnsibleError as exc:
            result.update(failed=True, changed=False, msg=to_text(exc.message))
            return result
        result.update(self._execute_module(module_name=self.module, module_args=args,
                                           task_vars=task_vars))
        return result
