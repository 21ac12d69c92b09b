# -*- coding: utf-8 -*-
"""Keep-open validation (the rule model, module_utils/model.py normalise_keep_open) and the jaas.firewall.keep_open filter.

Expectations are written by hand from the role argument specs (direction in/out, tcp/udp,
port "N" or "N-M" within 1-65535, optional CIDR network without host bits).
"""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.jaas.firewall.plugins.filter.keep_open import keep_open
from ansible_collections.jaas.firewall.plugins.module_utils.model import (
    ModelError as KeepOpenError, normalise_keep_open as validate_keep_open)


def test_normalised_output():
    assert validate_keep_open([
        {'direction': 'out', 'protocol': 'udp', 'port': 123, 'network': '192.0.2.10'},
        {'direction': 'in', 'protocol': 'tcp', 'port': '22'},
        {'direction': 'out', 'protocol': 'tcp', 'port': '1000-2000', 'network': '2001:DB8::/32'},
        {'direction': 'out', 'protocol': 'tcp', 'port': '53', 'network': None},
        {'direction': 'out', 'protocol': 'udp', 'port': '443-443', 'network': '10.0.0.0/8'},
    ]) == [
        {'direction': 'out', 'protocol': 'udp', 'port': '123', 'network': '192.0.2.10/32'},
        {'direction': 'in', 'protocol': 'tcp', 'port': '22'},
        {'direction': 'out', 'protocol': 'tcp', 'port': '1000-2000', 'network': '2001:db8::/32'},
        {'direction': 'out', 'protocol': 'tcp', 'port': '53'},
        # keep-open entries are the user's own hosts: private space is fine here
        {'direction': 'out', 'protocol': 'udp', 'port': '443', 'network': '10.0.0.0/8'},
    ]


def test_empty_and_none():
    assert validate_keep_open([]) == []
    assert validate_keep_open(None) == []


NOT_A_NETWORK = ' is not a CIDR network or address'
NOT_PORTS = ' is not a port "N" or a port range "N-M"'


@pytest.mark.parametrize('bad, message', [
    ({'network': '198.18.0.0/15" invert="true'},
     "network: '198.18.0.0/15\" invert=\"true'" + NOT_A_NETWORK),
    ({'network': '198.18.0.0/15 $(touch x)'}, NOT_A_NETWORK),
    ({'network': "198.18.0.0/15' comment 'jaas:safety"}, NOT_A_NETWORK),
    ({'network': '198.18.0.0/15\n'},
     "network: '198.18.0.0/15\\n'" + NOT_A_NETWORK + ': leading or trailing whitespace'),
    ({'network': '198.18.0.0/255.254.0.0'},
     NOT_A_NETWORK + ': netmask notation; write the prefix length (198.18.0.0/15)'),
    ({'network': '::ffff:198.18.0.1'}, 'IPv4-mapped IPv6 address; write the IPv4 form 198.18.0.1'),
    ({'network': '198.18.0.1/15'}, "network: '198.18.0.1/15' has host bits set (did you mean 198.18.0.0/15?)"),
    ({'network': '198.18.0.0/33'}, "network: '198.18.0.0/33': prefix /33 is out of range for IPv4 (0-32)"),
    ({'network': 15}, 'network: 15' + NOT_A_NETWORK + ': expected a string, got an integer'),
    ({'port': '53; touch x'}, "port: '53; touch x'" + NOT_PORTS),
    ({'port': '53\n'}, "port: '53\\n'" + NOT_PORTS + ': leading or trailing whitespace'),
    ({'port': '0022'}, "port: '0022'" + NOT_PORTS + ': leading zero'),
    ({'port': '22:23'}, "port: '22:23'" + NOT_PORTS + ': write ranges with "-" (22-23)'),
    ({'port': '0'}, "port: '0': port 0 is out of range 1-65535"),
    ({'port': '70000'}, "port: '70000': port 70000 is out of range 1-65535"),
    ({'port': '65535-49152'}, "port: '65535-49152': the range is reversed (low > high)"),
    ({'port': True}, 'port: True' + NOT_PORTS + ': expected a number or a string'),
    ({'port': None}, 'port: is required'),
    ({'protocol': 'sctp'}, "protocol: 'sctp': expected tcp or udp"),
    ({'direction': 'sideways'}, "direction: 'sideways': expected in or out"),
    ({'ports': '54'}, ': unknown key(s) ports'),
])
def test_bad_entry_named(bad, message):
    entry = dict({'direction': 'out', 'protocol': 'tcp', 'port': '53'}, **bad)
    with pytest.raises(KeepOpenError) as caught:
        validate_keep_open([{'direction': 'in', 'protocol': 'tcp', 'port': '22'}, entry],
                           name='jaas_firewall_keep_open')
    text = str(caught.value)
    assert text.startswith('jaas_firewall_keep_open[1]')
    assert message in text
    assert '\n' not in text


@pytest.mark.parametrize('bad', ['53/udp', {'port': 53}, ['53']])
def test_wrong_shapes(bad):
    with pytest.raises(KeepOpenError):
        validate_keep_open(bad)


def test_filter_wraps_errors():
    assert keep_open([{'direction': 'in', 'protocol': 'tcp', 'port': 22}]) == [
        {'direction': 'in', 'protocol': 'tcp', 'port': '22'}]
    with pytest.raises(AnsibleFilterError, match=r'^jaas.firewall.keep_open: jaas_firewall_keep_open\[0\]\.port: '):
        keep_open([{'direction': 'in', 'protocol': 'tcp', 'port': '0'}],
                  name='jaas_firewall_keep_open')
