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

The user rules files of a ufw that is not running are written by the module as
``ufw logging`` writes them (no ufw process): on a fresh host the package templates become
ufw's full format. The expectation again comes from ufw: the twin gets the role's files and
the same policies, then ``ufw logging <level>`` rewrites both files from their rules' tuple
lines, the log level and the policies; nothing may change. Once with ufw left disabled, once
enabled (started as at boot).
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


# fresh hosts (the package's template rules files): (suite, jaas_firewall_ufw_enable)
FRESH = {
    'fresh-disabled-bookworm': ('bookworm', False),
    'fresh-enabled-trixie': ('trixie', True),
}
USER_RULES = ('/etc/ufw/user.rules', '/etc/ufw/user6.rules')


@pytest.fixture(scope='module')
def twins():
    wanted = {}
    suites = dict((case, suite) for case, (suite, _level, _extra) in CASES.items())
    suites.update((case, suite) for case, (suite, _enable) in FRESH.items())
    for case, suite in suites.items():
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


@pytest.mark.parametrize('case', sorted(FRESH))
def test_fresh_templates_are_written_as_ufw_logging_writes_them(twins, ansible, case):
    _suite, enable = FRESH[case]
    role_host, ufw_host = twins[(case, 'role')], twins[(case, 'ufw')]
    for path in USER_RULES:   # the package's templates: ufw never wrote them
        assert '### END RULES ###' not in role_host.sh('cat %s' % path).stdout
    role_vars = dict(BLOCKS, jaas_firewall_ufw_enable=enable, jaas_firewall_ufw_default_outgoing='deny')
    result = ansible.run([role_host], harness.role_play('ufw'), extra_vars=role_vars)
    assert result.rc == 0, result.stdout[-3000:]
    assert ('Status: active' in role_host.sh('ufw status').stdout) is enable
    written = files_of(role_host)

    ufw_host.sh('ufw default deny outgoing >/dev/null')
    for path in USER_RULES:
        ufw_host.put(path, written[path])
    ufw_host.sh('ufw logging low >/dev/null')   # ufw not running: it rewrites the files only
    by_ufw = files_of(ufw_host)
    for path in USER_RULES:
        assert written[path] == by_ufw[path], ''.join(difflib.unified_diff(
            by_ufw[path].splitlines(True), written[path].splitlines(True), 'ufw: ' + path, 'role: ' + path))
    assert '### LOGGING ###' in written[USER_RULES[0]]
    assert '-A ufw-user-output -p udp -d 152.67.144.0/24 --dport 10000 -j ACCEPT' in written[USER_RULES[0]]
