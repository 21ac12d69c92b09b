"""Hostile strings in the catalog and role variables never reach a shell and never corrupt
ufw comments or firewalld objects.

Region names, notes and block descriptions are free text (the vendor's words); region and
block KEYS are slugs. The canary is a file that any evaluated `$(...)`, backtick, `;`,
`&&`, `|` or Jinja `lookup('pipe')` in these strings would create, on the managed host
or on the controller.
"""

import os
import re
import shlex

import pytest

from . import harness

CANARY = '/tmp/jaas-rel-pwned-%d' % os.getpid()
HOSTILE = ('UK "London" \'quoted\' $(touch {c}) `touch {c}`; touch {c} && touch {c} '
           '| touch {c} > {c}\nsecond line # no comment \\ backslash %s %n '
           "{{{{ lookup('pipe', 'touch {c}') }}}} {{% raw %}}").format(c=CANARY)
EVIL_KEY = 'evil-region'
OWNED_LINE = re.compile(r"^ufw (allow|deny|reject|limit) (in|out) .* comment "
                        r"'jaas:[a-z0-9][a-z0-9_-]*(:[a-z0-9][a-z0-9_-]*)?'$")


def hostile_catalog(workdir, bad_key=None):
    data = harness.load_shipped_catalog()
    data['provenance']['note'] = HOSTILE
    for name in ('cloudflare', 'jvb', 'turn'):
        data['blocks'][name]['description'] = HOSTILE
        data['blocks'][name]['note'] = HOSTILE
    for block in ('jvb', 'turn'):
        for region in data['blocks'][block]['regions'].values():
            region['name'] = HOSTILE
            region['note'] = HOSTILE
    data['blocks']['turn']['regions'][EVIL_KEY] = {
        'name': HOSTILE, 'note': HOSTILE, 'networks': ['198.18.200.1', '198.18.200.2']}
    data['blocks']['jvb']['regions'][EVIL_KEY] = {
        'name': HOSTILE, 'networks': ['198.18.201.0/24', '2001:2:0:c9::/64']}
    if bad_key:
        data['blocks']['turn']['regions'][bad_key] = {'name': 'x', 'networks': ['198.18.202.1']}
    path = os.path.join(workdir, 'catalog-hostile-%s.yml' % ('key' if bad_key else 'text'))
    with open(path, 'w') as handle:
        handle.write(harness.dump_catalog(data))
    return path


def assert_no_canary(*hosts):
    assert not os.path.exists(CANARY), 'the controller evaluated a hostile string'
    for host in hosts:
        assert not host.exists(CANARY), '%s evaluated a hostile string' % host.name


def docker_exec(host, argv):
    """Run argv in the container without any shell in between."""
    import subprocess
    return subprocess.run(['docker', 'exec', host.name] + argv, capture_output=True, text=True)


@pytest.fixture(scope='module')
def ufw_host(fleet):
    host = fleet['inject-ufw']
    host.sh(harness.UFW_FOREIGN_SETUP)
    return host


@pytest.fixture(scope='module')
def firewalld_host(fleet):
    host = fleet['inject-fwd']
    host.sh(harness.FIREWALLD_FOREIGN_SETUP, timeout=180)
    return host


