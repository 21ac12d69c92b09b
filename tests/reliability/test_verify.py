"""jaas.firewall.verify (playbooks/verify.yml, module verify_policy) on real containers,
Debian 12 and 13: what the kernel does, not what our files say.

* the nftables role applied (uk-london, outgoing reject, gateway mode lan0 -> wan0):
  verify passes;
* a foreign table ``inet foreign`` whose output chain drops one catalog address (TURN
  uk-london 130.162.185.237 udp 443, from vars/jaas_catalog.yml) makes verify fail naming
  the table, the chain and the rule's comment; removed, verify passes again;
* a Docker-like ``DOCKER-USER`` chain (iptables-nft, filter FORWARD -> DOCKER-USER) dropping
  the JVB uk-london network 152.67.144.0/24 makes verify fail in gateway mode naming
  ``ip filter DOCKER-USER``, while verify without gateway mode (output only) still passes;
* iptables-legacy: an OUTPUT rule rejecting a catalog address fails verify naming
  ``legacy filter``;
* ufw (role, deny outgoing; iptables-nft): passes, then an operator's ``ufw insert 1 deny out``
  fails naming ``ip filter ufw-user-output``;
* firewalld (role, egress REJECT): passes, then a foreign policy of higher priority rejecting
  one TURN address fails naming ``inet firewalld`` and the policy.

Hand-written expectations: the address and the table/chain come from the setup commands
below. An evaluator ignoring other tables, iptables-nft or legacy rules passes where these
tests require a failure. Containers: ``--network none`` (nothing is ever sent), named
``$JAAS_VERIFY_PREFIX`` (default the suite's jaas-rel-<pid>-) + ``verify-<suite>``.
"""

import os
import re

import pytest

from . import harness

VERIFY = os.path.join(harness.ROOT, 'playbooks', 'verify.yml')
VARS = {'jaas_firewall_regions': ['uk-london'],
        'jaas_firewall_nftables_default_outgoing': 'reject',
        'jaas_firewall_gateway': True,
        'jaas_firewall_gateway_in_interfaces': ['lan0'],
        'jaas_firewall_gateway_out_interfaces': ['wan0'],
        'jaas_firewall_nftables_default_forward': 'reject'}
NO_GATEWAY = dict(VARS, jaas_firewall_gateway=False)
SUITES = ('bookworm', 'trixie')

FOREIGN = r'''
nft add table inet foreign
nft add chain inet foreign out '{ type filter hook output priority 10; policy accept; }'
nft add rule inet foreign out ip daddr 130.162.185.237 udp dport 443 counter drop comment '"old vpn block"'
'''
DOCKER_USER = r'''
iptables-nft -N DOCKER-USER
iptables-nft -A DOCKER-USER -d 152.67.144.0/24 -j DROP
iptables-nft -A DOCKER-USER -j RETURN
iptables-nft -A FORWARD -j DOCKER-USER
'''
LEGACY = r'''
iptables-legacy -A OUTPUT -d 140.238.95.196/32 -p tcp --dport 443 -j REJECT
'''


@pytest.fixture(scope='module')
def hosts(ansible):
    prefix = os.environ.get('JAAS_VERIFY_PREFIX', harness.NAME_PREFIX)
    started = {}
    try:
        started = harness.Host.start_many(
            dict((suite, ('verify-' + suite, suite)) for suite in SUITES), prefix)
        result = ansible.run(list(started.values()), harness.role_play('nftables'), extra_vars=VARS)
        assert result.rc == 0, result.stdout[-3000:]
        yield started
    finally:
        harness.remove(started.values())


def verify(ansible, host, extra=VARS):
    result = ansible.run([host], '- ansible.builtin.import_playbook: %s\n' % VERIFY,
                         extra_vars=extra)
    messages = re.findall(r'"msg": "([^"]*)"', result.stdout)
    return result, (messages[-1] if messages else '')


@pytest.mark.parametrize('suite', SUITES)
def test_role_applied_verify_passes(hosts, ansible, suite):
    result, _msg = verify(ansible, hosts[suite])
    assert result.rc == 0, result.stdout[-3000:]
    assert re.search(r'failed=0', result.stdout)


@pytest.mark.parametrize('suite', SUITES)
def test_foreign_table_drop_fails_naming_it(hosts, ansible, suite):
    host = hosts[suite]
    host.sh(FOREIGN)
    try:
        result, msg = verify(ansible, host)
        assert result.rc != 0, result.stdout[-3000:]
        assert '1 of ' in msg, msg
        assert 'turn uk-london out udp 130.162.185.237/32 port 443' in msg, msg
        assert 'dropped by inet foreign out' in msg, msg
        assert 'old vpn block' in msg, msg
    finally:
        host.sh('nft delete table inet foreign')
    result, _msg = verify(ansible, host)
    assert result.rc == 0, result.stdout[-3000:]


