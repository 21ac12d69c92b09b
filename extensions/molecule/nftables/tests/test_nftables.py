"""Verify molecule/nftables from the kernel's own ruleset on each instance.

Expectations are hand-written tables: for the test catalogs (files/catalog_a.yml,
catalog_b.yml) and, for table "vend", from the vendor page
(/work/shared/jaas-network-requirements.md, copied by hand below). Nothing here imports or
runs the collection's code: `nft -j list ruleset` is read with the small interpreter below,
sets are expanded into (direction, family, network, protocol, ports), and real packets go
to the peer. Phases: converge, side_effect (catalog B, then flush + service restart), absent.
"""
import base64
import ipaddress
import json
import os

import pytest
import testinfra

HERE = os.path.dirname(os.path.abspath(__file__))
PROBE = os.path.join(HERE, '..', '..', '..', '..', 'tools', 'harness', 'probe.py')
PEER_V4, PEER_V6, OUTSIDE_V4 = '198.18.3.100', '2001:2:0:3::100', '198.18.3.90'
INSTANCE_V4 = {'debian12': '198.18.3.11', 'debian13': '198.18.3.12'}
TCP_PORTS, UDP_PORTS = '443,80,10000', '443,10000,50000,9999'
PHASES = ('converge', 'side_effect', 'absent')


# ---------------------------------------------------------------- hand-written tables
def _expand(direction, networks, services):
    return {(direction, ipaddress.ip_network(n).version, n, p, ports)
            for n in networks for p, ports in services}


ALL_PORTS = [('tcp', None), ('udp', None)]
JVB = [('tcp', '443'), ('udp', '10000')]
TURN = [('tcp', '443'), ('udp', '443'), ('udp', '49152-65535')]

# (direction, family, network, protocol, ports) the jaas table must allow, per phase.
JAAS_ALLOWED = {
    'converge': (
        _expand('out', ['198.18.3.200/29', '2001:2:0:3:ffff::/80'], ALL_PORTS)
        | _expand('out', ['2001:2:0:3::100/128', '198.18.3.128/27', '198.18.3.160/27'], JVB)
        | _expand('out', ['198.18.3.100/32', '198.18.3.101/32', '198.18.3.102/32'], TURN)
        | _expand('in', ['198.18.3.100/32', '198.18.3.99/32'], [('tcp', '8443')])),
    'side_effect': (
        _expand('out', ['198.18.3.200/29', '2001:2:0:3:ffff::/80'], ALL_PORTS)
        | _expand('out', ['2001:2:0:3::100/128', '198.18.3.128/27', '198.18.3.160/27',
                          '198.18.3.100/32'], JVB)                      # lab-c added
        | _expand('out', ['198.18.3.101/32', '198.18.3.102/32'], TURN)   # lab-a dropped
        | _expand('in', ['198.18.3.100/32', '198.18.3.99/32'], [('tcp', '8443')])),
}

# Rules of the jaas table that reference no set: (chain, matches, verdict), in order.
ND_OUT = frozenset({'nd-neighbor-solicit', 'nd-neighbor-advert', 'nd-router-solicit'})
ND_IN = frozenset({'nd-neighbor-solicit', 'nd-neighbor-advert', 'nd-router-advert'})
ESTABLISHED = ('ct state', frozenset({'established', 'related'}))
JAAS_PLAIN_RULES = {
    'output': [
        ({ESTABLISHED}, 'accept'),
        ({('meta oif', 'lo')}, 'accept'),
        ({('icmpv6 type', ND_OUT)}, 'accept'),
        ({('ip daddr', ipaddress.ip_network('198.18.3.100/32')), ('tcp dport', 80)}, 'accept'),
        ({('udp dport', 53)}, 'accept'),
        ({('tcp dport', 53)}, 'accept'),
        (set(), 'reject'),
    ],
    'input': [
        ({ESTABLISHED}, 'accept'),
        ({('meta iif', 'lo')}, 'accept'),
        ({('icmpv6 type', ND_IN)}, 'accept'),
    ],
}

# From the vendor page (structured lists); compact merges Brazil's two JVB /26 networks.
VEND_CLOUDFLARE_V4 = [
    '173.245.48.0/20', '103.21.244.0/22', '103.22.200.0/22', '103.31.4.0/22', '141.101.64.0/18',
    '108.162.192.0/18', '190.93.240.0/20', '188.114.96.0/20', '197.234.240.0/22',
    '198.41.128.0/17', '162.158.0.0/15', '104.16.0.0/13', '104.24.0.0/14', '172.64.0.0/13',
    '131.0.72.0/22']
