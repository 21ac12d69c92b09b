# -*- coding: utf-8 -*-
"""The resolver hand-over (module_utils/domain_resolver.py) on files in a temp dir: plain
resolv.conf and systemd-resolved's stub symlink taken over and given back byte for byte,
resolv.conf as a mount point (written in place), upstreams from before the hand-over, a
resolver that does not come up, a resolv.conf someone changed since. systemctl is faked;
extensions/molecule/domains runs the real thing.
"""

from __future__ import annotations

import errno
import json
import os

import pytest

from ansible_collections.jaas.firewall.plugins.module_utils import domain_resolver
from ansible_collections.jaas.firewall.plugins.module_utils import resolver_files as files
from ansible_collections.jaas.firewall.plugins.module_utils.domain_sets import DomainError
from canned.resolver import (  # noqa: F401 (fixtures)
    PLAIN, Failed, FakeModule, restart_fails_once, root, converge, write, read)

UPLINKS = '# systemd-resolved\nnameserver 198.18.8.54\n'


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
    with pytest.raises(Failed, match='does not work with the new configuration '
                                     r'\(systemctl restart failed: Job failed\); the resolver '
                                     'files were removed again; .*resolv.conf is unchanged'):
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
    # reads only: the service's state, and the new configuration checked by dnsmasq
    assert module.commands[0] == 'show -p ActiveState -p UnitFileState %s' % files.SERVICE
    assert len(module.commands) == 2 and module.commands[1].startswith('--test --conf-file=')


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


# ---------------------------------------------------------------- never dark
def test_an_upstream_that_does_not_answer_fails_before_any_change(root, monkeypatch):
    write(root['resolv'], PLAIN)
    asked = []

    def probe(address, seconds=3.0):
        asked.append(address)
        return 'does not answer within 3s (UDP: no answer; TCP: refused)' \
            if address == '2001:2:0:8::53' else None
    monkeypatch.setattr(domain_resolver, 'dns_probe', probe)
    module = FakeModule()
    with pytest.raises(Failed, match=r'nothing changed: DNS upstream 2001:2:0:8::53 does not '
                                     r'answer .* jaas_firewall_dns_upstreams'):
        converge(module)
    assert asked == ['198.18.8.53', '2001:2:0:8::53']
    assert read(root['resolv']) == PLAIN
    assert not any(os.path.exists(root[k]) for k in ('config', 'unit', 'state'))
    assert not [c for c in module.commands if c.split()[0] in ('restart', 'enable')]


def test_a_refusing_upstream_fails_too(root, monkeypatch):
    write(root['resolv'], PLAIN)
    monkeypatch.setattr(domain_resolver, 'dns_probe', lambda address, seconds=3.0: 'answers REFUSED')
    with pytest.raises(Failed, match='DNS upstream 198.18.8.53 answers REFUSED'):
        converge(FakeModule())


def test_a_resolver_that_cannot_forward_is_not_handed_over(root, monkeypatch):
    write(root['resolv'], PLAIN)
    # the upstreams answer the module, but the new resolver cannot reach them
    monkeypatch.setattr(domain_resolver, 'dns_probe', lambda address, seconds=3.0:
                        'does not answer within 5s' if address == files.LISTEN else None)
    with pytest.raises(Failed, match='a question it must forward: does not answer'):
        converge(FakeModule())
    assert read(root['resolv']) == PLAIN


def test_a_failed_reconfiguration_restores_the_previous_one(root):
    write(root['resolv'], PLAIN)
    module = FakeModule()
    converge(module)
    before = dict((k, read(root[k])) for k in ('config', 'unit', 'state', 'resolv'))
    restart_fails_once(module)
    with pytest.raises(Failed, match='the previous configuration was restored and the '
                                     'resolver restarted; .*resolv.conf is unchanged'):
        converge(module, upstreams=['198.18.8.77'])
    after = dict((k, read(root[k])) for k in ('config', 'unit', 'state', 'resolv'))
    assert after == before
    assert module.commands[-2:] == ['daemon-reload', 'restart %s' % files.SERVICE]


