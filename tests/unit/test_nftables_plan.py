# -*- coding: utf-8 -*-
"""Pure logic of the nftables backend: desired table, script, live listing, changes.

Expectations are written by hand (the table below) or pinned by golden files; the live
listings are what real nft 1.0.6 (Debian 12) and 1.1.3 (Debian 13) printed for the fixture
(tests/golden/nftables_capture.py). Regenerate the golden script with ``make golden``.
"""

from __future__ import annotations

import copy
import json
import os

import pytest

from ansible_collections.jaas.firewall.plugins.module_utils import nftables_plan as nft
from ansible_collections.jaas.firewall.plugins.module_utils.converge import PlanError
from canned.golden import GOLDEN, check_golden  # noqa: F401
from canned.nftables import (  # noqa: F401 (fixtures)
    LIVE_VERSIONS, fixture_model)


with open(os.path.join(GOLDEN, 'nftables_fixture.json')) as _handle:
    FIXTURE = json.load(_handle)


def live_listing(version):
    with open(os.path.join(GOLDEN, 'nftables_live_%s.json' % version)) as handle:
        return json.load(handle)


def rule(block, network, protocol='tcp', ports='443', direction='out'):
    family = 6 if ':' in network else 4
    return {'direction': direction, 'family': family, 'network': network, 'protocol': protocol,
            'ports': ports, 'block': block, 'region': None}


# ------------------------------------------------------------------ the hand-written table
ESTABLISHED = 'ct state established,related accept comment "established"'
EXPECTED_SETS = {
    'v4_cloudflare': {'type': 'ipv4_addr', 'flags': ['interval'], 'elements': ['198.18.2.200/29']},
    'v6_cloudflare': {'type': 'ipv6_addr', 'flags': ['interval'],
                      'elements': ['2001:2:0:2:ffff::/80']},
    # two adjacent /27 are one interval
    'v4_jvb': {'type': 'ipv4_addr', 'flags': ['interval'], 'elements': ['198.18.2.128/26']},
    'v6_jvb': {'type': 'ipv6_addr', 'flags': ['interval'], 'elements': ['2001:2:0:2::100/128']},
    # .100 and .101 are one aligned /31
    'v4_turn': {'type': 'ipv4_addr', 'flags': ['interval'],
                'elements': ['198.18.2.100/31', '198.18.2.102/32']},
    'v4_webhook_origins': {'type': 'ipv4_addr', 'flags': ['interval'],
                           'elements': ['198.18.2.99/32', '198.18.2.100/32']},
}
EXPECTED_INPUT = [
    ESTABLISHED,
    'iif "lo" accept comment "loopback"',
    'icmpv6 type { nd-neighbor-advert, nd-neighbor-solicit, nd-router-advert } accept '
    'comment "neighbour discovery"',
    'tcp dport 2222 accept comment "ansible connection"',
    'tcp dport 9000 accept comment "keep_open"',
    'ip saddr @v4_webhook_origins tcp dport 8443 accept comment "webhook_origins"',
]
EXPECTED_OUTPUT = [
    ESTABLISHED,
    'oif "lo" accept comment "loopback"',
    'icmpv6 type { nd-neighbor-advert, nd-neighbor-solicit, nd-router-solicit } accept '
    'comment "neighbour discovery"',
    'udp dport 53 accept comment "keep_open"',
    'tcp dport 53 accept comment "keep_open"',
    'ip daddr 198.18.2.100 tcp dport 80 accept comment "keep_open"',
    'ip6 daddr 2001:2:0:2::/64 tcp dport 3128-3130 accept comment "keep_open"',
    'ip daddr @v4_cloudflare meta l4proto tcp accept comment "cloudflare"',
    'ip daddr @v4_cloudflare meta l4proto udp accept comment "cloudflare"',
    'ip6 daddr @v6_cloudflare meta l4proto tcp accept comment "cloudflare"',
    'ip6 daddr @v6_cloudflare meta l4proto udp accept comment "cloudflare"',
    'ip daddr @v4_jvb tcp dport 443 accept comment "jvb"',
    'ip daddr @v4_jvb udp dport 10000 accept comment "jvb"',
    'ip6 daddr @v6_jvb tcp dport 443 accept comment "jvb"',
    'ip6 daddr @v6_jvb udp dport 10000 accept comment "jvb"',
    'ip daddr @v4_turn tcp dport 443 accept comment "turn"',
    'ip daddr @v4_turn udp dport 443 accept comment "turn"',
    'ip daddr @v4_turn udp dport 49152-65535 accept comment "turn"',
    'reject with icmpx type admin-prohibited comment "default reject"',
]


