"""Verify molecule/firewalld from the real state of each instance.

Expectations are hand-written tables: for the test catalogs (files/catalog_a.yml,
catalog_b.yml) and, for prefix "vend", from the vendor page
(/work/shared/jaas-network-requirements.md, copied by hand below). Nothing here imports or
runs the collection's code. Every phase (converge, side_effect, absent) checks permanent
and runtime firewalld state, the nftables ruleset, foreign configuration and real packets.
"""
import base64
import json
import os
import ipaddress

import pytest
import testinfra

HERE = os.path.dirname(os.path.abspath(__file__))
PROBE = os.path.join(HERE, '..', '..', '..', '..', 'tools', 'harness', 'probe.py')
PEER_V4, PEER_V6 = '198.18.2.100', '2001:2:0:2::100'
INSTANCE_V4 = {'debian12': '198.18.2.11', 'debian13': '198.18.2.12'}
TCP_PORTS, UDP_PORTS = '443,80,10000', '443,10000,50000,9999'

# ---------------------------------------------------------------- hand-written tables
JAAS_IPSETS = {
    'converge': {
        'jaas-cloudflare-v4': {'198.18.2.200/29'},
        'jaas-cloudflare-v6': {'2001:2:0:2:ffff::/80'},
        'jaas-jvb-v4': {'198.18.2.128/26'},           # lab-b: two adjacent /27 merged
        'jaas-jvb-v6': {'2001:2:0:2::100/128'},
        'jaas-turn-v4': {'198.18.2.100/32', '198.18.2.101/32', '198.18.2.102/32'},
        'jaas-webhook_origins-v4': {'198.18.2.99/32', '198.18.2.100/32'},
    },
    'side_effect': {
        'jaas-cloudflare-v4': {'198.18.2.200/29'},
        'jaas-cloudflare-v6': {'2001:2:0:2:ffff::/80'},
        'jaas-jvb-v4': {'198.18.2.128/26', '198.18.2.100/32'},   # lab-c added
        'jaas-jvb-v6': {'2001:2:0:2::100/128'},
        'jaas-turn-v4': {'198.18.2.101/32', '198.18.2.102/32'},  # lab-a dropped
        'jaas-webhook_origins-v4': {'198.18.2.99/32', '198.18.2.100/32'},
    },
    'absent': {},
}


def _set_rule(family, ipset, protocol, ports=None):
    where = 'destination ipset="%s"' % ipset
    what = ('port port="%s" protocol="%s"' % (ports, protocol) if ports
            else 'protocol value="%s"' % protocol)
    return 'rule family="ipv%s" %s %s accept' % (family, where, what)


# The same 17 rules in both catalogs: the rule count does not follow the catalog.
JAAS_EGRESS_RULES = {
    _set_rule(4, 'jaas-cloudflare-v4', 'tcp'), _set_rule(4, 'jaas-cloudflare-v4', 'udp'),
    _set_rule(6, 'jaas-cloudflare-v6', 'tcp'), _set_rule(6, 'jaas-cloudflare-v6', 'udp'),
    _set_rule(4, 'jaas-jvb-v4', 'tcp', '443'), _set_rule(4, 'jaas-jvb-v4', 'udp', '10000'),
    _set_rule(6, 'jaas-jvb-v6', 'tcp', '443'), _set_rule(6, 'jaas-jvb-v6', 'udp', '10000'),
    _set_rule(4, 'jaas-turn-v4', 'tcp', '443'), _set_rule(4, 'jaas-turn-v4', 'udp', '443'),
    _set_rule(4, 'jaas-turn-v4', 'udp', '49152-65535'),
    'rule family="ipv4" destination address="198.18.2.100/32" port port="80" protocol="tcp" accept',
    'rule port port="53" protocol="udp" accept',
    'rule port port="53" protocol="tcp" accept',
    'rule family="ipv6" icmp-type name="neighbour-solicitation" accept',
    'rule family="ipv6" icmp-type name="neighbour-advertisement" accept',
    'rule family="ipv6" icmp-type name="router-solicitation" accept',
}
JAAS_INGRESS_RULES = {
    'rule family="ipv4" source ipset="jaas-webhook_origins-v4" port port="8443" protocol="tcp" accept',
}

