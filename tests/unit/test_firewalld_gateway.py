# -*- coding: utf-8 -*-
"""Gateway mode of firewalld_rules: the policy <prefix>-gateway between zones, on the same
ipsets as the host's egress policy. Expectations written by hand (rich rules in
firewalld's own spelling, as firewall-cmd --list-rich-rules prints them)."""

from __future__ import annotations

import pytest

from ansible_collections.jaas.firewall.plugins.module_utils import firewalld_plan as plan
from ansible_collections.jaas.firewall.plugins.module_utils.firewalld_backend import gateway_problems

from canned.firewalld import CLOUDFLARE, TURN, WEBHOOK

LAN_WAN = {'ingress_zones': ['internal'], 'egress_zones': ['external'], 'target': 'REJECT'}
# One rich rule per outbound (block, family, protocol, ports); no webhook (inbound), no
# keep-open, no neighbour discovery.
GATEWAY_RULES = sorted([
    'rule family="ipv4" destination ipset="jaas-cloudflare-v4" protocol value="tcp" accept',
    'rule family="ipv4" destination ipset="jaas-cloudflare-v4" protocol value="udp" accept',
    'rule family="ipv6" destination ipset="jaas-cloudflare-v6" protocol value="tcp" accept',
    'rule family="ipv6" destination ipset="jaas-cloudflare-v6" protocol value="udp" accept',
    'rule family="ipv4" destination ipset="jaas-turn-v4" port port="443" protocol="tcp" accept',
    'rule family="ipv4" destination ipset="jaas-turn-v4" port port="443" protocol="udp" accept',
    'rule family="ipv4" destination ipset="jaas-turn-v4" port port="49152-65535" protocol="udp" accept',
])
KEEP_OPEN = [{'direction': 'out', 'protocol': 'udp', 'port': '53'},
             {'direction': 'in', 'protocol': 'tcp', 'port': '22'}]


def test_gateway_policy_matches_the_hand_written_one():
    state = plan.desired_state(TURN + CLOUDFLARE + WEBHOOK, KEEP_OPEN, egress_target='REJECT',
                               gateway=LAN_WAN)
    assert state['policies']['jaas-gateway'] == {
        'target': 'REJECT', 'ingress_zones': ['internal'], 'egress_zones': ['external'],
        'rich_rules': GATEWAY_RULES}


def test_host_policies_and_ipsets_are_the_same_with_or_without_gateway_mode():
    host = plan.desired_state(TURN + CLOUDFLARE + WEBHOOK, KEEP_OPEN, egress_target='REJECT')
    gateway = plan.desired_state(TURN + CLOUDFLARE + WEBHOOK, KEEP_OPEN, egress_target='REJECT',
                                 gateway=LAN_WAN)
    assert gateway['ipsets'] == host['ipsets']
    assert {k: v for k, v in gateway['policies'].items() if k != 'jaas-gateway'} == host['policies']
    assert 'jaas-gateway' not in host['policies']


def test_gateway_off_removes_only_the_gateway_policy():
    desired = plan.desired_state(TURN, egress_target='REJECT')
    current = plan.desired_state(TURN, egress_target='REJECT', gateway=LAN_WAN)
    changes = plan.diff_layer(desired, current, 'jaas')
    assert changes == {'ipsets': {}, 'policies': {'jaas-gateway': {
        'action': 'remove', 'added': [], 'removed': [r for r in GATEWAY_RULES if 'jaas-turn' in r]}}}
    assert plan.needs_reload(changes)                # firewalld deletes policies on reload only


def test_changed_zones_replace_the_policy_and_target_updates_it():
    current = plan.desired_state(TURN, gateway=LAN_WAN)
    moved = plan.desired_state(TURN, gateway=dict(LAN_WAN, egress_zones=['public']))
    assert plan.diff_layer(moved, current, 'jaas')['policies']['jaas-gateway']['action'] == 'replace'
    dropped = plan.desired_state(TURN, gateway=dict(LAN_WAN, target='DROP'))
    assert plan.diff_layer(dropped, current, 'jaas')['policies'] == {
        'jaas-gateway': {'action': 'update', 'added': [], 'removed': [], 'target': 'DROP'}}


def test_any_zone_and_continue():
    state = plan.desired_state(TURN, gateway={'ingress_zones': ['ANY'], 'egress_zones': ['external'],
                                              'target': 'CONTINUE'})
    assert state['policies']['jaas-gateway']['ingress_zones'] == ['ANY']
    assert state['policies']['jaas-gateway']['target'] == 'CONTINUE'


@pytest.mark.parametrize('gateway, message', [
    (dict(LAN_WAN, ingress_zones=[]), 'gateway_ingress_zones: at least one zone is needed'),
    (dict(LAN_WAN, egress_zones=['HOST']), 'gateway_egress_zones: HOST is the host itself'),
    (dict(LAN_WAN, ingress_zones=['ANY', 'internal']), 'gateway_ingress_zones: ANY already means every zone'),
    (dict(LAN_WAN, ingress_zones=['internal', 'lan zone']),
     r"gateway_ingress_zones\[1\]: 'lan zone' is not a valid firewalld zone name"),
    (dict(LAN_WAN, egress_zones=['x' * 18]), r'gateway_egress_zones\[0\]: .* longer than 17 characters'),
    (dict(LAN_WAN, target='ACCEPT'), "gateway_target must be one of CONTINUE, REJECT, DROP, got 'ACCEPT'"),
])
def test_bad_gateway_refused(gateway, message):
    with pytest.raises(plan.PlanError, match=message):
        plan.desired_state(TURN, gateway=gateway)


def test_longest_prefix_still_fits_the_policy_name_limit():
    assert len(plan.gateway_policy_name('a' * 8)) <= plan.POLICY_NAME_MAX


class FakeFirewalld(object):
    def __init__(self, zones, bindings):
        self.zones, self.bindings = zones, bindings

    def zone_names(self):
        return list(self.zones)

    def zone_of_interface(self, interface):
        return self.bindings.get(interface)


def test_missing_zone_is_an_error_and_an_unbound_interface_a_warning():
    firewalld = FakeFirewalld(['public', 'internal', 'external'], {'lan0': 'internal', 'wan0': 'public'})
    policy = plan.desired_state(TURN, gateway=dict(LAN_WAN, egress_zones=['external', 'dmz']))['policies']['jaas-gateway']
    errors, warnings = gateway_problems(firewalld, policy, {'gateway_in_interfaces': ['lan0'],
                                                            'gateway_out_interfaces': ['wan0', 'wan1']})
    assert errors == ['gateway_egress_zones: no such firewalld zone: dmz (zones: external, internal, public)']
    assert warnings == [
        'gateway_out_interfaces: interface wan0 is in zone public, not in external or dmz, so the '
        'gateway policy does not cover it (firewall-cmd --permanent --zone=external '
        '--change-interface=wan0, then reload)',
        'gateway_out_interfaces: interface wan1 is in no zone, not in external or dmz, so the '
        'gateway policy does not cover it (firewall-cmd --permanent --zone=external '
        '--change-interface=wan1, then reload)']


def test_bound_interfaces_and_any_give_no_warning():
    firewalld = FakeFirewalld(['internal', 'external'], {'lan0': 'internal', 'wan0': 'external'})
    policy = plan.desired_state(TURN, gateway=dict(LAN_WAN, ingress_zones=['ANY']))['policies']['jaas-gateway']
    assert gateway_problems(firewalld, policy, {'gateway_in_interfaces': ['anything'],
                                                'gateway_out_interfaces': ['wan0']}) == ([], [])
