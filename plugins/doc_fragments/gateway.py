# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    """Gateway mode options of the interface-based backend modules (nftables_rules,
    ufw_rules): plugins/module_utils/gateway.py GATEWAY_ARGUMENT_SPEC; keep the two in step."""

    DOCUMENTATION = r"""
options:
  gateway:
    description:
      - Gateway mode. Also allow the outbound rules of O(rules) (direction V(out)) for
        forwarded traffic, from O(gateway_in_interfaces) (the LAN side) to
        O(gateway_out_interfaces) (the WAN side), with the same sets as the host's own rules.
      - Inbound rules (webhook origins) stay the host's own. Replies of allowed flows pass
        (connection tracking). NAT and the kernel's forwarding switch
        (C(net.ipv4.ip_forward), C(net.ipv6.conf.all.forwarding)) are the user's and are
        never touched.
      - Host rules and gateway rules converge and prune independently; V(false) removes the
        gateway rules and leaves the host rules as they are; O(state=absent) removes both.
    type: bool
    default: false
  gateway_in_interfaces:
    description:
      - Interfaces forwarded traffic must come in on (the LAN side); V([]) = any.
      - Linux interface names, 1-15 letters, digits, C(_), C(.) or C(-), starting with a
        letter or digit; no wildcards. Checked even when O(gateway=false).
    type: list
    elements: str
    default: []
  gateway_out_interfaces:
    description: Interfaces forwarded traffic must leave on (the WAN side); V([]) = any. As O(gateway_in_interfaces).
    type: list
    elements: str
    default: []
"""
