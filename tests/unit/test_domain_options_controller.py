# -*- coding: utf-8 -*-
"""The domain options on the controller (plugins/plugin_utils/backend_action.py): the
module's ``domains`` entries built from the validated catalog, and bad input refused with
the role variable's name before anything reaches a host."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleError

from ansible_collections.jaas.firewall.plugins.plugin_utils.backend_action import (
    check_domain_options, check_log_drops, domain_entries)
from ansible_collections.jaas.firewall.plugins.plugin_utils.catalog import load_catalog

CATALOG = load_catalog()


def test_entries_carry_the_catalogs_names_and_rules():
    entries = domain_entries(CATALOG, ['core', 'core', 'analytics'], [4])
    assert [e['category'] for e in entries] == ['core', 'analytics']
    # from the vendor page: core is 8x8.com, 8x8.vc, jitsi.net with and without "*."
    assert entries[0] == {'category': 'core', 'families': [4],
                          'names': ['8x8.com', '*.8x8.com', '8x8.vc', '*.8x8.vc', 'jitsi.net',
                                    '*.jitsi.net'],
                          'rules': [{'protocol': 'tcp', 'ports': '443'}]}
    assert domain_entries(CATALOG, None, [4, 6]) == []


def test_unknown_category_names_the_variable():
    with pytest.raises(AnsibleError, match="jaas_firewall_domains: unknown domain categories "
                                           "'videos'; the catalog has analytics, auxiliary, core"):
        domain_entries(CATALOG, ['core', 'videos'], None)


@pytest.mark.parametrize('categories', ['core', {'core': 1}])
def test_not_a_list(categories):
    with pytest.raises(AnsibleError, match='must be a list of domain categories'):
        domain_entries(CATALOG, categories, None)


def _args(**extra):
    args = dict(domains=domain_entries(CATALOG, ['core'], None), domain_ttl=3600,
                dns_upstreams=[])
    args.update(extra)
    return args


@pytest.mark.parametrize('module', ['jaas.firewall.firewalld_rules', 'jaas.firewall.nftables_rules',
                                    'jaas.firewall.ufw_rules'])
def test_every_linux_backend_takes_domains(module):
    check_domain_options(module, _args())
    check_domain_options(module, _args(domains=[]))


def test_other_modules_refuse_domains_before_any_host():
    with pytest.raises(AnsibleError, match='jaas_firewall_domains: jaas.firewall.other_rules '
                                           'cannot enforce domains'):
        check_domain_options('jaas.firewall.other_rules', _args())
    check_domain_options('jaas.firewall.other_rules', _args(domains=[]))   # off is fine


@pytest.mark.parametrize('module', ['jaas.firewall.firewalld_rules', 'jaas.firewall.nftables_rules',
                                    'jaas.firewall.ufw_rules'])
@pytest.mark.parametrize('gateway, lan, wan, message', [
    (True, [], ['wan0'], 'jaas_firewall_domains in gateway mode needs jaas_firewall_gateway_in_interfaces'),
    ('yes', [], [], 'jaas_firewall_domains in gateway mode needs jaas_firewall_gateway_in_interfaces'),
    (True, ['lan0', 'wan0'], ['wan0'], 'jaas_firewall_gateway_in_interfaces: wan0 is also in '
                                       'jaas_firewall_gateway_out_interfaces'),
])
def test_gateway_domains_need_lan_interfaces(module, gateway, lan, wan, message):
    args = _args(gateway=gateway, gateway_in_interfaces=lan, gateway_out_interfaces=wan)
    with pytest.raises(AnsibleError, match=message):
        check_domain_options(module, args)
    # the same without domains, without gateway mode, or when removing: nothing to serve
    check_domain_options(module, dict(args, domains=[]))
    check_domain_options(module, dict(args, gateway=False))
    check_domain_options(module, dict(args, state='absent'))
    check_domain_options(module, dict(args, gateway_in_interfaces=['lan0'], gateway_out_interfaces=['wan0']))


@pytest.mark.parametrize('module', ['jaas.firewall.nftables_rules', 'jaas.firewall.ufw_rules'])
@pytest.mark.parametrize('extra, message', [
    (dict(domain_ttl=5), 'jaas_firewall_domain_ttl must be whole seconds from 10'),
    (dict(domain_ttl='soon'), 'jaas_firewall_domain_ttl must be whole seconds'),
    (dict(dns_upstreams=['198.18.8.53', 'dns.example']),
     r"jaas_firewall_dns_upstreams\[1\]: 'dns.example' is not an IP address"),
    (dict(domain_answer_exclude=['10.0.0.0/8', '10.0.0.1/8']),
     r"jaas_firewall_domain_answer_exclude\[1\]: .*host bits"),
    (dict(domain_answer_exclude='10.0.0.0/8'),
     r"jaas_firewall_domain_answer_exclude must be a list"),
])
def test_bad_domain_options_name_the_role_variable(module, extra, message):
    check_domain_options(module, _args())
    with pytest.raises(AnsibleError, match=message):
        check_domain_options(module, _args(**extra))


def test_answer_exclude_is_checked_even_with_domains_off():
    with pytest.raises(AnsibleError, match=r'jaas_firewall_domain_answer_exclude\[0\]'):
        check_domain_options('jaas.firewall.nftables_rules',
                             _args(domains=[], domain_answer_exclude=['nope']))
    check_domain_options('jaas.firewall.nftables_rules', _args(domain_answer_exclude=[]))


@pytest.mark.parametrize('args, message', [
    (dict(dns_upstreams=['198.18.8.53', 'fe80::1%eth0\nserver=198.18.230.12']),
     r"dns_upstreams\[1\] \(role variable jaas_firewall_dns_upstreams\): .* control character \\n"),
    (dict(persist_config='/etc/nftables.conf\ninclude "/tmp/x"'),
     r"persist_config \(role variable jaas_firewall_nftables_persist_config\): .*\\n"),
    (dict(persist_file='/etc/nftables.d/j\r.nft'), r"persist_file: .*\\r"),
    (dict(keep_open=[{'direction': 'out', 'protocol': 'tcp', 'port': '22\n'}]),
     r"keep_open\[0\].port \(role variable jaas_firewall_keep_open\)"),
    (dict(gateway_in_interfaces=['eth0\u2028']), r"gateway_in_interfaces\[0\]"),
])
def test_control_characters_are_refused_naming_the_variable(args, message):
    from ansible_collections.jaas.firewall.plugins.plugin_utils.backend_action import (
        check_control_characters)
    with pytest.raises(AnsibleError, match=message):
        check_control_characters(args)
    check_control_characters({'persist_config': '/etc/nftables.conf', 'dns_upstreams': ['fe80::1%eth0']})


@pytest.mark.parametrize('module', ['jaas.firewall.firewalld_rules', 'jaas.firewall.nftables_rules',
                                    'jaas.firewall.ufw_rules'])
def test_log_drops_reaches_the_backends_that_log(module):
    """firewalld, nftables and ufw log their own drops (issue 22): the option goes to the module."""
    for value in (True, False):
        args = {'log_drops': value}
        check_log_drops(module, args)
        assert args == {'log_drops': value}


@pytest.mark.parametrize('module', ['jaas.firewall.fake_rules'])
def test_log_drops_refused_before_any_host_where_not_implemented(module):
    """jaas_firewall_log_drops: true on a backend that does not log is one line, never a silent
    no-op; false (or absent) is dropped from the module's options."""
    with pytest.raises(AnsibleError, match='jaas_firewall_log_drops: %s does not log drops yet '
                                           r'\(supported by jaas.firewall.firewalld_rules, '
                                           r'jaas.firewall.nftables_rules, jaas.firewall.ufw_rules\)' % module):
        check_log_drops(module, {'log_drops': True})
    for value in (False, 'no', None):
        args = {'log_drops': value}
        check_log_drops(module, args)
        assert 'log_drops' not in args
    args = {'log_drops': True, 'state': 'absent'}
    check_log_drops(module, args)
    assert 'log_drops' not in args
    with pytest.raises(AnsibleError, match="jaas_firewall_log_drops must be true or false, got 'maybe'"):
        check_log_drops(module, {'log_drops': 'maybe'})


def test_log_drops_reaches_firewalld():
    args = {'log_drops': True}
    check_log_drops('jaas.firewall.firewalld_rules', args)
    assert args == {'log_drops': True}
