"""The domain half never leaves a host without DNS (real systemd containers, Debian 12 and 13).

Each host has no network (``--network none``); its "upstream" is a dnsmasq of the test's own
on 127.0.0.77 that answers one test name and, for everything else, NXDOMAIN (never
forwarding anything), and 127.0.0.78 is an address nothing listens on. The nftables role
runs with ``jaas_firewall_domains: [core]`` (tiny test catalog, outgoing accept: only the
resolver is under test here). Expectations are hand-written from the issue and the role's
documentation:

* an upstream that does not answer: the play fails naming it, the host byte-identical;
* ``kill -9`` of the local resolver: it answers again by itself;
* a resolver that cannot start with a new configuration: the previous configuration comes
  back, /etc/resolv.conf is untouched, the message says so; once the fault is gone the
  resolver comes back by itself;
* the same with the hand-over record lost while resolv.conf names the resolver: the
  resolver is kept (never removed under a resolv.conf that names it);
* an empty hand-over record: turning the domains off never leaves /etc/resolv.conf
  pointing at a resolver that is gone;
* an upstream with a newline: refused on the controller, naming the variable;
* resolv.conf a symlink to resolvconf's file: a "lease renewal" rewriting that file reaches
  the resolver without a run of the role, and the symlink comes back at the end.
"""

import contextlib
import os
import shlex
import subprocess
import time

import pytest

from . import harness

HERE = os.path.dirname(os.path.abspath(__file__))
CATALOG = os.path.join(os.path.dirname(os.path.dirname(HERE)), 'extensions', 'molecule', 'domains', 'files',
                       'catalog.yml')
UPSTREAM, DEAD = '127.0.0.77', '127.0.0.78'
LISTEN = '127.0.0.153'            # the resolver's documented address
SERVICE = 'jaas-firewall-resolver.service'
TEST_NAME, TEST_ADDRESS = 'meet.8x8.vc', '198.18.8.100'
HOST_RESOLV = '# the host before the role\nnameserver %s\noptions timeout:1 attempts:1\n' % DEAD
UPSTREAM_CONF = ('no-resolv\nno-hosts\nbind-interfaces\nlisten-address=%s\nport=53\n'
                 'pid-file=/run/test-upstream.pid\nlocal=/#/\nhost-record=%s,%s\n'
                 % (UPSTREAM, TEST_NAME, TEST_ADDRESS))
ROLE_VARS = {'jaas_firewall_catalog_file': CATALOG, 'jaas_firewall_blocks': ['jvb'],
             'jaas_firewall_allow_private_networks': True, 'jaas_firewall_domains': ['core'],
             'jaas_firewall_domain_ttl': 60, 'jaas_firewall_nftables_install': False}
# One DNS question from the host (stdlib): prints the rcode and the answer count.
ASK = r'''python3 - "$@" <<'EOF'
import random, socket, struct, sys
server, name = sys.argv[1], sys.argv[2]
ident = random.randrange(1 << 16)
q = struct.pack('!HHHHHH', ident, 0x0100, 1, 0, 0, 0) + b''.join(
    bytes([len(p)]) + p.encode() for p in name.split('.')) + b'\0\0\1\0\1'
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
try:
    s.sendto(q, (server, 53))
    d = s.recv(512)
    print('rcode=%d answers=%d' % (d[3] & 15, struct.unpack('!H', d[6:8])[0]))
except OSError:
    print('silent')
EOF'''


def ask(host, server, name=TEST_NAME):
    return host.sh('set -- %s %s\n%s' % (server, name, ASK)).stdout.strip()


