# -*- coding: utf-8 -*-
"""jaas.firewall.nftables_rules main() with ``domains``: which commands a converged host
costs (one ``systemctl show`` more than without domains), the order of the first run (the
table before the resolver, the resolver handed back before the table loses its sets), a
missing dnsmasq reported for the action plugin to install, and bad domain input refused
before anything is read. Canned nft output is what real nft printed
(tests/golden/nftables_domains_live_*.json).
"""

from __future__ import annotations

import json
import os

import pytest

from ansible.module_utils import basic

from module_runs import end_previous_run
from ansible_collections.jaas.firewall.plugins.module_utils import domain_resolver
from ansible_collections.jaas.firewall.plugins.module_utils import resolver_files as files

from test_nftables_module import FIXTURE, FakeHost, result, run

GOLDEN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'golden')
with open(os.path.join(GOLDEN, 'nftables_domains_fixture.json')) as _handle:
    DOMAIN_FIXTURE = json.load(_handle)
with open(os.path.join(GOLDEN, 'nftables_domains_live_1.1.3.json')) as _handle:
    LIVE_WITH_DOMAINS = _handle.read()
PLAIN = 'nameserver 198.18.8.53\n'


class DomainHost(FakeHost):
    """FakeHost plus the resolver's service and whether dnsmasq is installed."""

    def __init__(self, tmp_path, dnsmasq=True):
        super(DomainHost, self).__init__(tmp_path)
        self.dnsmasq = dnsmasq
        self.service = {'ActiveState': 'inactive', 'UnitFileState': ''}

    def get_bin_path(self, module, name, required=False, opt_dirs=None):
        if name == 'dnsmasq' and not self.dnsmasq:
            return None
        return super(DomainHost, self).get_bin_path(module, name, required, opt_dirs)

    def run_command(self, module, args, **kwargs):
        rest = list(args[1:])
        if rest[:1] == ['--test']:                      # dnsmasq checks the new configuration
            self.commands.append('dnsmasq ' + rest[0])
            return 0, 'dnsmasq: syntax check OK.', ''
        if rest[-1:] == [files.SERVICE] or rest == ['daemon-reload']:
            self.commands.append(' '.join(rest))
            if rest[0] == 'show':
                return 0, ''.join('%s=%s\n' % item for item in sorted(self.service.items())), ''
            if rest[0] == 'restart':
                self.service['ActiveState'] = 'active'
            if rest[0] == 'enable':
                self.service['UnitFileState'] = 'enabled'
            if rest[0] == 'disable':
                self.service = {'ActiveState': 'inactive', 'UnitFileState': 'disabled'}
            return 0, '', ''
        if rest == ['-j', 'list', 'table', 'inet', 'jaas'] and self.with_domains:
            self.commands.append(' '.join(rest))
            return 0, LIVE_WITH_DOMAINS, ''
        return super(DomainHost, self).run_command(module, args, **kwargs)

    with_domains = True


@pytest.fixture
def host(tmp_path, monkeypatch):
    fake = DomainHost(tmp_path)
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path',
                        lambda module, name, *a, **k: fake.get_bin_path(module, name, *a, **k))
    monkeypatch.setattr(basic.AnsibleModule, 'run_command',
                        lambda module, args, **k: fake.run_command(module, args, **k))
    from ansible_collections.jaas.firewall.plugins.module_utils import connection, converge
    monkeypatch.setattr(converge, 'kept_connection_ports', lambda keep, port=None:
                        connection.kept_connection_ports(keep, port, detect=lambda: [2222]))
    paths = dict((key, str(tmp_path / 'root' / path.lstrip('/')))
                 for key, path in domain_resolver.PATHS.items())
    for path in paths.values():
        os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(paths['resolv'], 'w') as handle:
        handle.write(PLAIN)
    monkeypatch.setattr(domain_resolver, 'PATHS', paths)
    monkeypatch.setattr(domain_resolver, 'resolver_answers', lambda *a, **k: True)
    # no real DNS here: every upstream and the forwarded question answer (tests that
    # need silence set their own)
    monkeypatch.setattr(domain_resolver, 'dns_probe', lambda *a, **k: None)
    fake.paths = paths
    return fake


def run_domains(host, **overrides):
    args = dict(domains=DOMAIN_FIXTURE['domains'], domain_ttl=DOMAIN_FIXTURE['domain_ttl'],
                lock_timeout=1)
    args.update(overrides)
    try:
        run(host, **args)
    finally:
        end_previous_run()


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
