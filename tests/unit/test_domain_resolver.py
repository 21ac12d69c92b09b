# -*- coding: utf-8 -*-
"""The resolver hand-over (module_utils/domain_resolver.py) on files in a temp dir: plain
resolv.conf and systemd-resolved's stub symlink taken over and given back byte for byte,
resolv.conf as a mount point (written in place), upstreams from before the hand-over, a
resolver that does not come up, a resolv.conf someone changed since. systemctl is faked;
molecule/domains runs the real thing.
"""

from __future__ import annotations

import errno
import json
import os

import pytest

from ansible_collections.jaas.firewall.plugins.module_utils import domain_resolver
from ansible_collections.jaas.firewall.plugins.module_utils import resolver_files as files
from ansible_collections.jaas.firewall.plugins.module_utils.domain_sets import (
    DomainError, normalise_domains)

DOMAINS = normalise_domains([{'category': 'core', 'names': ['8x8.vc', '*.8x8.vc'],
                              'rules': [{'protocol': 'tcp', 'ports': '443'}]}])
PLAIN = '# from DHCP\nsearch lab.example\nnameserver 198.18.8.53\nnameserver 2001:2:0:8::53\noptions ndots:2\n'
UPLINKS = '# systemd-resolved\nnameserver 198.18.8.54\n'


class Failed(Exception):
    pass


class FakeModule(object):
    """systemctl answers and failures; everything else is the temp dir."""

    def __init__(self, active='inactive', enabled='', restart_rc=0):
        self.active, self.enabled, self.restart_rc = active, enabled, restart_rc
        self.commands, self.warnings = [], []

    def get_bin_path(self, name, required=False, opt_dirs=None):
        return '/usr/sbin/%s' % name

    def run_command(self, args, **kwargs):
        command = ' '.join(args[1:])
        self.commands.append(command)
        if args[1] == 'show':
            return 0, 'ActiveState=%s\nUnitFileState=%s\n' % (self.active, self.enabled), ''
        if args[1] == 'restart':
            if self.restart_rc == 0:
                self.active = 'active'
            return self.restart_rc, '', 'Job failed' if self.restart_rc else ''
        if args[1] == 'enable':
            self.enabled = 'enabled'
        if args[1] == 'disable':
            self.active, self.enabled = 'inactive', 'disabled'
        return 0, '', ''

    def fail_json(self, **result):
        raise Failed(result['msg'])

    def warn(self, text):
        self.warnings.append(text)


@pytest.fixture
def root(tmp_path, monkeypatch):
    paths = dict((key, str(tmp_path / os.path.basename(os.path.dirname(path)) / os.path.basename(path)))
                 for key, path in domain_resolver.PATHS.items())
    for path in paths.values():
        os.makedirs(os.path.dirname(path), exist_ok=True)
    monkeypatch.setattr(domain_resolver, 'PATHS', paths)
    monkeypatch.setattr(domain_resolver, 'resolver_answers', lambda *a, **k: True)
    return paths


def converge(module, domains=DOMAINS, upstreams=(), check=False):
    resolver = domain_resolver.Resolver(module)
    desired = resolver.desired(domains, lambda c, f: '%d#inet#jaas#domains_%s_v%d' % (f, c, f),
                               'nftset', 3600, list(upstreams))
    resolver.missing(desired)
    plan = resolver.plan(desired, resolver.read(desired))
    if plan.changed and not check:
        resolver.apply(plan)
    return plan


def write(path, text):
    with open(path, 'w') as handle:
        handle.write(text)


def read(path):
    with open(path) as handle:
        return handle.read()


def test_plain_resolv_conf_is_handed_over_and_back_byte_for_byte(root):
    write(root['resolv'], PLAIN)
    os.chmod(root['resolv'], 0o640)
    module = FakeModule()
    plan = converge(module)
    assert plan.steps == ['config', 'unit', 'daemon-reload', 'enable', 'restart', 'record',
                          'handover']
    assert plan.extras['upstreams'] == ['198.18.8.53', '2001:2:0:8::53']
    config = read(root['config'])
    assert 'server=198.18.8.53\nserver=2001:2:0:8::53\n' in config and 'no-resolv' in config
    assert 'nftset=/8x8.vc/4#inet#jaas#domains_core_v4,6#inet#jaas#domains_core_v6\n' in config
    assert 'cache-size=0\n' in config and 'max-ttl=60\n' in config
    ours = read(root['resolv'])
    assert files.nameservers(ours) == [files.LISTEN]
    assert 'search lab.example\n' in ours and 'options ndots:2\n' in ours

    again = converge(module)
    assert again.changed is False and again.steps == []

    module.commands = []
    back = converge(module, domains=[])
    assert back.steps == ['restore', 'stop', 'unit-delete', 'daemon-reload', 'config-delete',
                          'record-delete']
    assert read(root['resolv']) == PLAIN
    assert os.stat(root['resolv']).st_mode & 0o777 == 0o640
    assert not any(os.path.exists(root[k]) for k in ('config', 'unit', 'state'))
    assert 'disable --now %s' % files.SERVICE in module.commands


