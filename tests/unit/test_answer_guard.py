# -*- coding: utf-8 -*-
"""The answer guard's address space (module_utils/answer_guard.py): what no DNS answer may
open by default, and the option that replaces it.

Expectations are written by hand from IANA's IPv4 and IPv6 special-purpose address
registries (non-globally-reachable entries) and checked against Python's own table
(``ipaddress``'s ``is_global``), an implementation independent of ours.
"""

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.jaas.firewall.plugins.module_utils import answer_guard
from ansible_collections.jaas.firewall.plugins.module_utils.model import ModelError

# One address from each kind of space a hostile answer would use, written out by hand.
EXCLUDED = [
    '10.77.0.10', '172.16.5.5', '192.168.1.1',           # RFC 1918
    '100.64.77.10',                                     # CGNAT (RFC 6598)
    '169.254.77.10',                                    # link-local
    '127.0.0.1', '0.0.0.1',                             # loopback, this network
    '224.0.0.251', '239.1.1.1', '240.0.0.1', '255.255.255.255',  # multicast, reserved
    '192.0.2.7', '198.51.100.7', '203.0.113.7',         # documentation
    '198.18.0.1', '198.19.255.254',                     # benchmarking
    '192.0.0.8',                                        # IETF protocol assignments
    '::1', '::', 'fc00::1', 'fd12:3456::1', 'fe80::1', 'fec0::1', 'ff02::1',
    '2001:db8::1', '3fff::1', '2001:2::1', '100::1',
    '::ffff:10.0.0.1', '::ffff:8.8.8.8',                # IPv4-mapped: never on the wire
    '64:ff9b::a4d:a',                                   # NAT64 of 10.77.0.10
    '64:ff9b::6440:4d0a',                               # NAT64 of 100.64.77.10
    '64:ff9b::a9fe:4d0a',                               # NAT64 of 169.254.77.10
    '64:ff9b:1::1',                                     # local-use NAT64
    '2002:a4d:a::1',                                    # 6to4 of 10.77.0.10
    '2001::1',                                          # Teredo
]
# Global unicast space (no packet is sent anywhere: these are only compared).
ALLOWED = ['8.8.8.8', '104.16.0.1', '172.32.0.1', '100.128.0.1', '11.0.0.1', '192.0.3.1',
           '2606:4700::1', '2a00:1450::1', '64:ff9b::808:808', '2002:808:808::1']


def _in(address, exclude):
    address = ipaddress.ip_address(address)
    return any(address in network for network in exclude[address.version])


@pytest.mark.parametrize('address', EXCLUDED)
def test_default_excludes_non_global_space(address):
    assert _in(address, answer_guard.default_exclude())


@pytest.mark.parametrize('address', ALLOWED)
def test_default_keeps_global_space(address):
    assert not _in(address, answer_guard.default_exclude())


# Where the registries (or deprecations) are wider than Python 3.11's older table, written
# out by hand: 192.0.0.0/24 (IANA: not global as a block; Python lists /29 and /31 pieces),
# 192.88.99.0/24 (6to4 anycast, deprecated by RFC 7526), ::/96 (IPv4-compatible, deprecated
# by RFC 4291), 64:ff9b:1::/48 (RFC 8215), 3fff::/20 (RFC 9637), 5f00::/16 (RFC 9602),
# fe80::/9 (link-local fe80::/10 merged with deprecated site-local fec0::/10, RFC 3879).
PYTHON_NARROWER = ('192.0.0.0/24', '192.88.99.0/24', '64:ff9b::c000:0/120',
                   '64:ff9b::c058:6300/120', '2002:c000::/40', '2002:c058:6300::/40',
                   '::/96', '64:ff9b:1::/48', '3fff::/20', '5f00::/16', 'fe80::/9')


def test_every_default_network_is_non_global_for_python_too():
    # ipaddress.is_global is a separate table (Python 3.11); NAT64/6to4 forms embed a
    # non-global IPv4 address, checked through it.
    for family, networks in answer_guard.default_exclude().items():
        for network in networks:
            if str(network) in PYTHON_NARROWER:
                continue
            for address in (network.network_address, network.broadcast_address):
                if address in ipaddress.ip_network('64:ff9b::/96'):
                    address = ipaddress.ip_address(int(address) & 0xffffffff)
                elif address in ipaddress.ip_network('2002::/16'):
                    address = ipaddress.ip_address((int(address) >> 80) & 0xffffffff)
                assert not address.is_global or address.is_multicast, (str(network), str(address))


def test_option_replaces_the_default_and_merges():
    got = answer_guard.normalise_exclude(['10.0.0.0/8', '10.1.0.0/16', 'fc00::/7', '::ffff:0:0/96'])
    assert got == {4: [ipaddress.ip_network('10.0.0.0/8')],
                   6: [ipaddress.ip_network('::ffff:0:0/96'), ipaddress.ip_network('fc00::/7')]}
    assert answer_guard.normalise_exclude([]) == {4: [], 6: []}
    assert answer_guard.normalise_exclude(None) == answer_guard.default_exclude()


@pytest.mark.parametrize('value,message', [
    (['10.0.0.1/8'], r'jaas_firewall_domain_answer_exclude\[0\]: .*host bits'),
    (['10.0.0.0/8', 'nope'], r'jaas_firewall_domain_answer_exclude\[1\]: .*not a CIDR'),
    (['10.0.0.0/8\nserver=1.2.3.4'], r'jaas_firewall_domain_answer_exclude\[0\]'),
    ('10.0.0.0/8', r'jaas_firewall_domain_answer_exclude must be a list'),
])
def test_bad_entries_are_refused_naming_the_variable(value, message):
    with pytest.raises(ModelError, match=message):
        answer_guard.normalise_exclude(value, 'jaas_firewall_domain_answer_exclude')
