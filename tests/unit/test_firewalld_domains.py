# -*- coding: utf-8 -*-
"""The firewalld domain half (module_utils/firewalld_domains.py, firewalld_plan's
``domains=``) at unit speed. Expected texts are written by hand from firewalld's rich-rule
and ipset syntax (firewall-cmd(1), firewalld.ipset(5): type hash:ip,mark, entry
``<address>,<mark>``) and from what the issue asks: firewalld accepts what the marking table
marked, in its permanent configuration, so a reload keeps it; the gateway policy gets the
same accept and LAN zones may ask the gateway's resolver; iptables backend refused with one
line naming the alternatives. main() runs with canned firewalld/systemd/nft answers;
containers prove the behaviour (extensions/molecule/domains, fwd12/fwd13).
"""

from __future__ import annotations

import copy
import os

import pytest

from ansible.module_utils import basic

from module_runs import end_previous_run, run_main
from ansible_collections.jaas.firewall.plugins.module_utils import (
    domain_marks, domain_resolver, firewalld_backend, firewalld_domains, firewalld_plan)
from ansible_collections.jaas.firewall.plugins.module_utils import resolver_files as files
from ansible_collections.jaas.firewall.plugins.modules import firewalld_rules

from canned.firewalld import Host, RichRule
from canned.firewalld import TURN_RULES
from canned.nftables_domains import resolver_root, resolver_systemctl

CORE = [{'category': 'core', 'names': ['meet.example', '*.meet.example'],
         'rules': [{'protocol': 'tcp', 'ports': '443'}]}]
ACCEPT_443 = ('rule family="ipv4" destination ipset="jaas-domains-v4" port port="443" '
              'protocol="tcp" accept')
ACCEPT_10000 = ('rule family="ipv4" destination ipset="jaas-domains-v4" port port="10000" '
                'protocol="udp" accept')
PLAIN = 'nameserver 198.18.8.53\n'
GATEWAY = dict(ingress_zones=['internal'], egress_zones=['external'], target='CONTINUE')


# ---------------------------------------------------------------- firewalld's objects (pure)
def test_the_mark_is_accepted_by_a_permanent_hash_ip_mark_ipset():
    state = firewalld_plan.desired_state(
        [], prefix='jaas', egress_target='REJECT',
        domains=dict(mark=0x1000000, services=[('udp', '10000'), ('tcp', '443')]))
    assert state['ipsets']['jaas-domains-v4'] == {
        'type': 'hash:ip,mark', 'family': 'inet', 'entries': ['0.0.0.0/0,0x1000000']}
    rules = state['policies']['jaas-egress']['rich_rules']
    assert ACCEPT_443 in rules and ACCEPT_10000 in rules
    assert not [name for name in state['ipsets'] if name.endswith('-v6') and 'domains' in name]


def test_without_domains_nothing_of_the_domain_half():
    state = firewalld_plan.desired_state([], prefix='jaas', egress_target='REJECT')
    assert 'jaas-domains-v4' not in state['ipsets']
    assert not [r for r in state['policies']['jaas-egress']['rich_rules'] if 'domains' in r]


def test_gateway_policy_accepts_the_mark_and_lan_zones_may_ask_the_resolver():
    state = firewalld_plan.desired_state(
        [], prefix='jaas', gateway=GATEWAY, domains=dict(mark=0x1000000, services=[('tcp', '443')]))
    assert ACCEPT_443 in state['policies']['jaas-gateway']['rich_rules']
    assert state['policies']['jaas-gateway-dns'] == {
        'target': 'CONTINUE', 'ingress_zones': ['internal'], 'egress_zones': ['HOST'],
        'rich_rules': ['rule port port="53" protocol="tcp" accept',
                       'rule port port="53" protocol="udp" accept']}


def test_gateway_without_domains_has_no_dns_policy():
    state = firewalld_plan.desired_state([], prefix='jaas', gateway=GATEWAY)
    assert 'jaas-gateway-dns' not in state['policies']


def test_any_ingress_zone_with_domains_is_refused():
    with pytest.raises(firewalld_plan.PlanError, match='gateway_ingress_zones: ANY'):
        firewalld_plan.desired_state([], prefix='jaas', gateway=dict(GATEWAY, ingress_zones=['ANY']),
                                     domains=dict(mark=0x1000000, services=[('tcp', '443')]))


def test_a_catalog_block_named_domains_is_refused_not_merged():
    rules = [dict(direction='out', family=4, network='198.18.8.0/29', protocol='tcp',
                  ports='80', block='domains', region=None)]
    with pytest.raises(firewalld_plan.PlanError, match='block "domains"'):
        firewalld_plan.desired_state(rules, prefix='jaas',
                                     domains=dict(mark=0x1000000, services=[('tcp', '443')]))


def test_diff_text_lists_the_mark_entry():
    state = firewalld_plan.desired_state(
        [], prefix='jaas', domains=dict(mark=0x10, services=[('tcp', '443')]))
    text = firewalld_plan.render_text(state, 'jaas')
    assert 'ipset jaas-domains-v4 (hash:ip,mark inet)\n  0.0.0.0/0,0x10\n' in text


