# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    """The answer guard of the domain half (plugins/module_utils/answer_guard.py)."""

    DOCUMENTATION = r"""
options:
  domain_answer_exclude:
    description:
      - Address space a DNS answer for a listed name can never open (the answer guard).
        Per family one interval set of these networks (C(answer_guard_v4), C(answer_guard_v6))
        is matched in the same rule as the domain set, right after it, so an address there
        can sit in a domain set but the rule never accepts (nftables), marks (ufw) or keeps
        it fresh. The check is in the kernel, where packets are judged, so every way an
        address gets into a set is covered.
      - V(null) (the default) is the non-globally-reachable space of IANA's IPv4 and IPv6
        special-purpose address registries - loopback, private (RFC 1918), shared/CGNAT,
        link-local, unique local, multicast, reserved, documentation, benchmarking, the
        IPv4-mapped range, NAT64 (C(64:ff9b::/96)) and 6to4 forms of the IPv4 entries,
        Teredo, ORCHID and SRv6 SIDs - so a spoofed upstream or a rebinding name cannot
        turn the allowlist into a door into the local network.
      - A list of CIDR networks replaces the default (V([]) turns the guard off). Each entry
        is parsed like a catalog network; errors name the entry.
      - The guard applies only to the domain half. Catalog rules (including private ranges
        a catalog lists with O(catalog)'s C(allow_private_networks)) are not affected.
    type: list
    elements: str
"""
