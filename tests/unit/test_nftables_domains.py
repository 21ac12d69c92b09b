# -*- coding: utf-8 -*-
"""The domain half of the nftables backend at unit speed: the sets and rules it writes
(against a hand-written table), what real nft 1.0.6 and 1.1.3 print for them
(tests/golden/nftables_domains_live_*.json, captured by nftables_domains_capture.py) read
back as converged, and the resolver's addresses carried into a replacement table.
Containers prove the behaviour (extensions/molecule/domains).
"""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.jaas.firewall.plugins.module_utils import nftables_plan as nft
from ansible_collections.jaas.firewall.plugins.module_utils import answer_guard
from ansible_collections.jaas.firewall.plugins.module_utils.domain_sets import normalise_domains

GOLDEN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'golden')
VERSIONS = ('1.0.6', '1.1.3')


def _load(name):
    with open(os.path.join(GOLDEN, name)) as handle:
        return json.load(handle)


BASE = _load('nftables_fixture.json')
FIXTURE = _load('nftables_domains_fixture.json')
DOMAINS = normalise_domains(FIXTURE['domains'])

# Written out by hand from the fixture: the domain half of the output chain. The answer
# guard is matched right after the domain set, before the timeout is refreshed.
DOMAIN_RULES = [
    'ip daddr @domains_core_v4 ip daddr != @answer_guard_v4 tcp dport 443 '
    'update @domains_core_v4 { ip daddr } accept comment "domains core"',
    'ip6 daddr @domains_core_v6 ip6 daddr != @answer_guard_v6 tcp dport 443 '
    'update @domains_core_v6 { ip6 daddr } accept comment "domains core"',
    'ip daddr @domains_aux_v4 ip daddr != @answer_guard_v4 tcp dport 443 '
    'update @domains_aux_v4 { ip daddr } accept comment "domains aux"',
    'ip daddr @domains_aux_v4 ip daddr != @answer_guard_v4 udp dport 3478-3479 '
    'update @domains_aux_v4 { ip daddr } accept comment "domains aux"',
]
GUARD = answer_guard.default_exclude()
DOMAIN_SETS = {
    'domains_core_v4': ('ipv4_addr', 600),
    'domains_core_v6': ('ipv6_addr', 600),
    'domains_aux_v4': ('ipv4_addr', 600),
}


def desired():
    model = nft.desired_model(BASE['rules'], BASE['keep_open'], BASE['connection_ports'],
                              BASE['default_incoming'], BASE['default_outgoing'])
    return nft.with_domains(model, DOMAINS, FIXTURE['domain_ttl'], GUARD)


def test_sets_and_rules_match_the_hand_written_table():
    model = desired()
    timed = dict((name, (item['type'], item['timeout'])) for name, item in model['sets'].items()
                 if item.get('timeout'))
    assert timed == DOMAIN_SETS
    assert all(model['sets'][name]['flags'] == ['dynamic', 'timeout'] for name in DOMAIN_SETS)
    output = model['chains']['output']['rules']
    # after the catalog's rules, before the final reject
    assert output[-1].startswith(nft.REJECT)
    assert output[-1 - len(DOMAIN_RULES):-1] == DOMAIN_RULES
    assert model['sets']['answer_guard_v4']['flags'] == ['interval']
    assert '10.0.0.0/8' in model['sets']['answer_guard_v4']['elements']
    assert 'fc00::/7' in model['sets']['answer_guard_v6']['elements']


def test_no_guard_given_no_guard_written():
    model = nft.with_domains(nft.desired_model(BASE['rules']), DOMAINS, 600, None)
    assert not [name for name in model['sets'] if name.startswith('answer_guard')]
    assert not [rule for rule in model['chains']['output']['rules'] if 'answer_guard' in rule]


def test_without_domains_the_table_is_unchanged():
    model = nft.desired_model(BASE['rules'], BASE['keep_open'], BASE['connection_ports'],
                              BASE['default_incoming'], BASE['default_outgoing'])
    again = nft.desired_model(BASE['rules'], BASE['keep_open'], BASE['connection_ports'],
                              BASE['default_incoming'], BASE['default_outgoing'])
    assert nft.with_domains(again, [], 600) == model


def test_accepting_output_chain_gets_the_rules_at_the_end():
    model = nft.with_domains(nft.desired_model(BASE['rules']), DOMAINS, 600, GUARD)
    assert model['chains']['output']['rules'][-len(DOMAIN_RULES):] == DOMAIN_RULES