# From the vendor page. Compact merges Brazil's 129.148.18.0/26 + 129.148.18.64/26.
VEND_IPSETS = {
    'vend-cloudflare-v4': {
        '173.245.48.0/20', '103.21.244.0/22', '103.22.200.0/22', '103.31.4.0/22',
        '141.101.64.0/18', '108.162.192.0/18', '190.93.240.0/20', '188.114.96.0/20',
        '197.234.240.0/22', '198.41.128.0/17', '162.158.0.0/15', '104.16.0.0/13',
        '104.24.0.0/14', '172.64.0.0/13', '131.0.72.0/22'},
    'vend-cloudflare-v6': {
        '2400:cb00::/32', '2606:4700::/32', '2803:f800::/32', '2405:b500::/32',
        '2405:8100::/32', '2a06:98c0::/29', '2c0f:f248::/32'},
    'vend-jvb-v4': {
        '168.138.111.128/25', '168.138.245.0/25', '129.148.18.0/25', '130.61.162.0/24',
        '152.67.21.0/24', '155.248.191.0/24', '193.122.184.0/24', '158.101.40.0/25',
        '129.146.204.128/27', '129.146.205.0/27', '129.146.205.96/27', '129.146.206.64/27',
        '152.67.144.0/24'},
    'vend-turn-v4': {a + '/32' for a in (
        '168.138.110.244 168.138.110.59 192.9.165.175 150.230.8.96 '
        '168.138.236.29 168.138.229.53 168.75.97.79 167.234.255.126 '
        '140.238.148.121 140.238.148.27 129.153.62.224 150.230.30.183 '
        '130.61.64.185 193.122.11.14 130.162.59.132 130.61.133.55 '
        '152.67.14.48 152.67.30.22 144.24.103.107 129.154.253.235 '
        '168.138.216.49 168.138.223.155 158.179.186.219 131.186.58.42 '
        '193.122.64.56 158.101.224.215 158.101.233.69 81.208.170.221 '
        '140.238.95.196 152.67.128.56 130.162.185.237 132.226.213.225 '
        '193.122.177.113 193.122.167.175 129.80.169.133 129.153.0.67 '
        '129.146.227.2 129.146.219.44 144.24.35.218 144.24.7.53').split()},
    'vend-webhook_origins-v4': {'52.26.201.32/32', '52.10.206.157/32', '35.162.88.192/32'},
}
VEND_EGRESS_RULES = {
    _set_rule(4, 'vend-cloudflare-v4', 'tcp'), _set_rule(4, 'vend-cloudflare-v4', 'udp'),
    _set_rule(6, 'vend-cloudflare-v6', 'tcp'), _set_rule(6, 'vend-cloudflare-v6', 'udp'),
    _set_rule(4, 'vend-jvb-v4', 'tcp', '443'), _set_rule(4, 'vend-jvb-v4', 'udp', '10000'),
    _set_rule(4, 'vend-turn-v4', 'tcp', '443'), _set_rule(4, 'vend-turn-v4', 'udp', '443'),
    _set_rule(4, 'vend-turn-v4', 'udp', '49152-65535'),
}
VEND_INGRESS_RULES = {
    'rule family="ipv4" source ipset="vend-webhook_origins-v4" port port="443" protocol="tcp" accept',
}

# Real packets from the instance to the peer, egress target REJECT.
PACKETS = {
    'converge': {
        PEER_V4: {'tcp/443': True, 'tcp/80': True, 'tcp/10000': False, 'udp/443': True,
                  'udp/10000': False, 'udp/50000': True, 'udp/9999': False},
        PEER_V6: {'tcp/443': True, 'tcp/80': False, 'tcp/10000': False, 'udp/443': False,
                  'udp/10000': True, 'udp/50000': False, 'udp/9999': False},
    },
    'side_effect': {
        PEER_V4: {'tcp/443': True, 'tcp/80': True, 'tcp/10000': False, 'udp/443': False,
                  'udp/10000': True, 'udp/50000': False, 'udp/9999': False},
        PEER_V6: {'tcp/443': True, 'tcp/80': False, 'tcp/10000': False, 'udp/443': False,
                  'udp/10000': True, 'udp/50000': False, 'udp/9999': False},
    },
    'absent': {  # prefix vend only (egress CONTINUE): nothing is restricted
        PEER_V4: dict.fromkeys(['tcp/443', 'tcp/80', 'tcp/10000', 'udp/443', 'udp/10000',
                                'udp/50000', 'udp/9999'], True),
        PEER_V6: dict.fromkeys(['tcp/443', 'tcp/80', 'tcp/10000', 'udp/443', 'udp/10000',
                                'udp/50000', 'udp/9999'], True),
    },
}
WEBHOOK_FROM_PEER = {'converge': True, 'side_effect': True, 'absent': False}

