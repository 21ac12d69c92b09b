"""Verify the domain half of a firewalld gateway (molecule/gateway, firewalld12/firewalld13).

What the firewalld role documents for ``jaas_firewall_domains`` in gateway mode: our table
``inet jaas_domains`` marks, in a forward chain, new connections arriving on the LAN
interface to a listed address and port; the policy ``jaas-gateway`` accepts the mark
(ipset ``jaas-domains-v4``, type hash:ip,mark); the policy ``jaas-gateway-dns`` lets the
LAN zone (internal) ask the gateway's resolver over UDP and TCP 53. Expectations are
hand-written from that text and from the test DNS below; nothing here imports the
collection. The converge needs (see /work/notes/f23-requests.md): on the firewalld
gateways ``jaas_firewall_domains: [core]`` (core = 8x8.vc, *.8x8.vc, TCP 443),
``jaas_firewall_dns_upstreams: [198.18.7.100]``, and the resolver listening on the LAN
interface; the test DNS on the peer (198.18.7.100) answering
``meet.8x8.vc -> 198.18.7.90`` (outside: in no catalog block, so only a domain accept opens
it), ``direct.8x8.vc -> 198.18.7.91`` (asked only by the client, directly: a client
bypassing the gateway's resolver) and ``notjaas.example -> 198.18.7.92``; outside holds
.90, .91 and .92. Until the converge enables domains on the firewalld gateways these tests
are skipped with that reason.
"""
import json
import subprocess

import pytest

CLIENT, PEER, OUTSIDE = 'gateway-client', 'gateway-peer', 'gateway-outside'
GATEWAYS = {'gateway-firewalld12': 22, 'gateway-firewalld13': 24}
LISTED, LISTED_V4 = 'meet.8x8.vc', '198.18.7.90'
DIRECT, DIRECT_V4 = 'direct.8x8.vc', '198.18.7.91'
UNLISTED, UNLISTED_V4 = 'notjaas.example', '198.18.7.92'
TEST_DNS = '198.18.7.100'
MARK_RULE = ('rule family="ipv4" destination ipset="jaas-domains-v4" port port="443" '
             'protocol="tcp" accept')
DNS_RULES = {'rule port port="53" protocol="tcp" accept', 'rule port port="53" protocol="udp" accept'}

# A DNS question over UDP from the client (stdlib only), printing the A answers as JSON.
ASK = r'''
import json, random, socket, struct, sys
server, name = sys.argv[1], sys.argv[2]
ident = random.randint(0, 65535)
query = struct.pack('>HHHHHH', ident, 0x0100, 1, 0, 0, 0) + b''.join(
    bytes([len(p)]) + p.encode() for p in name.split('.')) + b'\0' + struct.pack('>HH', 1, 1)
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); sock.settimeout(3)
try:
    sock.sendto(query, (server, 53)); data = sock.recv(4096)
except OSError as exc:
    print(json.dumps({'error': str(exc)})); sys.exit(0)
count = struct.unpack('>H', data[6:8])[0]
at = 12
while data[at]: at += data[at] + 1
at += 5
found = []
for _ in range(count):
    at += 2 if data[at] & 0xc0 == 0xc0 else 0
    kind, _c, _t, size = struct.unpack('>HHIH', data[at:at + 10]); at += 10
    if kind == 1: found.append(socket.inet_ntoa(data[at:at + size]))
    at += size
print(json.dumps({'addresses': found}))
'''
CONNECT = r'''
import json, socket, sys
sock = socket.socket(); sock.settimeout(2)
try:
    sock.connect((sys.argv[1], int(sys.argv[2]))); print(json.dumps(True))
except OSError:
    print(json.dumps(False))
'''


def docker(container, *args):
    proc = subprocess.run(['docker', 'exec', '-i', container] + list(args), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, '%s %s: %s' % (container, ' '.join(args), proc.stderr)
    return proc.stdout


def ask(server, name):
    return json.loads(docker(CLIENT, 'python3', '-c', ASK, server, name))


def opens(address, port):
    return json.loads(docker(CLIENT, 'python3', '-c', CONNECT, address, str(port)))


@pytest.fixture(params=sorted(GATEWAYS))
def gateway(request):
    name = request.param
    phase = docker(name, 'cat', '/var/lib/jaas-test/phase').strip()
    if phase != 'converge':
        pytest.skip('phase %s' % phase)
    if subprocess.run(['docker', 'exec', name, 'test', '-f', '/etc/jaas-firewall/domains.nft']).returncode:
        pytest.skip('the converge has not enabled jaas_firewall_domains on %s '
                    '(see the module docstring)' % name)
    lan = '198.18.6.%d' % GATEWAYS[name]
    # the client and the WAN hosts route through this gateway
    docker(CLIENT, 'ip', 'route', 'replace', '198.18.7.0/24', 'via', lan)
    for host in (PEER, OUTSIDE):
        docker(host, 'ip', 'route', 'replace', '198.18.6.0/24', 'via', '198.18.7.%d' % GATEWAYS[name])
    docker(name, 'nft', 'flush', 'set', 'inet', 'jaas_domains', 'domains_core_v4')
    return name, lan


def test_firewalld_objects_for_the_lan(gateway):
    name, _lan = gateway
    forward = docker(name, 'nft', 'list', 'chain', 'inet', 'jaas_domains', 'forward')
    assert 'hook forward priority -10' in forward.replace('filter hook', 'hook')
    assert 'iifname' in forward and 'meta mark set meta mark | 0x01000000' in forward
    assert MARK_RULE in docker(name, 'firewall-cmd', '--policy=jaas-gateway',
                               '--list-rich-rules').splitlines()
    assert set(docker(name, 'firewall-cmd', '--policy=jaas-gateway-dns',
                      '--list-rich-rules').splitlines()) == DNS_RULES
    assert docker(name, 'firewall-cmd', '--policy=jaas-gateway-dns',
                  '--list-ingress-zones').split() == ['internal']
    assert docker(name, 'firewall-cmd', '--policy=jaas-gateway-dns',
                  '--list-egress-zones').split() == ['HOST']


def test_lan_client_resolves_through_the_gateway_and_reaches_only_that(gateway):
    name, lan = gateway
    # nothing resolved yet: refused
    assert opens(LISTED_V4, 443) is False
    # an unlisted name through the gateway opens nothing
    assert ask(lan, UNLISTED) == {'addresses': [UNLISTED_V4]}
    assert opens(UNLISTED_V4, 443) is False
    # a client using another resolver (the WAN test DNS directly) fills no set
    assert ask(TEST_DNS, DIRECT) == {'addresses': [DIRECT_V4]}
    assert opens(DIRECT_V4, 443) is False
    # the listed name through the gateway's resolver: 443 opens, other ports stay refused
    assert ask(lan, LISTED) == {'addresses': [LISTED_V4]}
    assert opens(LISTED_V4, 443) is True
    assert opens(LISTED_V4, 80) is False
    # a reload of firewalld keeps it (permanent ipset and rules; our table is not its own)
    docker(name, 'firewall-cmd', '--reload')
    assert opens(LISTED_V4, 443) is True
