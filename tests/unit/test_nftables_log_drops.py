# -*- coding: utf-8 -*-
"""nftables drop logging (jaas_firewall_log_drops / log_drops): each chain of ours that drops
or rejects gets, last (before the final reject), one rate-limited log rule with the tag
``jaas-drop in|out|fwd `` that drop_report reads; accepting chains get none; false leaves
none. Expectations are the hand-written rule below (issue 22: rate-limited, a tag no other
rule uses, inbound, outbound and forward); what real nft 1.0.6 / 1.1.3 list back for it
(tests/golden/nftables_gateway_log_drops_live_<version>.json, `make golden-nftables-live`)
must read back as converged.
"""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.jaas.firewall.plugins.module_utils import nftables_plan as nft
from ansible_collections.jaas.firewall.plugins.module_utils import drop_log

from canned.golden import GOLDEN, check_golden
from canned.nftables import LIVE_VERSIONS
from ansible_collections.jaas.firewall.plugins.module_utils.answer_guard import normalise_exclude
from ansible_collections.jaas.firewall.plugins.module_utils.domain_sets import normalise_domains

from canned.nftables import LAN_WAN, gateway_model

REJECT = 'reject with icmpx type admin-prohibited comment "default reject"'


def log(direction):
    return ('limit rate 10/second burst 20 packets log prefix "jaas-drop %s " level info '
            'comment "log drops"' % direction)


def logged(**changes):
    return nft.with_drop_logging(gateway_model(**changes), True)


def test_each_dropping_chain_logs_last_before_its_reject():
    model = logged()          # fixture: input drop, output reject, forward reject
    assert model['chains']['input']['rules'][-1] == log('in')
    assert model['chains']['output']['rules'][-2:] == [log('out'), REJECT]
    assert model['chains']['forward']['rules'][-2:] == [log('fwd'), REJECT]
    # nothing else changes
    plain = gateway_model()
    for name, chain in model['chains'].items():
        assert [r for r in chain['rules'] if 'jaas-drop' not in r] == plain['chains'][name]['rules']


def test_accepting_chains_log_nothing():
    model = logged(default_incoming='accept', default_outgoing='accept', default_forward='accept')
    assert not any('log' in rule for chain in model['chains'].values() for rule in chain['rules'])


def test_false_logs_nothing_and_turning_it_off_removes_only_the_log_rules():
    assert nft.with_drop_logging(gateway_model(), False) == gateway_model()
    added, removed = nft.table_changes(gateway_model(), logged(), 'jaas')
    assert added == []
    assert sorted(removed) == sorted(['rule input: ' + log('in'), 'rule output: ' + log('out'),
                                      'rule forward: ' + log('fwd')])


def test_the_log_rule_comes_after_the_domain_accepts():
    domains = normalise_domains([{'category': 'core', 'names': ['meet.example'],
                                  'rules': [{'protocol': 'tcp', 'ports': '443'}]}])
    model = nft.with_domains(gateway_model(), domains, 3600, normalise_exclude(None),
                                          LAN_WAN)
    model = nft.with_drop_logging(model, True)
    rules = model['chains']['output']['rules']
    assert rules[-2:] == [log('out'), REJECT]
    assert any('@domains_core_v4' in r for r in rules[:-2])
    forward = model['chains']['forward']['rules']
    assert forward[-2:] == [log('fwd'), REJECT]
    assert any('@domains_core_v4' in r for r in forward[:-2])
    assert model['chains']['input']['rules'][-1] == log('in')
    assert any('gateway dns' in r for r in model['chains']['input']['rules'])


def test_prefixes_are_what_the_drop_report_reads():
    line = ('[17711.024481] %s IN= OUT=eth0 SRC=198.18.56.2 DST=198.18.57.9 LEN=60 PROTO=TCP '
            'SPT=40000 DPT=443')
    for direction in ('in', 'out', 'fwd'):
        prefix = log(direction).split('prefix "')[1].split('"')[0]
        parsed = drop_log.parse(line % prefix.rstrip())
        assert (parsed['tag'], parsed['direction']) == ('jaas', direction)


def test_golden_script():
    check_golden('nftables_gateway_log_drops.nft', nft.script(logged(), 'jaas'))


@pytest.mark.parametrize('version', LIVE_VERSIONS)
def test_real_listing_with_logging_is_converged(version):
    with open(os.path.join(GOLDEN, 'nftables_gateway_log_drops_live_%s.json' % version)) as handle:
        live = nft.live_model(json.load(handle), 'jaas')
    assert live['foreign'] == []
    assert live == logged()
    assert nft.table_changes(logged(), live, 'jaas') == ([], [])
