"""jaas_firewall_log_drops on the nftables and ufw roles with real packets, Debian 12 and 13.

Per (backend, Debian release) one host (``--network none``; a veth pair inside the container
carries packets to nowhere in 198.18.56-59.x / 2001:2:56-59::, so nothing leaves it). The role
applies a test catalog (turn lab = 198.18.N.16/28 tcp+udp 443) with outbound policy reject
(nftables) / deny (ufw) and ``jaas_firewall_log_drops: true``. Then:

* tcp 443 to the unlisted 198.18.N.99 and udp 10000 to the unlisted 2001:2:N::99 are dropped
  by our policy, logged with the prefix ``jaas-drop out `` and reported ``unknown`` by the
  jaas.firewall.drop_report playbook (issue 22);
* the role with ``jaas_firewall_log_drops: false`` leaves no logging rule (``nft list
  ruleset`` / ``iptables-save`` / ``ip6tables-save`` and ufw's after.rules show no jaas-drop);
* a foreign table ``inet foreign`` (tests/reliability/test_drop_report.py's FOREIGN: output
  hook, logs with the prefix ``old-vpn-block`` and drops the catalog address 198.18.N.20 that
  our rules accept): tcp 443 to it is reported ``catalog`` (block ``turn lab``) naming
  ``inet foreign out``, while the unlisted 198.18.N.99 stays ``unknown``.

The kernel lines are read from the machine's dmesg as tests/reliability/test_drop_report.py
does (containers share the machine's kernel log; needs net.netfilter.nf_log_all_netns=1).
Expectations are hand-written from the setup. Containers: ``$JAAS_DROP_PREFIX`` (default the
suite's prefix) + ``log-<backend>-<suite>``.
"""

import concurrent.futures
import time

import pytest

from . import harness
from .test_drop_report import CATALOG, FOREIGN, NETWORK, report, start
from .test_drop_report import SEND as SEND_WITH_CATALOG

HOSTS = {('nftables', 'bookworm'): 56, ('nftables', 'trixie'): 57,
         ('ufw', 'bookworm'): 58, ('ufw', 'trixie'): 59}
SEND = r'''
import socket
for family, address, port, kind in (
        (socket.AF_INET, '198.18.%(n)d.99', 443, socket.SOCK_STREAM),
        (socket.AF_INET6, '2001:2:%(n)d::99', 10000, socket.SOCK_DGRAM)):
    sock = socket.socket(family, kind)
    sock.settimeout(1)
    try:
        sock.sendto(b'x', (address, port)) if kind == socket.SOCK_DGRAM else sock.connect((address, port))
    except OSError:
        pass
'''


def role_vars(backend, n, catalog, log_drops):
    result = {'jaas_firewall_catalog_file': catalog, 'jaas_firewall_allow_private_networks': True,
              'jaas_firewall_blocks': ['turn'], 'jaas_firewall_regions': ['lab'],
              'jaas_firewall_log_drops': log_drops}
    if backend == 'nftables':
        result.update(jaas_firewall_nftables_default_outgoing='reject',
                      jaas_firewall_nftables_install=False)
    else:
        result.update(jaas_firewall_ufw_enable=True, jaas_firewall_ufw_default_outgoing='deny',
                      jaas_firewall_ufw_install=False)
    return result


def ruleset(host, backend):
    if backend == 'nftables':
        return host.sh('nft list ruleset').stdout
    return host.sh('iptables-save; ip6tables-save; cat /etc/ufw/after.rules /etc/ufw/after6.rules').stdout


@pytest.fixture(scope='module')
def hosts(ansible, tmp_path_factory):
    prefix = harness.kernel_log_prefix()
    workdir = tmp_path_factory.mktemp('droplog')
    names = dict(((backend, suite), '%slog-%s-%s' % (prefix, backend, suite))
                 for backend, suite in HOSTS)

    def one(key):
        host = start(names[key], key[1])
        host.sh(NETWORK % {'n': HOSTS[key]})
        catalog = workdir / ('catalog-%d.yml' % HOSTS[key])
        catalog.write_text(CATALOG % {'n': HOSTS[key]})
        host.catalog = str(catalog)
        return key, host

    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(HOSTS)) as pool:
            started = dict(pool.map(one, HOSTS))   # at once: each start mostly waits for systemd
        yield started, workdir
    finally:
        harness.remove(list(names.values()))


