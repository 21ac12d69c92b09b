# -*- coding: utf-8 -*-
"""firewalld on the converge skeleton (module_utils/firewalld_backend.py): the plan is pure,
check mode touches nothing, starting and enabling at boot are planned like the rules,
and the host sees its calls in the documented order. firewalld's D-Bus layer and systemd
are canned (hand-written answers); containers prove the real thing (extensions/molecule/firewalld).
"""

from __future__ import annotations

import copy

import pytest

from ansible.module_utils import basic

from module_runs import run_main
from ansible_collections.jaas.firewall.plugins.module_utils import (
    converge, firewalld_backend)
from ansible_collections.jaas.firewall.plugins.modules import firewalld_rules

from canned.firewalld import CONVERGED, TURN_RULES
from canned.firewalld import (  # noqa: F401 (fixtures)
    Host, RichRule)

EMPTY = {'ipsets': {}, 'policies': {}}


@pytest.fixture
def host(tmp_path, monkeypatch):
    def install(fake):
        monkeypatch.setattr(firewalld_backend, 'HAS_FIREWALL', True)
        monkeypatch.setattr(firewalld_backend, 'Firewalld', lambda prefix: fake)
        monkeypatch.setattr(firewalld_backend, 'canonical_rules', lambda desired: desired)
        monkeypatch.setattr(firewalld_backend, 'Rich_Rule', RichRule, raising=False)
        monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path',
                            lambda module, name, *a, **k: '/usr/bin/%s' % name)
        monkeypatch.setattr(basic.AnsibleModule, 'run_command',
                            lambda module, argv, **k: fake.command(argv))
        monkeypatch.setattr(firewalld_backend, 'kept_connection_ports',
                            lambda keep, port=None: [2222] if keep else [])
        return fake
    return install


def run(capsys, check_mode=False, diff=True, **args):
    args.setdefault('rules', TURN_RULES)
    args.update(_ansible_check_mode=check_mode, _ansible_diff=diff)
    return run_main(firewalld_rules.main, args, capsys)


class Params(object):
    """Just enough of AnsibleModule for desired() and plan() (both pure)."""

    def __init__(self, **params):
        self.params = dict(prefix='jaas', state='present', rules=TURN_RULES, keep_open=[],
                           egress_target='CONTINUE', start=False, enable_at_boot=False,
                           gateway=False, gateway_in_interfaces=[], gateway_out_interfaces=[],
                           gateway_ingress_zones=['internal'], gateway_egress_zones=['external'],
                           gateway_target='CONTINUE', domains=[], domain_ttl=3600,
                           dns_upstreams=[], domain_mark=0x1000000, domain_answer_exclude=None)
        self.params.update(params)
        self._diff = True

    @staticmethod
    def get_bin_path(name, required=False, opt_dirs=None):
        return '/usr/sbin/' + name


# The domain half of a host that never had it: no table file, no resolver files.
NO_DOMAINS = {'script': None, 'table': False,
              'resolver': {'state': None, 'config': None, 'unit': None, 'active': 'inactive',
                           'resolv': {'kind': 'file', 'text': 'nameserver 198.18.8.53\n'}}}


def _live(permanent, running=True, enabled=None):
    return dict(running=running, permanent=permanent, runtime=permanent, warnings=[],
                unit_problem=None, enabled=enabled, domains=NO_DOMAINS)


@pytest.mark.parametrize('live', [_live(CONVERGED), _live(EMPTY), _live(EMPTY, enabled='disabled'),
                                  _live(None, running=False)])
def test_plan_is_pure(monkeypatch, live):
    monkeypatch.setattr(firewalld_backend, 'HAS_FIREWALL', False)  # no rich-rule parser here
    module = Params(enable_at_boot=True, keep_open=[{'direction': 'in', 'protocol': 'tcp',
                                                     'port': '22', 'network': None}])
    backend = firewalld_backend.FirewalldBackend(module)
    desired = backend.desired(module.params, converge.Safety([], [2222]))
    frozen_desired, frozen_live = copy.deepcopy(desired), copy.deepcopy(live)
    first, second = backend.plan(desired, live), backend.plan(desired, live)
    assert first == second
    assert desired == frozen_desired and live == frozen_live      # inputs untouched


def test_plan_of_a_stopped_firewalld_is_start_then_converge(monkeypatch):
    monkeypatch.setattr(firewalld_backend, 'HAS_FIREWALL', False)
    module = Params(start=True, enable_at_boot=True)
    backend = firewalld_backend.FirewalldBackend(module)
    plan = backend.plan(backend.desired(module.params, converge.Safety([], [])),
                        _live(None, running=False, enabled='disabled'))
    assert plan.changed is True and plan.added == [] and plan.removed == []
    assert plan.extras['started'] is True and plan.extras['enabled_at_boot'] is True
    assert backend.diff(plan) is None               # nothing could be read before the start


