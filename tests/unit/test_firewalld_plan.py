# -*- coding: utf-8 -*-
"""Pure logic of jaas.firewall.firewalld_rules: naming, grouping, rich rules, diffing.

Expectations are written by hand, never computed with the code under test.
"""

from __future__ import annotations

import re

import pytest

from ansible_collections.jaas.firewall.plugins.module_utils import firewalld_plan as plan
from canned.firewalld import (  # noqa: F401 (fixtures)
    rule, TURN, CLOUDFLARE, WEBHOOK)


def live(ipsets=None, policies=None):
    return {'ipsets': ipsets or {}, 'policies': policies or {}}


# ------------------------------------------------------------------ naming
def test_names():
    assert plan.ipset_name('jaas', 'turn', 4) == 'jaas-turn-v4'
    assert plan.ipset_name('jaas', 'webhook_origins', 6) == 'jaas-webhook_origins-v6'
    assert plan.egress_policy_name('jaas') == 'jaas-egress'
    assert plan.ingress_policy_name('vend') == 'vend-ingress'


def test_ownership_needs_the_dash():
    assert plan.owns('jaas', 'jaas-turn-v4')
    assert not plan.owns('jaas', 'jaasx-admins')
    assert not plan.owns('jaas', 'user-admins')
    assert not plan.owns('jaas', 'jaas')


@pytest.mark.parametrize('prefix', ['', 'Jaas', '1abc', 'toolongpx', 'ja-as', None])
def test_bad_prefix(prefix):
    with pytest.raises(plan.PlanError, match='prefix'):
        plan.desired_state([], prefix=prefix)


def test_ipset_name_too_long():
    with pytest.raises(plan.PlanError, match='longer than 19 characters'):
        plan.desired_state([rule('a_very_long_block_name_indeed_x', '198.18.0.1/32')])


# ------------------------------------------------------------------ rich rules
def test_rich_rule_spelling():
    assert plan.rich_rule('out', 'udp', '49152-65535', family=4, ipset='jaas-turn-v4') == \
        'rule family="ipv4" destination ipset="jaas-turn-v4" port port="49152-65535" protocol="udp" accept'
    assert plan.rich_rule('out', 'tcp', None, family=6, ipset='jaas-cloudflare-v6') == \
        'rule family="ipv6" destination ipset="jaas-cloudflare-v6" protocol value="tcp" accept'
    assert plan.rich_rule('in', 'tcp', '8443', family=4, ipset='jaas-webhook_origins-v4') == \
        'rule family="ipv4" source ipset="jaas-webhook_origins-v4" port port="8443" protocol="tcp" accept'
    assert plan.rich_rule('out', 'udp', '53') == 'rule port port="53" protocol="udp" accept'


# ------------------------------------------------------------------ grouping
def test_one_set_per_block_and_family_one_rule_per_service():
    state = plan.desired_state(TURN + CLOUDFLARE + WEBHOOK)
    assert state['ipsets'] == {
        'jaas-turn-v4': {'type': 'hash:net', 'family': 'inet',
                         'entries': ['130.61.64.185/32', '140.238.95.196/32']},
        'jaas-cloudflare-v4': {'type': 'hash:net', 'family': 'inet', 'entries': ['173.245.48.0/20']},
        'jaas-cloudflare-v6': {'type': 'hash:net', 'family': 'inet6', 'entries': ['2400:cb00::/32']},
        'jaas-webhook_origins-v4': {'type': 'hash:net', 'family': 'inet',
                                    'entries': ['52.26.201.32/32']},
    }
    assert state['policies'] == {
        'jaas-egress': {
            'target': 'CONTINUE', 'ingress_zones': ['HOST'], 'egress_zones': ['ANY'],
            'rich_rules': sorted([
                'rule family="ipv4" destination ipset="jaas-cloudflare-v4" protocol value="tcp" accept',
                'rule family="ipv4" destination ipset="jaas-cloudflare-v4" protocol value="udp" accept',
                'rule family="ipv6" destination ipset="jaas-cloudflare-v6" protocol value="tcp" accept',
                'rule family="ipv6" destination ipset="jaas-cloudflare-v6" protocol value="udp" accept',
                'rule family="ipv4" destination ipset="jaas-turn-v4" port port="443" protocol="tcp" accept',
                'rule family="ipv4" destination ipset="jaas-turn-v4" port port="443" protocol="udp" accept',
                'rule family="ipv4" destination ipset="jaas-turn-v4" port port="49152-65535" protocol="udp" accept',
            ])},
        'jaas-ingress': {
            'target': 'CONTINUE', 'ingress_zones': ['ANY'], 'egress_zones': ['HOST'],
            'rich_rules': ['rule family="ipv4" source ipset="jaas-webhook_origins-v4" '
                           'port port="8443" protocol="tcp" accept']},
    }


