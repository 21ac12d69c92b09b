"""jaas.firewall.drop_report with real packets, Debian 12 and 13 (firewalld role).

Per host (``--network none``; a veth pair inside the container carries packets to nowhere in
198.18.52-53.x / 2001:2:52-53::, so nothing leaves it), the firewalld role applies a test
catalog (turn lab = 198.18.5N.16/28 tcp+udp 443) with egress REJECT and
``jaas_firewall_log_drops: true``; a foreign table ``inet foreign`` logs (prefix
``old-vpn-block``) and drops one catalog address after firewalld accepted it. Then:

* tcp 443 to the unlisted 198.18.5N.99 and udp 10000 to the unlisted 2001:2:5N::99 are
  rejected by our policy, logged as ours, and reported ``unknown`` with a proposed fragment;
* tcp 443 to the catalog address 198.18.5N.20 is reported ``catalog`` (block ``turn lab``)
  naming ``inet foreign out``;
* the role with ``jaas_firewall_log_drops: false`` leaves no logging rule in firewalld's
  configuration nor in the kernel's ruleset.

What the test covers of the log reading: containers have no kernel log of their own. The
machine must log netfilter from every namespace (``sysctl net.netfilter.nf_log_all_netns=1``,
tools/harness/ensure-docker.sh); the test reads the machine's ``dmesg --time-format iso``,
keeps the lines with this host's test addresses, copies them into the container and runs the
playbook with ``jaas_firewall_report_source: file`` - the journalctl/dmesg readers themselves
are not exercised here (unit tests pin their line formats). Expectations are hand-written
from the setup below. Containers: ``$JAAS_DROP_PREFIX`` (default the suite's prefix) +
``drop-<suite>``.
"""

import glob
import json
import os
import subprocess
import time

import pytest

from . import harness

REPORT = os.path.join(harness.ROOT, 'playbooks', 'drop_report.yml')
SUITES = {'bookworm': 52, 'trixie': 53}
CATALOG = '''schema_version: 1
provenance:
  title: drop_report reliability test catalog
  url: https://example.invalid/jaas-firewall-test
  retrieved: "2026-12-05"
blocks:
  turn:
    description: TURN relays of the test
    direction: out
    rules:
      - {protocol: tcp, ports: "443"}
      - {protocol: udp, ports: "443"}
    regions:
      lab: {name: Lab, networks: [198.18.%(n)d.16/28]}
'''
FOREIGN = r'''
nft add table inet foreign
nft add chain inet foreign out '{ type filter hook output priority 20; policy accept; }'
nft add rule inet foreign out ip daddr 198.18.%(n)d.20 log prefix '"old-vpn-block "' drop comment '"old vpn block"'
'''
NETWORK = r'''
ip link add v0 type veth peer name v1 && ip link set v0 up && ip link set v1 up
ip addr add 198.18.%(n)d.1/24 dev v0 && ip -6 addr add 2001:2:%(n)d::1/64 dev v0 nodad
'''
SEND = r'''
import socket
for family, address, port, kind in (
        (socket.AF_INET, '198.18.%(n)d.99', 443, socket.SOCK_STREAM),
        (socket.AF_INET6, '2001:2:%(n)d::99', 10000, socket.SOCK_DGRAM),
        (socket.AF_INET, '198.18.%(n)d.20', 443, socket.SOCK_STREAM)):
    sock = socket.socket(family, kind)
    sock.settimeout(1)
    try:
        sock.sendto(b'x', (address, port)) if kind == socket.SOCK_DGRAM else sock.connect((address, port))
    except OSError:
        pass
'''


def role_vars(n, catalog, log_drops):
    return {'jaas_firewall_catalog_file': catalog, 'jaas_firewall_allow_private_networks': True,
            'jaas_firewall_blocks': ['turn'], 'jaas_firewall_regions': ['lab'],
            'jaas_firewall_firewalld_enable': True, 'jaas_firewall_firewalld_install': False,
            'jaas_firewall_firewalld_egress_target': 'REJECT',
            'jaas_firewall_log_drops': log_drops}


def start(name, suite):
    subprocess.run(['docker', 'rm', '-f', '-v', name], capture_output=True)
    args = [a for a in harness.RUN_ARGS]
    args += ['--sysctl', 'net.ipv6.conf.all.disable_ipv6=0',
             '--sysctl', 'net.ipv6.conf.default.disable_ipv6=0']
    subprocess.run(['docker', 'run', '-d', '--name', name, '--hostname', name[-30:]] + args
                   + [harness.IMAGES[suite], '/lib/systemd/systemd'],
                   check=True, capture_output=True, text=True)
    with harness._started_lock:
        harness._started.append(name)
    host = harness.Host(name, suite)
    host.wait_for_systemd()
    return host


