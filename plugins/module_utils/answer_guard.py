# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The answer guard: address space a DNS answer can never open (pure; stdlib only).

A domain set holds whatever the resolver was told, and the resolver believes whatever
its upstream says: a spoofed or compromised upstream, or a name that rebinds, can answer
10.0.0.1 for a listed name. The backends therefore keep, next to the timed domain sets, one
interval set per family of excluded space (``answer_guard_v4``/``_v6``) and match it in the
same rule, before anything else happens to the packet::

    ip daddr @domains_core_v4 ip daddr != @answer_guard_v4 tcp dport 443 ... accept

An address in the guard can sit in a domain set (the resolver put it there) but never makes
the rule accept, mark or refresh anything: the check is where packets are judged, so it
covers every path that fills a set.

The default is the non-globally-reachable space of IANA's IPv4 and IPv6 special-purpose
address registries - the same table the catalog refuses (model.SPECIAL_ADDRESS_SPACE:
loopback, RFC 1918, CGNAT, link-local, ULA, multicast, reserved, documentation,
benchmarking ...) - plus the forms that embed such an IPv4 address in IPv6 (NAT64
``64:ff9b::/96``, 6to4 ``2002::/16``; IPv4-mapped ``::ffff:0:0/96`` is excluded whole) and the
remaining non-global IPv6 entries (Teredo, ORCHID, SRv6 SIDs). ``answer_exclude`` (role
variable ``jaas_firewall_domain_answer_exclude``) replaces it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.jaas.firewall.plugins.module_utils.model import (
    SPECIAL_ADDRESS_SPACE, ModelError, parse_network, type_name)

SET_PREFIX = 'answer_guard'
# Non-global IPv6 entries of the registry that the catalog table does not need (a catalog
# range there is already refused as "never" or covered by a broader entry).
EXTRA_V6 = ('2001::/32',       # Teredo (RFC 4380)
            '2001:10::/28',    # deprecated ORCHID (RFC 4843)
            '5f00::/16')       # SRv6 SIDs (RFC 9602)
NAT64 = ipaddress.ip_network('64:ff9b::/96')
SIX_TO_FOUR = ipaddress.ip_network('2002::/16')


def _embedded(v4, prefix, shift):
    """The IPv6 network that embeds IPv4 network ``v4`` at bit ``shift`` of ``prefix``."""
    address = int(prefix.network_address) | (int(v4.network_address) << shift)
    return ipaddress.ip_network((address, 128 - shift - 32 + v4.prefixlen))


def default_exclude():
    """{4: [networks], 6: [networks]}, collapsed and sorted."""
    found = {4: [], 6: []}
    for text, _what, _source, _opt_in in SPECIAL_ADDRESS_SPACE:
        network = ipaddress.ip_network(text)
        found[network.version].append(network)
        if network.version == 4:
            found[6].append(_embedded(network, NAT64, 0))        # 64:ff9b::a.b.c.d
            found[6].append(_embedded(network, SIX_TO_FOUR, 80))  # 2002:aabb:ccdd::/48
    found[6] += [ipaddress.ip_network(text) for text in EXTRA_V6]
    return dict((family, sorted(ipaddress.collapse_addresses(networks)))
                for family, networks in found.items())


def normalise_exclude(values, name='domain_answer_exclude'):
    """{4: [networks], 6: [networks]} for the option's value; None = the default.

    Every entry is a CIDR parsed by the rule model like a catalog network (ModelError
    naming ``<name>[N]``), except that IPv4-mapped IPv6 space (``::ffff:0:0/96``) is
    accepted: excluding it can only narrow. Overlapping entries are merged.
    """
    if values is None:
        return default_exclude()
    if not isinstance(values, (list, tuple)):
        raise ModelError('%s must be a list of CIDR networks, got %s' % (name, type_name(values)))
    found = {4: [], 6: []}
    for index, value in enumerate(values):
        try:
            network = parse_network(value, allow_mapped=True)
        except ModelError as exc:
            raise ModelError('%s[%d]: %s' % (name, index, exc.reason))
        found[network.version].append(network)
    return dict((family, sorted(ipaddress.collapse_addresses(networks)))
                for family, networks in found.items())


def set_name(family):
    return '%s_v%d' % (SET_PREFIX, family)


def as_option(exclude):
    """The normalised value as the module option travels (a flat list of strings)."""
    return [str(network) for family in (4, 6) for network in exclude[family]]
