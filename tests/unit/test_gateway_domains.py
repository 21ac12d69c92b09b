# -*- coding: utf-8 -*-
"""The domain half in gateway mode at unit speed (issue 23): the resolver also serves the
LAN interfaces (never the WAN, never a wildcard), the nftables forward chain matches the
timed sets with the answer guard, the input chain accepts DNS from the LAN, ufw's
after.rules block and running firewall get the forward and DNS accepts, and the host-side
refusals. Expectations are written by hand; containers prove the behaviour
(extensions/molecule/gateway). tests/golden/nftables_gateway_domains_live_<version>.json is what real
nft 1.0.6 / 1.1.3 listed for TABLE below (loaded with ``nft -f`` in a Debian 12 / 13
container) and must read back as converged.
"""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.jaas.firewall.plugins.module_utils import (
    domain_resolver, nftables_plan as nft, resolver_files as files, ufw_domains)
from ansible_collections.jaas.firewall.plugins.module_utils.nftables_backend import NftablesBackend
from ansible_collections.jaas.firewall.plugins.module_utils.converge import PlanError
from ansible_collections.jaas.firewall.plugins.module_utils.domain_sets import (
    DomainError, normalise_domains)
from ansible_collections.jaas.firewall.plugins.module_utils.gateway import (
    Gateway, resolver_interfaces)
from ansible_collections.jaas.firewall.plugins.module_utils.model import ModelError

from canned.resolver import FakeModule, PLAIN, Failed, read, restart_fails_once, write
from canned.resolver import root  # noqa: F401 (fixture)

GOLDEN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'golden')
DOMAINS = normalise_domains([{'category': 'core', 'names': ['8x8.vc', '*.8x8.vc'],
                              'rules': [{'protocol': 'tcp', 'ports': '443'}]}])
GATEWAY = Gateway(('eth0',), ('eth1',))
RULES = [dict(direction='out', family=4, region=None, block='turn', network='198.18.7.100/32',
              protocol='tcp', ports='443')]


def _target(category, family):
    return '%d#inet#jaas#domains_%s_v%d' % (family, category, family)


# ---------------------------------------------------------------- the resolver's listen set
def _listen_lines(config):
    keys = ('listen-address=', 'bind-', 'interface=', 'except-interface=')
    return [line for line in config.splitlines() if line.startswith(keys)]


def test_host_mode_listens_on_127_0_0_153_only():
    config = files.dnsmasq_config({'8x8.vc': ['4#inet#jaas#domains_core_v4']}, 'nftset',
                                  ['198.18.7.100'], None, 300)
    assert _listen_lines(config) == ['listen-address=127.0.0.153', 'bind-interfaces']


def test_gateway_mode_adds_the_lan_interfaces_only_and_never_loopback_or_a_wildcard():
    config = files.dnsmasq_config({'8x8.vc': ['4#inet#jaas#domains_core_v4']}, 'nftset',
                                  ['198.18.7.100'], None, 300, lan_interfaces=['eth0', 'lan1'])
    # bind-dynamic: one socket per address of these interfaces (no wildcard socket), and
    # questions arriving on another interface are dropped; interface= would add lo
    # (127.0.0.1, ::1) unless excluded.
    assert _listen_lines(config) == ['listen-address=127.0.0.153', 'bind-dynamic',
                                     'except-interface=lo', 'interface=eth0', 'interface=lan1']


def converge(module, lan=None, upstreams=('198.18.7.100',)):
    resolver = domain_resolver.Resolver(module)
    desired = resolver.desired(DOMAINS, _target, 'nftset', 600, list(upstreams),
                               lan_interfaces=lan)
    resolver.missing(desired)
    plan = resolver.plan(desired, resolver.read(desired))
    if plan.changed:
        resolver.preflight(plan)
        resolver.apply(plan)
    return plan


