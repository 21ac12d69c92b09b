# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller half of jaas.firewall.ufw_rules (plugins/plugin_utils/backend_action.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.jaas.firewall.plugins.plugin_utils.backend_action import BackendAction


class ActionModule(BackendAction):
    backend = 'ufw'  # module and name options: plugins/plugin_utils/registry.py
