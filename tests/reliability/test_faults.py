"""Fault injection on real containers: each fault ends in a clear error or a correct
converge, and foreign rules are never lost.

Foreign state (harness.UFW_FOREIGN_SETUP / FIREWALLD_FOREIGN_SETUP) is snapshotted
before each fault and compared after. "Converged" means: the jaas-owned ufw rules are
exactly the desired ones, and the running user chains match ufw's rules files.
"""

import os
import re
import signal
import time

import pytest

from . import harness

FULL = {}                                    # shipped catalog, default blocks, all regions
LONDON = {'jaas_firewall_regions': ['uk-london']}
FRANKFURT = {'jaas_firewall_regions': ['de-frankfurt']}


def desired_owned_count(extra):
    """Number of ufw rules the role should own for ``extra`` (default blocks, 2 families)."""
    from ansible_collections.jaas.firewall.plugins.plugin_utils import catalog, rules
    model = catalog.select(catalog.load_catalog(), blocks=['cloudflare', 'jvb', 'turn'],
                           regions=extra.get('jaas_firewall_regions'), families=[4, 6])
    return len(rules.catalog_rules(model))


def assert_converged(host, extra):
    owned = harness.owned_ufw_rules(host)
    assert len(owned) == desired_owned_count(extra), sorted(owned)[:5]
    harness.assert_kernel_matches_files(host)


def play_ok(ansible, hosts, role, extra, **kwargs):
    result = ansible.run(hosts, harness.role_play(role), extra_vars=extra, **kwargs)
    assert result.rc == 0, result.stdout[-3000:]
    return result


@pytest.fixture(scope='module')
def ufw_host(fleet, ansible):
    """ufw enabled with foreign rules, then the JaaS rules for London only."""
    host = fleet['kill']
    host.sh(harness.UFW_FOREIGN_SETUP)
    play_ok(ansible, [host], 'ufw', LONDON)
    return host


# ---------------------------------------------------------------- package source

def test_ufw_missing_without_package_source_fails_clearly(fleet, ansible):
    host = fleet['nopkg']
    host.sh('''set -e
        iptables -t mangle -A OUTPUT -d 198.18.7.0/24 -j MARK --set-mark 7
        nft add table inet foreign
        DEBIAN_FRONTEND=noninteractive apt-get purge -y -q ufw >/dev/null
        rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*
        rm -rf /var/lib/apt/lists/*''')
    before = harness.ufw_snapshot(host)

    result = ansible.run([host], harness.role_play('ufw'), extra_vars=FULL)
    assert result.rc != 0
    failed = harness.failures(result.stdout)
    text = harness.failure_text(result.stdout)
    assert failed and 'installing ufw failed' in text, result.stdout[-2000:]
    assert "No package matching 'ufw' is available" in text, result.stdout[-2000:]
    assert harness.changed_tasks(result.stdout) == []
    assert harness.diff_snapshots(before, harness.ufw_snapshot(host)) == ''

    # Not allowed to install: the module says what is missing, and changes nothing.
    result = ansible.run([host], harness.role_play('ufw'),
                         extra_vars={'jaas_firewall_ufw_install': False})
    assert result.rc != 0
    assert 'ufw is not installed' in harness.failure_text(result.stdout), result.stdout[-2000:]
    assert harness.diff_snapshots(before, harness.ufw_snapshot(host)) == ''


# ---------------------------------------------------------------- xtables lock

