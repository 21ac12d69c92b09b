"""Verify the ufw role against the REAL state of each instance.

Expectations are written by hand (test catalogs) or read from the vendor page with the
project's independent reader (tests/unit/vendor_page.py, no collection code). The kernel
ruleset (iptables-save / ip6tables-save) and `ufw show added` must match them exactly:
nothing missing, nothing extra. The phase comes from /var/lib/jaas-test/phase.
"""

import base64
import ipaddress
import json
import re
import os
import shlex
import sys
from collections import Counter

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', '..', '..', 'tests', 'unit'))
import vendor_page  # noqa: E402  (independent reading of the vendor page)

testinfra_hosts = ['ansible://instances']

PEER = ['198.18.1.100', '2001:2:0:1::100']
ANY = {4: '0.0.0.0/0', 6: '::/0'}

# ---------------------------------------------------------------- hand-written tables
# (direction, family, network, protocol, ports, comment)

FOREIGN = [  # added in prepare.yml: `ufw allow 22/tcp`, `ufw allow out 53` (tcp and udp)
    ('in', 4, ANY[4], 'tcp', '22', None), ('in', 6, ANY[6], 'tcp', '22', None),
    ('out', 4, ANY[4], 'tcp', '53', 'dns by user'), ('out', 4, ANY[4], 'udp', '53', 'dns by user'),
    ('out', 6, ANY[6], 'tcp', '53', 'dns by user'), ('out', 6, ANY[6], 'udp', '53', 'dns by user'),
]
SAFETY = [  # DNS out; no SSH rule: the docker connection has no port
    ('out', 4, ANY[4], 'tcp', '53', 'jaas:safety'), ('out', 4, ANY[4], 'udp', '53', 'jaas:safety'),
    ('out', 6, ANY[6], 'tcp', '53', 'jaas:safety'), ('out', 6, ANY[6], 'udp', '53', 'jaas:safety'),
]


def _three(family, network, comment):
    return [('out', family, network, 'tcp', '443', comment),
            ('out', family, network, 'udp', '443', comment),
            ('out', family, network, 'udp', '49152-65535', comment)]


def _two(family, network, comment):
    return [('out', family, network, 'tcp', '443', comment),
            ('out', family, network, 'udp', '10000', comment)]


CATALOG_A = (
    [('out', 4, '198.18.1.200/29', 'tcp', None, 'jaas:cloudflare'),
     ('out', 4, '198.18.1.200/29', 'udp', None, 'jaas:cloudflare'),
     ('out', 6, '2001:2:0:1:ffff::/80', 'tcp', None, 'jaas:cloudflare'),
     ('out', 6, '2001:2:0:1:ffff::/80', 'udp', None, 'jaas:cloudflare')]
    + _two(4, '198.18.1.100/32', 'jaas:jvb:lab-a')
    + _two(6, '2001:2:0:1::100/128', 'jaas:jvb:lab-a')
    + _two(4, '198.18.1.128/26', 'jaas:jvb:lab-b')  # two adjacent /27 merged
    + _three(4, '198.18.1.100/32', 'jaas:turn:lab-a')
    + _three(6, '2001:2:0:1::100/128', 'jaas:turn:lab-a')
    + _three(4, '198.18.1.101/32', 'jaas:turn:lab-b')
    + _three(4, '198.18.1.102/32', 'jaas:turn:lab-b')
)
# Side effect: turn lab-b dropped, 198.18.1.32/28 added to jvb lab-a.
CATALOG_B = (
    [rule for rule in CATALOG_A if rule[5] != 'jaas:turn:lab-b']
    + _two(4, '198.18.1.32/28', 'jaas:jvb:lab-a')
)