def wait_answering(host, seconds=20):
    """Poll until the resolver answers the test name (supervised restarts), or fail."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and ask(host, LISTEN) != 'rcode=0 answers=1':
        time.sleep(0.3)
    assert ask(host, LISTEN) == 'rcode=0 answers=1', host.name


@contextlib.contextmanager
def unit_cannot_start(hosts):
    """Every start of the resolver unit fails (an ExecStartPre=/bin/false drop-in) inside."""
    dropin = '/etc/systemd/system/%s.d' % SERVICE
    for host in hosts:
        host.sh('mkdir -p %s && printf "[Service]\\nExecStartPre=/bin/false\\n" > %s/fault.conf'
                ' && systemctl daemon-reload' % (dropin, dropin))
    try:
        yield
    finally:
        for host in hosts:
            host.sh('rm -rf %s && systemctl daemon-reload' % dropin)


def snapshot(host):
    return host.sh('cat /etc/resolv.conf; echo ===; nft list ruleset; echo ===; '
                   'ls /etc/jaas-firewall /var/lib/jaas-firewall 2>&1; echo ===; '
                   'systemctl is-active %s || true' % SERVICE).stdout


@pytest.fixture(scope='module')
def hosts():
    started = []
    try:
        for suite in ('bookworm', 'trixie'):
            host = harness.Host.start('resolver-%s' % suite, suite)
            started.append(host)
            host.sh("printf '%%s' %s > /etc/resolv.conf" % shlex.quote(HOST_RESOLV))
            host.put('/etc/test-upstream.conf', UPSTREAM_CONF)
            host.sh('dnsmasq --conf-file=/etc/test-upstream.conf')
        yield started
    finally:
        for host in started:
            subprocess.run(['docker', 'rm', '-f', '-v', host.name], capture_output=True)


def run_role(ansible, hosts, **extra):
    return ansible.run(hosts, harness.role_play('nftables'), extra_vars=dict(ROLE_VARS, **extra))


def test_1_an_upstream_that_does_not_answer_changes_nothing(hosts, ansible):
    before = [snapshot(h) for h in hosts]
    result = run_role(ansible, hosts)                       # forwards to what the host used: DEAD
    assert result.rc != 0
    text = harness.failure_text(result.stdout)
    assert text.count('DNS upstream %s does not answer' % DEAD) == 2, text
    assert [snapshot(h) for h in hosts] == before


def test_2_newline_in_an_upstream_is_refused_on_the_controller(hosts, ansible):
    before = [snapshot(h) for h in hosts]
    result = run_role(ansible, hosts,
                      jaas_firewall_dns_upstreams=['fe80::1%lo\nserver=198.18.230.12'])
    assert result.rc != 0
    assert 'jaas_firewall_dns_upstreams' in harness.failure_text(result.stdout)
    assert 'control character' in harness.failure_text(result.stdout)
    assert [snapshot(h) for h in hosts] == before


def test_3_handed_over_and_back_after_kill_9(hosts, ansible):
    result = run_role(ansible, hosts, jaas_firewall_dns_upstreams=[UPSTREAM])
    assert result.rc == 0, result.stdout[-3000:]
    for host in hosts:
        assert 'nameserver %s' % LISTEN in host.sh('cat /etc/resolv.conf').stdout
        assert ask(host, LISTEN) == 'rcode=0 answers=1'
        pid = host.sh('systemctl show -p MainPID --value %s' % SERVICE).stdout.strip()
        host.sh('kill -9 %s' % pid)
        deadline, back = time.monotonic() + 20, None
        while time.monotonic() < deadline:
            if ask(host, LISTEN) == 'rcode=0 answers=1':
                back = round(20 - (deadline - time.monotonic()), 1)
                break
            time.sleep(0.2)
        assert back is not None, '%s: the resolver did not come back after kill -9' % host.name
        new_pid = host.sh('systemctl show -p MainPID --value %s' % SERVICE).stdout.strip()
        assert new_pid != pid
        print('\nFIGURE %s: resolver answering again %ss after kill -9' % (host.suite, back))


def test_4_a_resolver_that_cannot_restart_gets_its_previous_configuration(hosts, ansible):
    config = [h.sh('cat /etc/jaas-firewall/resolver.conf').stdout for h in hosts]
    resolv = [h.sh('cat /etc/resolv.conf').stdout for h in hosts]
    with unit_cannot_start(hosts):
        result = run_role(ansible, hosts, jaas_firewall_dns_upstreams=[UPSTREAM],
                          jaas_firewall_domain_ttl=120)          # a new configuration
        assert result.rc != 0
        text = harness.failure_text(result.stdout)
        assert text.count('does not work with the new configuration') == 2, text
        assert 'the previous configuration was restored' in text
        assert '/etc/resolv.conf is unchanged' in text
        assert [h.sh('cat /etc/jaas-firewall/resolver.conf').stdout for h in hosts] == config
        assert [h.sh('cat /etc/resolv.conf').stdout for h in hosts] == resolv
    for host in hosts:                # supervised: back by itself once it can start
        wait_answering(host)


def test_4b_a_failed_restart_with_the_record_lost_keeps_the_resolver_resolv_conf_names(
        hosts, ansible):
    config = [h.sh('cat /etc/jaas-firewall/resolver.conf').stdout for h in hosts]
    for host in hosts:                # record lost while handed over, then starts fail
        assert 'nameserver %s' % LISTEN in host.sh('cat /etc/resolv.conf').stdout
        host.sh('rm /var/lib/jaas-firewall/resolver-handover.json')
    with unit_cannot_start(hosts):
        result = run_role(ansible, hosts, jaas_firewall_dns_upstreams=[UPSTREAM],
                          jaas_firewall_domain_ttl=120)          # a new configuration
        assert result.rc != 0
        text = harness.failure_text(result.stdout)
        assert text.count('does not work with the new configuration') == 2, text
        assert 'the previous configuration was restored' in text and 'removed' not in text, text
        for host, before in zip(hosts, config):
            # resolv.conf still names the resolver, so the resolver must stay: its
            # configuration, its unit, enabled
            assert 'nameserver %s' % LISTEN in host.sh('cat /etc/resolv.conf').stdout
            assert host.sh('cat /etc/jaas-firewall/resolver.conf').stdout == before
            assert host.sh('systemctl is-enabled %s' % SERVICE,
                           check=False).stdout.strip() == 'enabled'
    for host in hosts:                # and names resolve again by themselves
        wait_answering(host)


def test_5_an_empty_record_never_leaves_resolv_conf_on_a_resolver_that_is_gone(hosts, ansible):
    for host in hosts:
        host.sh(': > /var/lib/jaas-firewall/resolver-handover.json')
    result = run_role(ansible, hosts, jaas_firewall_domains=[])
    assert result.rc == 0, result.stdout[-3000:]
    assert 'rebuilt from the servers the resolver forwards to' in result.stdout + result.stderr
    for host in hosts:
        text = host.sh('cat /etc/resolv.conf').stdout
        assert 'nameserver %s' % UPSTREAM in text and LISTEN not in text, text
        assert host.sh('systemctl is-active %s' % SERVICE, check=False).stdout.strip() != 'active'
        # names resolve through the rebuilt file's server
        assert ask(host, UPSTREAM) == 'rcode=0 answers=1'


RENEWED_UPSTREAM, RENEWED_NAME = '127.0.0.79', 'renewed.8x8.vc'


def test_6_a_resolvconf_lease_renewal_reaches_the_resolver_without_a_run(hosts, ansible):
    for host in hosts:
        # a resolvconf host: /etc/resolv.conf -> ../run/resolvconf/resolv.conf (the
        # container's bind mount is taken away so the symlink can exist, as on a real host)
        host.sh('umount /etc/resolv.conf; mkdir -p /run/resolvconf && '
                'printf "# generated by resolvconf(8)\\nnameserver %s\\n" '
                '> /run/resolvconf/resolv.conf && '
                'ln -sfn ../run/resolvconf/resolv.conf /etc/resolv.conf' % UPSTREAM)
        host.put('/etc/test-renewed.conf', UPSTREAM_CONF.replace(UPSTREAM, RENEWED_UPSTREAM)
                 .replace('test-upstream.pid', 'test-renewed.pid')
                 .replace(TEST_NAME, RENEWED_NAME))
        host.sh('dnsmasq --conf-file=/etc/test-renewed.conf')
    result = run_role(ansible, hosts)
    assert result.rc == 0, result.stdout[-3000:]
    for host in hosts:
        assert 'nameserver %s' % LISTEN in host.sh('cat /etc/resolv.conf').stdout
        assert ask(host, LISTEN, RENEWED_NAME) == 'rcode=3 answers=0'    # not known yet
        # the lease renewal: resolvconf rewrites its file with the new server
        host.sh('printf "# generated by resolvconf(8)\\nnameserver %s\\n" '
                '> /run/resolvconf/resolv.conf.new && '
                'mv /run/resolvconf/resolv.conf.new /run/resolvconf/resolv.conf'
                % RENEWED_UPSTREAM)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline \
                and ask(host, LISTEN, RENEWED_NAME) != 'rcode=0 answers=1':
            time.sleep(0.5)
        assert ask(host, LISTEN, RENEWED_NAME) == 'rcode=0 answers=1', host.name
        assert 'nameserver %s' % LISTEN in host.sh('cat /etc/resolv.conf').stdout
    again = run_role(ansible, hosts)                  # nothing to redo after a renewal
    assert again.rc == 0, again.stdout[-3000:]
    assert harness.changed_tasks(again.stdout) == []
    back = run_role(ansible, hosts, jaas_firewall_domains=[])
    assert back.rc == 0, back.stdout[-3000:]
    for host in hosts:
        assert host.sh('readlink /etc/resolv.conf').stdout.strip() == \
            '../run/resolvconf/resolv.conf'
