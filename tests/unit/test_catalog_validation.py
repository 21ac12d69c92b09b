"""One test per class of catalog error: each must fail with a one-line message that
names the file, the entry and the offending value. Mutations start from the shipped
catalog, so every test proves that one defect alone is enough to refuse it."""

import copy
import os

import pytest
import yaml

from ansible_collections.jaas.firewall.plugins.plugin_utils.catalog import (
    DEFAULT_CATALOG, CatalogError, load_catalog, select)


@pytest.fixture(scope='module')
def shipped():
    with open(DEFAULT_CATALOG) as handle:
        return yaml.safe_load(handle)


def write(tmp_path, data, name='catalog.yml'):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return str(path)


def refused(path, **kwargs):
    with pytest.raises(CatalogError) as info:
        load_catalog(path, **kwargs)
    message = str(info.value)
    assert 'Traceback' not in message
    for line in message.splitlines():
        assert line.startswith(path + ': '), line
    return message


def mutate(shipped, tmp_path, change):
    data = copy.deepcopy(shipped)
    change(data)
    return write(tmp_path, data)


def turn_london(data):
    return data['blocks']['turn']['regions']['uk-london']


CASES = [
    # (id, mutation, expected fragments in the message)
    ('invalid-address',
     lambda d: turn_london(d)['networks'].__setitem__(1, '152.67.128.256'),
     ['blocks.turn.regions.uk-london.networks[1]', "'152.67.128.256' is not a CIDR network"]),
    ('not-an-address',
     lambda d: d['blocks']['cloudflare']['networks'].append('cloudflare.com'),
     ['blocks.cloudflare.networks[22]', 'cloudflare.com']),
    ('host-bits-set',
     lambda d: d['blocks']['jvb']['regions']['au-sydney']['networks'].__setitem__(0, '168.138.111.129/25'),
     ['blocks.jvb.regions.au-sydney.networks[0]', '168.138.111.129/25', 'host bits',
      '168.138.111.128/25']),
    ('prefix-33',
     lambda d: d['blocks']['jvb']['regions']['uk-london']['networks'].__setitem__(0, '152.67.144.0/33'),
     ['blocks.jvb.regions.uk-london.networks[0]', '/33', 'out of range']),
    ('prefix-129-v6',
     lambda d: d['blocks']['cloudflare']['networks'].__setitem__(15, '2400:cb00::/129'),
     ['blocks.cloudflare.networks[15]', '/129']),
    ('port-zero',
     lambda d: d['blocks']['jvb']['rules'].__setitem__(1, {'protocol': 'udp', 'ports': 0}),
     ['blocks.jvb.rules[1].ports: 0: port 0 is out of range 1-65535']),
    ('port-70000',
     lambda d: d['blocks']['jvb']['rules'].__setitem__(1, {'protocol': 'udp', 'ports': 70000}),
     ['blocks.jvb.rules[1]', '70000']),
    ('reversed-range',
     lambda d: d['blocks']['turn']['rules'].__setitem__(2, {'protocol': 'udp', 'ports': '65535-49152'}),
     ['blocks.turn.rules[2]', '65535-49152', 'reversed']),
    ('unknown-protocol',
     lambda d: d['blocks']['turn']['rules'].__setitem__(0, {'protocol': 'sctp', 'ports': '443'}),
     ["blocks.turn.rules[0].protocol: 'sctp': expected tcp or udp"]),
    ('misspelt-block-key',
     lambda d: d['blocks']['turn'].__setitem__('regoins', {}),
     ['blocks.turn', "'regoins'", "did you mean 'regions'"]),
    ('unknown-top-key',
     lambda d: d.__setitem__('extra', 1),
     ['(top level)', "'extra'"]),
    ('unknown-region-key',
     lambda d: turn_london(d).__setitem__('network', ['1.2.3.4']),
     ['blocks.turn.regions.uk-london', "'network'", "did you mean 'networks'"]),
    ('unknown-rule-key',
     lambda d: d['blocks']['jvb']['rules'][0].__setitem__('port', 443),
     ['blocks.jvb.rules[0]', "'port'"]),
    ('missing-direction',
     lambda d: d['blocks']['jvb'].pop('direction'),
     ['blocks.jvb', "missing required key 'direction'"]),
    ('missing-provenance-url',
     lambda d: d['provenance'].pop('url'),
     ['provenance', "missing required key 'url'"]),
    ('empty-region',
     lambda d: turn_london(d).__setitem__('networks', []),
     ['blocks.turn.regions.uk-london.networks', 'empty list']),
    ('empty-regions',
     lambda d: d['blocks']['turn'].__setitem__('regions', {}),
     ['blocks.turn.regions', 'non-empty mapping']),
    ('empty-blocks',
     lambda d: d.__setitem__('blocks', {}),
     ['blocks', 'non-empty mapping']),
    ('broad-network',
     lambda d: d['blocks']['cloudflare']['networks'].append('0.0.0.0/0'),
     ['blocks.cloudflare.networks[22]', '0.0.0.0/0', 'broader than /8']),
    ('broad-v6',
     lambda d: d['blocks']['cloudflare']['networks'].append('2000::/3'),
     ['2000::/3', 'broader than /16']),
    ('wrong-type-networks',
     lambda d: turn_london(d).__setitem__('networks', '140.238.95.196'),
     ['blocks.turn.regions.uk-london.networks', 'a string']),
    ('wrong-type-port',
     lambda d: d['blocks']['jvb']['rules'].__setitem__(0, {'protocol': 'tcp', 'ports': True}),
     ['blocks.jvb.rules[0].ports: True is not a port', 'expected a number or a string']),
    ('wrong-type-block',
     lambda d: d['blocks'].__setitem__('turn', ['1.2.3.4']),
     ['blocks.turn', 'must be a mapping, got a list']),
    ('wrong-direction',
     lambda d: d['blocks']['jvb'].__setitem__('direction', 'egress'),
     ['blocks.jvb.direction', "'egress'"]),
    ('schema-version',
     lambda d: d.__setitem__('schema_version', 2),
     ['schema_version', 'must be 1']),
    ('networks-and-regions',
     lambda d: d['blocks']['jvb'].__setitem__('networks', ['1.2.3.0/24']),
     ['blocks.jvb', 'exactly one of']),
    ('receiver-port-outbound',
     lambda d: d['blocks']['jvb']['rules'].__setitem__(0, {'protocol': 'tcp', 'ports': 'receiver'}),
     ['blocks.jvb.rules[0]', 'inbound']),
    ('bad-region-key',
     lambda d: d['blocks']['turn']['regions'].__setitem__('UK; rm -rf /', {'name': 'x', 'networks': ['1.2.3.4']}),
     ["blocks.turn.regions.UK; rm -rf /: 'UK; rm -rf /' is not a valid region key"]),
    ('region-key-trailing-newline',
     lambda d: d['blocks']['turn']['regions'].__setitem__('uk-london\n', {'name': 'x', 'networks': ['1.2.3.4']}),
     ["blocks.turn.regions.uk-london\\n: 'uk-london\\n' is not a valid region key"]),
    ('bad-domain',
     lambda d: d['domains']['core']['names'].append('not a domain'),
     ['domains.core.names[6]', "'not a domain'"]),
    ('netmask-notation',
     lambda d: d['blocks']['cloudflare']['networks'].__setitem__(0, '173.245.48.0/255.255.240.0'),
     ["blocks.cloudflare.networks[0]: '173.245.48.0/255.255.240.0' is not a CIDR network or "
      'address: netmask notation; write the prefix length (173.245.48.0/20)']),
    ('leading-space',
     lambda d: d['blocks']['cloudflare']['networks'].__setitem__(0, ' 173.245.48.0/20'),
     ["blocks.cloudflare.networks[0]: ' 173.245.48.0/20' is not a CIDR network or address: "
      'leading or trailing whitespace']),
    ('trailing-newline',
     lambda d: d['blocks']['cloudflare']['networks'].__setitem__(0, '173.245.48.0/20\n'),
     ["blocks.cloudflare.networks[0]: '173.245.48.0/20\\n' is not a CIDR network"]),
    ('ipv4-mapped',
     lambda d: d['blocks']['cloudflare']['networks'].__setitem__(0, '::ffff:173.245.48.0/116'),
     ['blocks.cloudflare.networks[0]', 'IPv4-mapped IPv6 address; write the IPv4 form 173.245.48.0/20']),
    ('port-leading-zero',
     lambda d: d['blocks']['jvb']['rules'].__setitem__(0, {'protocol': 'tcp', 'ports': '0443'}),
     ['blocks.jvb.rules[0].ports: \'0443\' is not a port "N" or a port range "N-M": leading zero']),
    ('port-colon-range',
     lambda d: d['blocks']['turn']['rules'].__setitem__(2, {'protocol': 'udp', 'ports': '49152:65535'}),
     ['blocks.turn.rules[2].ports', 'write ranges with "-" (49152-65535)']),
    ('block-key-too-long-for-firewalld',
     lambda d: d['blocks'].__setitem__('webhook_origins_europe', d['blocks'].pop('webhook_origins')),
     ["blocks.webhook_origins_europe: 'webhook_origins_europe' is not a valid block key: longer "
      "than 19 characters (firewalld's ipset name <prefix>-<block>-v6 holds 31)"]),
    ('private-network',
     lambda d: turn_london(d)['networks'].append('10.20.0.0/16'),
     ['blocks.turn.regions.uk-london.networks[4]: 10.20.0.0/16 is private address space '
      '(10.0.0.0/8, RFC 1918)', 'set allow_private_networks']),
    ('loopback',
     lambda d: turn_london(d)['networks'].append('127.0.0.1'),
     ['127.0.0.1/32 is loopback address space (127.0.0.0/8, RFC 1122), never a remote service']),
    ('ula',
     lambda d: d['blocks']['cloudflare']['networks'].append('fd00:1::/64'),
     ['fd00:1::/64 is unique local (ULA) address space (fc00::/7, RFC 4193)']),
    ('benchmark',
     lambda d: d['blocks']['cloudflare']['networks'].append('198.18.1.0/24'),
     ['198.18.1.0/24 is benchmarking address space (198.18.0.0/15, RFC 2544)']),
    ('multicast-v6',
     lambda d: d['blocks']['cloudflare']['networks'].append('ff02::1'),
     ['ff02::1/128 is multicast address space (ff00::/8, RFC 4291), never a remote service']),
    ('bad-date',
     lambda d: turn_london(d)['networks'].__setitem__(0, {'network': '140.238.95.196', 'expires': '31/12/2026'}),
     ['blocks.turn.regions.uk-london.networks[0].expires', '31/12/2026']),
]


