"""The drop report's ``domain`` verdict with real packets and the role's own resolver (issue 22),
nftables and ufw hosts, Debian 12 and 13.

Per host (``--network none``): a test upstream dnsmasq on 127.0.0.77 answers
``meet.d22.test`` with 198.18.N.10 (everything else NXDOMAIN); a network namespace ``peer``
behind a veth pair holds 198.18.N.10 and listens on tcp 443. The nftables or ufw role applies a
test catalog whose ``domains: core`` lists ``d22.test`` and ``*.d22.test`` (tcp 443; no block
holds the peer), with ``jaas_firewall_domains: [core]``, ``jaas_firewall_domain_ttl: 10``,
outbound policy reject and ``jaas_firewall_log_drops: true`` (the domain set: nftables in
``inet jaas``, ufw in our marking table ``inet jaas_domains``), to the four hosts in one run.
Then, on the four at once (their TTLs run down together):

* the client resolves the name (through the role's resolver) and connects: allowed;
* once the set entry has expired (polled with a deadline), it connects again to the address
  it still holds, without asking (a stale cache): rejected, logged ``jaas-drop out``;
* a connection to the unlisted 198.18.N.99 is rejected and logged too;
* the jaas.firewall.drop_report playbook, given no resolver log, classifies the first
  ``domain`` naming ``meet.d22.test`` (from the resolver's own journal) and the second
  ``unknown``.

Kernel lines: the machine's dmesg, as tests/reliability/test_drop_report.py reads them (needs
net.netfilter.nf_log_all_netns=1). Expectations are hand-written from the setup above.
Containers: ``$JAAS_DROP_PREFIX`` (default the suite's prefix) + ``dom-<backend>-<suite>``.
"""

import concurrent.futures
import shlex
import time

import pytest

from . import harness
from .test_drop_report import report as drop_report, start

HOSTS = {('nftables', 'bookworm'): 60, ('nftables', 'trixie'): 61,
         ('ufw', 'bookworm'): 64, ('ufw', 'trixie'): 65}
SET_TABLE = {'nftables': 'inet jaas', 'ufw': 'inet jaas_domains'}
NAME = 'meet.d22.test'
UPSTREAM = '127.0.0.77'
CATALOG = '''schema_version: 1
provenance:
  title: drop_report domain reliability test catalog
  url: https://example.invalid/jaas-firewall-test
  retrieved: "2026-12-05"
domains:
  core:
    description: The test's listed names
    rules: [{protocol: tcp, ports: "443"}]
    names: [d22.test, "*.d22.test"]
blocks:
  turn:
    description: No test address inside
    direction: out
    rules: [{protocol: tcp, ports: "443"}]
    regions:
      lab: {name: Lab, networks: [198.18.%(n)d.200/29]}
'''
UPSTREAM_CONF = ('no-resolv\nno-hosts\nbind-interfaces\nlisten-address=%s\nport=53\n'
                 'pid-file=/run/test-upstream.pid\nlocal=/#/\naddress=/%s/198.18.%%(n)d.10\n'
                 % (UPSTREAM, NAME))
NETWORK = r'''
ip netns add peer
ip link add v0 type veth peer name v1 && ip link set v1 netns peer
ip link set v0 up && ip addr add 198.18.%(n)d.1/24 dev v0
ip -n peer link set lo up && ip -n peer link set v1 up && ip -n peer addr add 198.18.%(n)d.10/24 dev v1
printf 'nameserver %(upstream)s\noptions timeout:1 attempts:1\n' > /etc/resolv.conf
'''
LISTEN = r'''
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('198.18.%(n)d.10', 443))
s.listen(16)
while True:
    c, _ = s.accept()
    c.close()
'''
# connect to (name or address) port 443 once: prints "ok <address>" or "fail <address> <errno>"
CONNECT = r'''python3 - "$@" <<'EOF'
import socket, sys
target = sys.argv[1]
address = socket.getaddrinfo(target, 443, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
s = socket.socket()
s.settimeout(3)
try:
    s.connect((address, 443))
    print('ok', address)
except OSError as exc:
    print('fail', address, exc.errno)
EOF'''


# The answer guard without benchmarking space (198.18.N.10 stands for a public address here),
# by hand from the IANA registries, as extensions/molecule/domains does.
EXCLUDE = ['0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16',
           '172.16.0.0/12', '192.168.0.0/16', '224.0.0.0/4', '240.0.0.0/4', '::/128', '::1/128',
           '::ffff:0:0/96', 'fc00::/7', 'fe80::/10', 'ff00::/8']


def role_vars(backend, catalog, log_drops=True):
    result = {'jaas_firewall_catalog_file': catalog, 'jaas_firewall_allow_private_networks': True,
              'jaas_firewall_blocks': ['turn'], 'jaas_firewall_regions': ['lab'],
              'jaas_firewall_domains': ['core'], 'jaas_firewall_domain_ttl': 10,
              'jaas_firewall_domain_answer_exclude': EXCLUDE, 'jaas_firewall_log_drops': log_drops}
    if backend == 'nftables':
        result.update(jaas_firewall_nftables_default_outgoing='reject',
                      jaas_firewall_nftables_install=False)
    else:
        result.update(jaas_firewall_ufw_enable=True, jaas_firewall_ufw_default_outgoing='reject',
                      jaas_firewall_ufw_install=False)
    return result


def report(ansible, host, n, since, workdir):
    """The drop_report playbook with the domain categories: the resolver's answers come from
    wherever the module finds them by itself (no dns_log variable)."""
    return drop_report(ansible, host, n, since, workdir, jaas_firewall_domains=['core'])


def connect(host, target):
    return host.sh('set -- %s\n%s' % (shlex.quote(target), CONNECT)).stdout.split()


