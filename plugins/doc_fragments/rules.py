# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    """The rule interface (docs/ARCHITECTURE.md): the O(rules) option of every backend module.

    Its argument spec is plugins/module_utils/rule_spec.py; keep the two in step.
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
"""