def test_listen_set_changes_converge_and_revert(root):  # noqa: F811
    write(root['resolv'], PLAIN)
    module = FakeModule()
    converge(module)
    host_config = read(root['config'])
    gateway = converge(module, lan=['eth0'])
    assert gateway.steps == ['config', 'restart']          # restarted, resolv.conf untouched
    assert 'interface=eth0' in read(root['config'])
    assert gateway.extras['lan_interfaces'] == ['eth0']
    assert any('and eth0' in line for line in gateway.added)
    assert not converge(module, lan=['eth0']).changed      # convergent
    back = converge(module)                                 # gateway off: host only again
    assert back.steps == ['config', 'restart']
    assert read(root['config']) == host_config


def test_a_failed_restart_with_the_lan_listeners_restores_the_host_only_resolver(root):  # noqa: F811
    write(root['resolv'], PLAIN)
    module = FakeModule()
    converge(module)
    before = dict((k, read(root[k])) for k in ('config', 'unit', 'state', 'resolv'))
    restart_fails_once(module)
    with pytest.raises(Failed, match='the previous configuration was restored'):
        converge(module, lan=['eth0'])
    assert dict((k, read(root[k])) for k in ('config', 'unit', 'state', 'resolv')) == before


@pytest.mark.parametrize('lan, message', [
    ([], 'in gateway mode needs jaas_firewall_gateway_in_interfaces'),
    (['lo'], r"jaas_firewall_gateway_in_interfaces\[0\]: 'lo' is the loopback interface"),
    (['eth*'], r'jaas_firewall_gateway_in_interfaces\[0\]'),
    (['eth0\nserver=1.2.3.4'], r'jaas_firewall_gateway_in_interfaces\[0\]'),
])
def test_the_resolver_refuses_no_lan_loopback_and_wildcards(lan, message):
    with pytest.raises(DomainError, match=message):
        domain_resolver.Resolver(FakeModule()).desired(DOMAINS, _target, 'nftset', 600, [],
                                                       lan_interfaces=lan)


def test_host_side_gateway_checks():
    assert resolver_interfaces(None, DOMAINS) is None
    assert resolver_interfaces(GATEWAY, []) is None
    assert resolver_interfaces(GATEWAY, DOMAINS) == ['eth0']
    with pytest.raises(ModelError, match='needs jaas_firewall_gateway_in_interfaces'):
        resolver_interfaces(Gateway((), ('eth1',)), DOMAINS)
    with pytest.raises(ModelError, match='jaas_firewall_gateway_in_interfaces: eth1 is also in '
                                         'jaas_firewall_gateway_out_interfaces'):
        resolver_interfaces(Gateway(('eth0', 'eth1'), ('eth1',)), DOMAINS)


# ---------------------------------------------------------------- nftables
IF = 'iifname "eth0" oifname "eth1" '
FORWARD = [
    'ct state established,related accept comment "established"',
    IF + 'ip daddr @v4_turn tcp dport 443 accept comment "turn"',
    IF + 'ip daddr @domains_core_v4 ip daddr != @answer_guard_v4 tcp dport 443 ct state new '
    'update @domains_core_v4 { ip daddr } accept comment "domains core"',
    IF + 'ip6 daddr @domains_core_v6 ip6 daddr != @answer_guard_v6 tcp dport 443 ct state new '
    'update @domains_core_v6 { ip6 daddr } accept comment "domains core"',
]
DNS_INPUT = ['iifname "eth0" udp dport 53 accept comment "gateway dns"',
             'iifname "eth0" tcp dport 53 accept comment "gateway dns"']


def table(gateway=GATEWAY, domains=DOMAINS, incoming='drop', forward='drop'):
    from ansible_collections.jaas.firewall.plugins.module_utils import answer_guard
    model = nft.desired_model(RULES, default_incoming=incoming, default_outgoing='reject',
                              gateway=gateway, default_forward=forward)
    return nft.with_domains(model, domains, 10, answer_guard.normalise_exclude(None), gateway)


def test_forward_chain_gets_the_domain_rules_with_the_guard_lan_to_wan():
    assert table()['chains']['forward']['rules'] == FORWARD


def test_forward_domain_rules_come_before_a_final_reject():
    rules = table(forward='reject')['chains']['forward']['rules']
    assert rules[:-1] == FORWARD and rules[-1].startswith('reject')