def test_xtables_lock_held_the_role_waits_then_converges(fleet, ansible):
    """iptables-nft (the default) takes no xtables lock at all; the legacy backend does,
    so this host is switched to iptables-legacy to make the lock bite."""
    host = fleet['lock']
    host.sh('for t in iptables ip6tables; do update-alternatives --set $t /usr/sbin/$t-legacy; '
            'done >/dev/null')
    host.sh(harness.UFW_FOREIGN_SETUP)
    play_ok(ansible, [host], 'ufw', LONDON)
    foreign = harness.ufw_foreign(host)

    hold = 8
    host.sh('systemd-run --unit jaas-rel-lock flock /run/xtables.lock sleep %d' % hold)
    time.sleep(0.5)
    assert 'Stopped waiting' in host.sh('iptables-legacy -w 1 -L -n', check=False).stderr
    result = ansible.run([host], harness.role_play('ufw'), extra_vars=FULL, timeout=120)
    if result.rc == 0:
        # It waited for the lock (iptables-restore blocks) and then applied everything.
        assert result.seconds >= hold - 2, result.seconds
    else:
        assert 'lock' in harness.failure_text(result.stdout), result.stdout[-2000:]
        host.sh('while systemctl is-active -q jaas-rel-lock; do sleep 0.5; done')
        play_ok(ansible, [host], 'ufw', FULL)
    assert_converged(host, FULL)
    assert harness.ufw_foreign(host) == foreign


# ---------------------------------------------------------------- killed mid-apply

HANGING_RESTORE = '''#!/bin/sh
# Test double: stands in for iptables-restore until killed (tests/reliability).
echo $$ > /run/jaas-rel-restore.pid
exec sleep 600
'''


def _kill_module_in_container(host):
    """Kill the module process (parent of our hanging restore) and the double, by PID."""
    pid = host.sh('cat /run/jaas-rel-restore.pid').stdout.strip()
    parent = host.sh('ps -o ppid= -p %s' % pid).stdout.strip()
    host.sh('kill -9 %s %s; rm -f /run/jaas-rel-restore.pid' % (parent, pid), check=False)


def test_killed_mid_apply_next_run_converges(ufw_host, ansible):
    """SIGKILL ansible-playbook (and the remote module, as a dropped SSH session would)
    at the worst moment: rules files written, running chains not yet reloaded."""
    host = ufw_host
    play_ok(ansible, [host], 'ufw', LONDON)
    foreign = harness.ufw_foreign(host)
    host.put('/usr/local/sbin/iptables-restore', HANGING_RESTORE)
    host.sh('chmod 755 /usr/local/sbin/iptables-restore')
    try:
        proc = ansible.start([host], harness.role_play('ufw'), extra_vars=FULL)
        deadline = time.monotonic() + 120
        while not host.exists('/run/jaas-rel-restore.pid'):
            assert proc.poll() is None, 'the run ended before reloading: %s' % proc.log.name
            assert time.monotonic() < deadline, 'the module never reached the reload'
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGKILL)
        harness.Ansible.finish(proc, timeout=30)
        _kill_module_in_container(host)
    finally:
        host.sh('rm -f /usr/local/sbin/iptables-restore')

    play_ok(ansible, [host], 'ufw', FULL)
    assert_converged(host, FULL)
    assert harness.ufw_foreign(host) == foreign


def test_killed_at_random_points_next_run_converges(ufw_host, ansible):
    """Kill ansible-playbook (controller side only) at a few points of a real apply."""
    host = ufw_host
    foreign = harness.ufw_foreign(host)
    for delay, start, target in ((2.0, LONDON, FULL), (3.0, FULL, FRANKFURT),
                                 (3.5, FRANKFURT, FULL)):
        play_ok(ansible, [host], 'ufw', start)
        proc = ansible.start([host], harness.role_play('ufw'), extra_vars=target)
        time.sleep(delay)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        harness.Ansible.finish(proc, timeout=30)
        time.sleep(1)  # let an orphaned module finish, as it would on a real host
        play_ok(ansible, [host], 'ufw', target)
        assert_converged(host, target)
        assert harness.ufw_foreign(host) == foreign


# ---------------------------------------------------------------- concurrent runs

