"""Verify the squid role with real requests through Debian's Squid.

Expectations are written by hand from the vendor page's domain categories (core:
8x8.com, 8x8.vc, jitsi.net and their subdomains; auxiliary: www.gravatar.com exactly,
subdomains of youtube.com, ...; analytics: api.amplitude.com, ...), never from the
collection's code. The test DNS on each proxy maps every test name to the peer, so a
denial is Squid's decision, not a lookup failure: the localhost controls prove that the
peer answers for each of those names and ports. The phase comes from
/var/lib/jaas-test/phase (see molecule.yml).
"""

import json
import os
import time

import pytest
import testinfra

testinfra_hosts = ['ansible://instances']

INVENTORY = os.environ['MOLECULE_INVENTORY_FILE']
ADDRESS = {'debian12': '198.18.5.11', 'debian13': '198.18.5.12'}
CLIENT_OF = {'debian12': 'debian13', 'debian13': 'debian12'}   # converge.yml
ALLOWLIST = '/etc/squid/conf.d/zz-jaas-firewall.conf'
MARKER = '# %s jaas.firewall.squid: include of the JaaS allowlist (managed by Ansible)'


def tunnel(port):
    return {'status': 200, 'banner': 'jaas-peer tcp %d' % port}


DENIED = {'status': 403, 'banner': None}

# What the allowed client gets after converge (categories core + auxiliary).
CONVERGED = {
    'CONNECT meet.8x8.vc:443': tunnel(443),          # core: *.8x8.vc
    'CONNECT 8x8.vc:443': tunnel(443),               # core: 8x8.vc
    'CONNECT web-cdn.jitsi.net:443': tunnel(443),    # core: *.jitsi.net
    'CONNECT www.gravatar.com:443': tunnel(443),     # auxiliary: www.gravatar.com
    'CONNECT www.youtube.com:443': tunnel(443),      # auxiliary: *.youtube.com
    'CONNECT cdn.www.gravatar.com:443': DENIED,      # www.gravatar.com is listed alone
    'CONNECT youtube.com:443': DENIED,               # only *.youtube.com is listed
    'CONNECT api.amplitude.com:443': DENIED,         # analytics: not selected
    'CONNECT evil8x8.vc:443': DENIED,                # not a subdomain of 8x8.vc
    'CONNECT unlisted.example:443': DENIED,          # in no category
    'CONNECT blocked.8x8.vc:443': DENIED,            # the user's own deny comes first
    'CONNECT 198.18.5.100:443': DENIED,              # bare address, PTR meet.8x8.vc
    'CONNECT meet.8x8.vc:10000': DENIED,             # another port
    'CONNECT meet.8x8.vc:80': DENIED,                # another port
    'GET http://meet.8x8.vc/': DENIED,               # not a CONNECT
    'GET http://www.youtube.com/': DENIED,           # not a CONNECT
}
# Before the role and after absent, the user's configuration allows this client nothing.
UNTOUCHED = {request: DENIED for request in CONVERGED}

# Controls from the proxy itself, allowed by the user's "http_access allow localhost" in
# every phase. Debian's stock file also denies CONNECT to ports other than 443 to everyone.
CONTROLS = {
    'debian12': {
        'CONNECT unlisted.example:443': tunnel(443),
        'CONNECT 198.18.5.100:443': tunnel(443),
        'CONNECT blocked.8x8.vc:443': DENIED,
        'CONNECT meet.8x8.vc:10000': DENIED,
        'GET http://meet.8x8.vc/': {'status': 200, 'banner': None},   # the peer's banner as HTTP/0.9
    },
    'debian13': {
        'CONNECT unlisted.example:443': tunnel(443),
        'CONNECT 198.18.5.100:443': tunnel(443),
        'CONNECT blocked.8x8.vc:443': DENIED,
        'CONNECT meet.8x8.vc:10000': tunnel(10000),
        'CONNECT meet.8x8.vc:80': tunnel(80),
        'GET http://meet.8x8.vc/': {'status': 200, 'banner': None},
    },
}


def other(name):
    return testinfra.get_host('ansible://squid-%s' % name, ansible_inventory=INVENTORY)


def short(host):
    return host.backend.get_hostname().replace('squid-', '')


def probe(client, proxy_address, requests):
    out = client.check_output('python3 /usr/local/bin/proxy_probe.py %s:3128 %s' % (
        proxy_address, ' '.join("'%s'" % request for request in requests)))
    return {request: {key: result[key] for key in ('status', 'banner')}
            for request, result in json.loads(out).items()}


