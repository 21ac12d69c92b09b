# -*- coding: utf-8 -*-
"""Windows renderer: golden files of the rendered rule set and PowerShell script for the
bundled catalog, plus the properties the golden files cannot show at a glance.

Regenerate after an intended change, then review the diff:

    make golden            # = JAAS_UPDATE_GOLDEN=1 pytest -q tests/unit/test_windows_render.py

On a mismatch the new rendering is written next to the golden file as ``<name>.actual``.
"""

import json

import pytest

from ansible_collections.jaas.firewall.plugins.plugin_utils.catalog import load_catalog, select
from ansible_collections.jaas.firewall.plugins.plugin_utils.render_windows import (
    RenderError, canonical_address_set, domain_rule_specs, keyword_id, powershell_script,
    ps_quote, windows_rule_specs)
from ansible_collections.jaas.firewall.plugins.plugin_utils.rules import catalog_rules
from vendor_page import page_networks
from canned.golden import check_golden  # noqa: F401


@pytest.fixture(scope='module')
def catalog():
    full = load_catalog()
    return select(full, blocks=['cloudflare', 'jvb', 'turn', 'webhook_origins'])


@pytest.fixture(scope='module')
def specs(catalog):
    descriptions = dict((k, b['description']) for k, b in catalog['blocks'].items())
    return windows_rule_specs(catalog_rules(catalog, webhooks=True),
                              provenance=catalog['provenance'],
                              block_descriptions=descriptions)


def test_golden_rule_set(specs):
    check_golden('windows_rules.json', json.dumps(specs, indent=2, ensure_ascii=False) + '\n')


def test_golden_powershell_script(specs, catalog):
    check_golden('windows_rules.ps1', powershell_script(specs, provenance=catalog['provenance']))


def test_golden_domain_rules(catalog):
    check_golden('windows_domain_rules.json', json.dumps(
        domain_rule_specs(load_catalog()['domains'], provenance=catalog['provenance']),
        indent=2, ensure_ascii=False) + '\n')


def test_one_rule_per_block_protocol_and_ports(specs):
    assert [s['name'] for s in specs] == [
        'JaaS - Cloudflare - TCP all ports', 'JaaS - Cloudflare - UDP all ports',
        'JaaS - JVB - TCP 443', 'JaaS - JVB - UDP 10000',
        'JaaS - TURN - TCP 443', 'JaaS - TURN - UDP 443', 'JaaS - TURN - UDP 49152-65535',
        'JaaS - Webhook origins - inbound TCP 443']
    assert all(s['group'] == 'JaaS' for s in specs)


def test_chunks_are_deterministic_and_complete(catalog):
    rules = catalog_rules(catalog)
    small = windows_rule_specs(rules, max_addresses=15)
    again = windows_rule_specs(list(reversed(rules)), max_addresses=15)
    assert small == again  # input order does not matter
    # the page lists 40 TURN relays: chunks of 15, 15 and 10
    page_turn = set(a for addresses in page_networks()['turn'].values() for a in addresses)
    sizes = [min(15, len(page_turn) - start) for start in range(0, len(page_turn), 15)]
    turn = [s for s in small if s['name'].startswith('JaaS - TURN - UDP 443')]
    assert [s['name'] for s in turn] == ['JaaS - TURN - UDP 443'] + [
        'JaaS - TURN - UDP 443 (%d)' % n for n in range(2, len(sizes) + 1)]
    assert [len(s['remoteip'].split(',')) for s in turn] == sizes
    union = set()
    for spec in turn:
        union |= canonical_address_set(spec['remoteip'])
    assert union == page_turn
    assert 'Part %d of %d' % (len(sizes), len(sizes)) in turn[-1]['description']


def test_windows_address_forms_compare_as_sets():
    assert canonical_address_set('168.138.110.244/255.255.255.255,10.0.0.0/255.255.255.0') == \
        canonical_address_set(['10.0.0.0/24', '168.138.110.244'])
    assert canonical_address_set('2400:CB00::/32') == frozenset(['2400:cb00::/32'])
    assert canonical_address_set('10.0.0.0-10.0.0.255') == frozenset(['10.0.0.0/24'])
    assert canonical_address_set('Any') == frozenset()


def test_keep_open_rules():
    specs = windows_rule_specs([], keep_open=[
        {'direction': 'out', 'protocol': 'udp', 'port': '53'},
        {'direction': 'in', 'protocol': 'tcp', 'port': 5986, 'network': '198.18.0.0/24'}])
    assert [(s['name'], s['remoteip'], s['localport'], s['remoteport']) for s in specs] == [
        ('JaaS - Keep open - UDP 53', 'any', 'any', '53'),
        ('JaaS - Keep open - inbound TCP 5986', '198.18.0.0/24', '5986', 'any')]


@pytest.mark.parametrize('kwargs, message', [
    ({'group': "Ja'aS"}, 'group'),
    ({'max_addresses': 0}, 'max_addresses'),
    ({'max_addresses': True}, 'max_addresses'),
    ({'profiles': ['work']}, 'profiles'),
])
def test_bad_options_are_refused(kwargs, message):
    with pytest.raises(RenderError, match=message):
        windows_rule_specs([], **kwargs)


def test_not_a_rule_list_is_refused():
    with pytest.raises(RenderError, match='jaas.firewall.rules'):
        windows_rule_specs([{'network': '1.2.3.4/32'}])


def test_powershell_quoting():
    assert ps_quote("IP's") == "'IP''s'"
    assert ps_quote('a\u2019b') == "'a\u2019\u2019b'"  # PowerShell ends strings on it too
    assert ps_quote('$(Remove-Item C:\\)') == "'$(Remove-Item C:\\)'"  # no expansion in '...'
    script = powershell_script([], provenance={'title': "It's", 'url': 'u', 'retrieved': 'r'})
    assert script.startswith('\ufeff#Requires') and "$Group = 'JaaS'" in script


def test_keyword_ids_are_stable_braced_guids():
    value = keyword_id('JaaS', '*.8x8.com')
    assert value == keyword_id('JaaS', '*.8X8.com') and value.startswith('{') and len(value) == 38


def test_keep_open_uses_the_shared_validator():
    """The Windows renderer refuses exactly what the ufw/firewalld roles refuse."""
    from ansible_collections.jaas.firewall.plugins.plugin_utils.render_windows import (
        RenderError, windows_rule_specs)
    for bad, fragment in (
            ({'direction': 'out', 'protocol': 'tcp', 'port': '70000'}, 'out of range'),
            ({'direction': 'out', 'protocol': 'tcp', 'port': '53\n'}, 'is not a port "N" or a port range "N-M"'),
            ({'direction': 'out', 'protocol': 'tcp', 'port': '53',
              'network': '10.0.0.1/8'}, 'network'),
            ({'direction': 'out', 'protocol': 'icmp', 'port': '53'}, 'protocol')):
        with pytest.raises(RenderError) as info:
            windows_rule_specs([], keep_open=[bad])
        assert 'jaas_firewall_keep_open[0]' in str(info.value) and fragment in str(info.value)