def test_systemd_resolved_stub_symlink_comes_back_as_the_same_symlink(root):
    stub = os.path.join(os.path.dirname(root['uplinks']), 'stub-resolv.conf')
    write(stub, '# stub\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n')
    write(root['uplinks'], UPLINKS)
    os.symlink(stub, root['resolv'])
    plan = converge(FakeModule())
    # dnsmasq follows systemd-resolved's own servers as they change
    assert plan.extras['upstreams'] == [] and plan.extras['upstreams_from'] == files.RESOLVED_UPLINKS
    assert 'resolv-file=%s\n' % files.RESOLVED_UPLINKS in read(root['config'])
    assert not os.path.islink(root['resolv'])
    assert 'options edns0 trust-ad\n' in read(root['resolv'])

    converge(FakeModule(active='active', enabled='enabled'), domains=[])
    assert os.path.islink(root['resolv']) and os.readlink(root['resolv']) == stub


def test_explicit_upstreams_win_and_the_recorded_ones_stay(root):
    write(root['resolv'], PLAIN)
    module = FakeModule()
    plan = converge(module, upstreams=['198.18.8.60'])
    assert plan.extras['upstreams'] == ['198.18.8.60']
    record = json.loads(read(root['state']))
    assert record['detected']['upstreams'] == ['198.18.8.53', '2001:2:0:8::53']
    # dropping the override goes back to what the host used before, from the record
    plan = converge(module)
    assert plan.steps == ['config', 'restart'] and plan.extras['upstreams'][0] == '198.18.8.53'


def test_mount_point_resolv_conf_is_written_in_place(root, monkeypatch):
    write(root['resolv'], PLAIN)
    inode = os.stat(root['resolv']).st_ino
    rename = os.rename

    def busy(source, target):
        if target == root['resolv']:
            raise OSError(errno.EBUSY, 'Device or resource busy')
        return rename(source, target)

    monkeypatch.setattr(os, 'rename', busy)
    module = FakeModule()
    converge(module)
    assert files.nameservers(read(root['resolv'])) == [files.LISTEN]
    converge(module, domains=[])
    assert read(root['resolv']) == PLAIN and os.stat(root['resolv']).st_ino == inode
    assert not [n for n in os.listdir(os.path.dirname(root['resolv'])) if n.startswith('.jaas')]


def test_resolver_that_does_not_start_leaves_resolv_conf_and_no_files(root):
    write(root['resolv'], PLAIN)
    with pytest.raises(Failed, match='did not start or does not answer'):
        converge(FakeModule(restart_rc=1))
    assert read(root['resolv']) == PLAIN
    assert not any(os.path.exists(root[k]) for k in ('config', 'unit', 'state'))


def test_resolver_that_does_not_answer_is_not_handed_over(root, monkeypatch):
    write(root['resolv'], PLAIN)
    monkeypatch.setattr(domain_resolver, 'resolver_answers', lambda *a, **k: False)
    with pytest.raises(Failed, match='no answer to resolver-check.jaas-firewall.invalid'):
        converge(FakeModule())
    assert read(root['resolv']) == PLAIN


def test_resolv_conf_changed_since_is_left_alone_with_a_warning(root):
    write(root['resolv'], PLAIN)
    module = FakeModule()
    converge(module)
    write(root['resolv'], 'nameserver 198.18.8.99\n')      # a DHCP client took it back
    plan = converge(module, domains=[])
    assert 'restore' not in plan.steps
    assert any('changed since the hand-over' in w for w in plan.warnings)
    assert read(root['resolv']) == 'nameserver 198.18.8.99\n'
    assert not os.path.exists(root['state'])


def test_check_mode_changes_nothing(root):
    write(root['resolv'], PLAIN)
    module = FakeModule()
    plan = converge(module, check=True)
    assert plan.changed and read(root['resolv']) == PLAIN
    assert not any(os.path.exists(root[k]) for k in ('config', 'unit', 'state'))
    assert module.commands == ['show -p ActiveState -p UnitFileState %s' % files.SERVICE]


def test_host_without_domains_or_our_files_runs_no_command(root):
    write(root['resolv'], PLAIN)
    module = FakeModule()
    plan = converge(module, domains=[])
    assert plan.changed is False and module.commands == []


@pytest.mark.parametrize('resolv, uplinks, message', [
    ('nameserver 127.0.0.53\n', '', 'systemd-resolved, which lists no DNS servers'),
    ('# empty\n', None, 'lists no DNS server to forward to'),
    ('nameserver %s\n' % files.LISTEN, None, 'lists no DNS server'),
])
def test_nowhere_to_forward_is_refused_before_any_change(root, resolv, uplinks, message):
    write(root['resolv'], resolv)
    if uplinks is not None:
        write(root['uplinks'], uplinks)
    with pytest.raises(DomainError, match=message):
        converge(FakeModule())
    assert read(root['resolv']) == resolv
    # ... unless the servers are given
    converge(FakeModule(), upstreams=['198.18.8.53'])
    assert files.nameservers(read(root['resolv'])) == [files.LISTEN]


def test_nss_resolve_is_warned_about(root):
    write(root['resolv'], PLAIN)
    write(root['nsswitch'], 'passwd: files\nhosts: files resolve [!UNAVAIL=return] dns\n')
    plan = converge(FakeModule())
    assert any('nss-resolve' in w for w in plan.warnings)


@pytest.mark.parametrize('bad', [['8.8.8.8.8'], ['dns.example'], [files.LISTEN]])
def test_bad_upstreams_are_refused(bad):
    with pytest.raises(DomainError, match=r'dns_upstreams\[0\]'):
        domain_resolver.check_upstreams(bad)