def real_catalog():
    """The vendor page's blocks, ports as the page states them, webhooks to 8443."""
    rules = []
    networks = vendor_page.page_networks()
    for block, regions in networks.items():
        for region_name, addresses in regions.items():
            for family in (4, 6):
                nets = [ipaddress.ip_network(a) for a in addresses]
                nets = ipaddress.collapse_addresses([n for n in nets if n.version == family])
                for net in nets:
                    for protocol, ports in vendor_page.PAGE_PORTS[block]:
                        direction = 'in' if block == 'webhook_origins' else 'out'
                        ports = '8443' if ports == 'receiver' else ports
                        # region keys are ours, names are the page's: compare the block only
                        rules.append((direction, family, str(net), protocol, ports,
                                      'jaas:%s' % block))
    return rules


def expected(phase):
    return {
        'converge': CATALOG_A + SAFETY,
        'side_effect': CATALOG_B + SAFETY,
        'real': real_catalog() + SAFETY,
        'absent': SAFETY,  # kept by the lock-out guard: ufw active with deny outgoing
    }[phase]


# ---------------------------------------------------------------- reading the real state

def kernel_rules(host):
    """ACCEPT rules in ufw's user chains, from iptables-save and ip6tables-save."""
    found = []
    for family, command, prefix in ((4, 'iptables-save', 'ufw'), (6, 'ip6tables-save', 'ufw6')):
        out = host.check_output(command)
        for line in out.splitlines():
            words = line.split()
            if len(words) < 2 or words[0] != '-A' or \
                    words[1] not in ('%s-user-input' % prefix, '%s-user-output' % prefix):
                continue
            option = dict(zip(words[2::1], words[3::1]))
            assert option.get('-j') == 'ACCEPT', line
            direction = 'out' if words[1].endswith('output') else 'in'
            remote = option.get('-d' if direction == 'out' else '-s')
            assert option.get('-s' if direction == 'out' else '-d') is None, line
            network = str(ipaddress.ip_network(remote)) if remote else ANY[family]
            ports = option.get('--dport') or option.get('--dports')
            found.append((direction, family, network, option['-p'],
                          ports.replace(':', '-') if ports else None))
    return Counter(found)


def show_added(host):
    """`ufw show added` as (direction, network-or-any, protocol, ports, comment) tuples."""
    rules = []
    for line in host.check_output('ufw show added').splitlines()[1:]:
        words = shlex.split(line)
        assert words[:2] == ['ufw', 'allow'], line
        words = words[2:]
        rule = {'direction': 'in', 'network': 'any', 'protocol': None, 'ports': None,
                'comment': None}
        if words and words[0] in ('in', 'out'):
            rule['direction'] = words.pop(0)
        while words:
            word = words.pop(0)
            if word in ('to', 'from'):
                value = words.pop(0)
                if value != 'any' and (word == 'to') == (rule['direction'] == 'out'):
                    rule['network'] = str(ipaddress.ip_network(value))
            elif word == 'port':
                rule['ports'] = words.pop(0).replace(':', '-')
            elif word == 'proto':
                rule['protocol'] = words.pop(0)
            elif word == 'comment':
                rule['comment'] = words.pop(0)
            else:  # "22/tcp" or "53"
                rule['ports'], _sep, proto = word.partition('/')
                rule['protocol'] = proto or None
        rules.append((rule['direction'], rule['network'], rule['protocol'], rule['ports'],
                      rule['comment']))
    return rules


def as_show_added(rules):
    """Hand-written table -> show-added shape (ufw prints one line for v4+v6 'any' rules)."""
    shaped = set()
    for direction, family, network, protocol, ports, comment in rules:
        shaped.add((direction, 'any' if network == ANY[family] else network, protocol,
                    ports, comment))
    return shaped


@pytest.fixture
def phase(host):
    return host.file('/var/lib/jaas-test/phase').content_string.strip()


# ---------------------------------------------------------------- tests

def test_kernel_ruleset_is_exactly_the_expected_one(host, phase):
    want = Counter(rule[:5] for rule in expected(phase) + FOREIGN)
    got = kernel_rules(host)
    assert got - want == Counter(), 'unexpected rules in the kernel'
    assert want - got == Counter(), 'rules missing from the kernel'