@pytest.mark.parametrize('suite', SUITES)
def test_docker_user_shadows_the_gateway(hosts, ansible, suite):
    host = hosts[suite]
    host.sh(DOCKER_USER)
    try:
        result, msg = verify(ansible, host)
        assert result.rc != 0, result.stdout[-3000:]
        # the JVB network: tcp 443 and udp 10000, forwarded; outbound from the host passes
        assert 'jvb uk-london out tcp 152.67.144.0/24 port 443' in msg, msg
        assert 'jvb uk-london out udp 152.67.144.0/24 port 10000' in msg, msg
        assert 'dropped by ip filter DOCKER-USER' in msg, msg
        assert msg.startswith('2 of '), msg
        result, msg = verify(ansible, host, NO_GATEWAY)
        assert result.rc == 0, result.stdout[-3000:]
    finally:
        host.sh('iptables-nft -D FORWARD -j DOCKER-USER; iptables-nft -F DOCKER-USER; '
                'iptables-nft -X DOCKER-USER')


@pytest.mark.parametrize('suite', SUITES)
def test_iptables_legacy_reject_fails(hosts, ansible, suite):
    host = hosts[suite]
    host.sh(LEGACY)
    try:
        result, msg = verify(ansible, host, NO_GATEWAY)
        assert result.rc != 0, result.stdout[-3000:]
        assert msg.startswith('1 of '), msg
        assert 'turn uk-london out tcp 140.238.95.196/32 port 443: rejected by ip legacy filter OUTPUT' \
            in msg, msg
    finally:
        host.sh('iptables-legacy -F OUTPUT')


# ---- ufw and firewalld hosts: their own chains and policies, read from the kernel

UFW_VARS = {'jaas_firewall_regions': ['uk-london'], 'jaas_firewall_ufw_enable': True,
            'jaas_firewall_ufw_default_outgoing': 'deny'}
FIREWALLD_VARS = {'jaas_firewall_regions': ['uk-london'], 'jaas_firewall_firewalld_enable': True,
                  'jaas_firewall_firewalld_egress_target': 'REJECT'}
# an operator's ufw rule ahead of ours, and a firewalld policy of higher priority (lower
# number) than ours, each rejecting/denying one TURN address on udp 443 (ufw skips a rule
# whose address, port and protocol equal an existing one's, so the deny names its /24)
UFW_DENY = "ufw insert 1 deny out to 130.162.185.0/24 port 443 proto udp"
FIREWALLD_RICH = ('rule family="ipv4" destination address="130.162.185.237" '
                  'port port="443" protocol="udp" reject')
FIREWALLD_BLOCK = r'''
set -e
firewall-cmd --permanent --new-policy=blockturn
firewall-cmd --permanent --policy=blockturn --add-ingress-zone=HOST
firewall-cmd --permanent --policy=blockturn --add-egress-zone=ANY
firewall-cmd --permanent --policy=blockturn --set-priority=-500
firewall-cmd --permanent --policy=blockturn --add-rich-rule='%s'
firewall-cmd --reload
''' % FIREWALLD_RICH


@pytest.fixture(scope='module')
def others(ansible):
    prefix = os.environ.get('JAAS_VERIFY_PREFIX', harness.NAME_PREFIX)
    started = {}
    try:
        wanted = {}
        for suite in SUITES:
            wanted['ufw', suite] = ('verify-ufw-' + suite, suite)
            wanted['firewalld', suite] = ('verify-fwd-' + suite, suite)
        started = harness.Host.start_many(wanted, prefix)
        ufw_hosts = [host for (kind, _s), host in started.items() if kind == 'ufw']
        fwd_hosts = [host for (kind, _s), host in started.items() if kind == 'firewalld']
        for host in fwd_hosts:
            host.sh('systemctl start firewalld', timeout=180)
        result = ansible.run(ufw_hosts, harness.role_play('ufw'), extra_vars=UFW_VARS)
        assert result.rc == 0, result.stdout[-3000:]
        result = ansible.run(fwd_hosts, harness.role_play('firewalld'), extra_vars=FIREWALLD_VARS)
        assert result.rc == 0, result.stdout[-3000:]
        yield started
    finally:
        harness.remove(started.values())


@pytest.mark.parametrize('suite', SUITES)
def test_ufw_operator_deny_fails_naming_ufw_chain(others, ansible, suite):
    host = others['ufw', suite]
    result, _msg = verify(ansible, host, UFW_VARS)
    assert result.rc == 0, result.stdout[-3000:]
    host.sh(UFW_DENY)
    result, msg = verify(ansible, host, UFW_VARS)
    assert result.rc != 0, result.stdout[-3000:]
    assert msg.startswith('1 of '), msg
    assert 'turn uk-london out udp 130.162.185.237/32 port 443: dropped by ip filter ufw-user-output' \
        in msg, msg


@pytest.mark.parametrize('suite', SUITES)
def test_firewalld_policy_reject_fails_naming_it(others, ansible, suite):
    host = others['firewalld', suite]
    result, _msg = verify(ansible, host, FIREWALLD_VARS)
    assert result.rc == 0, result.stdout[-3000:]
    host.sh(FIREWALLD_BLOCK, timeout=180)
    result, msg = verify(ansible, host, FIREWALLD_VARS)
    assert result.rc != 0, result.stdout[-3000:]
    assert msg.startswith('1 of '), msg
    assert 'turn uk-london out udp 130.162.185.237/32 port 443: rejected by inet firewalld ' in msg, msg
    assert 'blockturn' in msg, msg
