# -*- coding: utf-8 -*-
"""The ufw domain half (module_utils/ufw_domains.py) at unit speed: the marking table, the
block in ufw's before.rules (added once, removed byte for byte, at the place ufw reads it),
the mark bit. Containers prove the behaviour (molecule/domains, ufw hosts).
"""

from __future__ import annotations

import pytest

from ansible_collections.jaas.firewall.plugins.module_utils import ufw_domains
from ansible_collections.jaas.firewall.plugins.module_utils.domain_sets import (
    DomainError, normalise_domains)

DOMAINS = normalise_domains([{'category': 'core', 'names': ['8x8.vc', '*.8x8.vc'],
                              'rules': [{'protocol': 'tcp', 'ports': '443'}]}])
# The shape of Debian's /etc/ufw/before.rules (ufw 0.36), shortened by hand.
BEFORE_RULES = """#
# rules.before
#
# Rules that should be run before the ufw command line added rules. Custom
# rules should be added to one of these chains:
#   ufw-before-input
#   ufw-before-output
#   ufw-before-forward
#

# Don't delete these required lines, otherwise there will be errors
*filter
:ufw-before-input - [0:0]
:ufw-before-output - [0:0]
:ufw-before-forward - [0:0]
:ufw-not-local - [0:0]
# End required lines

# allow all on loopback
-A ufw-before-input -i lo -j ACCEPT
-A ufw-before-output -o lo -j ACCEPT

# quickly process packets for which we already have a connection
-A ufw-before-output -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT

# don't delete the 'COMMIT' line or these rules won't be processed
COMMIT
"""
# Written out by hand: what ufw must find right before its COMMIT.
BLOCK_V4 = ('# BEGIN jaas.firewall domains (jaas_firewall_domains): accept what table inet '
            'jaas_domains marked\n'
            '-A ufw-before-output -m mark --mark 0x1000000/0x1000000 -m comment --comment '
            '"jaas.firewall domains" -j ACCEPT\n'
            '# END jaas.firewall domains\n')


def test_block_goes_right_before_ufws_commit_comment_and_comes_out_byte_for_byte():
    text = ufw_domains.with_block(BEFORE_RULES, 4, ufw_domains.DEFAULT_MARK)
    assert text == BEFORE_RULES.replace(
        "# don't delete the 'COMMIT' line", BLOCK_V4 + "# don't delete the 'COMMIT' line")
    assert ufw_domains.with_block(text, 4, ufw_domains.DEFAULT_MARK) == text   # once
    assert ufw_domains.without_block(text) == BEFORE_RULES


def test_another_mark_replaces_the_block():
    text = ufw_domains.with_block(BEFORE_RULES, 4, 0x10)
    again = ufw_domains.with_block(text, 4, 0x20)
    assert again.count('# BEGIN jaas.firewall domains') == 1 and '0x20/0x20' in again


def test_ipv6_block_uses_ufw6_chain():
    text = ufw_domains.with_block(BEFORE_RULES.replace('ufw-before', 'ufw6-before'), 6, 0x1000000)
    assert '-A ufw6-before-output -m mark --mark 0x1000000/0x1000000 ' in text


def test_before_rules_without_a_filter_commit_is_refused():
    with pytest.raises(DomainError, match='before.rules has no \\*filter section'):
        ufw_domains.with_block('*nat\nCOMMIT\n', 4, 0x1)


def test_marking_table_only_marks():
    script = ufw_domains.table_script(DOMAINS, 600, 0x1000000)
    assert 'table inet jaas_domains {}\ndelete table inet jaas_domains\n' in script
    assert ('\t\tip daddr @domains_core_v4 tcp dport 443 ct state new update @domains_core_v4 '
            '{ ip daddr } meta mark set meta mark | 0x1000000 comment "domains core"\n') in script
    assert 'type filter hook output priority -10; policy accept;' in script
    for verdict in (' accept comment', ' drop', ' reject'):
        assert verdict not in script


@pytest.mark.parametrize('mark', [0, 3, 1 << 32, -1, True, '0x1000000'])
def test_mark_must_be_one_bit(mark):
    with pytest.raises(DomainError, match='domain_mark must be a single bit'):
        ufw_domains.check_mark(mark)
