# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    """The rule interface (docs/ARCHITECTURE.md): the O(rules) and O(policy) options of every
    backend module.

    Their argument spec is plugins/module_utils/rule_spec.py; keep the two in step.
    """

    DOCUMENTATION = r"""
options:
  rules:
    description:
      - The desired rules, in the collection's rule interface (see C(docs/ARCHITECTURE.md)),
        as the P(jaas.firewall.rules#filter) filter produces them on the controller.
      - One dict per (network, protocol, ports); every backend module takes the same list.
    type: list
    elements: dict
    default: []
    suboptions:
      direction:
        description: V(out) for egress (the rule matches the destination), V(in) for ingress (the source).
        type: str
        required: true
        choices: [in, out]
      family:
        description: Address family.
        type: int
        required: true
        choices: [4, 6]
      network:
        description: CIDR network of the remote side, always with a prefix, for example V(168.138.110.244/32).
        type: str
        required: true
      protocol:
        description: Transport protocol.
        type: str
        required: true
        choices: [tcp, udp]
      ports:
        description:
          - Destination port V("443") or range V("49152-65535"); V(null) means every port of
            O(rules[].protocol).
        type: str
      block:
        description: Catalog block key (a slug); marks the rule as owned by this collection.
        type: str
        required: true
      region:
        description: Catalog region key (a slug) or V(null).
        type: str
  policy:
    description:
      - The desired rules grouped for transport, as the action plugin sends them when it
        computes the rules from O(catalog) (C(plugins/module_utils/policy.py)), one entry per
        (direction, block, region, family, services) with its networks listed once.
      - The module expands it into exactly the flat rules of O(rules) (in the
        P(jaas.firewall.rules#filter) filter's order), appended to any O(rules) given, and
        validates them the same way. Roles and playbooks normally use O(catalog) or O(rules).
    type: list
    elements: dict
    default: []
    suboptions:
      direction:
        description: As in O(rules).
        type: str
        required: true
        choices: [in, out]
      family:
        description: As in O(rules).
        type: int
        required: true
        choices: [4, 6]
      block:
        description: As in O(rules).
        type: str
        required: true
      region:
        description: As in O(rules).
        type: str
      services:
        description: The (protocol, ports) pairs every network of the entry gets.
        type: list
        elements: dict
        required: true
        suboptions:
          protocol:
            description: As in O(rules).
            type: str
            required: true
            choices: [tcp, udp]
          ports:
            description: As in O(rules); V(null) means every port.
            type: str
      networks:
        description: CIDR networks, as in O(rules).
        type: list
        elements: str
        required: true
"""