VEND_CLOUDFLARE_V6 = ['2400:cb00::/32', '2606:4700::/32', '2803:f800::/32', '2405:b500::/32',
                      '2405:8100::/32', '2a06:98c0::/29', '2c0f:f248::/32']
VEND_JVB = [
    '168.138.111.128/25', '168.138.245.0/25', '129.148.18.0/25', '130.61.162.0/24',
    '152.67.21.0/24', '155.248.191.0/24', '193.122.184.0/24', '158.101.40.0/25',
    '129.146.204.128/27', '129.146.205.0/27', '129.146.205.96/27', '129.146.206.64/27',
    '152.67.144.0/24']
VEND_TURN = [a + '/32' for a in (
    '168.138.110.244 168.138.110.59 192.9.165.175 150.230.8.96 168.138.236.29 168.138.229.53 '
    '168.75.97.79 167.234.255.126 140.238.148.121 140.238.148.27 129.153.62.224 150.230.30.183 '
    '130.61.64.185 193.122.11.14 130.162.59.132 130.61.133.55 152.67.14.48 152.67.30.22 '
    '144.24.103.107 129.154.253.235 168.138.216.49 168.138.223.155 158.179.186.219 131.186.58.42 '
    '193.122.64.56 158.101.224.215 158.101.233.69 81.208.170.221 140.238.95.196 152.67.128.56 '
    '130.162.185.237 132.226.213.225 193.122.177.113 193.122.167.175 129.80.169.133 129.153.0.67 '
    '129.146.227.2 129.146.219.44 144.24.35.218 144.24.7.53').split()]
VEND_WEBHOOKS = ['52.26.201.32/32', '52.10.206.157/32', '35.162.88.192/32']
VEND_ALLOWED = (_expand('out', VEND_CLOUDFLARE_V4 + VEND_CLOUDFLARE_V6, ALL_PORTS)
                | _expand('out', VEND_JVB, JVB) | _expand('out', VEND_TURN, TURN)
                | _expand('in', VEND_WEBHOOKS, [('tcp', '443')]))

# Real packets from the instance (outgoing reject in table jaas).
_CLOSED = dict.fromkeys(['tcp/443', 'tcp/80', 'tcp/10000', 'udp/443', 'udp/10000',
                         'udp/50000', 'udp/9999'], False)
_OPEN = dict.fromkeys(_CLOSED, True)
PACKETS = {
    'converge': {
        PEER_V4: {'tcp/443': True, 'tcp/80': True, 'tcp/10000': False, 'udp/443': True,
                  'udp/10000': False, 'udp/50000': True, 'udp/9999': False},
        PEER_V6: {'tcp/443': True, 'tcp/80': False, 'tcp/10000': False, 'udp/443': False,
                  'udp/10000': True, 'udp/50000': False, 'udp/9999': False},
        OUTSIDE_V4: _CLOSED,
    },
    'side_effect': {
        PEER_V4: {'tcp/443': True, 'tcp/80': True, 'tcp/10000': False, 'udp/443': False,
                  'udp/10000': True, 'udp/50000': False, 'udp/9999': False},
        PEER_V6: {'tcp/443': True, 'tcp/80': False, 'tcp/10000': False, 'udp/443': False,
                  'udp/10000': True, 'udp/50000': False, 'udp/9999': False},
        OUTSIDE_V4: _CLOSED,
    },
    'absent': {PEER_V4: _OPEN, PEER_V6: _OPEN, OUTSIDE_V4: _OPEN},   # table vend accepts
}
# The peer calling the instance's receivers (incoming drop in table jaas).
INBOUND = {
    'converge': {'tcp/8443': True, 'tcp/8444': False},
    'side_effect': {'tcp/8443': True, 'tcp/8444': False},
    'absent': {'tcp/8443': True, 'tcp/8444': True},
}

# ---------------------------------------------------------------- reading the host
DUMP = r'''
import json, os, subprocess
def run(*args):
    p = subprocess.run(args, capture_output=True, text=True)
    return p.stdout
def read(path):
    try:
        return open(path).read()
    except OSError:
        return None
out = {"ruleset": json.loads(run("nft", "-j", "list", "ruleset"))}
before = read("/var/lib/jaas-test/before_flush.json")
out["before_flush"] = json.loads(before) if before else None
out["phase"] = read("/var/lib/jaas-test/phase").strip()
for name in ("user_rules", "filter"):
    out[name] = run("nft", "list", "table", "inet", name)
    out[name + ".prepare"] = read("/var/lib/jaas-test/%s.prepare" % name)
out["conf"] = read("/etc/nftables.conf")
out["conf.prepare"] = read("/var/lib/jaas-test/nftables.conf.prepare")
out["saved"] = {name: read("/etc/nftables.d/" + name)
                for name in sorted(os.listdir("/etc/nftables.d"))} if os.path.isdir("/etc/nftables.d") else {}
out["enabled"] = run("systemctl", "is-enabled", "nftables").strip()
print(json.dumps(out))
'''


