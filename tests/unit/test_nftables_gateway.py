# -*- coding: utf-8 -*-
"""Gateway mode of the nftables backend: the forward chain of table inet jaas.

Expectations are written by hand below; the script is pinned by a golden file
(tests/golden/nftables_gateway.nft, `make golden`), and what real nft 1.0.6 / 1.1.3 list
for it (tests/golden/nftables_gateway_live_<version>.json, `make golden-nftables-live`)
must read back as converged.
"""

from __future__ import annotations

import copy
import json
import os

import pytest

from ansible_collections.jaas.firewall.plugins.module_utils import nftables_plan as nft
from ansible_collections.jaas.firewall.plugins.module_utils.converge import PlanError
from ansible_collections.jaas.firewall.plugins.module_utils.gateway import (
    Gateway, gateway_from_params)
from ansible_collections.jaas.firewall.plugins.module_utils.model import ModelError

from canned.golden import GOLDEN, check_golden
from canned.nftables import FIXTURE, LIVE_VERSIONS, fixture_model
from canned.nftables import (  # noqa: F401 (fixtures)
    LAN_WAN, gateway_model)

# The forward chain of the fixture, LAN (lan0, lan1) -> WAN (wan0), policy reject: replies
# first, then one rule per (block, family, protocol, ports) of the OUTBOUND rules only
# (no webhook origins, no keep-open, no neighbour discovery, no connection port).
IF = 'iifname { "lan0", "lan1" } oifname "wan0" '
EXPECTED_FORWARD = [
    'ct state established,related accept comment "established"',
    IF + 'ip daddr @v4_cloudflare meta l4proto tcp accept comment "cloudflare"',
    IF + 'ip daddr @v4_cloudflare meta l4proto udp accept comment "cloudflare"',
    IF + 'ip6 daddr @v6_cloudflare meta l4proto tcp accept comment "cloudflare"',
    IF + 'ip6 daddr @v6_cloudflare meta l4proto udp accept comment "cloudflare"',
    IF + 'ip daddr @v4_jvb tcp dport 443 accept comment "jvb"',
    IF + 'ip daddr @v4_jvb udp dport 10000 accept comment "jvb"',
    IF + 'ip6 daddr @v6_jvb tcp dport 443 accept comment "jvb"',
    IF + 'ip6 daddr @v6_jvb udp dport 10000 accept comment "jvb"',
    IF + 'ip daddr @v4_turn tcp dport 443 accept comment "turn"',
    IF + 'ip daddr @v4_turn udp dport 443 accept comment "turn"',
    IF + 'ip daddr @v4_turn udp dport 49152-65535 accept comment "turn"',
    'reject with icmpx type admin-prohibited comment "default reject"',
]


def test_forward_chain_matches_the_hand_written_one():
    chain = gateway_model()['chains']['forward']
    assert chain == {'type': 'filter', 'hook': 'forward', 'prio': 0, 'policy': 'drop',
                     'rules': EXPECTED_FORWARD}


def test_host_chains_and_sets_are_the_same_with_or_without_gateway_mode():
    host, gateway = fixture_model(), gateway_model()
    assert gateway['sets'] == host['sets']                   # the same sets, no copies
    assert {k: v for k, v in gateway['chains'].items() if k != 'forward'} == host['chains']
    assert 'forward' not in host['chains']


def test_accepting_forward_chain_has_only_the_allow_rules():
    chain = gateway_model(default_forward='accept')['chains']['forward']
    assert chain['policy'] == 'accept'
    assert chain['rules'] == EXPECTED_FORWARD[1:-1]


def test_drop_forward_chain_has_replies_and_no_final_reject():
    chain = gateway_model(default_forward='drop')['chains']['forward']
    assert chain['policy'] == 'drop'
    assert chain['rules'] == EXPECTED_FORWARD[:-1]


@pytest.mark.parametrize('gateway, prefix', [
    (Gateway((), ()), ''),                                   # any interface on both sides
    (Gateway(('lan0',), ()), 'iifname "lan0" '),
    (Gateway((), ('wan0', 'ppp0')), 'oifname { "ppp0", "wan0" } '),
])
def test_interface_matches(gateway, prefix):
    rules = gateway_model(gateway=gateway, default_forward='accept')['chains']['forward']['rules']
    assert rules[0] == prefix + 'ip daddr @v4_cloudflare meta l4proto tcp accept comment "cloudflare"'
    assert all(r.startswith(prefix) for r in rules)


