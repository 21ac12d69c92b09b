# -*- coding: utf-8 -*-
"""Keep-open validation (module_utils/keep_open.py) and the jaas.firewall.keep_open filter.

Expectations are written by hand from the role argument specs (direction in/out, tcp/udp,
port "N" or "N-M" within 1-65535, optional CIDR network without host bits).
"""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.jaas.firewall.plugins.filter.keep_open import keep_open
from ansible_collections.jaas.firewall.plugins.module_utils.keep_open import (
    KeepOpenError, validate_keep_open)


def test_normalised_output():
    assert validate_keep_open([
        {'direction': 'out', 'protocol': 'udp', 'port': 123, 'network': '192.0.2.10'},
        {'direction': 'in', 'protocol': 'tcp', 'port': '0022'},
        {'direction': 'out', 'protocol': 'tcp', 'port': '1000-2000', 'network': '2001:DB8::/32'},
        {'direction': 'out', 'protocol': 'tcp', 'port': '53', 'network': None},
    ]) == [
        {'direction': 'out', 'protocol': 'udp', 'port': '123', 'network': '192.0.2.10/32'},
        {'direction': 'in', 'protocol': 'tcp', 'port': '22'},
        {'direction': 'out', 'protocol': 'tcp', 'port': '1000-2000', 'network': '2001:db8::/32'},
        {'direction': 'out', 'protocol': 'tcp', 'port': '53'},
    ]


def test_empty_and_none():
    assert validate_keep_open([]) == []
    assert validate_keep_open(None) == []


@pytest.mark.parametrize('bad, message', [
    ({'network': '198.18.0.0/15" invert="true'}, "network '198.18.0.0/15\" invert=\"true' is not a CIDR network"),
    ({'network': '198.18.0.0/15 $(touch x)'}, 'is not a CIDR network'),
    ({'network': "198.18.0.0/15' comment 'jaas:safety"}, 'is not a CIDR network'),
    ({'network': '198.18.0.0/15\n'}, 'is not a CIDR network'),
    ({'network': '198.18.0.1/15'}, 'has host bits set'),
    ({'network': '198.18.0.0/33'}, '198.18.0.0/33'),
    ({'network': 15}, 'is not a CIDR network'),
    ({'port': '53; touch x'}, 'must be "N" or "N-M"'),
    ({'port': '53\n'}, 'must be "N" or "N-M"'),
    ({'port': '0'}, "port '0' is out of range"),
    ({'port': '70000'}, 'out of range'),
    ({'port': '65535-49152'}, 'reversed'),
    ({'port': True}, 'port must be a string'),
    ({'port': None}, 'port is required'),
    ({'protocol': 'sctp'}, "protocol must be tcp or udp, got 'sctp'"),
    ({'direction': 'sideways'}, 'direction must be in or out'),
    ({'ports': '54'}, 'unknown key(s) ports'),
])
def test_bad_entry_named(bad, message):
    entry = dict({'direction': 'out', 'protocol': 'tcp', 'port': '53'}, **bad)
    with pytest.raises(KeepOpenError) as caught:
        validate_keep_open([{'direction': 'in', 'protocol': 'tcp', 'port': '22'}, entry],
                           name='jaas_firewall_keep_open')
    assert str(caught.value).startswith('jaas_firewall_keep_open[1]: ')
    assert message in str(caught.value)


@pytest.mark.parametrize('bad', ['53/udp', {'port': 53}, ['53']])
def test_wrong_shapes(bad):
    with pytest.raises(KeepOpenError):
        validate_keep_open(bad)


def test_filter_wraps_errors():
    assert keep_open([{'direction': 'in', 'protocol': 'tcp', 'port': 22}]) == [
        {'direction': 'in', 'protocol': 'tcp', 'port': '22'}]
    with pytest.raises(AnsibleFilterError, match=r'jaas_firewall_keep_open\[0\]: port'):
        keep_open([{'direction': 'in', 'protocol': 'tcp', 'port': '0'}],
                  name='jaas_firewall_keep_open')