def _run_python(host, source, *args):
    encoded = base64.b64encode(source.encode()).decode()
    command = 'echo %s | base64 -d | python3 -' + ' %s' * len(args)
    return host.check_output(command, encoded, *args)


_CACHE = {}


@pytest.fixture
def instance(host):
    name = host.backend.get_hostname()
    if not name.endswith(('debian12', 'debian13')):
        pytest.skip('peer container')
    if name not in _CACHE:
        _CACHE[name] = json.loads(_run_python(host, DUMP))
    assert _CACHE[name]['phase'] in PHASES
    return name, _CACHE[name]


# ---------------------------------------------------------------- an nft -j interpreter
def _value(right):
    if isinstance(right, dict) and 'prefix' in right:
        return ipaddress.ip_network('%s/%s' % (right['prefix']['addr'], right['prefix']['len']))
    if isinstance(right, dict) and 'range' in right:
        return ('range',) + tuple(right['range'])
    if isinstance(right, dict) and 'set' in right:
        return frozenset(right['set'])
    if isinstance(right, list):
        return frozenset(right)
    if isinstance(right, str) and not right.startswith('@'):
        try:
            return ipaddress.ip_network(right)
        except ValueError:
            return right
    return right


def _rule_facts(rule):
    """({(left, value)}, verdict) of one rule."""
    matches, verdict = set(), None
    for statement in rule['expr']:
        if 'match' in statement:
            left, right = statement['match']['left'], statement['match']['right']
            if 'payload' in left:
                key = '%s %s' % (left['payload']['protocol'], left['payload']['field'])
            elif 'meta' in left:
                key = 'meta ' + left['meta']['key']
            else:
                key = 'ct ' + left['ct']['key']
            matches.add((key, _value(right)))
        else:
            verdict = next(iter(statement))
    return matches, verdict


def _networks(elements):
    found = []
    for elem in elements:
        if isinstance(elem, dict) and 'elem' in elem:
            elem = elem['elem']['val']
        if isinstance(elem, str):
            found.append(ipaddress.ip_network(elem))
        elif 'prefix' in elem:
            found.append(ipaddress.ip_network('%s/%s' % (elem['prefix']['addr'], elem['prefix']['len'])))
        else:
            low, high = (ipaddress.ip_address(a) for a in elem['range'])
            found.extend(ipaddress.summarize_address_range(low, high))
    return found


def table_objects(ruleset, family, table):
    objects = {'table': None, 'sets': {}, 'chains': {}, 'rules': []}
    for item in ruleset['nftables']:
        (kind, body), = item.items()
        if kind == 'metainfo' or body.get('family') != family:
            continue
        if kind == 'table' and body['name'] == table:
            objects['table'] = body
        elif body.get('table') == table:
            if kind == 'set':
                objects['sets'][body['name']] = _networks(body.get('elem', []))
            elif kind == 'chain':
                objects['chains'][body['name']] = body
            elif kind == 'rule':
                objects['rules'].append(body)
    return objects


def allowed_tuples(objects):
    """Every set-referencing accept rule, its set expanded: {(dir, fam, net, proto, ports)}."""
    found = set()
    for rule in objects['rules']:
        matches, verdict = _rule_facts(rule)
        refs = [(key, value) for key, value in matches if isinstance(value, str) and value.startswith('@')]
        if not refs:
            continue
        assert verdict == 'accept' and len(refs) == 1, rule
        key, ref = refs[0]
        direction = {'daddr': 'out', 'saddr': 'in'}[key.split()[1]]
        assert rule['chain'] == {'out': 'output', 'in': 'input'}[direction], rule
        service = dict(matches)
        if 'tcp dport' in service or 'udp dport' in service:
            protocol = 'tcp' if 'tcp dport' in service else 'udp'
            port = service[protocol + ' dport']
            ports = '%d-%d' % port[1:] if isinstance(port, tuple) else str(port)
        else:
            protocol, ports = service['meta l4proto'], None
        for network in objects['sets'][ref[1:]]:
            found.add((direction, network.version, network, protocol, ports))
    return found


def by_service(tuples):
    """{(dir, fam, proto, ports): collapsed networks}: a set matches exactly the union."""
    grouped = {}
    for direction, family, network, protocol, ports in tuples:
        grouped.setdefault((direction, family, protocol, ports), []).append(ipaddress.ip_network(network))
    return {key: sorted(ipaddress.collapse_addresses(nets)) for key, nets in grouped.items()}