@pytest.mark.parametrize('conf, backend', [
    ('FirewallBackend=nftables\n', 'nftables'), ('# nothing\n', 'nftables'), (None, 'nftables'),
    ('FirewallBackend=iptables\n', 'iptables'), ('FirewallBackend="iptables"\n', 'iptables')])
def test_firewall_backend_setting(conf, backend):
    assert firewalld_domains.firewall_backend(conf) == backend


# ---------------------------------------------------------------- main()
class DomainHost(Host):
    """The firewalld fake plus nft, dnsmasq and the resolver's service."""

    def __init__(self, permanent, **kwargs):
        super(DomainHost, self).__init__(permanent, **kwargs)
        self.service = {'ActiveState': 'inactive', 'UnitFileState': ''}
        self.tables = set()

    def command(self, argv):
        name = argv[0].rsplit('/', 1)[-1]
        rest = list(argv[1:])
        if name == 'nft':
            self.log.append('nft ' + ' '.join(rest))
            if rest[:1] == ['list']:
                return (0, 'table inet jaas_domains {}\n', '') if 'jaas_domains' in self.tables \
                    else (1, '', 'Error: No such file or directory')
            if rest[:1] == ['-f']:
                self.tables.add('jaas_domains')
            if rest[:1] == ['delete']:
                self.tables.discard('jaas_domains')
            return 0, '', ''
        if name == 'dnsmasq':
            self.log.append('dnsmasq --test')
            return 0, 'dnsmasq: syntax check OK.', ''
        if name == 'systemctl' and (rest[-1:] == [files.SERVICE] or rest == ['daemon-reload']):
            self.log.append('systemctl ' + ' '.join(rest))
            return resolver_systemctl(self, rest)
        return super(DomainHost, self).command(argv)

    def apply_permanent(self, desired, changes):
        super(DomainHost, self).apply_permanent(desired, changes)
        self.permanent = copy.deepcopy(desired)           # read back by the next run

    # the gateway's zone checks (firewalld_backend.gateway_problems)
    @staticmethod
    def zone_names():
        return ['internal', 'external', 'public']

    @staticmethod
    def zone_of_interface(interface):
        return {'lan0': 'internal', 'wan0': 'external'}.get(interface)


@pytest.fixture
def host(tmp_path, monkeypatch):
    fake = DomainHost({'ipsets': {}, 'policies': {}})
    monkeypatch.setattr(firewalld_backend, 'HAS_FIREWALL', True)
    monkeypatch.setattr(firewalld_backend, 'Firewalld', lambda prefix: fake)
    monkeypatch.setattr(firewalld_backend, 'canonical_rules', lambda desired: desired)
    monkeypatch.setattr(firewalld_backend, 'Rich_Rule', RichRule, raising=False)
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path',
                        lambda module, name, *a, **k: '/usr/sbin/%s' % name)
    monkeypatch.setattr(basic.AnsibleModule, 'run_command',
                        lambda module, argv, **k: fake.command(argv))
    monkeypatch.setattr(firewalld_backend, 'kept_connection_ports', lambda keep, port=None: [])
    fake.warnings = []
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda module, text: fake.warnings.append(text))
    root = tmp_path / 'root'
    paths = resolver_root(root, monkeypatch, PLAIN)
    fake.table_file = str(root / 'etc/jaas-firewall/domains.nft')
    monkeypatch.setattr(domain_marks, 'TABLE_FILE', fake.table_file)
    fake.conf = str(root / 'etc/firewalld/firewalld.conf')
    os.makedirs(os.path.dirname(fake.conf), exist_ok=True)
    with open(fake.conf, 'w') as handle:
        handle.write('FirewallBackend=nftables\n')
    monkeypatch.setattr(firewalld_domains, 'FIREWALLD_CONF', fake.conf)
    fake.paths = paths
    return fake


def run(capsys, check_mode=False, **args):
    args.setdefault('rules', TURN_RULES)
    args.setdefault('domains', CORE)
    args.setdefault('domain_ttl', 600)
    args.setdefault('egress_target', 'REJECT')
    args.update(_ansible_check_mode=check_mode, _ansible_diff=True, lock_timeout=1)
    try:
        return run_main(firewalld_rules.main, args, capsys)
    finally:
        end_previous_run()


def _resolv(host):
    with open(host.paths['resolv']) as handle:
        return handle.read()


def test_first_run_accepts_the_mark_then_loads_the_table_then_hands_over(host, capsys):
    out = run(capsys)
    assert out.get('failed') is not True, out
    assert out['changed'] is True
    assert 'ipset jaas-domains-v4: 0.0.0.0/0,0x1000000' in out['added']
    assert 'policy jaas-egress: %s' % ACCEPT_443 in out['added']
    assert out['domain_steps'] == ['table']
    # firewalld's accept first, then our table, then the resolver that fills it
    log = host.log
    assert log.index('apply permanent') < log.index('nft -f %s' % host.table_file) \
        < log.index('systemctl restart %s' % files.SERVICE)
    with open(host.table_file) as handle:
        script = handle.read()
    assert '(jaas_firewall_domains, firewalld)' in script
    assert ('ip daddr @domains_core_v4 ip daddr != @answer_guard_v4 tcp dport 443 ct state new '
            'update @domains_core_v4 { ip daddr } meta mark set meta mark | 0x1000000') in script
    assert 'domains_core_v6' not in script          # IPv4 only on firewalld
    assert files.nameservers(_resolv(host)) == [files.LISTEN]
    assert any('only IPv4 answers open' in w for w in host.warnings)