def test_two_identical_runs_at_once(ufw_host, ansible):
    host = ufw_host
    play_ok(ansible, [host], 'ufw', LONDON)
    foreign = harness.ufw_foreign(host)
    procs = [ansible.start([host], harness.role_play('ufw'), extra_vars=FULL) for _ in range(2)]
    results = [harness.Ansible.finish(proc, timeout=180) for proc in procs]
    for result in results:
        assert result.rc == 0, result.stdout[-3000:]
    assert_converged(host, FULL)
    assert harness.ufw_foreign(host) == foreign
    assert len(set(host.sh('ufw show added').stdout.splitlines())) == \
        len(host.sh('ufw show added').stdout.splitlines()), 'duplicate rules'


GATED_RESTORE = """#!/bin/sh
# Test double: holds iptables-restore until the test opens the gate (tests/reliability).
touch /run/jaas-rel-gate.waiting
while [ ! -e /run/jaas-rel-gate.open ]; do sleep 0.1; done
exec /usr/sbin/iptables-restore "$@"
"""
REPORT = re.compile(r'ufw: (\d+) rules added, (\d+) removed')


def lock_waiters(host):
    """/proc/locks lines of processes queued ('->') on the jaas.firewall host lock."""
    inode = host.sh('stat -c %i /run/jaas-firewall.lock', check=False).stdout.strip()
    if not inode:
        return []
    return [line for line in host.sh('cat /proc/locks').stdout.splitlines()
            if '->' in line and line.split()[6].endswith(':' + inode)]


def wait_for(condition, procs, what, timeout=120):
    deadline = time.monotonic() + timeout
    while not condition():
        for proc in procs:
            assert proc.poll() is None, 'a run ended before %s: %s' % (what, proc.log.name)
        assert time.monotonic() < deadline, 'timed out waiting for %s' % what
        time.sleep(0.2)


def test_two_different_runs_at_once_the_second_waits(ufw_host, ansible):
    """Run 1 (full catalog) is held mid-apply, with the lock, files written and the reload
    gated. Run 2 (Frankfurt only) must queue on the host lock without reading or writing
    anything, then diff against run 1's result: it adds nothing and removes exactly the
    rules the full catalog has beyond Frankfurt. Deterministic: the order is forced."""
    host = ufw_host
    play_ok(ansible, [host], 'ufw', LONDON)
    foreign = harness.ufw_foreign(host)
    host.sh('rm -f /run/jaas-rel-gate.*')
    host.put('/usr/local/sbin/iptables-restore', GATED_RESTORE)
    host.sh('chmod 755 /usr/local/sbin/iptables-restore')
    try:
        first = ansible.start([host], harness.role_play('ufw'), extra_vars=FULL)
        wait_for(lambda: host.exists('/run/jaas-rel-gate.waiting'), [first],
                 'run 1 reached the reload')
        def files():
            return host.sh('sha256sum /etc/ufw/user.rules /etc/ufw/user6.rules').stdout
        files_of_first = files()
        # -v: the module's result (its msg counts added/removed rules) is printed.
        second = ansible.start([host], harness.role_play('ufw'), extra_vars=FRANKFURT,
                               options=('-v',))
        wait_for(lambda: lock_waiters(host) or files() != files_of_first, [first, second],
                 'run 2 queued on the lock')
        time.sleep(1)
        assert files() == files_of_first, 'run 2 wrote the rules files while run 1 held the lock'
        assert lock_waiters(host), 'run 2 is not queued on the host lock'
        assert second.poll() is None and first.poll() is None
        host.sh('touch /run/jaas-rel-gate.open')
        results = [harness.Ansible.finish(proc, timeout=180) for proc in (first, second)]
    finally:
        # On failure too: let held runs finish instead of sleeping in the double forever.
        host.sh('touch /run/jaas-rel-gate.open; rm -f /usr/local/sbin/iptables-restore')
    for result in results:
        assert result.rc == 0, result.stdout[-3000:]
    added, removed = (int(n) for n in REPORT.search(results[1].stdout).groups())
    assert (added, removed) == (0, desired_owned_count(FULL) - desired_owned_count(FRANKFURT)), \
        'run 2 did not diff against run 1\'s result: %d added, %d removed' % (added, removed)
    assert_converged(host, FRANKFURT)
    assert harness.ufw_foreign(host) == foreign