def test_desired_table_matches_the_hand_written_one():
    model = fixture_model()
    assert model['sets'] == EXPECTED_SETS
    assert model['chains'] == {
        'input': {'type': 'filter', 'hook': 'input', 'prio': 0, 'policy': 'drop',
                  'rules': EXPECTED_INPUT},
        'output': {'type': 'filter', 'hook': 'output', 'prio': 0, 'policy': 'drop',
                   'rules': EXPECTED_OUTPUT},
    }
    assert model['flags'] == [] and model['foreign'] == []


def test_accepting_chains_get_no_safety_rules():
    model = fixture_model(default_incoming='accept', default_outgoing='accept')
    assert model['chains']['input']['rules'] == [
        'ip saddr @v4_webhook_origins tcp dport 8443 accept comment "webhook_origins"']
    assert model['chains']['output']['rules'] == EXPECTED_OUTPUT[7:-1]
    assert {c['policy'] for c in model['chains'].values()} == {'accept'}


def test_drop_has_no_final_reject_and_only_restricted_chains_get_safety():
    model = fixture_model(default_incoming='accept', default_outgoing='drop')
    assert model['chains']['output']['rules'] == EXPECTED_OUTPUT[:-1]
    assert model['chains']['input']['rules'][0].startswith('ip saddr @v4_webhook_origins')


