# -*- coding: utf-8 -*-
"""The ufw domain half (module_utils/ufw_domains.py) at unit speed: the marking table and
its answer guard, the block in ufw's after.rules (added once, removed byte for byte, at the
place ufw reads it, after the user's rules), the move out of before.rules, the mark bit. Containers prove the behaviour (extensions/molecule/domains, ufw hosts).
"""

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.jaas.firewall.plugins.module_utils import ufw_domains
from ansible_collections.jaas.firewall.plugins.module_utils.domain_sets import (
    DomainError, normalise_domains)
from canned.ufw import (  # noqa: F401 (fixtures)
    AFTER_RULES, BLOCK_V4)

DOMAINS = normalise_domains([{'category': 'core', 'names': ['8x8.vc', '*.8x8.vc'],
                              'rules': [{'protocol': 'tcp', 'ports': '443'}]}])
# What releases before the answer guard wrote into before.rules (ahead of the user's rules).
OLD_BEFORE = ("*filter\n:ufw-before-output - [0:0]\n"
              "-A ufw-before-output -o lo -j ACCEPT\n" + BLOCK_V4.replace('ufw-after-output',
                                                                          'ufw-before-output')
              + "COMMIT\n")
BEFORE_CLEAN = "*filter\n:ufw-before-output - [0:0]\n-A ufw-before-output -o lo -j ACCEPT\nCOMMIT\n"


def test_block_goes_right_before_ufws_commit_comment_and_comes_out_byte_for_byte():
    text = ufw_domains.with_block(AFTER_RULES, 4, ufw_domains.DEFAULT_MARK)
    assert text == AFTER_RULES.replace(
        "# don't delete the 'COMMIT' line", BLOCK_V4 + "# don't delete the 'COMMIT' line")
    assert ufw_domains.with_block(text, 4, ufw_domains.DEFAULT_MARK) == text   # once
    assert ufw_domains.without_block(text) == AFTER_RULES


def test_old_block_in_before_rules_comes_out_byte_for_byte():
    assert ufw_domains.without_block(OLD_BEFORE) == BEFORE_CLEAN


def test_another_mark_replaces_the_block():
    text = ufw_domains.with_block(AFTER_RULES, 4, 0x10)
    again = ufw_domains.with_block(text, 4, 0x20)
    assert again.count('# BEGIN jaas.firewall domains') == 1 and '0x20/0x20' in again


def test_ipv6_block_uses_ufw6_chain():
    text = ufw_domains.with_block(AFTER_RULES.replace('ufw-after', 'ufw6-after'), 6, 0x1000000)
    assert '-A ufw6-after-output -m mark --mark 0x1000000/0x1000000 ' in text


def test_after_rules_without_a_filter_commit_is_refused():
    with pytest.raises(DomainError, match='after.rules has no \\*filter section'):
        ufw_domains.with_block('*nat\nCOMMIT\n', 4, 0x1)


def test_marking_table_only_marks():
    script = ufw_domains.table_script(DOMAINS, 600, 0x1000000)
    assert 'table inet jaas_domains {}\ndelete table inet jaas_domains\n' in script
    assert ('\t\tip daddr @domains_core_v4 tcp dport 443 ct state new update @domains_core_v4 '
            '{ ip daddr } meta mark set meta mark | 0x1000000 comment "domains core"\n') in script
    assert 'answer_guard' not in script           # no guard given: none written
    assert 'type filter hook output priority -10; policy accept;' in script
    for verdict in (' accept comment', ' drop', ' reject'):
        assert verdict not in script


@pytest.mark.parametrize('mark', [0, 3, 1 << 32, -1, True, '0x1000000'])
def test_mark_must_be_one_bit(mark):
    with pytest.raises(DomainError, match='domain_mark must be a single bit'):
        ufw_domains.check_mark(mark)


def test_marking_table_never_marks_guarded_answers():
    exclude = {4: [ipaddress.ip_network('10.0.0.0/8'), ipaddress.ip_network('100.64.0.0/10')],
               6: [ipaddress.ip_network('fc00::/7')]}
    script = ufw_domains.table_script(DOMAINS, 600, 0x1000000, exclude)
    assert ('\tset answer_guard_v4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n'
            '\t\telements = { 10.0.0.0/8, 100.64.0.0/10 }\n\t}\n') in script
    assert ('\tset answer_guard_v6 {\n\t\ttype ipv6_addr\n\t\tflags interval\n'
            '\t\telements = { fc00::/7 }\n\t}\n') in script
    # the guard is checked before the timeout is refreshed and before the mark is set
    assert ('\t\tip daddr @domains_core_v4 ip daddr != @answer_guard_v4 tcp dport 443 ct state '
            'new update @domains_core_v4 { ip daddr } meta mark set meta mark | 0x1000000 '
            'comment "domains core"\n') in script
    assert ('\t\tip6 daddr @domains_core_v6 ip6 daddr != @answer_guard_v6 tcp dport 443 ct '
            'state new update') in script


class _Module(object):
    params = {}

    @staticmethod
    def get_bin_path(name, required=False, opt_dirs=None):
        return '/usr/sbin/' + name


class _NoResolverChange(object):
    changed = False


def _plan(live_after, live_before, runtime, runtime_old, present=True):
    domains = ufw_domains.UfwDomains(_Module(), active=True, ipv6=False)
    domains.resolver.plan = lambda desired, live: _NoResolverChange()
    params = dict(state='present', domains=[{'category': 'core', 'names': ['8x8.vc'],
                                             'rules': [{'protocol': 'tcp', 'ports': '443'}]}]
                  if present else [],
                  domain_ttl=600, domain_mark=ufw_domains.DEFAULT_MARK, dns_upstreams=['198.18.8.53'],
                  domain_answer_exclude=None)
    desired = domains.desired(params)
    live = {'script': desired['script'], 'table': True, 'after': {4: live_after},
            'before': {4: live_before}, 'runtime': {4: runtime}, 'runtime_old': {4: runtime_old},
            'resolver': None}
    return domains.plan(desired, live)


def test_an_earlier_releases_accept_moves_from_before_to_after_rules():
    changed, steps, _resolver = _plan(AFTER_RULES, OLD_BEFORE, runtime=False, runtime_old=True)
    assert changed
    assert ('before', 4, BEFORE_CLEAN) in steps                     # file cleaned
    assert ('runtime-old', 4, False) in steps                       # kernel rule deleted
    assert ('after', 4, ufw_domains.with_block(AFTER_RULES, 4, ufw_domains.DEFAULT_MARK)) in steps
    assert ('runtime', 4, True) in steps


def test_converged_after_rules_change_nothing():
    after = ufw_domains.with_block(AFTER_RULES, 4, ufw_domains.DEFAULT_MARK)
    changed, steps, _resolver = _plan(after, BEFORE_CLEAN, runtime=True, runtime_old=False)
    assert (changed, steps) == (False, [])


def test_the_default_guard_is_in_the_marking_table():
    domains = ufw_domains.UfwDomains(_Module(), active=True, ipv6=True)
    desired = domains.desired(dict(
        state='present', domains=[{'category': 'core', 'names': ['8x8.vc'],
                                   'rules': [{'protocol': 'tcp', 'ports': '443'}]}],
        domain_ttl=600, domain_mark=ufw_domains.DEFAULT_MARK, dns_upstreams=['198.18.8.53'],
        domain_answer_exclude=None))
    assert 'ip daddr @domains_core_v4 ip daddr != @answer_guard_v4 tcp dport 443' in desired['script']
    assert '10.0.0.0/8' in desired['script'] and 'fc00::/7' in desired['script']