# ---------------------------------------------------------------- reading the host
# One remote call gathers everything (each testinfra call is an ansible round trip).
DUMP = r'''
import json, subprocess
def fc(*args):
    p = subprocess.run(("firewall-cmd",) + args, capture_output=True, text=True)
    return p.stdout if p.returncode == 0 else None
out = {}
for layer, flag in (("permanent", ("--permanent",)), ("runtime", ())):
    ipsets = fc(*(flag + ("--get-ipsets",))).split()
    policies = fc(*(flag + ("--get-policies",))).split()
    out[layer] = {
        "ipsets": {n: fc(*(flag + ("--info-ipset=" + n,))) for n in ipsets},
        "policies": {n: fc(*(flag + ("--info-policy=" + n,))) for n in policies},
        "public_services": fc(*(flag + ("--zone=public", "--list-services"))).split(),
        "default_zone": fc("--get-default-zone").strip(),
    }
out["nft"] = json.loads(subprocess.run(["nft", "-j", "list", "ruleset"], capture_output=True,
                                       text=True, check=True).stdout)
out["phase"] = open("/var/lib/jaas-test/phase").read().strip()
out["version"] = fc("--version").strip()
print(json.dumps(out))
'''


def _run_python(host, source, *args):
    encoded = base64.b64encode(source.encode()).decode()
    command = 'echo %s | base64 -d | python3 -' + ' %s' * len(args)
    return host.check_output(command, encoded, *args)


def _parse_ipset(text):
    info = {}
    for line in text.splitlines()[1:]:
        key, _sep, value = line.strip().partition(':')
        info[key] = value.strip()
    return {'type': info['type'], 'options': info.get('options', ''),
            'entries': {str(ipaddress.ip_network(e)) for e in info.get('entries', '').split()}}


def _parse_policy(text):
    info, rules, in_rules = {}, set(), False
    for line in text.splitlines()[1:]:
        if in_rules and line.startswith('\t'):
            rules.add(line.strip())
            continue
        key, _sep, value = line.strip().partition(':')
        in_rules = key == 'rich rules'
        info[key] = value.strip()
    return {'target': info['target'], 'ingress': info['ingress-zones'].split(),
            'egress': info['egress-zones'].split(), 'rules': rules}


_CACHE = {}


@pytest.fixture
def instance(host):
    name = host.backend.get_hostname()
    if not name.endswith(('debian12', 'debian13')):
        pytest.skip('peer container')
    if name not in _CACHE:
        _CACHE[name] = json.loads(_run_python(host, DUMP))
    return name, _CACHE[name]


def _owned(layer_state, prefix, kind):
    return {n: v for n, v in layer_state[kind].items() if n.startswith(prefix + '-')}


# ---------------------------------------------------------------- firewalld state
@pytest.mark.parametrize('layer', ['permanent', 'runtime'])
def test_jaas_ipsets(instance, layer):
    _name, state = instance
    ipsets = {n: _parse_ipset(t) for n, t in _owned(state[layer], 'jaas', 'ipsets').items()}
    expected = JAAS_IPSETS[state['phase']]
    assert {n: s['entries'] for n, s in ipsets.items()} == expected
    for name, ipset in ipsets.items():
        assert ipset['type'] == 'hash:net'
        assert ('family=inet6' in ipset['options']) == name.endswith('-v6')


@pytest.mark.parametrize('layer', ['permanent', 'runtime'])
def test_jaas_policies(instance, layer):
    _name, state = instance
    policies = {n: _parse_policy(t) for n, t in _owned(state[layer], 'jaas', 'policies').items()}
    if state['phase'] == 'absent':
        assert policies == {}
        return
    assert set(policies) == {'jaas-egress', 'jaas-ingress'}
    egress, ingress = policies['jaas-egress'], policies['jaas-ingress']
    assert (egress['target'], egress['ingress'], egress['egress']) == ('REJECT', ['HOST'], ['ANY'])
    assert egress['rules'] == JAAS_EGRESS_RULES
    assert (ingress['target'], ingress['ingress'], ingress['egress']) == ('CONTINUE', ['ANY'], ['HOST'])
    assert ingress['rules'] == JAAS_INGRESS_RULES


