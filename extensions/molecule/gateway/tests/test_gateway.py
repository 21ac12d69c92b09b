"""Verify molecule/gateway: real packets routed through each gateway, and its rules.

Expectations are hand-written tables below, from the test catalog (files/catalog.yml) and
the variables in molecule.yml; nothing here imports or runs the collection's code. The
client, the peer and "outside" are pointed at one gateway at a time (their routes), then
the harness probe (tools/harness/probe.py) runs on the client (LAN -> WAN) and on the
peer (WAN -> LAN). Phases: converge, domains_off, gateway_off, absent (see molecule.yml).

The domain half on the gateways of DOMAIN_GATEWAYS: the client asks the gateway's LAN
address (its resolv.conf), the test DNS on the peer answers, and only then does TCP 443 to
the answer pass the forward chain; figures (answer-to-open, expiry) are printed, never
asserted.
"""
import ipaddress
import json
import os
import subprocess
import time

import pytest

from reliability import container_exec  # tests/, on sys.path through extensions/molecule/conftest.py

HERE = os.path.dirname(os.path.abspath(__file__))
PROBE = os.path.join(HERE, '..', '..', '..', '..', 'tools', 'harness', 'probe.py')
HOST_RULES = os.path.join(HERE, '..', 'files', 'host_rules.sh')
CLIENT, PEER, OUTSIDE = 'gateway-client', 'gateway-peer', 'gateway-outside'
CLIENT_V4, CLIENT_V6 = '198.18.6.10', '2001:2:0:6::10'
PEER_V4, PEER_V6, OUTSIDE_V4, OUTSIDE_V6 = '198.18.7.100', '2001:2:0:7::100', '198.18.7.90', '2001:2:0:7::90'
TCP_PORTS, UDP_PORTS = '443,80,10000', '443,10000,50000,9999'
# container: (backend, last byte of its addresses on both networks)
GATEWAYS = {
    'gateway-ufw12': ('ufw', 21),
    'gateway-firewalld12': ('firewalld', 22),
    'gateway-nftables12': ('nftables', 23),
    'gateway-firewalld13': ('firewalld', 24),
    'gateway-ufw13': ('ufw', 25),
    'gateway-nftables13': ('nftables', 26),
}
# the domain half is on for every gateway (group domain_gateways in molecule.yml)
DOMAIN_GATEWAYS = tuple(sorted(GATEWAYS))
# expiry is waited for (TTL 10 s) on one gateway per backend only (both firewalld versions:
# 1.3.3 and 2.3.1 differ in how they treat sets), to keep the run short
EXPIRY_GATEWAYS = ('gateway-ufw12', 'gateway-nftables13', 'gateway-firewalld12', 'gateway-firewalld13')
PHASES = ('converge', 'domains_off', 'gateway_off', 'absent')
GATEWAY_ON = ('converge', 'domains_off')
# the one test client, shared with molecule/domains
LAN_CLIENT = os.path.join(HERE, '..', '..', 'domains', 'files', 'domain_client.py')
TEST_DNS = '198.18.7.100'
# the test DNS's names (files/test_dns.conf, written by hand; addresses held by "outside")
LISTED_V4, LISTED_V6 = '198.18.7.91', '2001:2:0:7::91'   # meet.8x8.vc (core: 8x8.vc, *.8x8.vc)
UNLISTED_V4 = '198.18.7.92'                              # notjaas.example
OTHER_V4 = '198.18.7.93'                                 # other.8x8.vc, answered by the client's own resolver
# firewalld: IPv4 only (firewalld takes no IPv6 network in a hash:ip,mark ipset; the role's
# documented limit): an AAAA answer must open nothing there, failing closed
DOMAIN_FAMILIES = {'ufw': (4, 6), 'nftables': (4, 6), 'firewalld': (4,)}
HOSTILE = {'rebind.8x8.vc': ['10.77.0.10'], 'cgnat.8x8.vc': ['100.64.77.10'],
           'alias.8x8.vc': ['10.77.0.11']}               # CNAME to inside.corp.test

# ---------------------------------------------------------------- hand-written tables
# What the catalog allows towards each test host (turn has the IPv4 peer, jvb the IPv6 one;
# "outside" is in no block).
ALLOWED = {
    PEER_V4: {'tcp/443', 'udp/443', 'udp/50000'},          # turn: tcp 443, udp 443, udp 49152-65535
    PEER_V6: {'tcp/443', 'udp/10000'},                     # jvb: tcp 443, udp 10000
    OUTSIDE_V4: set(), OUTSIDE_V6: set(),
}
ALL_PORTS = {'tcp/%s' % p for p in TCP_PORTS.split(',')} | {'udp/%s' % p for p in UDP_PORTS.split(',')}
NOTHING = dict((address, set()) for address in ALLOWED)
EVERYTHING = dict((address, set(ALL_PORTS)) for address in ALLOWED)


def forwarded_lan_to_wan(backend, phase):
    """Flows from the client that reach the WAN hosts through the gateway."""
    if phase in GATEWAY_ON:
        return ALLOWED                      # strict forwarding: exactly the catalog
    # gateway off: ufw keeps "default deny routed"; firewalld forwards nothing between
    # internal and external without a policy; our nftables table has no forward chain, so
    # nothing in the gateway filters forwarding at all.
    return EVERYTHING if backend == 'nftables' else NOTHING


