"""The bundled catalog and the rules it produces, checked against the vendor page."""

import netaddr
import pytest

from ansible_collections.jaas.firewall.plugins.plugin_utils.catalog import load_catalog, select
from ansible_collections.jaas.firewall.plugins.plugin_utils.rules import catalog_rules
from vendor_page import PAGE_PORTS, page_copy_paste, page_domains, page_networks, page_rule_counts

# The rule interface, typed in from docs/ARCHITECTURE.md.
RULE_KEYS = ('direction', 'family', 'network', 'protocol', 'ports', 'block', 'region')


@pytest.fixture(scope='module')
def catalog():
    return load_catalog()


def catalog_networks(catalog):
    result = {}
    for name, block in catalog['blocks'].items():
        if block['regions'] is None:
            result[name] = {None: block['networks']}
        else:
            result[name] = {region['name']: region['networks']
                            for region in block['regions'].values()}
    return result


def test_every_page_network_is_in_the_catalog_under_the_same_region(catalog):
    ours = catalog_networks(catalog)
    for block, regions in page_networks().items():
        assert {k: sorted(v) for k, v in ours[block].items()} == \
            {k: sorted(v) for k, v in regions.items()}, block


def test_ports_match_the_page(catalog):
    for block, ports in PAGE_PORTS.items():
        got = [(r['protocol'], r['ports']) for r in catalog['blocks'][block]['rules']]
        assert got == ports, block
    assert catalog['blocks']['webhook_origins']['direction'] == 'in'


def test_domains_match_the_page(catalog):
    assert {k: v['names'] for k, v in catalog['domains'].items()} == page_domains()
    for category in catalog['domains'].values():
        assert category['rules'] == [{'protocol': 'tcp', 'ports': '443'}]


def test_copy_paste_differences_are_recorded_as_unclassified(catalog):
    structured = {n for regions in page_networks().values() for nets in regions.values() for n in nets}
    copy_paste = set(page_copy_paste())
    only_in_copy_paste = copy_paste - structured
    assert only_in_copy_paste == {'158.101.192.6/32', '193.123.38.193/32'}
    unclassified = catalog['blocks']['unclassified']
    assert set(unclassified['networks']) == only_in_copy_paste
    assert unclassified['rules'] == []          # no ports documented -> no rules
    missing = structured - copy_paste
    assert missing == {'2400:cb00::/32', '2606:4700::/32', '2803:f800::/32', '2405:b500::/32',
                       '2405:8100::/32', '2a06:98c0::/29', '2c0f:f248::/32'}


def expected_rules(webhook_port=None):
    """Rules straight from the page: every network x every stated port, uncompacted."""
    expected = set()
    for block, regions in page_networks().items():
        if block == 'webhook_origins' and webhook_port is None:
            continue
        direction = 'in' if block == 'webhook_origins' else 'out'
        for networks in regions.values():
            for network in networks:
                family = 6 if ':' in network else 4
                for protocol, ports in PAGE_PORTS[block]:
                    if ports == 'receiver':
                        ports = str(webhook_port)
                    expected.add((direction, family, network, protocol, ports))
    return expected


def as_tuples(rules):
    return {(r['direction'], r['family'], r['network'], r['protocol'], r['ports']) for r in rules}


def test_uncompacted_rules_are_exactly_the_page(catalog):
    rules = catalog_rules(catalog, compact=False)
    assert as_tuples(rules) == expected_rules()
    # counted on the page: cloudflare 22 x 2, jvb 14 x 2, turn 40 x 3
    assert len(rules) == sum(page_rule_counts(compact=False).values())
    assert all(tuple(sorted(r)) == tuple(sorted(RULE_KEYS)) for r in rules)


def test_compaction_merges_only_the_brazil_pair(catalog):
    compacted = as_tuples(catalog_rules(catalog))
    plain = expected_rules()
    assert plain - compacted == {
        ('out', 4, '129.148.18.0/26', 'tcp', '443'), ('out', 4, '129.148.18.64/26', 'tcp', '443'),
        ('out', 4, '129.148.18.0/26', 'udp', '10000'), ('out', 4, '129.148.18.64/26', 'udp', '10000')}
    assert compacted - plain == {('out', 4, '129.148.18.0/25', 'tcp', '443'),
                                 ('out', 4, '129.148.18.0/25', 'udp', '10000')}
    assert len(compacted) == sum(page_rule_counts().values())


def test_compaction_never_widens(catalog):
    def address_space(rules):
        spaces = {}
        for r in rules:
            spaces.setdefault((r['direction'], r['protocol'], r['ports']), netaddr.IPSet()).add(r['network'])
        return spaces
    assert address_space(catalog_rules(catalog)) == address_space(catalog_rules(catalog, compact=False))


def test_rule_counts_per_block(catalog):
    counts = {}
    for rule in catalog_rules(catalog, webhooks=True):
        counts[rule['block']] = counts.get(rule['block'], 0) + 1
    assert counts == page_rule_counts(blocks=('cloudflare', 'jvb', 'turn', 'webhook_origins'))


def test_webhook_rules_are_inbound_on_the_users_port(catalog):
    rules = [r for r in catalog_rules(catalog, webhooks=True, webhook_port=8443)
             if r['block'] == 'webhook_origins']
    assert as_tuples(rules) == {('in', 4, '52.26.201.32/32', 'tcp', '8443'),
                                ('in', 4, '52.10.206.157/32', 'tcp', '8443'),
                                ('in', 4, '35.162.88.192/32', 'tcp', '8443')}
    assert all(r['region'] is None for r in rules)


@pytest.mark.parametrize('port', [0, 70000, '443-444', True, 'https'])
def test_bad_webhook_port_is_refused(catalog, port):
    with pytest.raises(ValueError):
        catalog_rules(catalog, webhooks=True, webhook_port=port)


def test_selection_by_block_region_family(catalog):
    london_turn = select(catalog, blocks=['turn'], regions=['uk-london'])
    assert as_tuples(catalog_rules(london_turn)) == {
        ('out', 4, n, p, ports)
        for n in ('140.238.95.196/32', '152.67.128.56/32', '130.162.185.237/32', '132.226.213.225/32')
        for p, ports in (('tcp', '443'), ('udp', '443'), ('udp', '49152-65535'))}
    v6 = catalog_rules(select(catalog, families=[6]))
    assert {r['block'] for r in v6} == {'cloudflare'}
    assert len(v6) == sum(page_rule_counts(families=(6,)).values())


def test_rule_order_is_deterministic(catalog):
    first = catalog_rules(catalog)
    assert first == catalog_rules(load_catalog())
    assert [r['block'] for r in first[:1]] == ['cloudflare']


def test_fixture_page_is_the_shared_source_of_truth():
    import os
    from vendor_page import SHARED_PAGE, page_path
    if not os.path.exists(SHARED_PAGE):
        pytest.skip('no ../shared checkout next to this clone')
    with open(SHARED_PAGE, 'rb') as shared, open(page_path(), 'rb') as fixture:
        assert shared.read() == fixture.read()