@pytest.mark.parametrize('layer', ['permanent', 'runtime'])
def test_vendor_catalog_under_other_prefix(instance, layer):
    """The bundled catalog matches the vendor page, and survives prefix jaas's absent."""
    _name, state = instance
    ipsets = {n: _parse_ipset(t)['entries'] for n, t in _owned(state[layer], 'vend', 'ipsets').items()}
    assert ipsets == VEND_IPSETS
    policies = {n: _parse_policy(t) for n, t in _owned(state[layer], 'vend', 'policies').items()}
    assert policies['vend-egress']['target'] == 'CONTINUE'
    assert policies['vend-egress']['rules'] == VEND_EGRESS_RULES
    assert policies['vend-ingress']['rules'] == VEND_INGRESS_RULES


@pytest.mark.parametrize('layer', ['permanent', 'runtime'])
def test_foreign_configuration_intact(instance, layer):
    _name, state = instance
    layer_state = state[layer]
    assert _parse_ipset(layer_state['ipsets']['user-admins'])['entries'] == {'198.18.2.50/32'}
    assert _parse_ipset(layer_state['ipsets']['jaasx-admins'])['entries'] == {'198.18.2.48/30'}
    user_in = _parse_policy(layer_state['policies']['user-in'])
    assert user_in['rules'] == {
        'rule family="ipv4" source ipset="user-admins" service name="ssh" accept'}
    assert (user_in['ingress'], user_in['egress']) == (['public'], ['HOST'])
    assert 'http' in layer_state['public_services']
    assert layer_state['default_zone'] == 'public'


# ---------------------------------------------------------------- nftables
def _elements(nft_set):
    found = set()
    for elem in nft_set.get('elem', []):
        if isinstance(elem, dict) and 'elem' in elem:
            elem = elem['elem']['val']
        if isinstance(elem, str):
            found.add(str(ipaddress.ip_network(elem)))
        elif 'prefix' in elem:
            found.add(str(ipaddress.ip_network('%s/%s' % (elem['prefix']['addr'], elem['prefix']['len']))))
        elif 'range' in elem:
            low, high = (ipaddress.ip_address(a) for a in elem['range'])
            found.update(str(n) for n in ipaddress.summarize_address_range(low, high))
    return found


def test_nftables_sets_and_rules(instance):
    """The kernel has our sets with the expected elements and one rule per set service."""
    _name, state = instance
    objects = state['nft']['nftables']
    sets = {o['set']['name']: o['set'] for o in objects
            if 'set' in o and o['set']['table'] == 'firewalld' and o['set']['name'].startswith('jaas-')}
    expected = JAAS_IPSETS[state['phase']]
    assert {n: _elements(s) for n, s in sets.items()} == expected
    set_refs = [json.dumps(o['rule']['expr']) for o in objects
                if 'rule' in o and 'jaas-egress' in o['rule']['chain']]
    referenced = [ref for ref in set_refs if '"@jaas-' in ref]
    # 11 rich rules reference an ipset in the egress policy (see JAAS_EGRESS_RULES)
    assert len(referenced) == (0 if state['phase'] == 'absent' else 11)
    if state['phase'] != 'absent':
        assert any('@jaas-turn-v4' in ref and '49152' in ref for ref in referenced)
        assert any(o['chain']['name'].startswith('filter_OUT_policy_jaas-egress')
                   for o in objects if 'chain' in o)


# ---------------------------------------------------------------- real packets
def _probe(host, tcp, udp, *targets):
    """The harness probe (tools/harness/probe.py TCP UDP HOST...) run on ``host``."""
    with open(PROBE) as handle:
        return json.loads(_run_python(host, handle.read(), tcp, udp, *targets))


def test_packets_to_peer(host, instance):
    _name, state = instance
    assert _probe(host, TCP_PORTS, UDP_PORTS, PEER_V4, PEER_V6) == PACKETS[state['phase']]


def test_webhook_from_peer(instance):
    name, state = instance
    peer = testinfra.get_host('docker://firewalld-peer')
    target = INSTANCE_V4[name.rsplit('-', 1)[-1]]
    assert _probe(peer, '8443', '', target) == {target: {'tcp/8443': WEBHOOK_FROM_PEER[state['phase']]}}