def test_input_chain_accepts_dns_from_the_lan_only_when_it_drops():
    assert table()['chains']['input']['rules'][-2:] == DNS_INPUT
    rejecting = table(incoming='reject')['chains']['input']['rules']
    assert rejecting[-3:-1] == DNS_INPUT and rejecting[-1].startswith('reject')
    assert not [r for r in table(incoming='accept')['chains']['input']['rules'] if 'dport 53' in r]


def test_no_domain_rules_in_forward_or_input_without_domains_or_gateway():
    without = table(domains=[])
    assert [r for r in without['chains']['forward']['rules'] if 'domains' in r or 'dport 53' in r] == []
    assert [r for r in without['chains']['input']['rules'] if 'dport 53' in r] == []
    host = table(gateway=None)
    assert 'forward' not in host['chains']
    assert [r for r in host['chains']['input']['rules'] if 'dport 53' in r] == []


@pytest.mark.parametrize('version', ['1.0.6', '1.1.3'])
def test_what_real_nft_lists_reads_back_as_converged(version):
    with open(os.path.join(GOLDEN, 'nftables_gateway_domains_live_%s.json' % version)) as handle:
        live = nft.live_model(json.load(handle), 'jaas', {})
    assert live == table()


def test_nftables_backend_refuses_domains_in_gateway_mode_without_a_lan_interface():
    class Module(FakeModule):
        params = {'prefix': 'jaas'}
    backend = NftablesBackend(Module())
    params = dict(state='present', rules=RULES, default_incoming='drop', default_outgoing='reject',
                  default_forward='drop', gateway=True, gateway_in_interfaces=[],
                  gateway_out_interfaces=['eth1'], domains=[dict(
                      category='core', names=['8x8.vc'], rules=[{'protocol': 'tcp', 'ports': '443'}])],
                  domain_ttl=600, domain_answer_exclude=None, dns_upstreams=['198.18.7.100'],
                  persist=False, persist_file=None, persist_config=None, prefix='jaas')

    class Safety(object):
        keep_open, connection_ports = [], []
    with pytest.raises(PlanError, match='needs jaas_firewall_gateway_in_interfaces'):
        backend.desired(params, Safety())


# ---------------------------------------------------------------- ufw
MARK = ufw_domains.DEFAULT_MARK
SIDES = (['eth0'], ['eth1'])


def test_ufw_gateway_accepts_are_limited_to_the_lan_interface():
    assert [' '.join(rule) for rule in ufw_domains.gateway_rules(4, MARK, SIDES)] == [
        'ufw-after-forward -i eth0 -o eth1 -m mark --mark 0x1000000/0x1000000 '
        '-m comment --comment jaas.firewall domains -j ACCEPT',
        'ufw-after-input -i eth0 -p udp --dport 53 -m comment --comment jaas.firewall domains: '
        'gateway dns -j ACCEPT',
        'ufw-after-input -i eth0 -p tcp --dport 53 -m comment --comment jaas.firewall domains: '
        'gateway dns -j ACCEPT']
    assert ufw_domains.gateway_rules(6, MARK, SIDES)[0][0] == 'ufw6-after-forward'
    assert ufw_domains.gateway_rules(6, MARK, SIDES)[1][0] == 'ufw6-after-input'
    assert ufw_domains.gateway_rules(4, MARK, None) == []


AFTER = ('*filter\n:ufw-after-input - [0:0]\n:ufw-after-output - [0:0]\n'
         ':ufw-after-forward - [0:0]\n# don\'t delete the \'COMMIT\' line or these rules won\'t be processed\n'
         'COMMIT\n')