def settled(client, proxy_address, want_status):
    """squid -k reconfigure takes effect a few seconds later: wait for the first request."""
    request = 'CONNECT meet.8x8.vc:443'
    for _attempt in range(30):
        if probe(client, proxy_address, [request])[request]['status'] == want_status:
            return
        time.sleep(1)


@pytest.fixture
def phase(host):
    return host.file('/var/lib/jaas-test/phase').content_string.strip()


def test_allowed_client_gets_exactly_the_allowlist(host, phase):
    name = short(host)
    client = other(CLIENT_OF[name])
    want = CONVERGED if phase == 'converge' else UNTOUCHED
    settled(client, ADDRESS[name], want['CONNECT meet.8x8.vc:443']['status'])
    assert probe(client, ADDRESS[name], list(want)) == want


def test_a_client_not_listed_gets_nothing(host):
    peer = other('peer')
    requests = ['CONNECT meet.8x8.vc:443', 'CONNECT www.youtube.com:443']
    assert probe(peer, ADDRESS[short(host)], requests) == {request: DENIED for request in requests}


def test_localhost_controls_reach_the_peer(host):
    controls = CONTROLS[short(host)]
    assert probe(host, '127.0.0.1', list(controls)) == controls


def recorded_files(host):
    lines = host.file('/var/lib/jaas-test/squid-files.sha256').content_string.splitlines()
    return {line.split(None, 1)[1].strip(): line.split(None, 1)[0] for line in lines}


def current_files(host):
    out = host.check_output('sha256sum /etc/squid/squid.conf /etc/squid/conf.d/*')
    return {line.split(None, 1)[1].strip(): line.split(None, 1)[0] for line in out.splitlines()}


def test_user_files_untouched(host, phase):
    name = short(host)
    recorded, current = recorded_files(host), current_files(host)
    if phase != 'converge':
        assert current == recorded
        return
    ours = current.pop(ALLOWLIST)
    assert ours
    if name == 'debian12':       # Debian's squid.conf includes conf.d: not one byte changed
        assert current == recorded
        return
    squid_conf = current.pop('/etc/squid/squid.conf')
    recorded.pop('/etc/squid/squid.conf')
    assert current == recorded
    assert squid_conf != host.file('/var/lib/jaas-test/squid.conf.orig').sha256sum


def test_include_block_only_where_needed(host, phase):
    name = short(host)
    lines = host.file('/etc/squid/squid.conf').content_string.splitlines()
    original = host.file('/var/lib/jaas-test/squid.conf.orig').content_string.splitlines()
    if phase != 'converge' or name == 'debian12':
        assert lines == original
        return
    begin, end = lines.index(MARKER % 'BEGIN'), lines.index(MARKER % 'END')
    assert lines[begin + 1:end] == ['include %s' % ALLOWLIST]
    # right before the user's final deny, after every rule of theirs that precedes it
    assert lines[begin - 1] == 'http_access allow localhost'
    assert lines[end + 1] == 'http_access deny all'
    assert lines[:begin] + lines[end + 1:] == original


def test_allowlist_file_rules(host, phase):
    allowlist = host.file(ALLOWLIST)
    if phase != 'converge':
        assert not allowlist.exists
        return
    client = ADDRESS[CLIENT_OF[short(host)]]
    lines = [line for line in allowlist.content_string.splitlines() if line and not line.startswith('#')]
    assert [line for line in lines if line.startswith('http_access')] == [
        'http_access allow jaas_firewall_clients jaas_firewall_connect jaas_firewall_https jaas_firewall_domains',
        'http_access allow jaas_firewall_clients jaas_firewall_connect jaas_firewall_https '
        'jaas_firewall_domains_subdomains',
    ]
    assert 'acl jaas_firewall_clients src %s/32' % client in lines
    assert 'acl jaas_firewall_connect method CONNECT' in lines
    assert 'acl jaas_firewall_https port 443' in lines
    domain_acls = [line for line in lines if line.startswith('acl jaas_firewall_domains')]
    assert domain_acls and all(line.split()[3] == '-n' for line in domain_acls)
    assert all(line.startswith(('acl ', 'http_access ')) for line in lines)


def test_no_backup_left(host):
    names = host.check_output('ls -a /etc/squid /etc/squid/conf.d').split()
    assert not [entry for entry in names if entry.endswith('~')], names