def test_check_mode_on_a_stopped_firewalld_reports_the_start_and_starts_nothing(host, capsys):
    fake = host(Host(EMPTY, running=False, is_enabled='disabled'))
    out = run(capsys, check_mode=True, start=True, enable_at_boot=True)
    assert out['changed'] is True and out['started'] is True and out['enabled_at_boot'] is True
    assert out['msg'] == 'firewalld is not running: it would be started and converged'
    # read-only calls only: the unit's state and whether it is enabled
    assert fake.log == ['systemctl show firewalld.service --property=LoadState --property=UnitFileState',
                        'systemctl is-enabled firewalld.service']
    assert 'diff' not in out


def test_start_seeds_the_connection_then_starts_then_converges(host, capsys):
    fake = host(Host(EMPTY, running=False, is_enabled='disabled'))
    out = run(capsys, start=True, enable_at_boot=True, keep_connection=True)
    rule = 'rule port port="2222" protocol="tcp" accept'
    assert out['changed'] is True and out['started'] is True and out['seeded'] == [rule]
    assert out['enabled_at_boot'] is True and out['reloaded'] is True
    assert [c for c in fake.log if not c.startswith('firewall-offline-cmd --policy=jaas-ingress --add-')] == [
        'systemctl show firewalld.service --property=LoadState --property=UnitFileState',
        'systemctl is-enabled firewalld.service',
        'firewall-offline-cmd --get-policies',
        'firewall-offline-cmd --new-policy=jaas-ingress',
        'firewall-offline-cmd --policy=jaas-ingress --list-rich-rules',
        'systemctl start firewalld.service',
        'read permanent', 'read runtime',
        'systemctl is-enabled firewalld.service',
        'systemctl enable firewalld.service',
        'apply permanent', 'reload']
    # the connection's rule is written offline before the start
    assert fake.log.index('firewall-offline-cmd --policy=jaas-ingress --add-rich-rule=%s' % rule) \
        < fake.log.index('systemctl start firewalld.service')
    assert [d['before_header'] for d in out['diff']] == ['firewalld permanent', 'firewalld runtime']


def test_masked_unit_fails_before_anything_is_armed_or_changed(host, capsys, monkeypatch):
    monkeypatch.setattr(converge, 'arm', lambda *a, **k: pytest.fail('armed'))
    fake = host(Host(EMPTY, running=False, show='LoadState=masked\nUnitFileState=masked\n'))
    out = run(capsys, start=True, rollback_timeout=60)
    assert out['failed'] is True and out['started'] is False
    assert out['msg'] == ('firewalld.service is masked, so it cannot be started (systemctl unmask '
                          'firewalld); nothing was changed.')
    assert not any(c.startswith('systemctl start') for c in fake.log)


def test_enable_at_boot_alone_is_a_change_made_before_any_rule(host, capsys):
    fake = host(Host(CONVERGED, is_enabled='disabled'))
    out = run(capsys, check_mode=True, enable_at_boot=True)
    assert out['changed'] is True and out['enabled_at_boot'] is True and out['added'] == []
    assert 'systemctl enable firewalld.service' not in fake.log
    out = run(capsys, enable_at_boot=True, rules=TURN_RULES[:2])    # and a rule change
    assert out['changed'] is True and out['enabled_at_boot'] is True
    assert fake.log.index('systemctl enable firewalld.service') < fake.log.index('apply permanent')


def test_diff_only_in_diff_mode_both_layers(host, capsys):
    host(Host(CONVERGED))
    out = run(capsys, diff=False, rules=TURN_RULES[:2])
    assert 'diff' not in out
    out = run(capsys, diff=True, rules=TURN_RULES[:2])
    assert [(d['before_header'], d['after_header']) for d in out['diff']] == [
        ('firewalld permanent', 'firewalld permanent'), ('firewalld runtime', 'firewalld runtime')]
    assert '198.18.2.11/32' in out['diff'][0]['before'] and '198.18.2.11' not in out['diff'][0]['after']


def test_refused_change_fails_with_the_whole_result(host, capsys):
    host(Host(CONVERGED, refuse='INVALID_ENTRY: 198.18.2.12/32'))
    rules = TURN_RULES + [dict(rule, network='198.18.2.12/32') for rule in TURN_RULES[:2]]
    out = run(capsys, rules=rules)
    assert out['failed'] is True
    assert out['msg'] == ('firewalld refused the change (permanent configuration): '
                          'INVALID_ENTRY: 198.18.2.12/32')
    assert out['added'] == ['ipset jaas-turn-v4: 198.18.2.12/32']
    assert out['permanent_changes']['ipsets']['jaas-turn-v4']['action'] == 'update'


def test_not_installed_and_absent_removes_nothing(host, capsys, monkeypatch):
    host(Host(CONVERGED))
    monkeypatch.setattr(firewalld_backend, 'HAS_FIREWALL', False)
    out = run(capsys, state='absent', rules=[])
    assert out['changed'] is False and out['installed'] is False and 'diff' not in out
    assert out['msg'] == 'firewalld or its Python bindings are not installed: nothing to remove'
