# -*- coding: utf-8 -*-
"""The shared marking table (module_utils/domain_marks.py): the host's output chain and, for
a gateway, a forward chain limited to the LAN interfaces. Expected texts are written by hand
from the nft grammar (``iifname { "a", "b" }``, hook forward)."""

from __future__ import annotations

import pytest

from ansible_collections.jaas.firewall.plugins.module_utils import domain_marks
from ansible_collections.jaas.firewall.plugins.module_utils.domain_sets import (
    DomainError, normalise_domains)

DOMAINS = normalise_domains([{'category': 'core', 'names': ['meet.example'],
                              'rules': [{'protocol': 'tcp', 'ports': '443'}]}])
OUTPUT_V4 = ('\t\tip daddr @domains_core_v4 tcp dport 443 ct state new update @domains_core_v4 '
             '{ ip daddr } meta mark set meta mark | 0x1000000 comment "domains core"\n')


def test_host_only_table_has_no_forward_chain():
    script = domain_marks.table_script(DOMAINS, 300, 0x1000000, backend='firewalld')
    assert '(jaas_firewall_domains, firewalld)' in script
    assert OUTPUT_V4 in script
    assert 'hook forward' not in script


def test_gateway_table_marks_forwarded_lan_packets_only():
    script = domain_marks.table_script(DOMAINS, 300, 0x1000000, backend='firewalld',
                                       forward_interfaces=['lan0', 'lan1'])
    assert OUTPUT_V4 in script                                      # the host keeps its own
    forward = script[script.index('\tchain forward {'):]
    assert forward.startswith('\tchain forward {\n\t\ttype filter hook forward priority -10; '
                              'policy accept;\n')
    assert ('\t\tiifname { "lan0", "lan1" } ip daddr @domains_core_v4 tcp dport 443 ct state new '
            'update @domains_core_v4 { ip daddr } meta mark set meta mark | 0x1000000 '
            'comment "domains core"\n') in forward
    assert ('\t\tiifname { "lan0", "lan1" } ip6 daddr @domains_core_v6 tcp dport 443') in forward
    for verdict in (' accept comment', ' drop', ' reject'):
        assert verdict not in script


def test_forward_chain_needs_an_interface():
    with pytest.raises(DomainError, match='at least one LAN interface'):
        domain_marks.table_script(DOMAINS, 300, 0x1000000, forward_interfaces=[])