def test_rule_count_does_not_grow_with_the_catalog():
    small = nft.desired_model([rule('turn', '198.18.0.1/32', p, ports)
                               for p, ports in (('tcp', '443'), ('udp', '49152-65535'))])
    big = nft.desired_model([rule('turn', '198.18.%d.%d/32' % (i // 200, 2 * (i % 100) + 1), p, ports)
                             for i in range(1000)
                             for p, ports in (('tcp', '443'), ('udp', '49152-65535'))])
    count = (lambda m: sum(len(c['rules']) for c in m['chains'].values()))
    assert count(small) == count(big) == 2
    assert len(big['sets']['v4_turn']['elements']) == 500   # 1000 networks, every other /32 unique


# ------------------------------------------------------------------ refusals
@pytest.mark.parametrize('table', ['', 'Jaas', '1abc', 'ja-as', 'jaas\n', 'a' * 33, None])
def test_bad_table_name(table):
    with pytest.raises(PlanError, match='table name'):
        nft.check_table(table)


@pytest.mark.parametrize('bad, field', [
    (dict(network='198.18.0.1/24'), 'network'),
    (dict(network='2001:2::1/128'), 'network'),
    (dict(ports='0'), 'ports'),
    (dict(ports='443-80'), 'ports'),
    (dict(ports='443\n'), 'ports'),
    (dict(protocol='sctp'), 'protocol'),
    (dict(direction='both'), 'direction'),
    (dict(block='Turn'), 'block'),
    (dict(block='turn\n'), 'block'),
    (dict(family=5), 'family'),
])
def test_bad_rule_names_the_entry_and_field(bad, field):
    """Refused by the rule model, located at the rule and key (one line)."""
    entry = dict(rule('turn', '198.18.0.1/32'), **bad)
    with pytest.raises(PlanError) as caught:
        nft.desired_model([rule('turn', '198.18.0.2/32'), entry])
    assert str(caught.value).startswith('rules[1].%s: ' % field)
    assert '\n' not in str(caught.value)


def test_mixed_services_in_one_block_refused():
    rules = [rule('jvb', '198.18.0.0/25', 'tcp', '443'), rule('jvb', '198.18.0.0/25', 'udp', '10000'),
             rule('jvb', '198.18.1.0/25', 'tcp', '443')]
    with pytest.raises(PlanError, match='widen'):
        nft.desired_model(rules)


def test_block_in_both_directions_refused():
    with pytest.raises(PlanError, match='both directions'):
        nft.desired_model([rule('turn', '198.18.0.1/32'), rule('turn', '198.18.0.2/32', direction='in')])


def test_bad_policy_refused():
    with pytest.raises(PlanError, match='default_outgoing'):
        nft.desired_model([], default_outgoing='deny')


# ------------------------------------------------------------------ script (golden)
def test_golden_script():
    check_golden('nftables_fixture.nft', nft.script(fixture_model(), 'jaas'))


def test_script_replaces_only_our_table_in_one_file():
    text = nft.script(fixture_model(), 'vend')
    lines = text.splitlines()
    assert lines[:3] == ['table inet vend {}', 'delete table inet vend', 'table inet vend {']
    assert 'flush' not in text
    assert [line for line in lines if line.startswith('table ') or line.startswith('delete ')] == \
        lines[:3]


def test_absent_script_only_deletes():
    assert nft.script(None, 'jaas') == 'table inet jaas {}\ndelete table inet jaas\n'


# ------------------------------------------------------------------ live listings of real nft
@pytest.mark.parametrize('version', LIVE_VERSIONS)
def test_real_listing_of_the_fixture_is_converged(version):
    live = nft.live_model(live_listing(version), 'jaas')
    assert live == fixture_model()
    assert nft.table_changes(fixture_model(), live, 'jaas') == ([], [])


def _listing_without_element(version, set_name, element):
    listing = copy.deepcopy(live_listing(version))
    for item in listing['nftables']:
        if 'set' in item and item['set']['name'] == set_name:
            item['set']['elem'] = [e for e in item['set']['elem'] if e != element]
    return listing


@pytest.mark.parametrize('version', LIVE_VERSIONS)
def test_missing_element_is_the_only_change(version):
    listing = _listing_without_element(version, 'v4_turn', '198.18.2.102')
    live = nft.live_model(listing, 'jaas')
    assert nft.table_changes(fixture_model(), live, 'jaas') == (
        ['element v4_turn 198.18.2.102/32'], [])


@pytest.mark.parametrize('version', LIVE_VERSIONS)
def test_stale_element_is_removed(version):
    live = nft.live_model(live_listing(version), 'jaas')
    rules = [r for r in FIXTURE['rules'] if r['network'] != '198.18.2.200/29']
    rules.append(dict(FIXTURE['rules'][0], network='198.18.2.208/29'))
    rules.append(dict(FIXTURE['rules'][1], network='198.18.2.208/29'))
    desired = fixture_model(rules=rules)
    assert nft.table_changes(desired, live, 'jaas') == (
        ['element v4_cloudflare 198.18.2.208/29'], ['element v4_cloudflare 198.18.2.200/29'])


@pytest.mark.parametrize('version', LIVE_VERSIONS)
def test_someone_elses_rule_in_our_table_is_a_change(version):
    listing = copy.deepcopy(live_listing(version))
    listing['nftables'].append({'rule': {
        'family': 'inet', 'table': 'jaas', 'chain': 'output', 'handle': 99,
        'expr': [{'counter': {'packets': 0, 'bytes': 0}}, {'drop': None}]}})
    live = nft.live_model(listing, 'jaas')
    added, removed = nft.table_changes(fixture_model(), live, 'jaas')
    assert added == [] and len(removed) == 1 and removed[0].startswith('rule output: ?')


def test_object_of_an_unknown_kind_is_foreign():
    listing = {'nftables': [
        {'table': {'family': 'inet', 'name': 'jaas', 'handle': 1}},
        {'map': {'family': 'inet', 'table': 'jaas', 'name': 'ports', 'type': 'inet_service'}},
        {'set': {'family': 'inet', 'table': 'jaas', 'name': 'v4_x', 'type': 'ipv4_addr',
                 'flags': ['interval', 'timeout'], 'timeout': 60,
                 'elem': [{'elem': {'val': '198.18.0.1', 'timeout': 60}},
                          {'range': ['198.18.1.0', '198.18.1.255']}]}},
    ]}
    live = nft.live_model(listing, 'jaas')
    assert live['foreign'] == ['map ports', 'set v4_x has timeout']
    assert live['sets']['v4_x']['elements'] == ['198.18.0.1/32', '198.18.1.0/24']


def test_changed_policy_and_created_table():
    desired = fixture_model()
    added, removed = nft.table_changes(desired, None, 'jaas')
    assert added[0] == 'table inet jaas' and removed == []
    assert 'element v4_turn 198.18.2.102/32' in added
    assert 'rule output: %s' % EXPECTED_OUTPUT[-1] in added
    relaxed = fixture_model(default_outgoing='drop')
    added, removed = nft.table_changes(relaxed, desired, 'jaas')
    assert (added, removed) == ([], ['rule output: %s' % EXPECTED_OUTPUT[-1]])
    added, removed = nft.table_changes(None, desired, 'jaas')
    assert added == [] and removed[0] == 'table inet jaas'


def test_reordered_rules_are_a_change():
    desired = fixture_model()
    live = copy.deepcopy(desired)
    live['chains']['output']['rules'].reverse()
    assert nft.table_changes(desired, live, 'jaas') == (['rule order in chain output'], [])


# ------------------------------------------------------------------ persistence
CONF = '#!/usr/sbin/nft -f\n\nflush ruleset\n\ntable inet filter {\n}\n'
OURS = '/etc/nftables.d/jaas.nft'


def test_include_is_added_once_and_removed_exactly():
    once = nft.with_include(CONF, OURS, 'jaas')
    assert once == CONF + 'include "/etc/nftables.d/jaas.nft"  # jaas.firewall: table inet jaas\n'
    assert nft.with_include(once, OURS, 'jaas') == once
    assert nft.without_include(once, OURS) == CONF
    # no trailing newline in the user's file: ours goes on a line of its own
    assert nft.with_include('flush ruleset', OURS, 'jaas').splitlines()[0] == 'flush ruleset'


def test_only_our_include_line_is_ours():
    user = CONF + '# include "/etc/nftables.d/jaas.nft"\ninclude "/etc/nftables.d/jaas.nft.bak"\n' \
        'include "/etc/nftables.d/*.nft"\n'
    assert nft.without_include(user, OURS) == user
    assert nft.with_include(user, OURS, 'jaas').startswith(user)
    hand_written = user + '   include "/etc/nftables.d/jaas.nft"   # mine\n'
    assert nft.with_include(hand_written, OURS, 'jaas') == hand_written
    assert nft.without_include(hand_written, OURS) == user


@pytest.mark.parametrize('want, have, actions', [
    ({'file': 'x', 'include': True, 'enable': True},
     {'file': None, 'include': False, 'enabled': 'disabled'}, ['write', 'include', 'enable']),
    ({'file': 'x', 'include': True, 'enable': True},
     {'file': 'x', 'include': True, 'enabled': 'enabled'}, []),
    ({'file': 'y', 'include': True, 'enable': True},
     {'file': 'x', 'include': True, 'enabled': 'enabled'}, ['write']),
    ({'file': 'x', 'include': True, 'enable': True},
     {'file': 'x', 'include': True, 'enabled': 'masked'}, []),
    ({'file': None, 'include': False, 'enable': False},
     {'file': 'x', 'include': True, 'enabled': 'enabled'}, ['uninclude', 'delete']),
    ({'file': None, 'include': False, 'enable': False},
     {'file': None, 'include': False, 'enabled': 'disabled'}, []),
])
def test_persist_actions(want, have, actions):
    assert nft.persist_actions(want, have) == actions


def test_saved_file_is_the_script_with_a_header():
    text = nft.persisted_file(fixture_model(), 'jaas', '/etc/nftables.conf')
    header, _sep, body = text.partition('table inet jaas {}\n')
    assert all(line.startswith('#') for line in header.splitlines())
    assert 'table inet jaas {}\n' + body == nft.script(fixture_model(), 'jaas')


# ------------------------------------------------------------------ reported address space
@pytest.mark.parametrize('elements, minus, expected', [
    (['198.18.2.98/31', '198.18.2.100/32'], ['198.18.2.99/32', '198.18.2.100/32'], ['198.18.2.98/32']),
    (['10.0.0.0/14'], ['10.1.0.0/16', '10.3.0.0/16'], ['10.0.0.0/16', '10.2.0.0/16']),
    (['10.0.0.0/24', '2001:2::/63'], ['10.0.0.0/25', '2001:2::/64'], ['10.0.0.128/25', '2001:2:0:1::/64']),
    ([], ['10.0.0.0/8'], []),
    (['10.0.0.0/8'], [], ['10.0.0.0/8']),
    (['10.0.0.0/8'], ['10.0.0.0/8'], []),
    (['10.0.0.0/25'], ['10.0.0.0/24'], []),
])
def test_space_difference(elements, minus, expected):
    assert nft.space_difference(elements, minus) == expected


# Which file nftables.service loads (Debian's unit: /etc/nftables.conf; Red Hat's unit:
# /etc/sysconfig/nftables.conf): hand-written cases of which files exist on the host.
@pytest.mark.parametrize('present, expected', [
    ((), '/etc/nftables.conf'),
    (('/etc/nftables.conf',), '/etc/nftables.conf'),
    (('/etc/sysconfig/nftables.conf',), '/etc/sysconfig/nftables.conf'),
    (('/etc/nftables.conf', '/etc/sysconfig/nftables.conf'), '/etc/nftables.conf'),
])
def test_default_persist_config_follows_the_distribution(present, expected):
    from ansible_collections.jaas.firewall.plugins.module_utils.nftables_backend import (
        default_persist_config)
    assert default_persist_config(exists=lambda path: path in present) == expected
