# -*- coding: utf-8 -*-
"""The ufw backend's hooks (module_utils/ufw_backend.py) on the same canned host as
test_ufw_module.py: plan() is pure, check mode only reads, and what arms the rollback."""

from __future__ import annotations

import copy

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.jaas.firewall.plugins.module_utils.converge import argument_spec
from ansible_collections.jaas.firewall.plugins.module_utils.ufw_backend import UfwBackend

from canned.ufw import JVB, RULES_FILE, make_host, run  # noqa: F401 (make_host is a fixture)

KEEP_DNS = [{'direction': 'out', 'protocol': 'udp', 'port': '53'}]


def read_host(**args):
    """desired and live as converge.run() gets them, without planning or applying."""
    args.setdefault('rules', [JVB])
    with patch_module_args(dict(args, _ansible_check_mode=True)):
        module = basic.AnsibleModule(argument_spec=argument_spec(UfwBackend),
                                     supports_check_mode=True)
    backend = UfwBackend(module)
    desired = backend.desired(module.params, backend.safety(module.params))
    assert backend.missing() is None
    return backend, desired, backend.read()


@pytest.mark.parametrize('args', [
    {},
    {'keep_connection': True, 'keep_open': KEEP_DNS, 'default_outgoing': 'deny', 'enabled': True,
     'guard_blocks': ['safety']},
    {'gateway': True, 'gateway_out_interfaces': ['wan0'], 'default_routed': 'deny'},
    {'state': 'absent', 'rules': []},
    {'state': 'absent', 'rules': [], 'guard_blocks': ['safety'], 'default_outgoing': 'deny'},
])
def test_plan_is_pure(make_host, args):
    host = make_host(detected=[2222])
    backend, desired, live = read_host(**args)
    commands = list(host.commands)
    given = copy.deepcopy((desired, live))
    first = backend.plan(desired, live)
    second = backend.plan(desired, live)
    assert first == second
    assert (desired, live) == given                  # inputs untouched
    assert host.commands == commands                 # planning asks the host nothing
    assert host.text(4) == RULES_FILE


def test_check_mode_only_reads(make_host, capsys):
    host = make_host(detected=[2222])
    out = run(capsys, check_mode=True, keep_connection=True, keep_open=KEEP_DNS,
              default_outgoing='deny', default_routed='deny', enabled=False)
    assert out['changed'] is True
    assert 'default outgoing: deny' in out['diff']['after'] and 'active: False' in out['diff']['after']
    # only reads: the listing of ufw's chains that tells whether ufw is active
    assert host.commands == ['/usr/sbin/%s -w -n -L %s-user-%s' % (tool, chain, direction)
                             for direction in ('input', 'output', 'forward')
                             for tool, chain in (('iptables', 'ufw'), ('ip6tables', 'ufw6'))]
    assert host.text(4) == RULES_FILE and host.text(6) == RULES_FILE.replace('ufw-', 'ufw6-')


def test_converged_host_changes_nothing_and_arms_nothing(make_host, capsys):
    make_host()
    run(capsys)
    backend, desired, live = read_host()
    plan = backend.plan(desired, live)
    assert plan.changed is False and backend.arms_rollback(plan) is False


def test_a_policy_change_alone_arms_the_rollback(make_host, capsys):
    make_host()
    run(capsys)
    backend, desired, live = read_host(default_outgoing='deny')
    plan = backend.plan(desired, live)
    assert plan.changed is True and plan.added == [] and backend.arms_rollback(plan) is True


def test_result_shape_is_the_skeletons(make_host, capsys):
    make_host()
    out = run(capsys)
    for key in ('changed', 'added', 'removed', 'diff', 'installed', 'connection_ports', 'msg',
                'lock_wait', 'owned', 'active', 'reloaded', 'guarded', 'policies'):
        assert key in out, key
    assert (out['diff']['before_header'], out['diff']['after_header']) == \
        ('ufw rules removed', 'ufw rules added')