def test_check_mode_reports_and_touches_nothing(host, capsys):
    out = run(capsys, check_mode=True)
    assert out['changed'] is True and out['domain_steps'] == ['table']
    assert 'apply permanent' not in host.log
    assert not [c for c in host.log if c.startswith('nft -f') or 'restart' in c]
    assert not os.path.exists(host.table_file)
    assert _resolv(host) == PLAIN


def test_domains_off_hands_resolv_conf_back_and_removes_the_table(host, capsys):
    run(capsys)
    host.log = []
    out = run(capsys, domains=[])
    assert out['changed'] is True and out['domain_steps'] == ['table removed']
    assert 'restore' in out['resolver']['steps']
    assert 'ipset jaas-domains-v4: 0.0.0.0/0,0x1000000' in out['removed']
    assert _resolv(host) == PLAIN
    assert not os.path.exists(host.table_file)
    assert 'jaas_domains' not in host.tables


def test_iptables_backend_is_refused_in_one_line(host, capsys):
    with open(host.conf, 'w') as handle:
        handle.write('FirewallBackend=iptables\n')
    out = run(capsys)
    assert out['failed'] is True
    assert out['msg'].startswith('nothing changed: jaas_firewall_domains: firewalld runs with '
                                 'FirewallBackend=iptables')
    assert 'nftables role or the squid role' in out['msg'] and '\n' not in out['msg']
    assert 'apply permanent' not in host.log and _resolv(host) == PLAIN


def test_iptables_backend_without_domains_is_fine(host, capsys):
    with open(host.conf, 'w') as handle:
        handle.write('FirewallBackend=iptables\n')
    out = run(capsys, domains=[])
    assert out.get('failed') is not True, out


def test_gateway_with_domains_marks_forwarded_lan_packets(host, capsys):
    out = run(capsys, gateway=True, gateway_in_interfaces=['lan0'],
              gateway_out_interfaces=['wan0'])
    assert out.get('failed') is not True, out
    assert 'policy jaas-gateway: %s' % ACCEPT_443 in out['added']
    assert 'policy jaas-gateway-dns: rule port port="53" protocol="udp" accept' in out['added']
    with open(host.table_file) as handle:
        script = handle.read()
    assert 'type filter hook forward priority -10; policy accept;' in script
    assert 'iifname { "lan0" } ip daddr @domains_core_v4' in script
    # the resolver serves the LAN leg too, never the WAN one
    with open(host.paths['config']) as handle:
        config = handle.read().splitlines()
    assert 'interface=lan0' in config
    assert not [line for line in config if 'wan0' in line]


def test_gateway_with_domains_needs_a_lan_interface_on_the_host_too(host, capsys):
    out = run(capsys, gateway=True, gateway_in_interfaces=[], gateway_out_interfaces=['wan0'])
    assert out['failed'] is True
    assert 'jaas_firewall_domains in gateway mode needs jaas_firewall_gateway_in_interfaces' in out['msg']
    assert 'apply permanent' not in host.log and _resolv(host) == PLAIN


def test_second_run_changes_nothing(host, capsys):
    run(capsys)
    host.log = []
    out = run(capsys)
    assert out['changed'] is False and out['domain_steps'] == [] and out['resolver']['steps'] == []
    assert not [c for c in host.log if c.startswith(('nft -f', 'apply'))]


def test_the_firewalld_snapshot_covers_the_marking_table_and_its_file(tmp_path, monkeypatch):
    """rollback_timeout on firewalld: the revert brings back the table inet jaas_domains as it
    was (or removes one the change made) and the file the resolver service loads it from."""
    recipe = firewalld_backend.FirewalldRecipe(running=True, config_dir=str(tmp_path / 'firewalld'))
    assert '/etc/jaas-firewall/domains.nft' in recipe.resolver.files
    os.makedirs(str(tmp_path / 'firewalld'))
    listed = []

    class Module(object):
        @staticmethod
        def get_bin_path(name, required=False, opt_dirs=None):
            return '/usr/sbin/' + name

        @staticmethod
        def run_command(argv, **kwargs):
            listed.append(' '.join(argv[1:]))
            if argv[1:] == ['list', 'table', 'inet', 'jaas_domains']:
                return 0, 'table inet jaas_domains {\n}\n', ''
            return 0, '', ''

    monkeypatch.setattr(firewalld_backend, 'unit_enablement', lambda module, unit: [])
    snapshot = tmp_path / 'snap'
    snapshot.mkdir()
    lines = recipe.snapshot(Module(), str(snapshot))
    assert 'list table inet jaas_domains' in listed
    assert any(line.startswith('nft -f ') and 'jaas_domains' in line for line in lines)