def test_ufw_after_rules_block_holds_the_gateway_accepts_and_goes_byte_for_byte():
    text = ufw_domains.with_block(AFTER, 4, MARK, SIDES)
    block = text[text.index(ufw_domains.BEGIN):text.index(ufw_domains.END)]
    assert block.splitlines()[1:] == [
        '-A ufw-after-output -m mark --mark 0x1000000/0x1000000 -m comment --comment '
        '"jaas.firewall domains" -j ACCEPT',
        '-A ufw-after-forward -i eth0 -o eth1 -m mark --mark 0x1000000/0x1000000 -m comment '
        '--comment "jaas.firewall domains" -j ACCEPT',
        '-A ufw-after-input -i eth0 -p udp --dport 53 -m comment --comment '
        '"jaas.firewall domains: gateway dns" -j ACCEPT',
        '-A ufw-after-input -i eth0 -p tcp --dport 53 -m comment --comment '
        '"jaas.firewall domains: gateway dns" -j ACCEPT']
    assert ufw_domains.without_block(text) == AFTER
    # host mode: the output accept only
    host = ufw_domains.with_block(AFTER, 4, MARK)
    assert '-i eth0' not in host and ufw_domains.with_block(text, 4, MARK) == host


class _UfwModule(FakeModule):
    params = {}


class _NoResolverChange(object):
    changed = False


def _ufw_plan(gateway, kernel, present=True):
    domains = ufw_domains.UfwDomains(_UfwModule(), active=True, ipv6=False)
    domains.resolver.plan = lambda desired, live: _NoResolverChange()
    params = dict(state='present', domains=[{'category': 'core', 'names': ['8x8.vc'],
                                             'rules': [{'protocol': 'tcp', 'ports': '443'}]}]
                  if present else [], domain_ttl=600, domain_mark=MARK,
                  dns_upstreams=['198.18.7.100'], domain_answer_exclude=None,
                  gateway=gateway, gateway_in_interfaces=['eth0'], gateway_out_interfaces=['eth1'])
    desired = domains.desired(params)
    after = ufw_domains.with_block(AFTER, 4, MARK, desired['sides']) if present else AFTER
    live = {'script': desired['script'], 'table': True, 'after': {4: after},
            'before': {4: None}, 'runtime': {4: present}, 'runtime_old': {4: False},
            'runtime_gateway': {4: kernel}, 'resolver': None}
    return desired, domains.plan(desired, live)


def test_ufw_gateway_mode_marks_forwarded_connections_from_the_lan():
    desired, _plan = _ufw_plan(True, {'ours': [], 'missing': True})
    script = desired['script']
    forward = script[script.index('chain forward {'):]
    assert 'type filter hook forward priority -10; policy accept;' in forward
    assert 'iifname { "eth0" } ip daddr @domains_core_v4 ip daddr != @answer_guard_v4 tcp dport 443 ' \
           'ct state new update @domains_core_v4 { ip daddr } meta mark set meta mark | 0x1000000' in forward
    host, _plan = _ufw_plan(False, {'ours': [], 'missing': False})
    assert 'chain forward' not in host['script'] and host['sides'] is None


def test_ufw_running_firewall_gets_the_missing_gateway_accepts_and_loses_stale_ones():
    wanted = ufw_domains.gateway_rules(4, MARK, SIDES)
    _desired, (changed, steps, _r) = _ufw_plan(True, {'ours': [], 'missing': True})
    assert changed and ('runtime-gateway', 4, ([], wanted)) in steps
    _desired, (changed, steps, _r) = _ufw_plan(True, {'ours': wanted, 'missing': False})
    assert (changed, steps) == (False, [])
    stale = [['ufw-after-forward', '-i', 'old0', '-m', 'mark']]
    _desired, (changed, steps, _r) = _ufw_plan(False, {'ours': stale, 'missing': False})
    assert ('runtime-gateway', 4, (stale, [])) in steps          # gateway off: ours removed


def test_ufw_refuses_domains_in_gateway_mode_without_a_lan_interface():
    with pytest.raises(DomainError, match='needs jaas_firewall_gateway_in_interfaces'):
        ufw_domains.check_params(dict(state='present', domains=[{
            'category': 'core', 'names': ['8x8.vc'], 'rules': [{'protocol': 'tcp', 'ports': '443'}]}],
            domain_ttl=600, domain_mark=MARK, dns_upstreams=[], domain_answer_exclude=None,
            gateway=True, gateway_in_interfaces=[], gateway_out_interfaces=['eth1']))