@pytest.fixture(scope='module')
def hosts(ansible, tmp_path_factory):
    prefix = harness.kernel_log_prefix()
    workdir = tmp_path_factory.mktemp('drop')
    started = {}
    try:
        for suite, n in SUITES.items():
            host = started[suite] = start(prefix + 'drop-' + suite, suite)
            host.sh('systemctl start firewalld')
            host.sh(NETWORK % {'n': n})
            catalog = workdir / ('catalog-%d.yml' % n)
            catalog.write_text(CATALOG % {'n': n})
            host.catalog = str(catalog)
            result = ansible.run([host], harness.role_play('firewalld'),
                                 extra_vars=role_vars(n, host.catalog, True))
            assert result.rc == 0, result.stdout[-3000:]
        yield started, workdir
    finally:
        harness.remove(started.values())


def report(ansible, host, n, since, workdir, **extra_vars):
    """The drop_report playbook on test network n's kernel lines (from a file) since
    ``since``: (the JSON report, ansible's output). ``extra_vars`` add role variables."""
    host.put('/var/tmp/kern.log', harness.kernel_lines(n))
    report_dir = str(workdir / ('report-%d-%d' % (n, int(time.time()))))
    variables = {
        'jaas_firewall_catalog_file': host.catalog, 'jaas_firewall_allow_private_networks': True,
        'jaas_firewall_blocks': ['turn'], 'jaas_firewall_regions': ['lab'],
        'jaas_firewall_report_source': 'file', 'jaas_firewall_report_path': '/var/tmp/kern.log',
        'jaas_firewall_report_since': '%d' % since, 'jaas_firewall_report_dir': report_dir}
    variables.update(extra_vars)
    result = ansible.run([host], '- ansible.builtin.import_playbook: %s\n' % REPORT,
                         extra_vars=variables)
    assert result.rc == 0, result.stdout[-3000:]
    files = glob.glob(os.path.join(report_dir, 'drop-report-*.json'))
    assert len(files) == 1, result.stdout[-2000:]
    with open(files[0]) as handle:
        return json.load(handle), result.stdout


@pytest.mark.parametrize('suite', sorted(SUITES))
def test_unknown_and_catalog_drops(hosts, ansible, suite):
    started, workdir = hosts
    host, n = started[suite], SUITES[suite]
    host.sh(FOREIGN % {'n': n})
    try:
        since, before = int(time.time()) - 1, harness.kernel_lines(n)
        host.sh("python3 - <<'EOF'\n%s\nEOF" % (SEND % {'n': n}))
        harness.wait_for_kernel_lines(n, before, harness.sent_marks(n, v4=[99, 20], v6=[99]))
        data, stdout = report(ansible, host, n, since, workdir)
    finally:
        host.sh('nft delete table inet foreign')
    rows = {(r['direction'], r['proto'], r['address'], r['port']): r for r in data['rows']}
    unknown4 = rows[('out', 'tcp', '198.18.%d.99' % n, 443)]
    unknown6 = rows[('out', 'udp', '2001:2:%d::99' % n, 10000)]
    catalog = rows[('out', 'tcp', '198.18.%d.20' % n, 443)]
    assert unknown4['verdict'] == 'unknown' and unknown6['verdict'] == 'unknown', data['rows']
    assert unknown4['hosts'] == [host.name]
    assert catalog['verdict'] == 'catalog' and catalog['block'] == 'turn lab', catalog
    assert 'inet foreign out' in catalog['detail'] and 'old vpn block' in catalog['detail'], catalog
    assert '198.18.%d.99/32' % n in data['fragment'], data['fragment']
    assert '2001:2:%d::99/128' % n in data['fragment'], data['fragment']
    assert '198.18.%d.20' % n not in data['fragment']
    print(stdout[stdout.find('The report, largest first'):][:3000])


@pytest.mark.parametrize('suite', sorted(SUITES))
def test_log_drops_false_removes_every_logging_rule(hosts, ansible, suite):
    started, _workdir = hosts
    host, n = started[suite], SUITES[suite]
    assert 'jaas-drop out' in host.sh('nft list ruleset').stdout
    result = ansible.run([host], harness.role_play('firewalld'),
                         extra_vars=role_vars(n, host.catalog, False))
    assert result.rc == 0, result.stdout[-3000:]
    assert 'jaas-drop' not in host.sh('nft list ruleset').stdout
    rich = host.sh('firewall-cmd --policy=jaas-egress --list-rich-rules; '
                   'firewall-cmd --permanent --policy=jaas-egress --list-rich-rules').stdout
    assert ' log ' not in rich and 'jaas-drop' not in rich, rich
    assert 'reject' in host.sh('firewall-cmd --permanent --policy=jaas-egress --get-target').stdout.lower()
    result = ansible.run([host], harness.role_play('firewalld'),
                         extra_vars=role_vars(n, host.catalog, True))
    assert result.rc == 0 and 'jaas-drop out' in host.sh('nft list ruleset').stdout
