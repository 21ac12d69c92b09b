# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller half of jaas.firewall.verify_policy: the catalog's rules are computed here, with
the backends' own code (BackendAction.desired_rules: same lookup, filter, validation, cache),
and sent to the read-only module."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.jaas.firewall.plugins.plugin_utils.backend_action import ReadOnlyAction


class ActionModule(ReadOnlyAction):
    module = 'jaas.firewall.verify_policy'

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result, args, rules, _domains = self.selected(tmp, task_vars)
        if args is None:
            return result
        args['rules'] = list(args.get('rules') or []) + rules
        return self.execute(result, args, task_vars)
