"""The ufw backend starts an inactive ufw the way the host does at boot (ENABLED=yes in
ufw.conf, then ufw's own ``ufw-init start``) instead of ``ufw --force enable``, which runs
the same script and then re-adds its logging rules one iptables call at a time.

The policies are set in the files, as ``ufw default`` writes them on a disabled ufw.

The expectation comes from ufw itself: a twin host sets the same policies with
``ufw default``, gets the user rules files the role wrote on the first host and runs
``ufw --force enable``. Both kernels must then hold the same rules, both families, and every
file under /etc/ufw and /etc/default/ufw must be the same on both. Both hosts start with
an admin's log rule in after.rules carrying ufw's catch-all prefix, which ``ufw default``
rewrites. Two log levels, both Debian releases.
"""

import difflib

import pytest

from . import harness

# (suite, ufw log level set before the run, role variables)
CASES = {
    'low-bookworm': ('bookworm', 'low', {'outgoing': 'deny'}),
    'full-trixie': ('trixie', 'full', {'incoming': 'reject', 'outgoing': 'deny', 'routed': 'allow'}),
}
ADMIN_LOG = ('sed -i \'s/^# don.t delete the .COMMIT. line.*/-A ufw-after-input -p udp --dport 5353 '
             '-j LOG --log-prefix "[UFW ALLOW] "\\n&/\' /etc/ufw/after.rules')
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
    role_vars = dict(BLOCKS, jaas_firewall_ufw_enable=True, **dict(
        ('jaas_firewall_ufw_default_' + direction, policy) for direction, policy in extra.items()))
    for host in (role_host, ufw_host):
        host.sh('ufw logging %s >/dev/null && %s' % (level, ADMIN_LOG))
        assert 'Status: inactive' in host.sh('ufw status').stdout
        assert '[UFW ALLOW]' in host.sh('cat /etc/ufw/after.rules').stdout
    result = ansible.run([role_host], harness.role_play('ufw'), extra_vars=role_vars)
    assert result.rc == 0, result.stdout[-3000:]
    assert 'Status: active' in role_host.sh('ufw status').stdout

    written = files_of(role_host)
    conf = written['/etc/ufw/ufw.conf']
    assert 'ENABLED=yes' in conf.splitlines()
    assert 'LOGLEVEL=%s' % level in conf.splitlines()
    for direction, policy in extra.items():
        ufw_host.sh('ufw default %s %s >/dev/null' % (policy, direction))
    for path in ('/etc/ufw/user.rules', '/etc/ufw/user6.rules'):
        ufw_host.put(path, written[path])
    ufw_host.sh('ufw --force enable >/dev/null')

    by_ufw, by_role = ufw_host.sh(KERNEL).stdout, role_host.sh(KERNEL).stdout
    assert by_role == by_ufw, ''.join(difflib.unified_diff(
        by_ufw.splitlines(True), by_role.splitlines(True), 'ufw --force enable', 'the role'))
    by_ufw = files_of(ufw_host)
    assert sorted(by_ufw) == sorted(written)
    for path in sorted(written):
        assert written[path] == by_ufw[path], ''.join(difflib.unified_diff(
            by_ufw[path].splitlines(True), written[path].splitlines(True), 'ufw: ' + path, 'role: ' + path))
    # the comparison has something to compare: London's bridges (vendor page), both ports
    assert '-A ufw-user-output -d 152.67.144.0/24 -p tcp -m tcp --dport 443 -j ACCEPT' in by_role
    assert '-A ufw-user-output -d 152.67.144.0/24 -p udp -m udp --dport 10000 -j ACCEPT' in by_role

    again = ansible.run([role_host], harness.role_play('ufw'), extra_vars=role_vars)
    assert again.rc == 0, again.stdout[-3000:]
    assert harness.changed_tasks(again.stdout) == []