def test_dnsmasq_refusing_the_config_changes_nothing(root):
    write(root['resolv'], PLAIN)

    class Refusing(FakeModule):
        def run_command(self, args, **kwargs):
            if '--test' in args:
                self.commands.append(' '.join(args[1:]))
                return 1, '', 'dnsmasq: bad option at line 12 of /tmp/x.conf'
            return FakeModule.run_command(self, args, **kwargs)
    with pytest.raises(Failed, match='nothing changed: dnsmasq --test refused the new resolver '
                                     'configuration: dnsmasq: bad option'):
        converge(Refusing())
    assert read(root['resolv']) == PLAIN
    assert not any(os.path.exists(root[k]) for k in ('config', 'unit', 'state'))


@pytest.mark.parametrize('record', ['', '{"resolv_conf": ', '[]',
                                    '{"resolv_conf": {"kind": "file", "text": ""}}'])
def test_a_damaged_record_is_never_restored(root, record):
    write(root['resolv'], PLAIN)
    module = FakeModule()
    converge(module)
    write(root['state'], record)
    back = converge(module, domains=[])
    assert any('rebuilt from the servers the resolver forwards to' in w for w in back.warnings)
    text = read(root['resolv'])
    # never the damaged text, never the dead resolver: the servers it forwarded to
    assert files.nameservers(text) == ['198.18.8.53', '2001:2:0:8::53']
    assert 'search lab.example' in text and not os.path.exists(root['state'])


def test_a_lost_record_while_handed_over_is_rebuilt_not_recorded_as_ours(root):
    write(root['resolv'], PLAIN)
    module = FakeModule()
    converge(module)
    os.unlink(root['state'])
    again = converge(module)
    assert 'record' in again.steps and any('missing' in w for w in again.warnings)
    record = json.loads(read(root['state']))
    assert not files.is_ours(record['resolv_conf']['text'])
    assert files.nameservers(record['resolv_conf']['text']) == ['198.18.8.53', '2001:2:0:8::53']


def test_a_rewrite_by_networkmanager_is_reported_followed_and_handed_over_again(root):
    write(root['resolv'], PLAIN)
    module = FakeModule()
    converge(module)
    rewritten = '# Generated by NetworkManager\nsearch lab.example\nnameserver 198.18.8.60\n'
    write(root['resolv'], rewritten)
    check = converge(module, check=True)
    assert check.changed and 'handover' in check.steps
    assert any('rewritten since the hand-over' in w and 'NetworkManager' in w
               for w in check.warnings)
    again = converge(module)
    assert files.nameservers(read(root['resolv'])) == [files.LISTEN]
    assert again.extras['upstreams'] == ['198.18.8.60']           # the new lease's server
    assert 'server=198.18.8.60\n' in read(root['config'])
    converge(module, domains=[])
    assert read(root['resolv']) == rewritten                      # the newest host file back


@pytest.mark.parametrize('value, message', [
    ('fe80::1%eth0\nserver=198.18.230.12', 'control character'),
    ('198.18.8.53\r', 'control character'),
    ('fe80::1%eth0 x', 'interface'),
    ('198.18.8.53%eth0', 'only an IPv6 link-local address'),
])
def test_upstream_injection_is_refused(value, message):
    with pytest.raises(DomainError, match=r'jaas_firewall_dns_upstreams\[1\]: .*' + message):
        domain_resolver.check_upstreams(['198.18.8.53', value], 'jaas_firewall_dns_upstreams')


def test_scoped_link_local_upstream_is_one_directive(root):
    assert domain_resolver.check_upstreams(['fe80::1%eth0']) == ['fe80::1%eth0']
    write(root['resolv'], PLAIN)
    converge(FakeModule(), upstreams=['fe80::1%eth0'])
    servers = [line for line in read(root['config']).splitlines() if line.startswith('server=')]
    assert servers == ['server=fe80::1%eth0']


def test_the_unit_restarts_the_resolver_whatever_stopped_it():
    unit = files.unit_file('/usr/sbin/dnsmasq')
    assert 'Restart=always\n' in unit and 'StartLimitIntervalSec=0\n' in unit