def test_hostile_text_never_reaches_a_shell_or_ufw(ufw_host, ansible):
    host = ufw_host
    assert_no_canary(host)
    foreign = harness.ufw_foreign(host)
    extra = {'jaas_firewall_catalog_file': hostile_catalog(ansible.workdir),
             'jaas_firewall_allow_private_networks': True,  # its networks are 198.18.x
             'jaas_firewall_ufw_enable': True, 'jaas_firewall_ufw_default_outgoing': 'deny'}
    result = ansible.run([host], harness.role_play('ufw'), extra_vars=extra)
    assert result.rc == 0, result.stdout[-3000:]
    assert_no_canary(host)

    added = host.sh('ufw show added').stdout.splitlines()[1:]
    owned = [line for line in added if "comment 'jaas" in line]
    assert owned and all(OWNED_LINE.match(line) for line in owned), \
        [line for line in owned if not OWNED_LINE.match(line)]
    evil = [line for line in owned if ':%s' % EVIL_KEY in line]
    assert len(evil) == 2 * 3 + 2 * 2, evil  # turn: 2 hosts x 3 rules; jvb: 2 nets x 2 rules
    files = host.sh('cat /etc/ufw/user.rules /etc/ufw/user6.rules').stdout
    for fragment in ('touch', 'London', 'lookup', '$(', '`'):
        assert fragment not in files
    # Round trip: ufw parses its own listing back to the very same rules.
    for line in evil + owned[:5]:
        argv = shlex.split(line)
        assert argv[0] == 'ufw'
        check = docker_exec(host, ['ufw', '--dry-run'] + argv[1:])
        assert check.returncode == 0 and 'Skipping adding existing rule' in check.stdout, \
            (line, check.stdout, check.stderr)
    harness.assert_kernel_matches_files(host)
    assert harness.ufw_foreign(host) == foreign
    again = ansible.run([host], harness.role_play('ufw'), extra_vars=extra)
    assert again.rc == 0 and harness.changed_tasks(again.stdout) == []
    assert_no_canary(host)


def test_hostile_text_never_corrupts_firewalld(firewalld_host, ansible):
    host = firewalld_host
    foreign = harness.firewalld_foreign(host)
    extra = {'jaas_firewall_catalog_file': hostile_catalog(ansible.workdir),
             'jaas_firewall_allow_private_networks': True}  # its networks are 198.18.x
    result = ansible.run([host], harness.role_play('firewalld'), extra_vars=extra)
    assert result.rc == 0, result.stdout[-3000:]
    assert_no_canary(host)
    assert host.sh('firewall-cmd --check-config', check=False).returncode == 0
    names = (host.sh('firewall-cmd --get-ipsets').stdout.split()
             + host.sh('firewall-cmd --get-policies').stdout.split())
    ours = [name for name in names if name.startswith('jaas-')]
    assert ours and all(re.match(r'^jaas-[a-z0-9_-]+$', name) for name in ours), ours
    for fragment in ('touch', 'London', 'lookup'):
        assert host.sh('grep -rl %s /etc/firewalld' % shlex.quote(fragment),
                       check=False).stdout == ''
    entries = host.sh('firewall-cmd --ipset=jaas-turn-v4 --get-entries').stdout.split()
    assert {'198.18.200.1/32', '198.18.200.2/32'} <= set(entries), entries
    assert harness.firewalld_foreign(host) == foreign
    again = ansible.run([host], harness.role_play('firewalld'), extra_vars=extra)
    assert again.rc == 0 and harness.changed_tasks(again.stdout) == []


@pytest.mark.parametrize('bad_key', ['uk-london$(touch %s)' % CANARY, "uk'london; touch x",
                                     'UK-London', 'uk london', '-uk-london'])
def test_malicious_region_key_is_refused(ufw_host, ansible, bad_key):
    host = ufw_host
    before = harness.ufw_snapshot(host)
    result = ansible.run([host], harness.role_play('ufw'), extra_vars={
        'jaas_firewall_catalog_file': hostile_catalog(ansible.workdir, bad_key=bad_key),
        'jaas_firewall_allow_private_networks': True})
    assert result.rc != 0
    message = harness.failure_text(result.stdout)
    assert 'blocks.turn.regions.%s' % bad_key in message and 'region key' in message, message
    assert harness.diff_snapshots(before, harness.ufw_snapshot(host)) == ''
    assert_no_canary(host)


# Found by this suite: the slug patterns ended in $ (matches before a trailing newline).
def test_region_key_with_trailing_newline_is_refused(ufw_host, ansible):
    host = ufw_host
    before = harness.ufw_snapshot(host)
    result = ansible.run([host], harness.role_play('ufw'), extra_vars={
        'jaas_firewall_catalog_file': hostile_catalog(ansible.workdir, bad_key='uk-london\n'),
        'jaas_firewall_allow_private_networks': True,
        'jaas_firewall_regions': ['uk-london\n']})
    try:
        assert result.rc != 0
        assert 'region key' in harness.failure_text(result.stdout)
    finally:
        # Leave the shared host as it was for the other tests.
        if harness.diff_snapshots(before, harness.ufw_snapshot(host)):
            ansible.run([host], harness.role_play('ufw'), extra_vars={'jaas_firewall_state': 'absent'})


