"""allow_jaas.yml / remove_jaas.yml on real containers: backend auto-selection, --check
--diff, --limit, tags, convergence, removal — with foreign rules kept throughout."""

import concurrent.futures
import os
import re
import subprocess
import sys

import pytest

from . import harness

sys.path.insert(0, os.path.join(harness.ROOT, 'tests', 'unit'))
from vendor_page import page_networks, page_rule_counts  # noqa: E402  (the vendor page, read independently)

PAGE_RULES = sum(page_rule_counts().values())        # ufw: one rule per (network, port) after merging
PAGE_TURN = sum(len(a) for a in page_networks()['turn'].values())   # firewalld: jaas-turn-v4 entries

ALLOW = 'playbooks/allow_jaas.yml'
REMOVE = 'playbooks/remove_jaas.yml'


def play(name):
    return '- ansible.builtin.import_playbook: %s\n' % os.path.join(harness.ROOT, name)


def recap(output):
    """{host: {'ok': n, 'changed': n, 'failed': n, ...}} from the PLAY RECAP."""
    result = {}
    for host, counts in re.findall(r'^(\S+)\s+:\s+(ok=.*)$', output, flags=re.M):
        result[host] = {k: int(v) for k, v in re.findall(r'(\w+)=(\d+)', counts)}
    return result


def remove(*started):
    # Only ours: the session's fleet (conftest.py) may still be in use.
    for host in started:
        subprocess.run(['docker', 'rm', '-f', '-v', host.name], capture_output=True)


@pytest.fixture(scope='module')
def hosts():
    """A ufw host (firewalld installed but stopped) and a host running firewalld."""
    prefix = harness.NAME_PREFIX + 'pb-'
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        ufw_future = pool.submit(harness.Host.start, 'ufw', 'bookworm', prefix)
        fwd_future = pool.submit(harness.Host.start, 'fwd', 'trixie', prefix)
        try:
            ufw_host, fwd_host = ufw_future.result(), fwd_future.result()
        except Exception:
            remove(*[f.result() for f in (ufw_future, fwd_future) if f.exception() is None])
            raise
    try:
        ufw_host.sh(harness.UFW_FOREIGN_SETUP)
        fwd_host.sh(harness.FIREWALLD_FOREIGN_SETUP, timeout=180)
        yield {'ufw': ufw_host, 'fwd': fwd_host}
    finally:
        remove(ufw_host, fwd_host)


def snapshots(hosts):
    return {'ufw': harness.ufw_snapshot(hosts['ufw']),
            'fwd': harness.firewalld_snapshot(hosts['fwd'])}


def foreign(hosts):
    return {'ufw': harness.ufw_foreign(hosts['ufw']), 'fwd': harness.firewalld_foreign(hosts['fwd'])}


def test_check_diff_changes_nothing_and_previews(hosts, ansible):
    before = snapshots(hosts)
    result = ansible.run(list(hosts.values()), play(ALLOW), options=['--check', '--diff'])
    assert result.rc == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert '%s: ufw' % hosts['ufw'].name in result.stdout
    assert '%s: firewalld' % hosts['fwd'].name in result.stdout
    counts = recap(result.stdout)
    assert counts[hosts['ufw'].name]['changed'] >= 1 and counts[hosts['fwd'].name]['changed'] >= 1
    # the diff shows what would be added: a TURN relay from the vendor page, on both backends
    assert '168.138.110.244' in result.stdout
    after = snapshots(hosts)
    for name in hosts:
        assert harness.diff_snapshots(before[name], after[name]) == '', name


def test_limit_touches_only_the_limited_host(hosts, ansible):
    before_fwd = harness.firewalld_snapshot(hosts['fwd'])
    result = ansible.run(list(hosts.values()), play(ALLOW), options=['--limit', hosts['ufw'].name])
    assert result.rc == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert set(recap(result.stdout)) == {hosts['ufw'].name}
    assert harness.diff_snapshots(before_fwd, harness.firewalld_snapshot(hosts['fwd'])) == ''
    assert hosts['ufw'].sh("ufw show added | grep -c \"comment 'jaas:turn:uk-london'\"").stdout.strip() == '12'


def test_apply_with_tags_converges_and_rerun_changes_nothing(hosts, ansible):
    kept = foreign(hosts)
    first = ansible.run(list(hosts.values()), play(ALLOW), options=['--tags', 'jaas_firewall'])
    assert first.rc == 0, first.stdout[-3000:] + first.stderr[-3000:]
    second = ansible.run(list(hosts.values()), play(ALLOW), options=['--tags', 'jaas_firewall'])
    assert second.rc == 0, second.stdout[-3000:]
    for host, counts in recap(second.stdout).items():
        assert counts['changed'] == 0, (host, harness.changed_tasks(second.stdout))
    # firewalld: the egress policy and one set per block and family, from the vendor page
    ipsets = set(hosts['fwd'].sh('firewall-cmd --get-ipsets').stdout.split())
    assert {'jaas-cloudflare-v4', 'jaas-cloudflare-v6', 'jaas-jvb-v4', 'jaas-turn-v4'} <= ipsets
    turn = hosts['fwd'].sh('firewall-cmd --ipset=jaas-turn-v4 --get-entries').stdout.split()
    assert len(turn) == PAGE_TURN and '152.67.128.56' in ' '.join(turn)
    # ufw: one tagged rule per rule of the vendor page (44 + 26 + 120 today)
    owned = hosts['ufw'].sh("ufw show added | grep -c \"comment 'jaas:\"").stdout.strip()
    assert owned == str(PAGE_RULES)
    assert foreign(hosts) == kept


def test_remove_takes_away_ours_only(hosts, ansible):
    kept = foreign(hosts)
    result = ansible.run(list(hosts.values()), play(REMOVE))
    assert result.rc == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert hosts['ufw'].sh("ufw show added | grep -c \"comment 'jaas:\" || true").stdout.strip() == '0'
    ipsets = hosts['fwd'].sh('firewall-cmd --get-ipsets').stdout.split()
    assert not [name for name in ipsets if name.startswith('jaas-')]
    policies = hosts['fwd'].sh('firewall-cmd --get-policies').stdout.split()
    assert not [name for name in policies if name.startswith('jaas-')]
    assert foreign(hosts) == kept


def test_forced_backend_is_validated(hosts, ansible):
    result = ansible.run([hosts['ufw']], play(ALLOW), extra_vars={'jaas_firewall_backend': 'iptables'})
    assert result.rc != 0
    assert 'jaas_firewall_backend must be auto, ufw, firewalld, nftables or windows_firewall' in result.stdout


def test_serial_applies_host_by_host(hosts, ansible):
    result = ansible.run(list(hosts.values()), play(ALLOW), extra_vars={'jaas_firewall_serial': 1})
    assert result.rc == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # one batch per host: the play banner is printed once per batch
    assert result.stdout.count('PLAY [Allow JaaS through the host firewall]') == 2
    assert hosts['ufw'].sh("ufw show added | grep -c \"comment 'jaas:\"").stdout.strip() == str(PAGE_RULES)
    turn = hosts['fwd'].sh('firewall-cmd --ipset=jaas-turn-v4 --get-entries').stdout.split()
    assert len(turn) == PAGE_TURN
