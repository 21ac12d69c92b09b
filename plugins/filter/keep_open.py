# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: keep_open
author: jaas.firewall contributors (@jaas-firewall)
version_added: "0.1.0"
short_description: Validate and normalise keep-open entries
description:
  - Checks a list of keep-open entries (C(jaas_firewall_keep_open) of the roles) strictly and
    returns it normalised, so the roles refuse a bad entry on the controller before any task
    reaches the host.
  - Each entry is a dict with exactly the keys C(direction) (V(in) or V(out)), C(protocol)
    (V(tcp) or V(udp)), C(port) (V("53") or V("1000-2000"), within 1-65535, not reversed) and
    optionally C(network) (a CIDR network without host bits; V(198.18.0.1) means V(198.18.0.1/32)).
  - Values are parsed by the collection's one rule model, exactly like the catalog's ports
    and networks. V("443-443") becomes V("443"); V("0443"), V(" 53"), V("53\\n"), V("443:443"),
    netmask notation (V(198.18.0.0/255.255.0.0)) and IPv4-mapped IPv6 are refused. An
    unquoted V(0443) in YAML is already the octal number 291 when it reaches the filter.
  - Unlike catalog networks, keep-open networks may be private (they are your own hosts).
  - The returned entries are rebuilt from the parsed values (ports as canonical strings,
    networks as C(ipaddress) prints them); C(network) is left out when not given.
  - "The first bad entry fails the task with a message naming it, for example
    C(jaas_firewall_keep_open[2].port: '0': port 0 is out of range 1-65535)."
positional: _input
options:
  _input:
    description: The keep-open entries.
    type: list
    elements: dict
    required: true
  name:
    description: Name of the variable, used in error messages.
    type: str
    default: keep_open
"""

EXAMPLES = r"""
- name: Validate the role variable
  ansible.builtin.set_fact:
    keep_open: "{{ jaas_firewall_keep_open | jaas.firewall.keep_open(name='jaas_firewall_keep_open') }}"

- name: Normalised output
  ansible.builtin.debug:
    msg: "{{ [{'direction': 'out', 'protocol': 'udp', 'port': 123, 'network': '192.0.2.10'}] | jaas.firewall.keep_open }}"
  # msg: [{direction: out, protocol: udp, port: '123', network: 192.0.2.10/32}]
"""

RETURN = r"""
_value:
  description: The entries, validated and normalised, in the given order.
  type: list
  elements: dict
"""

from ansible_collections.jaas.firewall.plugins.plugin_utils.role_vars import checked_keep_open


def keep_open(entries, name='keep_open'):
    """Validate keep-open entries (see DOCUMENTATION); the roles call the same function."""
    return checked_keep_open(entries, name)


class FilterModule(object):

    def filters(self):
        return {'keep_open': keep_open}