def test_ufw_show_added_is_exactly_the_expected_one(host, phase):
    lines = show_added(host)
    ours = [rule for rule in lines if (rule[4] or '').startswith('jaas:')]
    want = as_show_added(expected(phase))
    if phase == 'real':  # compare blocks only; the region part must be a slug
        for rule in ours:
            assert re.fullmatch(r'jaas:[a-z0-9_-]+(:[a-z0-9_-]+)?', rule[4]), rule
        ours = [rule[:4] + (':'.join(rule[4].split(':')[:2]),) for rule in ours]
        assert set(ours) == want
        return
    assert set(ours) == want
    assert len(ours) == len(set(ours)), 'duplicate jaas rules'


def test_foreign_rules_survive(host):
    lines = host.check_output('ufw show added').splitlines()
    assert 'ufw allow 22/tcp' in lines
    assert "ufw allow out 53 comment 'dns by user'" in lines


def test_ufw_is_active_with_deny_outgoing(host):
    status = host.check_output('ufw status verbose')
    assert 'Status: active' in status
    assert 'deny (incoming), deny (outgoing)' in status


def test_ufw_itself_would_write_the_same_files(host):
    """Re-render both files with ufw's own writer: our blocks must be byte-identical."""
    with open(os.path.join(HERE, 'ufw_rewrite_check.py'), 'rb') as handle:
        script = base64.b64encode(handle.read()).decode('ascii')
    # ufw's start-up checks stat() the script's own path, so it must be a real file
    out = host.check_output('echo %s | base64 -d > /root/.jaas-rewrite-check.py && '
                            'python3 /root/.jaas-rewrite-check.py' % script)
    assert out.strip().endswith('IDENTICAL'), out


def test_no_backup_or_temporary_file_left_in_the_way(host):
    names = host.check_output('ls -a /etc/ufw').split()
    assert not [name for name in names if name.startswith('.user')], names


def test_packets_to_the_peer(host, phase):
    if phase not in ('converge', 'side_effect'):
        pytest.skip('packets only to the test peer, never to real catalog addresses')
    probe = open(os.path.join(HERE, '..', '..', '..', '..', 'tools', 'harness', 'probe.py')).read()
    out = host.check_output('python3 -c %s 443,80,10000 443,10000,50000,9999 %s'
                            % (shlex.quote(probe), ' '.join(PEER)))
    results = json.loads(out)
    for address in PEER:
        assert results[address] == {
            'tcp/443': True,      # jvb + turn
            'udp/443': True,      # turn
            'udp/10000': True,    # jvb
            'udp/50000': True,    # turn 49152-65535
            'tcp/80': False,      # in no block
            'tcp/10000': False,   # jvb allows UDP 10000 only
            'udp/9999': False,    # in no block
        }, address



def test_tcp_to_peer_addresses_outside_the_catalog(host, phase):
    """The same listener on addresses the catalog does not (or only later) name.

    198.18.1.90 is in no catalog: refused in every phase. 198.18.1.40 is outside catalog A;
    catalog B (side effect) adds 198.18.1.32/28 to jvb lab-a, so only then TCP 443 gets
    through (TCP 80 and TCP 10000 never). TCP only: the listener answers UDP from the
    peer's primary address, so a UDP reply from a secondary address cannot be told apart
    from a refusal.
    """
    if phase not in ('converge', 'side_effect'):
        pytest.skip('packets only to the test peer, never to real catalog addresses')
    probe = open(os.path.join(HERE, '..', '..', '..', '..', 'tools', 'harness', 'probe.py')).read()
    out = host.check_output('python3 -c %s 443,80,10000 9999 198.18.1.90 198.18.1.40'
                            % shlex.quote(probe))
    results = json.loads(out)
    tcp = {address: {k: v for k, v in results[address].items() if k.startswith('tcp/')}
           for address in ('198.18.1.90', '198.18.1.40')}
    closed = {'tcp/443': False, 'tcp/80': False, 'tcp/10000': False}
    assert tcp['198.18.1.90'] == closed
    if phase == 'converge':
        assert tcp['198.18.1.40'] == closed
    else:
        assert tcp['198.18.1.40'] == dict(closed, **{'tcp/443': True})