# ---------------------------------------------------------------- firewalld stopped / masked

@pytest.fixture(scope='module')
def stopped_firewalld(fleet):
    host = fleet['fwd-stop']
    host.sh(harness.FIREWALLD_FOREIGN_SETUP, timeout=180)
    host.sh('systemctl stop firewalld')
    return host


def offline_snapshot(host):
    return harness._sections(host.sh(
        "echo '=== etc'; find /etc/firewalld -type f -print0 | sort -z | xargs -0 sha256sum;"
        "echo '=== nft'; nft list ruleset | %s;"
        "echo '=== unit'; systemctl is-enabled firewalld || true" % harness._STRIP_NFT).stdout)


def test_firewalld_stopped_fails_clearly_and_changes_nothing(stopped_firewalld, ansible):
    host = stopped_firewalld
    before = offline_snapshot(host)
    result = ansible.run([host], harness.role_play('firewalld'), extra_vars=FULL)
    assert result.rc != 0
    message = harness.failure_text(result.stdout)
    assert 'firewalld is not running' in message and 'jaas_firewall_firewalld_enable' in message
    assert harness.diff_snapshots(before, offline_snapshot(host)) == ''


def test_firewalld_masked_fails_clearly_and_changes_nothing(stopped_firewalld, ansible):
    host = stopped_firewalld
    host.sh('systemctl mask firewalld')
    try:
        before = offline_snapshot(host)
        result = ansible.run([host], harness.role_play('firewalld'),
                             extra_vars={'jaas_firewall_firewalld_enable': True})
        assert result.rc != 0
        assert 'masked' in harness.failure_text(result.stdout), result.stdout[-2000:]
        assert harness.diff_snapshots(before, offline_snapshot(host)) == ''
    finally:
        host.sh('systemctl unmask firewalld')


# Found by this suite: the offline seeding used to run before the unit was known to start.
def test_firewalld_masked_with_inbound_keep_open_changes_nothing(stopped_firewalld, ansible):
    host = stopped_firewalld
    host.sh('systemctl mask firewalld')
    try:
        before = offline_snapshot(host)
        result = ansible.run([host], harness.role_play('firewalld'), extra_vars={
            'jaas_firewall_firewalld_enable': True,
            'jaas_firewall_keep_open': [{'direction': 'in', 'protocol': 'tcp', 'port': '2222'}]})
        assert result.rc != 0
        assert 'masked' in harness.failure_text(result.stdout), result.stdout[-2000:]
        assert harness.changed_tasks(result.stdout) == []
        assert harness.diff_snapshots(before, offline_snapshot(host)) == ''
    finally:
        host.sh('systemctl unmask firewalld')
        host.sh('firewall-offline-cmd --delete-policy=jaas-ingress', check=False)


def test_firewalld_stopped_documented_start_path_converges(stopped_firewalld, ansible):
    """jaas_firewall_firewalld_enable: the documented path for a stopped firewalld."""
    host = stopped_firewalld
    host.sh('systemctl start firewalld')
    foreign = harness.firewalld_foreign(host)
    host.sh('systemctl stop firewalld')
    extra = {'jaas_firewall_firewalld_enable': True,
             'jaas_firewall_keep_open': [{'direction': 'in', 'protocol': 'tcp', 'port': '2222'}]}
    play_ok(ansible, [host], 'firewalld', extra)
    assert host.sh('firewall-cmd --state').stdout.strip() == 'running'
    assert harness.firewalld_foreign(host) == foreign
    again = play_ok(ansible, [host], 'firewalld', extra)
    assert harness.changed_tasks(again.stdout) == []
    rich = host.sh('firewall-cmd --policy=jaas-ingress --list-rich-rules').stdout
    assert 'port="2222"' in rich