def domain_set(host, backend):
    return host.sh('nft list set %s domains_core_v4' % SET_TABLE[backend]).stdout


def _start_host(prefix, workdir, backend, suite, n):
    host = start('%sdom-%s-%s' % (prefix, backend, suite), suite)
    host.sh(NETWORK % {'n': n, 'upstream': UPSTREAM})
    host.put('/etc/test-upstream.conf', UPSTREAM_CONF % {'n': n})
    host.sh('dnsmasq --conf-file=/etc/test-upstream.conf')
    host.put('/usr/local/bin/peer-listen.py', LISTEN % {'n': n})
    host.sh('setsid ip netns exec peer python3 /usr/local/bin/peer-listen.py '
            '>/dev/null 2>&1 < /dev/null &')
    catalog = workdir / ('catalog-%d.yml' % n)
    catalog.write_text(CATALOG % {'n': n})
    host.catalog = str(catalog)
    host.backend = backend
    return host


@pytest.fixture(scope='module')
def hosts(ansible, tmp_path_factory):
    prefix = harness.kernel_log_prefix()
    workdir = tmp_path_factory.mktemp('dropdomain')
    started = {}
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(HOSTS)) as pool:
            futures = dict(((backend, suite), pool.submit(_start_host, prefix, workdir, backend,
                                                          suite, n))
                           for (backend, suite), n in HOSTS.items())
            for key, future in futures.items():
                started[key] = future.result()
        yield started, workdir
    finally:
        harness.remove(['%sdom-%s-%s' % (prefix, backend, suite) for backend, suite in HOSTS])


APPLY = '''- hosts: all
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: "jaas.firewall.{{ jaas_test_backend }}"
'''


def watch_expiry(host, n):
    """What the stale-cache sequence saw on one host: resolved and connected, the set entry
    expired (polled with a deadline), then the cached address and an unlisted one tried."""
    peer, unlisted = '198.18.%d.10' % n, '198.18.%d.99' % n
    seen = {'since': int(time.time()) - 1, 'first': connect(host, NAME)}
    deadline = time.monotonic() + 90
    while peer in domain_set(host, host.backend) and time.monotonic() < deadline:
        time.sleep(1)
    seen['set_after'] = domain_set(host, host.backend)
    seen['stale'] = connect(host, peer)                 # the cached address, no question
    seen['unlisted'] = connect(host, unlisted)
    return seen


@pytest.fixture(scope='module')
def stale_cache(hosts, ansible):
    """The role applied to the four hosts in one run (each host's own backend and catalog),
    then the stale-cache sequence on all of them at once: their TTLs run down together.
    {(backend, suite): what watch_expiry saw, or the apply's failure}."""
    started, _workdir = hosts
    result = ansible.run_inventory(
        dict((host.name, dict(host.inventory_vars(), jaas_test_backend=backend,
                              **role_vars(backend, host.catalog)))
             for (backend, _suite), host in started.items()),
        APPLY)
    failed = dict(harness.failures(result.stdout))
    outcome = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(started)) as pool:
        futures = {}
        for key, host in started.items():
            if host.name in failed or result.rc != 0:
                outcome[key] = {'apply_failed': result.stdout[-3000:]}
            else:
                futures[key] = pool.submit(watch_expiry, host, HOSTS[key])
        for key, future in futures.items():
            outcome[key] = future.result()
    return outcome


@pytest.mark.parametrize('backend, suite', sorted(HOSTS))
def test_stale_cache_drop_is_reported_domain_and_unlisted_unknown(
        hosts, stale_cache, ansible, backend, suite):
    started, workdir = hosts
    host, n = started[backend, suite], HOSTS[backend, suite]
    peer, unlisted = '198.18.%d.10' % n, '198.18.%d.99' % n
    seen = stale_cache[backend, suite]
    assert 'apply_failed' not in seen, seen.get('apply_failed')
    assert seen['first'] == ['ok', peer]                      # resolved, in the set: allowed
    assert peer not in seen['set_after'], seen['set_after']   # expired within the deadline
    assert seen['stale'][:2] == ['fail', peer], seen['stale']
    assert seen['unlisted'][:2] == ['fail', unlisted], seen['unlisted']
    time.sleep(1)                                              # the kernel log is written async
    ours = [line for line in harness.kernel_lines(n).splitlines() if 'jaas-drop out ' in line]
    assert any('DST=%s ' % peer in line for line in ours), ours

    data, stdout = report(ansible, host, n, seen['since'], workdir)
    rows = {(r['direction'], r['proto'], r['address'], r['port']): r for r in data['rows']}
    domain = rows[('out', 'tcp', peer, 443)]
    assert domain['verdict'] == 'domain', data['rows']
    assert NAME in domain['detail'], domain
    assert rows[('out', 'tcp', unlisted, 443)]['verdict'] == 'unknown', data['rows']
    print(stdout[stdout.find('The report, largest first'):][:2000])


@pytest.mark.parametrize('backend, suite', sorted(HOSTS))
def test_log_drops_false_stops_the_resolver_logging(hosts, ansible, backend, suite):
    started, _workdir = hosts
    host = started[backend, suite]
    config = '/etc/jaas-firewall/resolver.conf'
    assert 'log-queries' in host.sh('cat %s' % config).stdout.splitlines()
    result = ansible.run([host], harness.role_play(backend),
                         extra_vars=role_vars(backend, host.catalog, log_drops=False))
    assert result.rc == 0, result.stdout[-3000:]
    assert 'log-queries' not in host.sh('cat %s' % config).stdout.splitlines()
    assert host.sh('systemctl is-active jaas-firewall-resolver.service').stdout.strip() == 'active'
