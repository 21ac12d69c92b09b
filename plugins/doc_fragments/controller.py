# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Options handled on the controller by the backend modules' action plugin
    # (plugins/plugin_utils/backend_action.py); the module itself never sees them.
    DOCUMENTATION = r"""
options:
  catalog:
    description:
      - Compute the catalog's rules on the controller and append them to O(rules), as
        C(lookup('jaas.firewall.catalog', ...) | jaas.firewall.rules(...)) would, with the
        same validation and the same error messages, before anything reaches the host.
      - A dict of the P(jaas.firewall.catalog#lookup) lookup's options (C(catalog_file),
        C(blocks), C(regions), C(families), C(allow_broad_networks),
        C(allow_private_networks), C(cloudflare_source), ...) plus the
        P(jaas.firewall.rules#filter) filter's C(webhooks), C(webhook_port) and C(compact).
        Keys set to V(null) take the plugin's default.
      - Ignored with O(state=absent). The roles use this option, so a converged host costs
        one task and the rule list never passes through Jinja or into host facts.
    type: dict
  install:
    description:
      - Packages that provide the firewall. When given, and only when the module finds the
        firewall missing, they are installed with the host's package manager (as
        M(ansible.builtin.package) would) and the module runs again.
      - A host that has the firewall never runs a package task, so hosts without
        python3-apt or without a reachable package source converge.
    type: list
    elements: str
  role_variables:
    description:
      - Take every option from the role's variables instead (C(jaas_firewall_*) in the task's
        variables, role defaults included). What the backend roles' one task does.
      - The variables are templated and validated on the controller against the role's
        argument spec (entry point C(converge)), with Ansible's own validator and its error
        text (C(Validation of arguments failed:) and one line per problem), then turned into
        this module's options. Nothing reaches the host when one is refused.
      - This replaces Ansible's per-host C(validate_argument_spec) task; the roles document
        their variables under C(converge), not C(main), so C(roles:) runs one task per host.
      - No other option may be given with it. Only the ufw, firewalld and nftables modules.
    type: bool
    default: false
"""