def plain_rules(objects, chain):
    return [(_rule_facts(r)[0], _rule_facts(r)[1]) for r in objects['rules']
            if r['chain'] == chain and not any(isinstance(v, str) and v.startswith('@')
                                               for _k, v in _rule_facts(r)[0])]


# ---------------------------------------------------------------- the jaas table
def _check_jaas_table(ruleset, phase):
    objects = table_objects(ruleset, 'inet', 'jaas')
    assert objects['table'] is not None, 'table inet jaas missing'
    assert by_service(allowed_tuples(objects)) == by_service(JAAS_ALLOWED[phase])
    chains = objects['chains']
    assert {n: (c['type'], c['hook'], c['policy']) for n, c in chains.items()} == {
        'output': ('filter', 'output', 'drop'), 'input': ('filter', 'input', 'drop')}
    for chain, expected in JAAS_PLAIN_RULES.items():
        assert plain_rules(objects, chain) == expected, chain
    # the reject comes last: nothing after it could ever match
    assert _rule_facts([r for r in objects['rules'] if r['chain'] == 'output'][-1])[1] == 'reject'
    # one rule per (block, family, protocol, ports), however many networks
    assert len([r for r in objects['rules'] if '@' in json.dumps(r['expr'])]) == 12


def test_jaas_table(instance):
    _name, state = instance
    if state['phase'] == 'absent':
        assert table_objects(state['ruleset'], 'inet', 'jaas')['table'] is None
    else:
        _check_jaas_table(state['ruleset'], state['phase'])


def test_catalog_change_pruned_live_before_the_flush(instance):
    """The side effect's own transaction, as the kernel had it before the reload."""
    _name, state = instance
    if state['phase'] != 'side_effect':
        pytest.skip('side_effect phase only')
    _check_jaas_table(state['before_flush'], 'side_effect')


def test_vendor_catalog_in_table_vend(instance):
    """The bundled catalog matches the vendor page, and survives table jaas's absent."""
    _name, state = instance
    objects = table_objects(state['ruleset'], 'inet', 'vend')
    assert by_service(allowed_tuples(objects)) == by_service(VEND_ALLOWED)
    assert {c['policy'] for c in objects['chains'].values()} == {'accept'}
    assert plain_rules(objects, 'output') == [] and plain_rules(objects, 'input') == []
    assert len(objects['rules']) == 10


# ---------------------------------------------------------------- other tables and files
def test_foreign_tables_byte_identical(instance):
    _name, state = instance
    for name in ('user_rules', 'filter'):
        assert state[name + '.prepare'] and state[name] == state[name + '.prepare'], name
    tables = {(i['table']['family'], i['table']['name']) for i in state['ruleset']['nftables']
              if 'table' in i}
    expected = {('inet', 'filter'), ('inet', 'user_rules'), ('inet', 'vend')}
    if state['phase'] != 'absent':
        expected.add(('inet', 'jaas'))
    assert tables == expected


def test_saved_for_boot(instance):
    _name, state = instance
    tables = ['vend'] if state['phase'] == 'absent' else ['vend', 'jaas']
    includes = ''.join('include "/etc/nftables.d/%s.nft"  # jaas.firewall: table inet %s\n' % (t, t)
                       for t in tables)
    # the user's file is untouched but for one appended line per table of ours
    assert state['conf'] == state['conf.prepare'] + includes
    assert sorted(state['saved']) == sorted('%s.nft' % t for t in tables)
    for table in tables:
        saved = state['saved']['%s.nft' % table]
        assert saved.startswith('# Managed by the jaas.firewall collection')
        assert 'table inet %s {}\ndelete table inet %s\n' % (table, table) in saved
        assert 'flush' not in saved
    assert state['enabled'] == 'enabled'


# ---------------------------------------------------------------- real packets
def _probe(host, tcp, udp, *targets):
    """The harness probe (tools/harness/probe.py TCP UDP HOST...) run on ``host``."""
    with open(PROBE) as handle:
        return json.loads(_run_python(host, handle.read(), tcp, udp, *targets))


def test_packets_to_peer(host, instance):
    _name, state = instance
    assert _probe(host, TCP_PORTS, UDP_PORTS, PEER_V4, PEER_V6, OUTSIDE_V4) == PACKETS[state['phase']]


def test_packets_from_peer(instance):
    name, state = instance
    peer = testinfra.get_host('docker://nftables-peer')
    target = INSTANCE_V4[name.rsplit('-', 1)[-1]]
    assert _probe(peer, '8443,8444', '', target) == {target: INBOUND[state['phase']]}
