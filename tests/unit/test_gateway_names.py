# -*- coding: utf-8 -*-
"""Gateway mode's names: interfaces (Linux IFNAMSIZ) and firewalld zones, refused on the
controller (the jaas.firewall.names filter) exactly as on the host (model.normalise_names).
Expectations are written by hand from the kernel's and firewalld's limits."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.jaas.firewall.plugins.filter.names import names
from ansible_collections.jaas.firewall.plugins.module_utils import model

VAR = 'jaas_firewall_gateway_in_interfaces'


@pytest.mark.parametrize('given, expected', [
    (['eth0'], ['eth0']),
    (['lan0', 'eth0.100', 'wan_1', 'br-lan', 'enp3s0f1'], ['lan0', 'eth0.100', 'wan_1', 'br-lan', 'enp3s0f1']),
    (['a' * 15], ['a' * 15]),                 # 15 + NUL = IFNAMSIZ
    (['eth0', 'eth1', 'eth0'], ['eth0', 'eth1']),
    ([], []),
    (None, []),
])
def test_interface_names_accepted(given, expected):
    assert names(given, name=VAR) == expected
    assert model.normalise_names('interface name', given, VAR) == expected


@pytest.mark.parametrize('given, where, why', [
    (['a' * 16], '[0]', 'longer than 15 characters'),
    (['eth0', 'eth0 '], '[1]', 'is not a valid interface name'),
    (['eth0\n'], '[0]', 'is not a valid interface name'),
    (['eth+'], '[0]', 'no wildcards'),
    (['eth*'], '[0]', 'no wildcards'),
    (['eth0:1'], '[0]', 'is not a valid interface name'),     # an alias, not an interface
    (['.'], '[0]', 'is not a valid interface name'),
    (['..'], '[0]', 'is not a valid interface name'),
    (['-eth0'], '[0]', 'is not a valid interface name'),
    (['eth/0'], '[0]', 'is not a valid interface name'),
    ([''], '[0]', 'is not a valid interface name'),
    ([7], '[0]', 'is not a valid interface name'),
    ('eth0', '', 'must be a list of interface names'),
])
def test_interface_names_refused_with_the_variable_and_entry(given, where, why):
    with pytest.raises(AnsibleFilterError) as caught:
        names(given, name=VAR)
    message = str(caught.value)
    assert '%s%s: ' % (VAR, where) in message and why in message
    assert '\n' not in message
    with pytest.raises(model.ModelError) as again:
        model.normalise_names('interface name', given, VAR)
    assert str(again.value) in message            # the same words on the host


@pytest.mark.parametrize('zone, ok', [
    ('internal', True), ('external', True), ('trusted-lan', True), ('ANY', True),
    ('a' * 17, True), ('a' * 18, False), ('lan zone', False), ('', False), ('zone\n', False),
])
def test_firewalld_zone_names(zone, ok):
    if ok:
        assert names([zone], kind='firewalld_zone', name='z') == [zone]
    else:
        with pytest.raises(AnsibleFilterError, match=r'z\[0\]: .* firewalld zone name'):
            names([zone], kind='firewalld_zone', name='z')


def test_unknown_kind():
    with pytest.raises(AnsibleFilterError, match='kind must be one of firewalld_zone, interface'):
        names(['eth0'], kind='bridge')
