"""The nftables module host with the domain half (dnsmasq, the resolver service, the
resolver files under tmp_path)."""

import json
import os

import pytest

from ansible.module_utils import basic

from module_runs import end_previous_run
from ansible_collections.jaas.firewall.plugins.module_utils import domain_resolver
from ansible_collections.jaas.firewall.plugins.module_utils import resolver_files as files

from canned.golden import GOLDEN
from canned.nftables import FakeHost, install, run


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
            return resolver_systemctl(self, rest)
        if rest == ['-j', 'list', 'table', 'inet', 'jaas'] and self.with_domains:
            self.commands.append(' '.join(rest))
            return 0, LIVE_WITH_DOMAINS, ''
        return super(DomainHost, self).run_command(module, args, **kwargs)

    with_domains = True


@pytest.fixture
def host(tmp_path, monkeypatch):
    fake = install(DomainHost(tmp_path), monkeypatch)
    fake.paths = resolver_root(tmp_path / 'root', monkeypatch)
    return fake


def resolver_root(root, monkeypatch, resolv=PLAIN):
    """The resolver's files under ``root`` (``/etc/resolv.conf`` holding ``resolv``), and a
    resolver and upstreams that always answer: no real DNS here (tests that need silence set
    their own). Returns the paths."""
    paths = dict((key, str(root / path.lstrip('/'))) for key, path in domain_resolver.PATHS.items())
    for path in paths.values():
        os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(paths['resolv'], 'w') as handle:
        handle.write(resolv)
    monkeypatch.setattr(domain_resolver, 'PATHS', paths)
    monkeypatch.setattr(domain_resolver, 'resolver_answers', lambda *a, **k: True)
    monkeypatch.setattr(domain_resolver, 'dns_probe', lambda *a, **k: None)
    return paths


def run_domains(host, **overrides):
    args = dict(domains=DOMAIN_FIXTURE['domains'], domain_ttl=DOMAIN_FIXTURE['domain_ttl'],
                lock_timeout=1)
    args.update(overrides)
    try:
        run(host, **args)
    finally:
        end_previous_run()


def resolver_systemctl(fake, rest):
    """systemctl's answer for the resolver unit (``fake.service`` holds its state)."""
    if rest[0] == 'show':
        return 0, ''.join('%s=%s\n' % item for item in sorted(fake.service.items())), ''
    if rest[0] == 'restart':
        fake.service['ActiveState'] = 'active'
    if rest[0] == 'enable':
        fake.service['UnitFileState'] = 'enabled'
    if rest[0] == 'disable':
        fake.service = {'ActiveState': 'inactive', 'UnitFileState': 'disabled'}
    return 0, '', ''
