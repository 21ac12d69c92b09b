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


def service_key(service):
    """Sort key of a (protocol, ports) service: protocol, first port (None: 0), then the text,
    so the order of a group's rules never depends on set iteration."""
    protocol, ports = service
    return (protocol, int(ports.split('-')[0]) if ports else 0, ports or '')


def collapse(networks):
    """Sorted CIDR strings of the union of ``networks`` (IPv4 first): exactly the addresses
    an interval set of them matches."""
    result = []
    for version in (4, 6):
        same = [n for n in networks if n.version == version]
        result.extend(str(n) for n in sorted(ipaddress.collapse_addresses(same)))
    return result


def unique(items, key=None):
    """``items`` in order, each once (rule lists and notes where order matters); ``key``
    gives the hashable identity of an item that is not hashable itself (a dict)."""
    seen, result = set(), []
    for item in items:
        identity = item if key is None else key(item)
        if identity not in seen:
            seen.add(identity)
            result.append(item)
    return result


# ---------------------------------------------------------------- the module option `policy`
# What the action plugins send to a backend module instead of the flat rules: one entry per
# (direction, block, region, family, services) with its networks listed once, about a
# quarter of the flat list's size for the bundled catalog. The module expands it back into
# exactly the flat rules, in the rules filter's order (rule_order), before anything else
# reads them, so every backend plans from the same list either way. Lossless: networks with
# different services land in different entries.
# Its argument spec: module_utils/rule_spec.py ``policy_argument_spec``.


def _ports_order(ports):
    """(low, high); a value that is not a port range sorts after every port (for the plan
    to refuse with its own message), never compared with a number."""
    if ports is None:
        return (0, 0)
    low, _sep, high = str(ports).partition('-')
    try:
        return (int(low), int(high or low))
    except ValueError:
        return (float('inf'), str(ports))


def rule_order(rule):
    """The rules filter's order: direction, block, region, family, protocol, ports, address
    (a network that is not one sorts last, for the plan to refuse with its own message)."""
    try:
        network = ipaddress.ip_network(rule['network'])
        where = (int(network.network_address), network.prefixlen)
    except (TypeError, ValueError):
        where = (1 << 129, str(rule['network']))
    return (rule['direction'], rule['block'], rule['region'] or '', rule['family'],
            rule['protocol'], _ports_order(rule['ports']), where)


def to_policy(rules):
    """The ``policy`` option for flat ``rules`` (the rules filter's dicts)."""
    services_of = {}
    for rule in rules:
        key = (rule['direction'], rule['block'], rule['region'], rule['family'], rule['network'])
        services_of.setdefault(key, set()).add((rule['protocol'], rule['ports']))
    entries = {}
    for (direction, block, region, family, network), services in services_of.items():
        group = (direction, block, region, family, frozenset(services))
        entries.setdefault(group, []).append(network)
    policy = []
    for (direction, block, region, family, services), networks in entries.items():
        policy.append({'direction': direction, 'block': block, 'region': region, 'family': family,
                       'services': [{'protocol': p, 'ports': ports} for p, ports in
                                    sorted(services, key=lambda s: (s[0], _ports_order(s[1])))],
                       'networks': networks})
    policy.sort(key=lambda e: (e['direction'], e['block'], e['region'] or '', e['family'],
                               [(s['protocol'], _ports_order(s['ports'])) for s in e['services']]))
    return policy


def from_policy(policy):
    """The flat rules of a ``policy`` option, in rule_order, each once."""
    rules = []
    for entry in policy:
        for service in entry['services']:
            for network in entry['networks']:
                rules.append({'direction': entry['direction'], 'family': entry['family'],
                              'network': network, 'protocol': service['protocol'],
                              'ports': service['ports'], 'block': entry['block'],
                              'region': entry['region']})
    return unique(sorted(rules, key=rule_order), key=lambda rule: tuple(sorted(rule.items())))
