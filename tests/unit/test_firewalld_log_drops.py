# -*- coding: utf-8 -*-
"""firewalld drop logging (jaas_firewall_log_drops / log_drops): one rate-limited log-only rich
rule with a positive priority (firewalld puts it in the policy's _post chain, after our accepts)
in each policy of ours that rejects or drops, and none anywhere once log_drops is false.

The rich-rule text is the one firewall-cmd --list-rich-rules printed on Debian 12 (1.3.3) and
13 (2.3.1) for a policy with target REJECT (written here by hand); its nft rendering there:
``limit rate 10/second [burst 5 packets] log prefix "jaas-drop out " level info`` in
``filter_OUT_policy_jaas-egress_post``.
"""

from __future__ import annotations

import copy

import pytest

from module_runs import run_main
from ansible_collections.jaas.firewall.plugins.module_utils import firewalld_plan as plan
from ansible_collections.jaas.firewall.plugins.modules import firewalld_rules

from canned.firewalld import CONVERGED, TURN_RULES, FakeFirewalld, firewalld  # noqa: F401

OUT_LOG = 'rule priority="32767" log prefix="jaas-drop out " level="info" limit value="10/s"'
FWD_LOG = 'rule priority="32767" log prefix="jaas-drop fwd " level="info" limit value="10/s"'
GATEWAY = {'ingress_zones': ['internal'], 'egress_zones': ['external'], 'target': 'REJECT'}


def all_rules(state):
    return [rule for policy in state['policies'].values() for rule in policy['rich_rules']]


@pytest.mark.parametrize('target', ['REJECT', 'DROP'])
def test_restricting_egress_logs_what_it_rejects(target):
    state = plan.desired_state(TURN_RULES, egress_target=target, log_drops=True)
    assert OUT_LOG in state['policies']['jaas-egress']['rich_rules']
    assert [r for r in all_rules(state) if ' log ' in r] == [OUT_LOG]


def test_continue_policy_drops_nothing_so_logs_nothing():
    state = plan.desired_state(TURN_RULES, egress_target='CONTINUE', log_drops=True)
    assert not [r for r in all_rules(state) if 'log' in r]


def test_gateway_policy_logs_forwarded_drops_with_its_own_tag():
    state = plan.desired_state(TURN_RULES, egress_target='REJECT', gateway=GATEWAY, log_drops=True)
    assert FWD_LOG in state['policies']['jaas-gateway']['rich_rules']
    assert OUT_LOG in state['policies']['jaas-egress']['rich_rules']
    assert OUT_LOG not in state['policies']['jaas-gateway']['rich_rules']


def test_off_by_default_and_false_renders_no_log_rule():
    for state in (plan.desired_state(TURN_RULES, egress_target='REJECT', gateway=GATEWAY),
                  plan.desired_state(TURN_RULES, egress_target='REJECT', gateway=GATEWAY,
                                     log_drops=False)):
        assert not [r for r in all_rules(state) if 'log' in r]


def logging_state():
    state = copy.deepcopy(CONVERGED)
    state['policies']['jaas-egress']['target'] = 'REJECT'
    state['policies']['jaas-egress']['rich_rules'] += [
        'rule family="ipv6" icmp-type name="%s" accept' % kind
        for kind in ('neighbour-solicitation', 'neighbour-advertisement', 'router-solicitation')]
    return state


def run(capsys, **args):
    args.setdefault('rules', TURN_RULES)
    args.update(_ansible_check_mode=False, _ansible_diff=True, egress_target='REJECT')
    return run_main(firewalld_rules.main, args, capsys)


def test_module_adds_the_log_rule_live_without_reload(firewalld, capsys):
    fake = firewalld(FakeFirewalld(logging_state()))
    out = run(capsys, log_drops=True)
    assert out['changed'] is True and out['reloaded'] is False, out
    assert out['added'] == ['policy jaas-egress: %s' % OUT_LOG]
    assert fake.calls == [('permanent', [], ['jaas-egress']), ('runtime', [], ['jaas-egress'])]


def test_module_false_removes_the_log_rule(firewalld, capsys):
    state = logging_state()
    state['policies']['jaas-egress']['rich_rules'].append(OUT_LOG)
    firewalld(FakeFirewalld(state))
    out = run(capsys, log_drops=False)
    assert out['changed'] is True
    assert out['removed'] == ['policy jaas-egress: %s' % OUT_LOG] and out['added'] == []