def forwarded_wan_to_lan(backend, phase):
    """New connections from the peer to the client (no rule ever allows them)."""
    if phase == 'gateway_off' and backend == 'nftables':
        return {CLIENT_V4: set(ALL_PORTS), CLIENT_V6: set(ALL_PORTS)}
    return {CLIENT_V4: set(), CLIENT_V6: set()}


# (family, network, protocol, ports) the gateway must forward: the outbound catalog rules
# (webhook origins are inbound, host only).
def _expand(networks, services):
    return {(ipaddress.ip_network(n).version, n, p, ports) for n in networks for p, ports in services}


FORWARDED_RULES = (
    _expand(['198.18.7.200/29', '2001:2:0:7:ffff::/80'], [('tcp', None), ('udp', None)])
    | _expand(['2001:2:0:7::100/128', '198.18.7.128/27'], [('tcp', '443'), ('udp', '10000')])
    | _expand(['198.18.7.100/32', '198.18.7.101/32', '198.18.7.102/32'],
              [('tcp', '443'), ('udp', '443'), ('udp', '49152-65535')]))


# ---------------------------------------------------------------- helpers
def docker(container, *args, stdin=None):
    """Run argv in a container: nsenter where it can, else docker exec (container_exec.py)."""
    proc = subprocess.run(container_exec.entry(container) + list(args), input=stdin or '',
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, '%s %s: %s' % (container, ' '.join(args), proc.stderr)
    return proc.stdout


def probe(container, *targets):
    with open(PROBE) as handle:
        out = json.loads(docker(container, 'python3', '-', TCP_PORTS, UDP_PORTS, *targets,
                                stdin=handle.read()))
    return dict((target, {flow for flow, ok in result.items() if ok}) for target, result in out.items())


# What the client and the WAN hosts were last set to by this process (each verify is a
# process of its own; the tests are grouped by gateway, so most calls change nothing).
_SET = {}


def route_through(gateway):
    """Point the client at the gateway's LAN leg and the WAN hosts at its WAN leg."""
    if _SET.get('route') == gateway:
        return
    _SET.pop('route', None)
    last = GATEWAYS[gateway][1]
    docker(CLIENT, 'sh', '-ec', 'ip route replace 198.18.7.0/24 via 198.18.6.%d; '
           'ip -6 route replace 2001:2:0:7::/64 via 2001:2:0:6::%d' % (last, last))
    for wan_host in (PEER, OUTSIDE):
        docker(wan_host, 'sh', '-ec', 'ip route replace 198.18.6.0/24 via 198.18.7.%d; '
               'ip -6 route replace 2001:2:0:6::/64 via 2001:2:0:7::%d' % (last, last))
    _SET['route'] = gateway


def host_rules(gateway):
    with open(HOST_RULES) as handle:
        return docker(gateway, 'bash', '-s', GATEWAYS[gateway][0], stdin=handle.read())


_STATE = {}


@pytest.fixture(scope='module', params=sorted(GATEWAYS))
def gateway(request):
    """Module scope: pytest runs every test of one gateway before the next gateway's."""
    name = request.param
    if name not in _STATE:
        _STATE[name] = {
            'phase': docker(name, 'cat', '/var/lib/jaas-test/phase').strip(),
            'interfaces': json.loads(docker(name, 'cat', '/var/lib/jaas-test/interfaces.json')),
        }
    assert _STATE[name]['phase'] in PHASES
    return name, GATEWAYS[name][0], _STATE[name]['phase'], _STATE[name]['interfaces']


# ---------------------------------------------------------------- expiry (first: see open_for_expiry)
_OPENED = {}


def open_for_expiry():
    """Resolve the listed name once through every expiry gateway, one after the other (one
    LAN client, routed through one gateway at a time), and note when each answer opened it:
    their TTLs then run down together instead of one wait per gateway. Valid because the
    expiry test is the first test of each gateway (defined first; the tests are grouped by
    gateway): nothing asks through a gateway between this and its expiry test."""
    if not _OPENED:
        for name in EXPIRY_GATEWAYS:
            route_through(name)
            client_resolver('198.18.6.%d' % GATEWAYS[name][1])
            opened = resolved('meet.8x8.vc')[0]
            _OPENED[name] = (dict(opened['open']).get(LISTED_V4), time.monotonic())
    return _OPENED


def test_listed_address_closes_after_the_ttl(domain_gateway):
    name, backend, phase, _interfaces = domain_gateway
    if phase != 'converge' or name not in EXPIRY_GATEWAYS:
        pytest.skip('converge phase, one gateway per backend')
    was_open, start = open_for_expiry()[name]   # start: right after the last connection to it
    assert was_open is True
    deadline = start + 10 + 20                  # TTL 10 s, and some slack for the kernel's gc
    # poll the set, not the address: a connection would refresh its timeout
    while time.monotonic() < deadline and LISTED_V4 in set_addresses(name, backend, 'domains_core_v4'):
        time.sleep(0.5)
    closed = time.monotonic() - start
    assert LISTED_V4 not in set_addresses(name, backend, 'domains_core_v4'), \
        'still in the set %.0f s after the answer (TTL 10 s)' % closed
    route_through(name)
    client_resolver('198.18.6.%d' % GATEWAYS[name][1])
    assert lan_client(CLIENT, 'connect:%s:443' % LISTED_V4)[0]['open'] is False
    figure('%s: %s gone from the set when polled %.1f s after the last connection to it '
           '(TTL 10 s; polled every 0.5 s; the four expiry gateways were opened together, so '
           'for all but the first this is an upper bound)' % (name, LISTED_V4, closed))


# ---------------------------------------------------------------- packets
def test_lan_to_wan_only_allowed_flows_pass(gateway):
    name, backend, phase, _interfaces = gateway
    if phase == 'absent':
        pytest.skip('rules only')
    route_through(name)
    assert probe(CLIENT, PEER_V4, PEER_V6, OUTSIDE_V4, OUTSIDE_V6) == forwarded_lan_to_wan(backend, phase)


def test_wan_to_lan_new_connections_stop_at_the_gateway(gateway):
    name, backend, phase, _interfaces = gateway
    if phase == 'absent':
        pytest.skip('rules only')
    route_through(name)
    assert probe(PEER, CLIENT_V4, CLIENT_V6) == forwarded_wan_to_lan(backend, phase)


# ---------------------------------------------------------------- the gateway's own rules
def test_host_rules_are_the_ones_from_before_gateway_mode(gateway):
    name, _backend, phase, _interfaces = gateway
    # compared line by line, blank lines aside (nft separates chains with them)
    saved = '\n'.join(line for line in docker(name, 'cat', '/var/lib/jaas-test/host_rules.prepare')
                      .splitlines() if line.strip())
    now = '\n'.join(line for line in host_rules(name).splitlines() if line.strip())
    if phase == 'absent':
        # no rule, policy, ipset or table of ours is left - except ufw's lock-out guard: its
        # jaas:safety rules (DNS here) stay while ufw runs with a deny policy (roles/ufw/README.md)
        left = [line for line in now.splitlines() if 'jaas' in line]
        assert [line for line in left if "'jaas:safety'" not in line] == [], now
        assert not left or GATEWAYS[name][0] == 'ufw'
    else:
        assert now.strip() == saved.strip()
        assert 'jaas' in saved            # the snapshot holds real rules, not an empty listing


# ---------------------------------------------------------------- the gateway rules, per backend
def _nft_table(name):
    listing = json.loads(docker(name, 'nft', '-j', 'list', 'ruleset'))['nftables']
    return [item for item in listing if any(body.get('family') == 'inet' and
                                            body.get('table', body.get('name')) == 'jaas'
                                            for body in item.values() if isinstance(body, dict))]


def _set_networks(items, set_name):
    for item in items:
        body = item.get('set')
        if body and body['name'] == set_name:
            networks = []
            for element in body.get('elem', []):
                if isinstance(element, dict) and 'prefix' in element:
                    networks.append('%s/%s' % (element['prefix']['addr'], element['prefix']['len']))
                elif isinstance(element, dict) and 'range' in element:
                    low, high = (ipaddress.ip_address(a) for a in element['range'])
                    networks += [str(n) for n in ipaddress.summarize_address_range(low, high)]
                else:
                    networks.append(str(ipaddress.ip_network(element)))
            return networks
    raise AssertionError('no set %s' % set_name)


def nftables_forward(name, interfaces):
    """(policy, (family, network, protocol, ports) accepted by the forward chain, other rules)."""
    items = _nft_table(name)
    chains = [i['chain'] for i in items if 'chain' in i and i['chain']['name'] == 'forward']
    if not chains:
        return None
    assert chains[0]['hook'] == 'forward' and chains[0]['type'] == 'filter'
    allowed, others, domain_rules = set(), [], []
    for item in items:
        rule = item.get('rule')
        if not rule or rule['chain'] != 'forward':
            continue
        if any('set' in expr for expr in rule['expr']):          # update @domains_...: the domain half
            domain_rules.append(_domain_rule(rule, interfaces))
            continue
        facts = {}
        for expr in rule['expr']:
            match = expr.get('match')
            if not match:
                facts['verdict'] = next(iter(expr))
                continue
            left, right = match['left'], match['right']
            if 'meta' in left:
                facts[left['meta']['key']] = right
            elif 'payload' in left:
                facts[left['payload']['protocol'] + ' ' + left['payload']['field']] = right
            elif 'ct' in left:
                facts['ct ' + left['ct']['key']] = right
        daddr = facts.get('ip daddr') or facts.get('ip6 daddr')
        if isinstance(daddr, str) and daddr.startswith('@'):
            assert facts['iifname'] == interfaces['lan'] and facts['oifname'] == interfaces['wan']
            assert facts['verdict'] == 'accept'
            protocol = facts.get('l4proto') or ('tcp' if 'tcp dport' in facts else 'udp')
            dport = facts.get('tcp dport', facts.get('udp dport'))
            ports = None if dport is None else (
                '%d-%d' % tuple(dport['range']) if isinstance(dport, dict) else str(dport))
            family = 4 if 'ip daddr' in facts else 6
            for network in _set_networks(items, daddr[1:]):
                allowed.add((family, network, protocol, ports))
        else:
            others.append(facts)
    return chains[0]['policy'], allowed, others, domain_rules


def _domain_rule(rule, interfaces):
    """(family, domain set, guard set, protocol, port, ct state, updated set) of a forward
    domain rule, after checking it is limited to LAN -> WAN and accepts."""
    facts = {}
    for expr in rule['expr']:
        if 'match' in expr:
            left, right = expr['match']['left'], expr['match']['right']
            key = (left['meta']['key'] if 'meta' in left else 'ct ' + left['ct']['key'] if 'ct' in left
                   else left['payload']['protocol'] + ' ' + left['payload']['field'])
            facts.setdefault(key, []).append((expr['match']['op'], right))
        elif 'set' in expr:
            facts['update'] = (expr['set']['op'], expr['set']['set'])
        else:
            facts['verdict'] = next(iter(expr))
    assert facts['iifname'] == [('==', interfaces['lan'])] and facts['oifname'] == [('==', interfaces['wan'])]
    assert facts['verdict'] == 'accept'
    daddr = facts.get('ip daddr') or facts.get('ip6 daddr')
    family = 4 if 'ip daddr' in facts else 6
    sets = dict((op, right) for op, right in daddr)
    port = facts.get('tcp dport')
    state = facts['ct state'][0][1]
    return (family, sets['=='], sets['!='], 'tcp' if port else None, port[0][1] if port else None,
            state if isinstance(state, str) else ','.join(state), facts['update'])


# The forward chain's domain rules (hand-written: category core, TCP 443, both families;
# the answer guard in the same rule; only a connection's first packet; the set refreshed).
NFT_DOMAIN_FORWARD = [
    (4, '@domains_core_v4', '@answer_guard_v4', 'tcp', 443, 'new', ('update', '@domains_core_v4')),
    (6, '@domains_core_v6', '@answer_guard_v6', 'tcp', 443, 'new', ('update', '@domains_core_v6')),
]


def address_space(flows):
    """{(family, protocol, ports): collapsed networks}: the kernel merges adjacent elements
    of an interval set (.100/32 and .101/32 are one .100/31), so compare address space."""
    space = {}
    for family, network, protocol, ports in flows:
        space.setdefault((family, protocol, ports), []).append(ipaddress.ip_network(network))
    return dict((key, list(ipaddress.collapse_addresses(nets))) for key, nets in space.items())


UFW_EXPECTED_ROUTES = {
    # ufw show added, as ufw prints route rules for (network, port, protocol, comment)
    ('198.18.7.200/29', None, 'tcp', 'jaas:cloudflare'), ('198.18.7.200/29', None, 'udp', 'jaas:cloudflare'),
    ('2001:2:0:7:ffff::/80', None, 'tcp', 'jaas:cloudflare'), ('2001:2:0:7:ffff::/80', None, 'udp', 'jaas:cloudflare'),
    ('2001:2:0:7::100', '443', 'tcp', 'jaas:jvb:lab-a'), ('2001:2:0:7::100', '10000', 'udp', 'jaas:jvb:lab-a'),
    ('198.18.7.128/27', '443', 'tcp', 'jaas:jvb:lab-b'), ('198.18.7.128/27', '10000', 'udp', 'jaas:jvb:lab-b'),
    ('198.18.7.100', '443', 'tcp', 'jaas:turn:lab-a'), ('198.18.7.100', '443', 'udp', 'jaas:turn:lab-a'),
    ('198.18.7.100', '49152:65535', 'udp', 'jaas:turn:lab-a'),
    ('198.18.7.101', '443', 'tcp', 'jaas:turn:lab-b'), ('198.18.7.101', '443', 'udp', 'jaas:turn:lab-b'),
    ('198.18.7.101', '49152:65535', 'udp', 'jaas:turn:lab-b'),
    ('198.18.7.102', '443', 'tcp', 'jaas:turn:lab-b'), ('198.18.7.102', '443', 'udp', 'jaas:turn:lab-b'),
    ('198.18.7.102', '49152:65535', 'udp', 'jaas:turn:lab-b'),
}


def ufw_routes(name, interfaces):
    """The route rules as `ufw show added` prints them: (network, port, protocol, comment)."""
    routes = set()
    for line in docker(name, 'ufw', 'show', 'added').splitlines():
        if not line.startswith('ufw route '):
            continue
        words = line.split()
        assert words[:9] == ['ufw', 'route', 'allow', 'in', 'on', interfaces['lan'], 'out', 'on',
                             interfaces['wan']], line
        assert words[9] == 'to'
        port = words[words.index('port') + 1] if 'port' in words else None
        routes.add((words[10], port, words[words.index('proto') + 1],
                    line.split(" comment '")[1].rstrip("'")))
    return routes


FIREWALLD_EXPECTED_RULES = {
    'rule family="ipv4" destination ipset="jaas-cloudflare-v4" protocol value="tcp" accept',
    'rule family="ipv4" destination ipset="jaas-cloudflare-v4" protocol value="udp" accept',
    'rule family="ipv6" destination ipset="jaas-cloudflare-v6" protocol value="tcp" accept',
    'rule family="ipv6" destination ipset="jaas-cloudflare-v6" protocol value="udp" accept',
    'rule family="ipv4" destination ipset="jaas-jvb-v4" port port="443" protocol="tcp" accept',
    'rule family="ipv4" destination ipset="jaas-jvb-v4" port port="10000" protocol="udp" accept',
    'rule family="ipv6" destination ipset="jaas-jvb-v6" port port="443" protocol="tcp" accept',
    'rule family="ipv6" destination ipset="jaas-jvb-v6" port port="10000" protocol="udp" accept',
    'rule family="ipv4" destination ipset="jaas-turn-v4" port port="443" protocol="tcp" accept',
    'rule family="ipv4" destination ipset="jaas-turn-v4" port port="443" protocol="udp" accept',
    'rule family="ipv4" destination ipset="jaas-turn-v4" port port="49152-65535" protocol="udp" accept',
}


# The domain half's accept on firewalld (hand-written from roles/firewalld/README.md and
# module_utils/firewalld_domains.py's documentation: category core is TCP 443, IPv4 only):
# the ipset of type hash:ip,mark holds 0.0.0.0/0 with our mark, so only what our table
# marked matches.
FIREWALLD_MARK_RULE = ('rule family="ipv4" destination ipset="jaas-domains-v4" port port="443" '
                       'protocol="tcp" accept')
FIREWALLD_MARK_IPSET = ('hash:ip,mark', ['0.0.0.0/0,0x01000000'])
FIREWALLD_DNS_RULES = {'rule port port="53" protocol="tcp" accept',
                       'rule port port="53" protocol="udp" accept'}

FIREWALLD_DUMP = r'''
import json, sys
from firewall.client import FirewallClient
client = FirewallClient()
out = {"policies": {}, "zones": {}}
for name in client.getPolicies():
    settings = client.getPolicySettings(name).getSettingsDict()
    out["policies"][name] = {"target": settings["target"],
                             "ingress_zones": sorted(settings["ingress_zones"]),
                             "egress_zones": sorted(settings["egress_zones"]),
                             "rich_rules": sorted(settings["rich_rules"])}
for interface in sys.argv[1:]:
    out["zones"][interface] = client.getZoneOfInterface(interface)
print(json.dumps(out))
'''


FIREWALLD_LAYERS = r'''
import json, sys
from firewall.client import FirewallClient
client = FirewallClient()
config = client.config()
runtime = {"policies": {}, "ipsets": {}}
for name in client.getPolicies():
    s = client.getPolicySettings(name).getSettingsDict()
    runtime["policies"][name] = dict((k, sorted(s[k])) for k in ("ingress_zones", "egress_zones", "rich_rules"))
    runtime["policies"][name]["target"] = s["target"]
for name in client.getIPSets():
    runtime["ipsets"][name] = {"type": client.getIPSetSettings(name).getType(),
                               "entries": sorted(client.getEntries(name))}
permanent = {"policies": {}, "ipsets": {}}
for name in config.getPolicyNames():
    s = config.getPolicyByName(name).getSettings().getSettingsDict()
    permanent["policies"][name] = dict((k, sorted(s[k])) for k in ("ingress_zones", "egress_zones", "rich_rules"))
    permanent["policies"][name]["target"] = s["target"]
for name in config.getIPSetNames():
    settings = config.getIPSetByName(name).getSettings()
    permanent["ipsets"][name] = {"type": settings.getType(), "entries": sorted(settings.getEntries())}
print(json.dumps([runtime, permanent]))
'''


def firewalld_layers(name, interfaces):
    """[runtime, permanent]: firewalld's policies and ipsets in each layer (D-Bus client)."""
    return json.loads(docker(name, 'python3', '-', stdin=FIREWALLD_LAYERS))


def _mark_entry(entry):
    """'0.0.0.0/0,0x1000000' in one spelling (firewalld keeps the hex as given)."""
    network, mark = entry.split(',')
    return '%s,0x%08x' % (ipaddress.ip_network(network), int(mark, 16))


def domain_table_forward(name):
    """The forward chain of our marking table inet jaas_domains (firewalld, ufw): None, or
    {'hook', 'prio', 'rules': [{'iifname', 'mark'}]}."""
    listing = json.loads(docker(name, 'nft', '-j', 'list', 'ruleset'))['nftables']
    chain, rules = None, []
    for item in listing:
        body = item.get('chain') or item.get('rule')
        if not body or body.get('family') != 'inet' or body.get('table') != 'jaas_domains':
            continue
        if 'chain' in item and body['name'] == 'forward':
            chain = {'hook': body.get('hook'), 'prio': body.get('prio')}
        elif 'rule' in item and body['chain'] == 'forward':
            facts = {'iifname': None, 'mark': None}
            for expr in body['expr']:
                match = expr.get('match')
                if match and match['left'].get('meta', {}).get('key') == 'iifname':
                    right = match['right']
                    facts['iifname'] = right if isinstance(right, str) else right.get('set')
                mangle = expr.get('mangle')
                if mangle and mangle['key'].get('meta', {}).get('key') == 'mark':
                    value = mangle['value']
                    facts['mark'] = value['|'][1] if isinstance(value, dict) and '|' in value else value
            rules.append(facts)
    if chain is None:
        return None
    chain['rules'] = rules
    return chain


def firewalld_runtime(name, interfaces):
    """firewalld's runtime policies and the zones of the legs, read with its D-Bus client."""
    return json.loads(docker(name, 'python3', '-', interfaces['lan'], interfaces['wan'],
                             stdin=FIREWALLD_DUMP))


def test_gateway_rules(gateway):
    name, backend, phase, interfaces = gateway
    if backend == 'nftables':
        forward = nftables_forward(name, interfaces)
        if phase not in GATEWAY_ON:
            assert forward is None       # gateway off or absent: no forward chain
            return
        policy, allowed, others, domain_rules = forward
        assert policy == 'drop'
        assert address_space(allowed) == address_space(FORWARDED_RULES)
        assert [o.get('ct state') for o in others] == [['established', 'related']]
        assert domain_rules == (NFT_DOMAIN_FORWARD if name in DOMAIN_GATEWAYS and phase == 'converge'
                                else [])
    elif backend == 'ufw':
        routes = ufw_routes(name, interfaces)
        assert routes == (UFW_EXPECTED_ROUTES if phase in GATEWAY_ON else set())
        defaults = docker(name, 'cat', '/etc/default/ufw')
        assert 'DEFAULT_FORWARD_POLICY="DROP"' in defaults
        forward = docker(name, 'iptables', '-S', 'ufw-user-forward') + \
            docker(name, 'ip6tables', '-S', 'ufw6-user-forward')
        in_kernel = [line for line in forward.splitlines() if line.startswith('-A ')]
        assert len(in_kernel) == (len(UFW_EXPECTED_ROUTES) if phase in GATEWAY_ON else 0)
        assert all('-i %s -o %s ' % (interfaces['lan'], interfaces['wan']) in line for line in in_kernel)
    else:
        runtime = firewalld_runtime(name, interfaces)
        policy = runtime['policies'].get('jaas-gateway')
        if phase not in GATEWAY_ON:
            assert policy is None
            return
        assert policy['ingress_zones'] == ['internal'] and policy['egress_zones'] == ['external']
        assert policy['target'] == 'REJECT'
        expected = set(FIREWALLD_EXPECTED_RULES)
        if name in DOMAIN_GATEWAYS and phase == 'converge':
            expected.add(FIREWALLD_MARK_RULE)      # the domain half: our table's mark accepted
        assert set(policy['rich_rules']) == expected
        # the zones really hold the legs (prepare bound them; the role never does)
        assert runtime['zones'] == {interfaces['lan']: 'internal', interfaces['wan']: 'external'}


# ---------------------------------------------------------------- the domain half (LAN clients)
FIGURES = os.environ.get('JAAS_GATEWAY_FIGURES', '/tmp/jaas-molecule-gateway-figures.txt')


def figure(text):
    """A measured figure: printed, and appended to FIGURES (pytest captures what passes)."""
    print('\n' + text)
    with open(FIGURES, 'a') as handle:
        handle.write(time.strftime('%Y-%m-%dT%H:%M:%S ') + text + '\n')


def lan_client(container, *steps):
    with open(LAN_CLIENT) as handle:
        return json.loads(docker(container, 'python3', '-', *steps, stdin=handle.read()))


def resolved(*names):
    """lan_client's ``resolve:NAME`` steps for names that must be answered (in order, at
    once when several). The client waits 1 s for an answer (resolv.conf); on a loaded
    machine the resolver chain (client, gateway's resolver, test DNS) can take longer, so a
    question that timed out (EAI_AGAIN) is asked again, twice at most. Any other error, or a
    third timeout, fails the test with the client's result."""
    steps = ['resolve:%s' % name for name in names]
    results = lan_client(CLIENT, *(['--together'] + steps if len(steps) > 1 else steps))
    for _ in range(2):
        for index, result in enumerate(results):
            if 'Temporary failure' in result.get('error', ''):
                results[index] = lan_client(CLIENT, steps[index])[0]
    for result in results:
        assert 'error' not in result, result
    return results


def client_resolver(address):
    """The client's resolv.conf names ``address`` (a bind mount: written in place)."""
    if _SET.get('resolver') == address:
        return
    _SET.pop('resolver', None)
    docker(CLIENT, 'sh', '-ec', 'printf "nameserver %s\\noptions timeout:1 attempts:1\\n" > /etc/resolv.conf'
           % address)
    _SET['resolver'] = address


def client_routes_hostile_through(gateway):
    last = GATEWAYS[gateway][1]
    docker(CLIENT, 'sh', '-ec', 'ip route replace 10.77.0.0/24 via 198.18.6.%d; '
           'ip route replace 100.64.77.0/24 via 198.18.6.%d' % (last, last))


def dns_listeners(gateway):
    """The local addresses of the gateway's UDP and TCP sockets on port 53."""
    out = docker(gateway, 'ss', '-H', '-lnut', 'sport', '=', ':53')
    return {line.split()[4].rsplit(':', 1)[0].strip('[]').split('%')[0] for line in out.splitlines()}


def set_addresses(gateway, backend, name):
    table = 'jaas' if backend == 'nftables' else 'jaas_domains'
    listing = json.loads(docker(gateway, 'nft', '-j', 'list', 'set', 'inet', table, name))['nftables']
    body = next(item['set'] for item in listing if 'set' in item)
    return {(e['elem']['val'] if isinstance(e, dict) else e) for e in body.get('elem', [])}


@pytest.fixture
def domain_gateway(gateway):
    name, backend, phase, interfaces = gateway
    if name not in DOMAIN_GATEWAYS:
        pytest.skip('domains off on this gateway')
    return name, backend, phase, interfaces


def test_lan_client_resolving_through_the_gateway_reaches_only_the_listed_name(domain_gateway):
    name, backend, phase, _interfaces = domain_gateway
    if phase == 'absent':
        pytest.skip('no gateway')
    last = GATEWAYS[name][1]
    # gateway off on nftables: our table has no forward chain, nothing filters forwarding
    # (see forwarded_lan_to_wan), so every connection passes whatever DNS said
    unfiltered = phase == 'gateway_off' and backend == 'nftables'
    route_through(name)
    client_resolver('198.18.6.%d' % last)
    asks = ('resolve:meet.8x8.vc', 'connect:%s:80' % LISTED_V4, 'connect:%s:10000' % LISTED_V4,
            'resolve:notjaas.example')
    if phase == 'converge':
        # in order: refused before the answer, the answer, then (at once: they wait out
        # their timeouts) the other ports and the unlisted name
        before = lan_client(CLIENT, 'connect:%s:443' % LISTED_V4)[0]
        steps = resolved('meet.8x8.vc') + lan_client(CLIENT, '--together', *asks[1:])
    else:
        # nothing answers the LAN: the steps do not depend on each other, and most of them
        # wait out a timeout (dropped), so they run at once; 443 is tried again after them
        before, *steps = lan_client(CLIENT, '--together', 'connect:%s:443' % LISTED_V4, *asks)
    assert before['open'] is unfiltered       # nothing asked yet: refused
    listed, port80, port10000, unlisted = steps
    if phase == 'converge':
        # the gateway's resolver answered on its LAN address, and the answer opened 443
        assert listed['addresses'] == sorted([LISTED_V4, LISTED_V6])
        # the AAAA answer opens on ufw/nftables; on firewalld (IPv4 only) it stays refused
        assert dict(listed['open']) == {LISTED_V4: True, LISTED_V6: 6 in DOMAIN_FAMILIES[backend]}
        assert unlisted['addresses'] == [UNLISTED_V4]
        assert dict(unlisted['open']) == {UNLISTED_V4: False}
        figure('%s: answer-to-open through the gateway %.3f s (DNS answer %.3f s)'
               % (name, listed['answer_to_open'], listed['seconds']))
    else:
        # domains off or gateway off: the resolver serves no LAN client, nothing opens
        assert 'error' in listed and 'error' in unlisted, steps
        assert lan_client(CLIENT, 'connect:%s:443' % LISTED_V4)[0]['open'] is unfiltered
    assert port80['open'] is unfiltered and port10000['open'] is unfiltered   # other ports: never


def test_a_client_using_another_resolver_gets_nothing(domain_gateway):
    name, _backend, phase, _interfaces = domain_gateway
    if phase != 'converge':
        pytest.skip('converge phase')
    route_through(name)
    # the client's own resolver (prepare.yml: a dnsmasq on 127.0.0.1 that answers
    # other.8x8.vc itself): the gateway's resolver never sees the question (the test DNS
    # on the WAN is out of reach for it, DNS to it is not a forwarded flow)
    client_resolver('127.0.0.1')
    other = resolved('other.8x8.vc')[0]
    assert other['addresses'] == [OTHER_V4]     # a listed name, answered...
    assert dict(other['open']) == {OTHER_V4: False}     # ...but not by the gateway: refused


def test_hostile_answers_open_nothing_in_the_forward_chain(domain_gateway):
    name, backend, phase, _interfaces = domain_gateway
    if phase != 'converge':
        pytest.skip('converge phase')
    route_through(name)
    client_routes_hostile_through(name)
    client_resolver('198.18.6.%d' % GATEWAYS[name][1])
    results = resolved(*sorted(HOSTILE))
    in_set = set_addresses(name, backend, 'domains_core_v4')
    for result, host in zip(results, sorted(HOSTILE)):
        assert result['addresses'] == HOSTILE[host]
        assert all(ok is False for _address, ok in result['open']), result
        assert set(HOSTILE[host]) <= in_set       # the resolver did put it in the set


def test_the_resolver_serves_the_lan_leg_only(domain_gateway):
    name, _backend, phase, interfaces = domain_gateway
    if phase == 'absent':
        pytest.skip('rules only')
    last = GATEWAYS[name][1]
    listeners = dns_listeners(name)
    assert '198.18.7.%d' % last not in listeners and '2001:2:0:7::%d' % last not in listeners
    assert not listeners & {'0.0.0.0', '::', '*'}                     # never a wildcard
    serves_lan = phase == 'converge'
    assert ('198.18.6.%d' % last in listeners) is serves_lan
    assert ('127.0.0.153' in listeners) is (phase != 'domains_off')
    # from the WAN, neither the WAN address nor (routed) the LAN address answers
    route_through(name)
    asked = lan_client(PEER, '--together', 'ask:198.18.7.%d:meet.8x8.vc' % last,
                       'ask:198.18.6.%d:meet.8x8.vc' % last)
    assert [a['answered'] for a in asked] == [False, False]
    from_lan = lan_client(CLIENT, 'ask:198.18.6.%d:meet.8x8.vc' % last)[0]
    assert from_lan['answered'] is serves_lan


def test_dns_accepts_exist_only_with_domains_in_gateway_mode(domain_gateway):
    name, backend, phase, interfaces = domain_gateway
    on = phase == 'converge'
    if backend == 'nftables':
        table = _nft_table(name)
        dns = [i['rule'] for i in table if 'rule' in i and i['rule']['chain'] == 'input'
               and i['rule'].get('comment') == 'gateway dns']
        assert len(dns) == (2 if on else 0)
        for rule in dns:
            assert {'match': {'op': '==', 'left': {'meta': {'key': 'iifname'}},
                              'right': interfaces['lan']}} in rule['expr']
    elif backend == 'firewalld':
        # runtime and permanent configuration alike: firewalld's objects for the domain half
        # exist exactly when domains are on in gateway mode
        lan = interfaces['lan']
        for layer in firewalld_layers(name, interfaces):
            dns = layer['policies'].get('jaas-gateway-dns')
            gateway_rules = (layer['policies'].get('jaas-gateway') or {}).get('rich_rules', [])
            if on:
                assert dns == {'target': 'CONTINUE', 'ingress_zones': ['internal'],
                               'egress_zones': ['HOST'], 'rich_rules': sorted(FIREWALLD_DNS_RULES)}, layer
                assert FIREWALLD_MARK_RULE in gateway_rules
            else:
                assert dns is None and FIREWALLD_MARK_RULE not in gateway_rules, layer
            # the mark ipset is the host's domain half too: present whenever domains are on
            ipset = layer['ipsets'].get('jaas-domains-v4')
            if phase in ('converge', 'gateway_off'):
                assert ipset is not None and ipset['type'] == FIREWALLD_MARK_IPSET[0]
                assert [_mark_entry(e) for e in ipset['entries']] == FIREWALLD_MARK_IPSET[1]
            else:
                assert ipset is None
        # our marking table: a forward chain that marks only what comes in on the LAN leg
        forward = domain_table_forward(name)
        if on:
            assert forward['hook'] == 'forward' and forward['prio'] == -10
            assert forward['rules'] and all(rule['iifname'] == lan and rule['mark'] == 0x01000000
                                            for rule in forward['rules']), forward
        else:
            assert forward is None
    else:
        rules = docker(name, 'iptables', '-S') + docker(name, 'ip6tables', '-S')
        ours = [line for line in rules.splitlines() if 'jaas.firewall domains' in line]
        forward = [line for line in ours if line.startswith(('-A ufw-after-forward ', '-A ufw6-after-forward '))]
        dns = [line for line in ours if line.startswith(('-A ufw-after-input ', '-A ufw6-after-input '))]
        assert len(forward) == (2 if on else 0) and len(dns) == (4 if on else 0), ours
        assert all('-i %s ' % interfaces['lan'] in line for line in forward + dns)
        assert all('-o %s ' % interfaces['wan'] in line for line in forward)
        after = docker(name, 'cat', '/etc/ufw/after.rules')
        assert ('-A ufw-after-forward -i %s' % interfaces['lan'] in after) is on


KEEPALIVE = r'''
import os, socket, sys, time
stop = '/tmp/jaas-keepalive-stop'
for _ in range(120):
    if os.path.exists(stop):
        os.remove(stop)
        break
    try:
        socket.create_connection((sys.argv[1], 443), timeout=1).close()
    except OSError:
        pass
    time.sleep(1)
'''


def test_firewalld_reload_keeps_an_answered_address_open(domain_gateway):
    """firewall-cmd --reload rebuilds firewalld's runtime from its permanent configuration:
    the mark ipset and the rules are permanent, and our table (not firewalld's) keeps its
    timed entries, so an address the LAN client was answered stays open, and only that."""
    name, backend, phase, _interfaces = domain_gateway
    if backend != 'firewalld' or phase != 'converge':
        pytest.skip('firewalld gateways, converge phase')
    route_through(name)
    client_resolver('198.18.6.%d' % GATEWAYS[name][1])
    opened = resolved('meet.8x8.vc')[0]
    assert dict(opened['open'])[LISTED_V4] is True
    # While firewalld reloads, the client keeps connecting (once a second): each connection
    # our table marks restarts the entry's timeout, but only if the entry is still there - a
    # reload that emptied the set would leave nothing to restart. So how long the reload
    # takes does not matter (TTL 10 s).
    docker(CLIENT, 'rm', '-f', '/tmp/jaas-keepalive-stop')
    keepalive = subprocess.Popen(container_exec.entry(CLIENT) + ['python3', '-c', KEEPALIVE, LISTED_V4],
                                 stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        start = time.monotonic()
        docker(name, 'firewall-cmd', '--reload')
        took = time.monotonic() - start
    finally:
        docker(CLIENT, 'touch', '/tmp/jaas-keepalive-stop')
        keepalive.communicate(timeout=30)
    assert LISTED_V4 in set_addresses(name, backend, 'domains_core_v4')
    after = lan_client(CLIENT, 'connect:%s:443' % LISTED_V4, 'connect:%s:80' % LISTED_V4,
                       'connect:%s:443' % UNLISTED_V4)
    assert [step['open'] for step in after] == [True, False, False]
    figure('%s: firewall-cmd --reload took %.1f s; %s still open after it'
           % (name, took, LISTED_V4))