@pytest.mark.parametrize('backend, suite', sorted(HOSTS))
def test_our_drops_are_logged_reported_and_removed_again(hosts, ansible, backend, suite):
    started, workdir = hosts
    host, n = started[backend, suite], HOSTS[backend, suite]
    play = harness.role_play(backend)
    result = ansible.run([host], play, extra_vars=role_vars(backend, n, host.catalog, True))
    assert result.rc == 0, result.stdout[-3000:]
    assert 'jaas-drop out ' in ruleset(host, backend)
    again = ansible.run([host], play, extra_vars=role_vars(backend, n, host.catalog, True))
    assert again.rc == 0 and 'changed=0' in again.stdout, again.stdout[-3000:]

    since, before = int(time.time()) - 1, harness.kernel_lines(n)
    host.sh("python3 - <<'EOF'\n%s\nEOF" % (SEND % {'n': n}))
    new = harness.wait_for_kernel_lines(n, before, harness.sent_marks(n, v4=[99], v6=[99]))
    ours = [line for line in new if 'jaas-drop out ' in line]
    assert any('DST=198.18.%d.99 ' % n in line for line in ours), ours
    data, stdout = report(ansible, host, n, since, workdir)
    rows = {(r['direction'], r['proto'], r['address'], r['port']): r for r in data['rows']}
    assert rows[('out', 'tcp', '198.18.%d.99' % n, 443)]['verdict'] == 'unknown', data['rows']
    assert rows[('out', 'udp', '2001:2:%d::99' % n, 10000)]['verdict'] == 'unknown', data['rows']
    print(stdout[stdout.find('The report, largest first'):][:2000])

    result = ansible.run([host], play, extra_vars=role_vars(backend, n, host.catalog, False))
    assert result.rc == 0, result.stdout[-3000:]
    text = ruleset(host, backend)
    assert 'jaas-drop' not in text, text
    assert ('reject' in text) if backend == 'nftables' else (':ufw-user-output' in text)


@pytest.mark.parametrize('backend, suite', sorted(HOSTS))
def test_foreign_table_drop_is_reported_catalog(hosts, ansible, backend, suite):
    started, workdir = hosts
    host, n = started[backend, suite], HOSTS[backend, suite]
    result = ansible.run([host], harness.role_play(backend),
                         extra_vars=role_vars(backend, n, host.catalog, True))
    assert result.rc == 0, result.stdout[-3000:]
    host.sh(FOREIGN % {'n': n})
    try:
        since, before = int(time.time()) - 1, harness.kernel_lines(n)
        host.sh("python3 - <<'EOF'\n%s\nEOF" % (SEND_WITH_CATALOG % {'n': n}))
        harness.wait_for_kernel_lines(n, before, harness.sent_marks(n, v4=[99, 20]))
        data, stdout = report(ansible, host, n, since, workdir)
    finally:
        host.sh('nft delete table inet foreign')
    rows = {(r['direction'], r['proto'], r['address'], r['port']): r for r in data['rows']}
    catalog = rows[('out', 'tcp', '198.18.%d.20' % n, 443)]
    assert catalog['verdict'] == 'catalog' and catalog['block'] == 'turn lab', data['rows']
    assert 'inet foreign out' in catalog['detail'] and 'old vpn block' in catalog['detail'], catalog
    assert rows[('out', 'tcp', '198.18.%d.99' % n, 443)]['verdict'] == 'unknown', data['rows']
    assert '198.18.%d.20' % n not in data['fragment'], data['fragment']
    print(stdout[stdout.find('The report, largest first'):][:2000])