@pytest.mark.parametrize('change,fragments', [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_defect_is_refused_with_a_precise_message(shipped, tmp_path, change, fragments):
    path = mutate(shipped, tmp_path, change)
    message = refused(path)
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_every_problem_is_reported_at_once(shipped, tmp_path):
    def two_defects(data):
        turn_london(data)['networks'][0] = '1.2.3.4/40'
        data['blocks']['jvb']['rules'][0]['protocol'] = 'icmp'
    message = refused(mutate(shipped, tmp_path, two_defects))
    assert len(message.splitlines()) == 2


def test_broad_network_allowed_when_asked(shipped, tmp_path):
    # 128.0.0.0/3 (128-159.x) holds no special-purpose range, so only its size is at issue
    path = mutate(shipped, tmp_path, lambda d: d['blocks']['cloudflare']['networks'].append('128.0.0.0/3'))
    assert 'broader than /8' in refused(path)
    catalog = load_catalog(path, allow_broad_networks=True)
    assert '128.0.0.0/3' in catalog['blocks']['cloudflare']['networks']


def test_the_whole_internet_is_never_a_vendor_service(shipped, tmp_path):
    path = mutate(shipped, tmp_path, lambda d: d['blocks']['cloudflare']['networks'].append('0.0.0.0/0'))
    message = refused(path, allow_broad_networks=True, allow_private_networks=True)
    assert '0.0.0.0/0 includes this-network (unspecified) address space (0.0.0.0/8, RFC 791), ' \
        'never a remote service' in message


def test_private_networks_allowed_only_when_asked(shipped, tmp_path):
    def lab(data):
        turn_london(data)['networks'] = ['198.18.1.100', '2001:2:0:1::100', '10.1.2.0/24',
                                         'fd00:1::/64', '192.0.2.7']
    path = mutate(shipped, tmp_path, lab)
    assert len(refused(path).splitlines()) == 5
    catalog = load_catalog(path, allow_private_networks=True)
    assert catalog['blocks']['turn']['regions']['uk-london']['networks'] == [
        '198.18.1.100/32', '2001:2:0:1::100/128', '10.1.2.0/24', 'fd00:1::/64', '192.0.2.7/32']
    # "never" space stays refused with the opt-in
    path = mutate(shipped, tmp_path, lambda d: turn_london(d)['networks'].append('::1'))
    assert 'never a remote service' in refused(path, allow_private_networks=True)


def test_same_port_range_is_one_port(shipped, tmp_path):
    path = mutate(shipped, tmp_path, lambda d: d['blocks']['jvb']['rules'].__setitem__(
        0, {'protocol': 'tcp', 'ports': '443-443'}))
    assert load_catalog(path)['blocks']['jvb']['rules'][0] == {'protocol': 'tcp', 'ports': '443'}


@pytest.mark.parametrize('written, read_as', [('0443', 291), ('1:30', 90), ('0x1bb', 443)])
def test_yaml_integers_that_are_not_what_they_look_like(tmp_path, written, read_as):
    path = tmp_path / 'octal.yml'
    path.write_text('schema_version: 1\nblocks:\n  jvb:\n    rules: [{protocol: tcp, ports: %s}]\n'
                    % written)
    message = refused(str(path))
    assert 'YAML syntax error (line 4, column 36)' in message
    assert 'integer %r is not plain decimal (YAML would read it as %d)' % (written, read_as) in message


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    path = tmp_path / 'broken.yml'
    path.write_text('schema_version: 1\nblocks:\n  turn: [unclosed\n')
    message = refused(str(path))
    assert 'YAML syntax error' in message and 'line' in message


# Hand-written: what PyYAML's own (pure Python) parser says of each text. The catalog is read
# with libyaml's faster parser when there is one; its messages must be these, word for word.
PARSER_MESSAGES = [
    ('a: [1,\n', "f: YAML syntax error (line 2, column 1): expected the node content, but found '<stream end>'"),
    ('a:\n  - b\n c: d\n', "f: YAML syntax error (line 3, column 2): expected <block end>, but found '<block mapping start>'"),
    ('\tx: 1\n', "f: YAML syntax error (line 1, column 1): found character '\\t' that cannot start any token"),
    ('a: &x 1\nb: *y\n', "f: YAML syntax error (line 2, column 4): found undefined alias 'y'"),
    ('{a: 1, a: 2}', "f: YAML syntax error (line 1, column 8): duplicate key 'a'"),
    ('a: 2026-02-30\n', 'f: YAML value error: day is out of range for month'),
]


@pytest.mark.parametrize('text, message', PARSER_MESSAGES, ids=[m[0] for m in PARSER_MESSAGES])
def test_yaml_errors_read_the_same_whichever_parser_reads_the_file(text, message):
    from ansible_collections.jaas.firewall.plugins.plugin_utils.catalog import CatalogError, parse_catalog_text
    with pytest.raises(CatalogError) as caught:
        parse_catalog_text(text, 'f')
    assert str(caught.value) == message


def test_the_fast_parser_reads_the_shipped_catalog_as_pyyaml_does():
    from ansible_collections.jaas.firewall.plugins.plugin_utils import catalog
    with open(catalog.DEFAULT_CATALOG) as handle:
        text = handle.read()
    assert yaml.load(text, Loader=catalog._FastLoader) == yaml.safe_load(text)  # noqa: S506
    if yaml.__with_libyaml__:
        assert issubclass(catalog._FastLoader, yaml.CSafeLoader)


def test_duplicate_yaml_key_is_an_error_not_a_silent_overwrite(tmp_path):
    path = tmp_path / 'dup.yml'
    path.write_text('schema_version: 1\nschema_version: 1\n')
    assert "duplicate key 'schema_version'" in refused(str(path))


def test_missing_file(tmp_path):
    path = str(tmp_path / 'nope.yml')
    assert 'catalog file not found' in refused(path)


def test_top_level_not_a_mapping(tmp_path):
    path = tmp_path / 'list.yml'
    path.write_text('- 1.2.3.4\n')
    assert 'must be a mapping, got a list' in refused(str(path))


def test_duplicates_warn_and_are_removed(shipped, tmp_path):
    def dup(data):
        turn_london(data)['networks'].append('140.238.95.196')          # same region
        data['blocks']['turn']['regions']['us-west-phoenix']['networks'].append('152.67.128.56/32')
        data['domains']['core']['names'].append('https://8x8.vc')
    warnings = []
    catalog = load_catalog(mutate(shipped, tmp_path, dup), warn=warnings.append)
    assert len(warnings) == 3
    assert any('duplicate network 140.238.95.196/32' in w for w in warnings)
    assert any('uk-london.networks[1]' in w and 'us-west-phoenix' in w for w in warnings)
    assert catalog['blocks']['turn']['regions']['uk-london']['networks'].count('140.238.95.196/32') == 1
    assert '152.67.128.56/32' not in catalog['blocks']['turn']['regions']['us-west-phoenix']['networks']
    assert catalog['domains']['core']['names'].count('8x8.vc') == 1


def test_expired_entry_warns_and_is_kept_unless_dropping(shipped, tmp_path):
    def dated(data):
        turn_london(data)['networks'][0] = {'network': '140.238.95.196', 'added': '2024-01-01',
                                            'expires': '2025-06-30'}
    path = mutate(shipped, tmp_path, dated)
    warnings = []
    kept = load_catalog(path, warn=warnings.append)
    assert '140.238.95.196/32' in kept['blocks']['turn']['regions']['uk-london']['networks']
    assert warnings and 'expired on 2025-06-30' in warnings[0]
    dropped = load_catalog(path, drop_expired=True)
    assert '140.238.95.196/32' not in dropped['blocks']['turn']['regions']['uk-london']['networks']


def test_select_refuses_unknown_names():
    catalog = load_catalog()
    with pytest.raises(CatalogError, match="unknown block 'trun'"):
        select(catalog, blocks=['trun'])
    with pytest.raises(CatalogError, match="unknown region 'uk-londn'"):
        select(catalog, regions=['uk-londn'])
    with pytest.raises(CatalogError, match='not 4 or 6'):
        select(catalog, families=[5])


def test_shipped_catalog_is_valid_without_warnings():
    catalog = load_catalog(warn=pytest.fail)
    assert catalog['warnings'] == []
    assert os.path.basename(catalog['source']) == 'jaas_catalog.yml'
