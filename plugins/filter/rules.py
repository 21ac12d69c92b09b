# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: rules
author: jaas.firewall contributors (@jaas-firewall)
version_added: "0.1.0"
short_description: Turn the JaaS catalog into a flat list of firewall rules
description:
  - Expands every selected block of a catalog from P(jaas.firewall.catalog#lookup) into one
    rule per (network, protocol, ports), sorted deterministically.
  - Each rule is a dict with exactly the keys C(direction) (V(out) or V(in)), C(family)
    (V(4) or V(6)), C(network) (CIDR string), C(protocol) (V(tcp) or V(udp)), C(ports)
    (V("443"), V("49152-65535"), or V(null) for every port), C(block) and C(region)
    (V(null) for blocks without regions).
  - Blocks with an empty rule list (such as V(unclassified)) produce no rules.
  - With O(compact), adjacent or overlapping networks of the same block, region, direction,
    family, protocol and ports are merged with netaddr's C(cidr_merge) (for example
    V(129.148.18.0/26) + V(129.148.18.64/26) = V(129.148.18.0/25)). This never allows an
    address that was not allowed before.
positional: _input
extends_documentation_fragment:
  - jaas.firewall.catalog_input
options:
  webhooks:
    description: Add the inbound rules from the JaaS webhook origins to your receiver.
    type: bool
    default: false
  webhook_port:
    description: TCP port of your webhook receiver (used only with O(webhooks)).
    type: int
    default: 443
  compact:
    description: Merge adjacent or overlapping networks (see above).
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: All egress rules of the bundled catalog
  ansible.builtin.debug:
    msg: "{{ lookup('jaas.firewall.catalog') | jaas.firewall.rules | length }}"
  # msg: 190

- name: Brazil's video bridges (two /26 merged into a /25)
  ansible.builtin.debug:
    msg: "{{ lookup('jaas.firewall.catalog', blocks=['jvb'], regions=['br-sao-paulo']) | jaas.firewall.rules }}"
  # msg:
  # - {block: jvb, direction: out, family: 4, network: 129.148.18.0/25, ports: '443', protocol: tcp, region: br-sao-paulo}
  # - {block: jvb, direction: out, family: 4, network: 168.138.245.0/25, ports: '443', protocol: tcp, region: br-sao-paulo}
  # - {block: jvb, direction: out, family: 4, network: 129.148.18.0/25, ports: '10000', protocol: udp, region: br-sao-paulo}
  # - {block: jvb, direction: out, family: 4, network: 168.138.245.0/25, ports: '10000', protocol: udp, region: br-sao-paulo}

- name: Inbound webhook rules to a receiver on 8443
  ansible.builtin.debug:
    msg: "{{ lookup('jaas.firewall.catalog', blocks=['webhook_origins']) | jaas.firewall.rules(webhooks=true, webhook_port=8443) }}"
  # msg:
  # - {block: webhook_origins, direction: in, family: 4, network: 35.162.88.192/32, ports: '8443', protocol: tcp, region: null}
  # - {block: webhook_origins, direction: in, family: 4, network: 52.10.206.157/32, ports: '8443', protocol: tcp, region: null}
  # - {block: webhook_origins, direction: in, family: 4, network: 52.26.201.32/32, ports: '8443', protocol: tcp, region: null}
"""

RETURN = r"""
_value:
  description: The rules, sorted by direction, block, region, family, protocol, ports, address.
  type: list
  elements: dict
"""

from ansible_collections.jaas.firewall.plugins.plugin_utils.rules import filter_rules


def rules(catalog, webhooks=False, webhook_port=443, compact=True):
    """Flatten a catalog into firewall rules (see DOCUMENTATION)."""
    return filter_rules(catalog, webhooks=webhooks, webhook_port=webhook_port, compact=compact)


class FilterModule(object):

    def filters(self):
        return {'rules': rules}
