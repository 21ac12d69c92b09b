# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: names
author: jaas.firewall contributors (@jaas-firewall)
version_added: "0.2.0"
short_description: Validate a list of interface or firewalld zone names
description:
  - Checks every name of a list against the collection's rule model and returns the list
    with duplicates dropped (order kept), so the roles refuse a bad name on the controller
    before any task reaches the host. The backend modules check the same way on the host.
  - "V(interface): Linux interface names as C(ip link) shows them: 1-15 letters, digits,
    C(_), C(.) or C(-), starting with a letter or digit (IFNAMSIZ is 16 with the NUL). No
    wildcards (C(eth+), C(eth*)): name every interface."
  - "V(firewalld_zone): firewalld zone names: 1-17 letters, digits, C(_) or C(-), starting
    with a letter or digit (firewalld's limit with its iptables backend)."
  - "The first bad name fails the task with a message naming it, for example
    C(jaas_firewall_gateway_in_interfaces[1]: 'eth0 ' is not a valid interface name: ...)."
positional: _input
options:
  _input:
    description: The names; V(null) is the empty list.
    type: list
    elements: str
    required: true
  kind:
    description: What the names are.
    type: str
    choices: [interface, firewalld_zone]
    default: interface
  name:
    description: Name of the variable, used in error messages.
    type: str
    default: names
"""

EXAMPLES = r"""
- name: Validate the LAN interfaces of a gateway
  ansible.builtin.debug:
    msg: "{{ ['lan0', 'eth0.100', 'lan0'] | jaas.firewall.names(name='jaas_firewall_gateway_in_interfaces') }}"
  # msg: [lan0, eth0.100]

- name: Refused - a trailing space, a wildcard, 16 characters
  ansible.builtin.debug:
    msg: "{{ ['eth+'] | jaas.firewall.names(name='jaas_firewall_gateway_out_interfaces') }}"
  # fails: jaas_firewall_gateway_out_interfaces[0]: 'eth+' is not a valid interface name: ...
"""

RETURN = r"""
_value:
  description: The names, validated, without duplicates, in the given order.
  type: list
  elements: str
"""

from ansible_collections.jaas.firewall.plugins.plugin_utils.role_vars import checked_names


def names(values, kind='interface', name='names'):
    """Validate a list of names (see DOCUMENTATION); the roles call the same function."""
    return checked_names(values, kind, name)


class FilterModule(object):

    def filters(self):
        return {'names': names}