def test_only_outbound_rules_are_forwarded():
    inbound_only = [r for r in FIXTURE['rules'] if r['direction'] == 'in']
    model = nft.desired_model(inbound_only, gateway=LAN_WAN, default_forward='drop')
    assert model['chains']['forward']['rules'] == [EXPECTED_FORWARD[0]]


def test_bad_forward_policy_refused():
    with pytest.raises(PlanError, match="default_forward must be one of accept, drop, reject, got 'deny'"):
        gateway_model(default_forward='deny')


# ------------------------------------------------------------------ options
@pytest.mark.parametrize('params, expected', [
    ({'gateway': False, 'gateway_in_interfaces': ['lan0'], 'gateway_out_interfaces': []}, None),
    ({'gateway': True, 'gateway_in_interfaces': ['lan0', 'lan0'], 'gateway_out_interfaces': []},
     Gateway(('lan0',), ())),
    ({'gateway': True, 'state': 'absent', 'gateway_in_interfaces': [], 'gateway_out_interfaces': []},
     None),
])
def test_gateway_from_params(params, expected):
    assert gateway_from_params(params) == expected


@pytest.mark.parametrize('gateway', [True, False])
def test_bad_interface_is_refused_even_when_gateway_mode_is_off(gateway):
    with pytest.raises(ModelError, match=r"gateway_out_interfaces\[1\]: 'wan 0' is not a valid interface name"):
        gateway_from_params({'gateway': gateway, 'gateway_in_interfaces': [],
                             'gateway_out_interfaces': ['wan0', 'wan 0']})


# ------------------------------------------------------------------ changes
def test_turning_gateway_mode_on_or_off_touches_only_the_forward_chain():
    host, gateway = fixture_model(), gateway_model()
    added, removed = nft.table_changes(gateway, host, 'jaas')
    assert removed == []
    assert added == ['chain forward (type filter hook forward priority 0 policy drop)'] + \
        ['rule forward: %s' % r for r in EXPECTED_FORWARD]
    added, removed = nft.table_changes(host, gateway, 'jaas')
    assert added == [] and len(removed) == 1 + len(EXPECTED_FORWARD)


def test_a_catalog_change_reaches_host_and_gateway_through_the_shared_set():
    rules = [r for r in FIXTURE['rules'] if r['network'] != '198.18.2.102/32']
    before, after = gateway_model(), gateway_model(rules=rules)
    assert nft.table_changes(after, before, 'jaas') == ([], ['element v4_turn 198.18.2.102/32'])
    assert after['chains'] == before['chains']


# ------------------------------------------------------------------ golden and real nft
def test_golden_script():
    check_golden('nftables_gateway.nft', nft.script(gateway_model(), 'jaas'))


def _live(version):
    with open(os.path.join(GOLDEN, 'nftables_gateway_live_%s.json' % version)) as handle:
        return json.load(handle)


@pytest.mark.parametrize('version', LIVE_VERSIONS)
def test_real_listing_of_the_gateway_table_is_converged(version):
    live = nft.live_model(_live(version), 'jaas')
    assert live == gateway_model()
    assert nft.table_changes(gateway_model(), live, 'jaas') == ([], [])


@pytest.mark.parametrize('version', LIVE_VERSIONS)
def test_an_interface_changed_by_hand_is_a_change(version):
    listing = copy.deepcopy(_live(version))
    for item in listing['nftables']:
        rule = item.get('rule')
        if rule and rule['chain'] == 'forward' and 'oifname' in json.dumps(rule['expr']):
            rule['expr'][1]['match']['right'] = 'wan1'
            break
    added, removed = nft.table_changes(gateway_model(), nft.live_model(listing, 'jaas'), 'jaas')
    assert len(added) == 1 and len(removed) == 1
    assert removed[0].startswith('rule forward: iifname { "lan0", "lan1" } oifname "wan1" ')
