# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The grouped policy: the flat rules (module_utils/model.py ``RULE_KEYS``) regrouped the
way a firewall holds them, one address set per block and family::

    {(direction, block, family): {'networks': {ipaddress network},
                                  'services': {(protocol, ports or None)}}}

Every network of a group carries the same services (or one shared set would allow a
service to a network that did not ask for it), and a block has one direction. The
nftables and firewalld plans render their sets and rules from it; ``PlanError`` is what
any plan raises when the desired state cannot be expressed. Pure, Python stdlib only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.jaas.firewall.plugins.module_utils.model import ModelError, normalise_rule


class PlanError(ValueError):
    """The desired state cannot be expressed by the backend; nothing was touched."""


def group_rules(rules, container='set'):
    """{(direction, block, family): {'networks': set, 'services': {(protocol, ports)}}}.

    Raises PlanError when a rule is invalid, a block has rules in both directions, or the
    networks of one group do not all carry the same services. ``container`` names the
    backend's shared object in those messages ('set' for nftables, 'ipset' for firewalld).
    """
    per_network = {}
    for index, given in enumerate(rules):
        try:
            rule = normalise_rule(given, 'rules[%d]' % index)
        except ModelError as exc:
            raise PlanError(str(exc))
        network = ipaddress.ip_network(rule['network'])
        key = (rule['direction'], rule['block'], rule['family'])
        per_network.setdefault(key, {}).setdefault(network, set()).add(
            (rule['protocol'], rule['ports']))

    directions = {}
    for direction, block, _family in per_network:
        if directions.setdefault(block, direction) != direction:
            raise PlanError('block %r has rules in both directions; one %s per block '
                            'cannot express that' % (block, container))
    groups = {}
    for key, networks in per_network.items():
        services = {frozenset(s) for s in networks.values()}
        if len(services) > 1:
            raise PlanError('block %r (IPv%d): its networks do not all have the same '
                            'protocols/ports, so one shared %s would widen access'
                            % (key[1], key[2], container))
        groups[key] = {'networks': set(networks), 'services': services.pop()}
    return groups


def collapse(networks):
    """Sorted CIDR strings of the union of ``networks`` (IPv4 first): exactly the addresses
    an interval set of them matches."""
    result = []
    for version in (4, 6):
        same = [n for n in networks if n.version == version]
        result.extend(str(n) for n in sorted(ipaddress.collapse_addresses(same)))
    return result


def unique(items):
    """``items`` in order, each once (rule lists and notes where order matters)."""
    seen, result = set(), []
    for item in items:
        if item not in seen:
            seen.add(item)
            result.append(item)
    return result
