# -*- coding: utf-8 -*-
"""jaas.firewall.nftables_rules main() with ``domains``: which commands a converged host
costs (one ``systemctl show`` more than without domains), the order of the first run (the
table before the resolver, the resolver handed back before the table loses its sets), a
missing dnsmasq reported for the action plugin to install, and bad domain input refused
before anything is read. Canned nft output is what real nft printed
(tests/golden/nftables_domains_live_*.json).
"""

from __future__ import annotations


import pytest


from ansible_collections.jaas.firewall.plugins.module_utils import resolver_files as files

from canned.nftables import FIXTURE, FakeHost, result, run
from canned.nftables_domains import (  # noqa: F401 (fixtures)
    PLAIN, host, run_domains)


def test_converged_host_costs_one_systemctl_show_more(host, capsys):
    host.save_converged()
    run_domains(host)                                # first run: the resolver comes up
    first = result(capsys)
    assert first['changed'] is True
    assert first['resolver']['steps'] == ['config', 'unit', 'daemon-reload', 'enable',
                                          'restart', 'record', 'handover']
    host.commands = []
    run_domains(host)
    out = result(capsys)
    assert out['changed'] is False and out['resolver']['steps'] == []
    assert out['domain_elements'] == {'domains_aux_v4': 1, 'domains_core_v4': 2,
                                      'domains_core_v6': 1}
    assert host.commands == ['-j list tables inet', '-j list table inet jaas',
                             'is-enabled nftables.service',
                             'show -p ActiveState -p UnitFileState %s' % files.SERVICE]


def test_first_run_builds_the_sets_before_the_resolver_fills_them(host, capsys):
    host.table = False
    host.with_domains = False
    run_domains(host)
    out = result(capsys)
    assert out['changed'] is True
    order = [c for c in host.commands if c.startswith(('-f', 'restart'))]
    assert order[0].startswith('-f') and order[-1] == 'restart %s' % files.SERVICE
    assert 'set domains_core_v4 {' in host.applied[0]
    with open(host.paths['resolv']) as handle:
        assert files.nameservers(handle.read()) == [files.LISTEN]


def test_turning_domains_off_hands_resolv_conf_back_before_the_sets_go(host, capsys):
    host.save_converged()
    run_domains(host)
    result(capsys)
    host.commands = []
    run_domains(host, domains=[])
    out = result(capsys)
    assert out['changed'] is True and 'restore' in out['resolver']['steps']
    disable = host.commands.index('disable --now %s' % files.SERVICE)
    apply = [i for i, c in enumerate(host.commands) if c.startswith('-f')][0]
    assert disable < apply
    with open(host.paths['resolv']) as handle:
        assert handle.read() == PLAIN


def test_missing_dnsmasq_is_reported_for_the_action_plugin(host, capsys):
    host.dnsmasq = False
    run_domains(host, if_missing='report')
    out = result(capsys)
    assert out['installed'] is False and 'dnsmasq is not installed' in out['msg']
    assert not any(c.startswith('-f') for c in host.commands)


@pytest.mark.parametrize('override, message', [
    (dict(domain_ttl=5), 'domain_ttl must be whole seconds from 10'),
    (dict(dns_upstreams=['not-an-address']), "dns_upstreams[0]: 'not-an-address'"),
    (dict(domains=[{'category': 'core', 'names': ['*.x'], 'rules': []}]), 'domains[0].names[0]'),
])
def test_bad_domain_input_fails_before_anything_is_read(host, capsys, override, message):
    run_domains(host, **override)
    out = result(capsys)
    assert out['failed'] is True and message in out['msg'] and out['msg'].startswith('nothing changed')
    assert host.commands == []
    with open(host.paths['resolv']) as handle:
        assert handle.read() == PLAIN


def test_fixture_keeps_its_own_safety_rules():
    # the domain fixture sits on top of the nftables fixture, whose output chain rejects
    assert FIXTURE['default_outgoing'] == 'reject'