def test_rule_count_does_not_grow_with_the_catalog():
    small = plan.desired_state(TURN)
    big = plan.desired_state([rule('turn', '198.18.%d.%d/32' % (i // 250, i % 250 + 1), p, ports)
                              for i in range(1000)
                              for p, ports in (('tcp', '443'), ('udp', '443'), ('udp', '49152-65535'))])
    assert len(big['ipsets']['jaas-turn-v4']['entries']) == 1000
    assert len(big['policies']['jaas-egress']['rich_rules']) == 3
    assert len(small['policies']['jaas-egress']['rich_rules']) == 3


def test_mixed_services_in_one_block_refused():
    rules = [rule('jvb', '198.18.0.0/25', 'tcp', '443'), rule('jvb', '198.18.0.0/25', 'udp', '10000'),
             rule('jvb', '198.18.1.0/25', 'tcp', '443')]
    with pytest.raises(plan.PlanError, match='widen'):
        plan.desired_state(rules)


def test_block_in_both_directions_refused():
    with pytest.raises(plan.PlanError, match='both directions'):
        plan.desired_state([rule('turn', '198.18.0.1/32'), rule('turn', '198.18.0.2/32', direction='in')])


def test_contained_networks_dropped_without_widening():
    state = plan.desired_state([rule('jvb', '198.18.0.0/24'), rule('jvb', '198.18.0.128/25'),
                                rule('jvb', '198.18.1.0/25'), rule('jvb', '198.18.1.128/25')])
    # adjacent /25s stay separate (never merged here); the contained /25 disappears
    assert state['ipsets']['jaas-jvb-v4']['entries'] == ['198.18.0.0/24', '198.18.1.0/25', '198.18.1.128/25']


@pytest.mark.parametrize('bad, message', [
    ({'network': '198.18.0.1/24'}, r'rules\[0\]\.network: .* has host bits set'),
    ({'network': '2001:2::/48'}, 'not IPv4'),
    ({'ports': '70000'}, 'out of range'),
    ({'ports': '443-80'}, 'reversed'),
    ({'direction': 'sideways'}, 'direction'),
])
def test_invalid_rules(bad, message):
    broken = dict(rule('turn', '198.18.0.1/32'), **bad)
    with pytest.raises(plan.PlanError, match=message):
        plan.desired_state([broken])


# A trailing newline must not slip through: the patterns used to end in $, which also
# matches before a final "\n".
@pytest.mark.parametrize('prefix', ['jaas\n', 'jaas\r\n', 'ja\nas'])
def test_prefix_with_newline_refused(prefix):
    with pytest.raises(plan.PlanError, match='prefix'):
        plan.desired_state([], prefix=prefix)


@pytest.mark.parametrize('block', ['turn\n', 'turn\nx'])
def test_block_with_newline_refused(block):
    with pytest.raises(plan.PlanError, match='block'):
        plan.desired_state([rule(block, '198.18.0.1/32')])


@pytest.mark.parametrize('ports', ['443\n', '49152-65535\n'])
def test_ports_with_newline_refused(ports):
    with pytest.raises(plan.PlanError, match='ports'):
        plan.desired_state([rule('turn', '198.18.0.1/32', ports=ports)])
    with pytest.raises(plan.PlanError, match=r'keep_open\[0\]'):
        plan.desired_state([], keep_open=[{'direction': 'out', 'protocol': 'tcp', 'port': ports}])


@pytest.mark.parametrize('entry, message', [
    # The injection found by tests/reliability: a quote closes the address attribute.
    ({'network': '198.18.0.0/15" invert="true'}, 'not a CIDR network'),
    ({'network': '198.18.0.0/15\n'}, 'not a CIDR network'),
    ({'network': '198.18.0.1/15'}, 'host bits'),
    ({'port': '22" log prefix="x'}, 'is not a port "N" or a port range "N-M"'),
    ({'port': '0'}, 'out of range'),
    ({'port': '2000-1000'}, 'reversed'),
    ({'protocol': 'icmp'}, "'icmp': expected tcp or udp"),
    ({'direction': None}, 'is required'),
])
def test_keep_open_hostile_or_bad_entries_refused(entry, message):
    good = {'direction': 'in', 'protocol': 'tcp', 'port': '22', 'network': '198.18.0.0/15'}
    with pytest.raises(plan.PlanError, match=r'keep_open\[1\]\.\w+: .*' + re.escape(message)):
        plan.desired_state([], keep_open=[good, dict(good, **entry)])


def test_keep_open_and_restricted_egress():
    state = plan.desired_state([], keep_open=[
        {'direction': 'out', 'protocol': 'udp', 'port': '53'},
        {'direction': 'out', 'protocol': 'tcp', 'port': '3128', 'network': '10.0.0.8/32'},
        {'direction': 'in', 'protocol': 'tcp', 'port': '2222'},
    ], egress_target='REJECT')
    assert state['ipsets'] == {}
    assert state['policies']['jaas-egress']['target'] == 'REJECT'
    assert state['policies']['jaas-egress']['rich_rules'] == sorted([
        'rule port port="53" protocol="udp" accept',
        'rule family="ipv4" destination address="10.0.0.8/32" port port="3128" protocol="tcp" accept',
        'rule family="ipv6" icmp-type name="neighbour-solicitation" accept',
        'rule family="ipv6" icmp-type name="neighbour-advertisement" accept',
        'rule family="ipv6" icmp-type name="router-solicitation" accept',
    ])
    assert state['policies']['jaas-ingress']['rich_rules'] == [
        'rule port port="2222" protocol="tcp" accept']


def test_no_rules_no_objects():
    assert plan.desired_state([]) == {'ipsets': {}, 'policies': {}}


# ------------------------------------------------------------------ diffing
EGRESS = {'target': 'CONTINUE', 'ingress_zones': ['HOST'], 'egress_zones': ['ANY'],
          'rich_rules': ['rule A', 'rule B']}


def test_diff_nothing_to_do_ignores_foreign_objects():
    desired = {'ipsets': {'jaas-turn-v4': {'type': 'hash:net', 'family': 'inet',
                                           'entries': ['198.18.0.1/32']}},
               'policies': {'jaas-egress': EGRESS}}
    current = live(
        ipsets={'jaas-turn-v4': {'type': 'hash:net', 'family': 'inet', 'entries': ['198.18.0.1']},
                'user-admins': {'type': 'hash:ip', 'family': 'inet', 'entries': ['10.0.0.1']},
                'jaasx-admins': {'type': 'hash:net', 'family': 'inet', 'entries': []}},
        policies={'jaas-egress': dict(EGRESS, rich_rules=['rule B', 'rule A']),
                  'user-in': dict(EGRESS, rich_rules=['rule X'])})
    changes = plan.diff_layer(desired, current, 'jaas')
    assert changes == {'ipsets': {}, 'policies': {}}
    assert not plan.has_changes(changes)


def test_diff_entries_and_rules():
    desired = {'ipsets': {'jaas-turn-v4': {'type': 'hash:net', 'family': 'inet',
                                           'entries': ['198.18.0.1/32', '198.18.0.3/32']}},
               'policies': {'jaas-egress': EGRESS}}
    current = live(
        ipsets={'jaas-turn-v4': {'type': 'hash:net', 'family': 'inet',
                                 'entries': ['198.18.0.1/32', '198.18.0.2/32']},
                'jaas-old-v4': {'type': 'hash:net', 'family': 'inet', 'entries': ['198.18.9.0/24']}},
        policies={'jaas-egress': dict(EGRESS, rich_rules=['rule A', 'rule stale'])})
    changes = plan.diff_layer(desired, current, 'jaas')
    assert changes == {
        'ipsets': {
            'jaas-turn-v4': {'action': 'update', 'added': ['198.18.0.3/32'], 'removed': ['198.18.0.2/32']},
            'jaas-old-v4': {'action': 'remove', 'added': [], 'removed': ['198.18.9.0/24']},
        },
        'policies': {'jaas-egress': {'action': 'update', 'added': ['rule B'], 'removed': ['rule stale']}},
    }
    # a removed set needs a reload; a pure entry/rule delta does not
    assert plan.needs_reload(changes)
    del changes['ipsets']['jaas-old-v4']
    assert not plan.needs_reload(changes)


def test_diff_create_replace_and_target():
    desired = {'ipsets': {'jaas-turn-v4': {'type': 'hash:net', 'family': 'inet', 'entries': ['198.18.0.1/32']},
                          'jaas-turn-v6': {'type': 'hash:net', 'family': 'inet6', 'entries': ['2001:2::1/128']}},
               'policies': {'jaas-egress': dict(EGRESS, target='REJECT')}}
    current = live(ipsets={'jaas-turn-v4': {'type': 'hash:ip', 'family': 'inet', 'entries': ['198.18.0.1']}},
                   policies={'jaas-egress': EGRESS})
    changes = plan.diff_layer(desired, current, 'jaas')
    assert changes['ipsets'] == {
        'jaas-turn-v4': {'action': 'replace', 'added': ['198.18.0.1/32'], 'removed': ['198.18.0.1/32']},
        'jaas-turn-v6': {'action': 'create', 'added': ['2001:2::1/128'], 'removed': []},
    }
    assert changes['policies'] == {'jaas-egress': {'action': 'update', 'added': [], 'removed': [],
                                                   'target': 'REJECT'}}
    assert plan.needs_reload({'ipsets': {}, 'policies': changes['policies']})


def test_absent_removes_only_owned():
    current = live(ipsets={'jaas-turn-v4': {'type': 'hash:net', 'family': 'inet', 'entries': []},
                           'user-admins': {'type': 'hash:ip', 'family': 'inet', 'entries': []}},
                   policies={'jaas-egress': EGRESS, 'user-in': EGRESS})
    changes = plan.diff_layer({'ipsets': {}, 'policies': {}}, current, 'jaas')
    assert sorted(changes['ipsets']) == ['jaas-turn-v4']
    assert sorted(changes['policies']) == ['jaas-egress']
    assert changes['policies']['jaas-egress']['action'] == 'remove'


def test_render_text_lists_only_owned_objects():
    text = plan.render_text(live(
        ipsets={'jaas-turn-v4': {'type': 'hash:net', 'family': 'inet',
                                 'entries': ['198.18.0.10/32', '198.18.0.9/32']},
                'user-admins': {'type': 'hash:ip', 'family': 'inet', 'entries': ['10.0.0.1']}},
        policies={'jaas-egress': EGRESS}), 'jaas')
    assert text == ('ipset jaas-turn-v4 (hash:net inet)\n'
                    '  198.18.0.9/32\n'
                    '  198.18.0.10/32\n'
                    'policy jaas-egress (HOST -> ANY, target CONTINUE)\n'
                    '  rule A\n'
                    '  rule B\n')