@pytest.mark.parametrize('entry', [
    {'direction': 'out', 'protocol': 'tcp', 'port': '53; touch %s' % CANARY},
    {'direction': 'out', 'protocol': 'tcp', 'port': '53',
     'network': '198.18.0.0/15 $(touch %s)' % CANARY},
    {'direction': 'in', 'protocol': 'tcp', 'port': '22',
     'network': "198.18.0.0/15' comment 'jaas:safety"},
])
def test_hostile_keep_open_is_refused_by_ufw(ufw_host, ansible, entry):
    host = ufw_host
    before = harness.ufw_snapshot(host)
    result = ansible.run([host], harness.role_play('ufw'), extra_vars={
        'jaas_firewall_ufw_enable': True, 'jaas_firewall_keep_open': [entry]})
    assert result.rc != 0
    assert 'jaas_firewall_keep_open[0]' in harness.failure_text(result.stdout), result.stdout[-2000:]
    assert harness.changed_tasks(result.stdout) == []
    assert harness.diff_snapshots(before, harness.ufw_snapshot(host)) == ''
    assert_no_canary(host)


INVERT = '198.18.0.0/15" invert="true'


def test_hostile_keep_open_is_refused_by_running_firewalld(firewalld_host, ansible):
    host = firewalld_host
    before = harness.firewalld_snapshot(host)
    result = ansible.run([host], harness.role_play('firewalld'), extra_vars={
        'jaas_firewall_keep_open': [
            {'direction': 'in', 'protocol': 'tcp', 'port': '22', 'network': INVERT}]})
    assert result.rc != 0
    assert 'keep_open[0]' in harness.failure_text(result.stdout)
    assert harness.diff_snapshots(before, harness.firewalld_snapshot(host)) == ''


def test_hostile_keep_open_refused_by_the_module_before_starting_firewalld(firewalld_host, ansible):
    """Defence in depth: the module itself (called without the role's controller-side
    check) refuses the entry before it checks, seeds or starts anything."""
    host = firewalld_host
    host.sh('systemctl stop firewalld')
    try:
        before = harness.firewalld_snapshot(host)
        play = ('- hosts: all\n  gather_facts: false\n  tasks:\n'
                '    - jaas.firewall.firewalld_rules:\n        start: true\n'
                '        keep_open: "{{ keep_open }}"\n')
        result = ansible.run([host], play, extra_vars={'keep_open': [
            {'direction': 'in', 'protocol': 'tcp', 'port': '22', 'network': INVERT}]})
        assert result.rc != 0
        assert 'keep_open[0]' in harness.failure_text(result.stdout), result.stdout[-2000:]
        assert harness.diff_snapshots(before, harness.firewalld_snapshot(host)) == ''
    finally:
        host.sh('systemctl start firewalld', check=False)


# Found by this suite: the offline seeding used to paste keep_open values into a rich rule.
def test_hostile_keep_open_never_reaches_offline_rich_rules(firewalld_host, ansible):
    host = firewalld_host
    host.sh('systemctl stop firewalld')
    try:
        result = ansible.run([host], harness.role_play('firewalld'), extra_vars={
            'jaas_firewall_firewalld_enable': True,
            'jaas_firewall_keep_open': [
                {'direction': 'in', 'protocol': 'tcp', 'port': '22', 'network': INVERT}]})
        assert result.rc != 0
        assert 'jaas_firewall_keep_open[0]' in harness.failure_text(result.stdout)
        assert harness.changed_tasks(result.stdout) == []
        assert host.sh('grep -rl invert /etc/firewalld', check=False).stdout == ''
        assert host.sh('firewall-cmd --state', check=False).returncode != 0, \
            'firewalld was started for a run that must fail before touching the host'
    finally:
        host.sh('systemctl start firewalld', check=False)
        host.sh('firewall-cmd --permanent --delete-policy=jaas-ingress; firewall-cmd --reload',
                check=False)
