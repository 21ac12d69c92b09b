"""The ufw backend starts an inactive ufw the way the host does at boot (ENABLED=yes in
ufw.conf, then ufw's own ``ufw-init start``) instead of ``ufw --force enable``, which runs
the same script and then re-adds its logging rules one iptables call at a time.

The expectation comes from ufw itself: a twin host gets the files the role left on the
first host (rules files, ufw.conf with ENABLED=no, /etc/default/ufw) and runs
``ufw --force enable``. Both kernels must then hold the same rules, both families, and ufw
must leave the files as the role wrote them. Two log levels, both Debian releases.
"""

import difflib

import pytest

from . import harness

# (suite, ufw log level set before the run, role variables)
CASES = {
    'low-bookworm': ('bookworm', 'low', {'jaas_firewall_ufw_default_outgoing': 'deny'}),
    'full-trixie': ('trixie', 'full', {'jaas_firewall_ufw_default_incoming': 'reject',
                                       'jaas_firewall_ufw_default_outgoing': 'deny'}),
}
BLOCKS = {'jaas_firewall_blocks': ['jvb', 'turn'], 'jaas_firewall_regions': ['uk-london']}
FILES = "find /etc/ufw /etc/default/ufw -type f -name '*.rules' -o -type f -name '*.conf' -o -path /etc/default/ufw"
KERNEL = ("for t in iptables ip6tables; do $t-save | sed -e '/^#/d' -e 's/\\[[0-9]*:[0-9]*\\]//'; "
          "done")


@pytest.fixture(scope='module')
def twins():
    wanted = {}
    for case, (suite, _level, _extra) in CASES.items():
        wanted[(case, 'role')] = ('ufwstart-%s-role' % case, suite)
        wanted[(case, 'ufw')] = ('ufwstart-%s-ufw' % case, suite)
    hosts = harness.Host.start_many(wanted)
    yield hosts
    harness.remove([host.name for host in hosts.values()])


def files_of(host):
    return dict((path, host.sh('cat %s' % path).stdout)
                for path in host.sh(FILES).stdout.split())


@pytest.mark.parametrize('case', sorted(CASES))
def test_started_like_boot_matches_ufw_enable(twins, ansible, case):
    suite, level, extra = CASES[case]
    role_host, ufw_host = twins[(case, 'role')], twins[(case, 'ufw')]
    for host in (role_host, ufw_host):
        host.sh('ufw logging %s >/dev/null' % level)
        assert 'Status: inactive' in host.sh('ufw status').stdout
    result = ansible.run([role_host], harness.role_play('ufw'),
                         extra_vars=dict(BLOCKS, jaas_firewall_ufw_enable=True, **extra))
    assert result.rc == 0, result.stdout[-3000:]
    assert 'Status: active' in role_host.sh('ufw status').stdout

    written = files_of(role_host)
    conf = written['/etc/ufw/ufw.conf']
    assert 'ENABLED=yes' in conf.splitlines()
    assert 'LOGLEVEL=%s' % level in conf.splitlines()
    for path, text in written.items():
        if path == '/etc/ufw/ufw.conf':
            text = text.replace('ENABLED=yes', 'ENABLED=no')
        ufw_host.put(path, text)
    ufw_host.sh('ufw --force enable >/dev/null')

    by_ufw, by_role = ufw_host.sh(KERNEL).stdout, role_host.sh(KERNEL).stdout
    assert by_role == by_ufw, ''.join(difflib.unified_diff(
        by_ufw.splitlines(True), by_role.splitlines(True), 'ufw --force enable', 'the role'))
    assert files_of(ufw_host) == written
    # the comparison has something to compare: London's bridges (vendor page), both ports
    assert '-A ufw-user-output -d 152.67.144.0/24 -p tcp -m tcp --dport 443 -j ACCEPT' in by_role
    assert '-A ufw-user-output -d 152.67.144.0/24 -p udp -m udp --dport 10000 -j ACCEPT' in by_role

    again = ansible.run([role_host], harness.role_play('ufw'),
                        extra_vars=dict(BLOCKS, jaas_firewall_ufw_enable=True, **extra))
    assert again.rc == 0, again.stdout[-3000:]
    assert harness.changed_tasks(again.stdout) == []
