"""Air-gapped hosts: the firewall is installed, python3-apt is not, and no package source
answers (image variant ``*-noapt``, ``--network none``), as on Debian's minimal installs or
on a host whose egress a previous run already restricted. The roles must converge without
touching the package manager.

Expected rules come from the vendor page, written out by hand: London's video bridge network
(TCP 443, UDP 10000) and its four TURN relays (TCP 443, UDP 443, UDP 49152-65535).
"""

import re

from . import harness

LONDON_V4 = {'jaas_firewall_blocks': ['jvb', 'turn'], 'jaas_firewall_regions': ['uk-london'],
             'jaas_firewall_families': [4]}
LONDON_JVB = ['152.67.144.0/24']
LONDON_TURN = ['140.238.95.196', '152.67.128.56', '130.162.185.237', '132.226.213.225']
EXPECTED_UFW = (
    {(net, 'tcp', '443') for net in LONDON_JVB} | {(net, 'udp', '10000') for net in LONDON_JVB}
    | {(net, proto, port) for net in LONDON_TURN
       for proto, port in [('tcp', '443'), ('udp', '443'), ('udp', '49152:65535')]})
# What any of the package modules would need here, and must not try to fetch.
NO_APT = "python3 -c 'import apt' 2>/dev/null && echo has-apt || echo no-apt"


def _ufw_catalog_rules(host):
    """{(network, protocol, port)} of the jaas rules other than safety, from `ufw show added`."""
    found = set()
    for line in host.sh('ufw show added').stdout.splitlines():
        if "comment 'jaas:" not in line or "comment 'jaas:safety" in line:
            continue
        match = re.search(r'allow out to (\S+) port (\S+) proto (\w+)', line)
        assert match, line
        found.add((match.group(1), match.group(3), match.group(2)))
    return found


def test_ufw_role_converges_without_python3_apt_or_network(fleet, ansible):
    host = fleet['airgap-ufw']
    assert host.sh(NO_APT).stdout.strip() == 'no-apt'
    extra = dict(LONDON_V4, jaas_firewall_ufw_enable=True, jaas_firewall_ufw_default_outgoing='deny')
    result = ansible.run([host], harness.role_play('ufw'), extra_vars=extra)
    assert result.rc == 0, result.stdout[-3000:]
    assert _ufw_catalog_rules(host) == EXPECTED_UFW
    assert 'Status: active' in host.sh('ufw status').stdout
    assert host.sh(NO_APT).stdout.strip() == 'no-apt'

    again = ansible.run([host], harness.role_play('ufw'), extra_vars=extra)
    assert again.rc == 0, again.stdout[-3000:]
    assert harness.changed_tasks(again.stdout) == []


def test_firewalld_role_converges_without_python3_apt_or_network(fleet, ansible):
    host = fleet['airgap-fwd']
    assert host.sh(NO_APT).stdout.strip() == 'no-apt'
    # install=true: "install when missing" must not mean "ask apt every run"
    extra = dict(LONDON_V4, jaas_firewall_firewalld_install=True,
                 jaas_firewall_firewalld_enable=True)
    result = ansible.run([host], harness.role_play('firewalld'), extra_vars=extra, timeout=400)
    assert result.rc == 0, result.stdout[-3000:]
    assert host.sh('firewall-cmd --state', check=False).stdout.strip() == 'running'
    entries = set(host.sh('firewall-cmd --ipset=jaas-turn-v4 --get-entries').stdout.split())
    assert {entry.split('/')[0] for entry in entries} == set(LONDON_TURN)
    assert set(host.sh('firewall-cmd --ipset=jaas-jvb-v4 --get-entries').stdout.split()) \
        == set(LONDON_JVB)
    assert host.sh(NO_APT).stdout.strip() == 'no-apt'

    again = ansible.run([host], harness.role_play('firewalld'), extra_vars=extra, timeout=400)
    assert again.rc == 0, again.stdout[-3000:]
    assert harness.changed_tasks(again.stdout) == []