def test_rendered_sets_declare_flags_and_timeout():
    text = nft.render_table(desired(), 'jaas')
    assert ('\tset domains_core_v4 {\n\t\ttype ipv4_addr\n\t\tflags dynamic,timeout\n'
            '\t\ttimeout 600s\n\t}\n') in text


@pytest.mark.parametrize('version', VERSIONS)
def test_real_listing_with_resolver_addresses_is_converged(version):
    dynamic = {}
    live = nft.live_model(_load('nftables_domains_live_%s.json' % version), 'jaas', dynamic)
    assert live == desired()
    assert live['foreign'] == []
    addresses = dict((name, [address for address, _left in elements])
                     for name, elements in dynamic.items())
    assert addresses == FIXTURE['resolver_answers']
    # seconds left, as nft printed them: just under the timeout
    assert all(0 < left <= FIXTURE['domain_ttl'] for elements in dynamic.values()
               for _address, left in elements)


@pytest.mark.parametrize('version', VERSIONS)
def test_changed_ttl_replaces_the_table_and_carries_the_addresses(version):
    dynamic = {}
    live = nft.live_model(_load('nftables_domains_live_%s.json' % version), 'jaas', dynamic)
    want = nft.with_domains(nft.desired_model(
        BASE['rules'], BASE['keep_open'], BASE['connection_ports'], BASE['default_incoming'],
        BASE['default_outgoing']), DOMAINS, 120, GUARD)
    added, removed = nft.table_changes(want, live, 'jaas')
    assert 'set domains_core_v4 (ipv4_addr, dynamic, timeout, timeout 120s)' in added
    assert 'set domains_core_v4 (ipv4_addr, dynamic, timeout, timeout 600s)' in removed
    carried = nft.carried_elements(want['sets'], live['sets'], dynamic)
    # never longer than the new timeout
    assert carried['domains_core_v4'] == ['198.18.8.100 timeout 120s expires 120s',
                                          '198.18.8.102 timeout 120s expires 120s']
    text = nft.script(want, 'jaas', carried)
    assert '\t\t\t2001:2:0:8::100 timeout 120s expires 120s,\n' in text
    # the saved copy never holds the resolver's addresses
    assert '198.18.8.100' not in nft.persisted_file(want, 'jaas', '/etc/nftables.conf')


def test_a_category_dropped_drops_its_addresses():
    live_sets = desired()['sets']
    fewer = normalise_domains(FIXTURE['domains'][:1])
    want = nft.with_domains(nft.desired_model(BASE['rules']), fewer, 600, GUARD)
    dynamic = {'domains_aux_v4': [('198.18.8.104', 500)],
               'domains_core_v4': [('198.18.8.100', 500), ('198.18.8.101', 0)]}
    carried = nft.carried_elements(want['sets'], live_sets, dynamic)
    # aux is gone; an address with under a second left is left to expire
    assert carried == {'domains_core_v4': ['198.18.8.100 timeout 600s expires 500s']}


def test_someone_elses_timed_set_shape_is_not_ours():
    listing = {'nftables': [
        {'table': {'family': 'inet', 'name': 'jaas'}},
        {'set': {'family': 'inet', 'table': 'jaas', 'name': 'domains_core_v4',
                 'type': 'ipv4_addr', 'flags': ['timeout'], 'timeout': 600, 'size': 1024,
                 'elem': [{'elem': {'val': '198.18.8.100', 'expires': 10}}]}},
    ]}
    live = nft.live_model(listing, 'jaas')
    assert live['foreign'] == ['set domains_core_v4 has size']


def test_update_statement_reads_back_as_written():
    rule = {'expr': [
        {'match': {'op': '==', 'left': {'payload': {'protocol': 'ip6', 'field': 'daddr'}},
                   'right': '@domains_core_v6'}},
        {'match': {'op': '!=', 'left': {'payload': {'protocol': 'ip6', 'field': 'daddr'}},
                   'right': '@answer_guard_v6'}},
        {'match': {'op': '==', 'left': {'payload': {'protocol': 'tcp', 'field': 'dport'}},
                   'right': 443}},
        {'set': {'op': 'update', 'elem': {'payload': {'protocol': 'ip6', 'field': 'daddr'}},
                 'set': '@domains_core_v6'}},
        {'accept': None}], 'comment': 'domains core'}
    assert nft.rule_text(rule) == DOMAIN_RULES[1]
