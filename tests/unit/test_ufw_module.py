# -*- coding: utf-8 -*-
"""jaas.firewall.ufw_rules main() in milliseconds, with ufw's files in a temporary /etc/ufw
and canned answers from ufw and iptables-restore. Containers prove the behaviour
(extensions/molecule/ufw); these pin the branches: check mode, keep-open and connection rules, the
missing-ufw report, policies after rules.

The rules files are ufw 0.36.2's own format (copied from files ufw wrote on Debian 12);
expectations are written out by hand.
"""

from __future__ import annotations


import pytest


from canned.ufw import (  # noqa: F401 (fixtures)
    ADMIN_AFTER_RULES, RULES_FILE, make_host, run)


def test_check_mode_reports_and_writes_nothing(make_host, capsys):
    host = make_host()
    out = run(capsys, check_mode=True)
    assert out['changed'] is True
    assert [(r['network'], r['ports'], r['comment']) for r in out['added']] == \
        [('198.18.1.0/24', '10000', 'jaas:jvb:lab-a')]
    assert host.text(4) == RULES_FILE
    assert not any('restore' in command for command in host.commands)


def test_apply_writes_once_and_reloads_the_user_chains(make_host, capsys):
    host = make_host()
    out = run(capsys)
    assert out['changed'] is True and out['reloaded'] is True and out['installed'] is True
    assert '-A ufw-user-output -p udp -d 198.18.1.0/24 --dport 10000 -j ACCEPT' in host.text(4)
    assert '--dport 22 -j ACCEPT' in host.text(4)               # the user's rule stays
    restores = [c for c in host.commands if 'restore -n' in c]
    assert len(restores) == 2                                    # one per family
    again = run(capsys)
    assert again['changed'] is False and again['added'] == [] and again['removed'] == []


def test_port_from_ssh_config_is_kept_not_22(make_host, capsys):
    """The connection uses 2222 (found on the host); no ansible_port on the controller."""
    host = make_host(detected=[2222])
    out = run(capsys, keep_connection=True)
    assert out['connection_ports'] == [2222]
    assert '-A ufw-user-input -p tcp --dport 2222 -j ACCEPT' in host.text(4)
    assert '-A ufw6-user-input -p tcp --dport 2222 -j ACCEPT' in host.text(6)
    safety = [r for r in out['added'] if r['comment'] == 'jaas:safety']
    assert sorted((r['family'], r['ports']) for r in safety) == [(4, '2222'), (6, '2222')]


def test_connection_port_from_the_controller_is_kept_too(make_host, capsys):
    host = make_host(detected=[2222])
    out = run(capsys, keep_connection=True, connection_port=22)
    assert out['connection_ports'] == [22, 2222]
    assert '--dport 2222 -j ACCEPT' in host.text(4)


def test_no_ssh_session_keeps_22(make_host, capsys):
    make_host(detected=[])
    assert run(capsys, keep_connection=True)['connection_ports'] == [22]


def test_keep_open_entries_become_safety_rules_per_family(make_host, capsys):
    host = make_host(ipv6='no')
    out = run(capsys, keep_open=[{'direction': 'out', 'protocol': 'udp', 'port': '53'},
                                 {'direction': 'out', 'protocol': 'tcp', 'port': 3128,
                                  'network': '198.18.9.8'}],
              keep_open_families=[4, 6])
    lines = sorted((r['family'], r['protocol'], r['ports'], r['network'])
                   for r in out['added'] if r['comment'] == 'jaas:safety')
    # IPv6 off in /etc/default/ufw: no v6 rule is written for an entry without network
    assert lines == [(4, 'tcp', '3128', '198.18.9.8'), (4, 'udp', '53', '0.0.0.0/0')]
    assert '-A ufw-user-output -p tcp -d 198.18.9.8 --dport 3128 -j ACCEPT' in host.text(4)


@pytest.mark.parametrize('entry, message', [
    ({'direction': 'out', 'protocol': 'udp', 'port': '0'}, 'keep_open[0]'),
    ({'direction': 'out', 'protocol': 'udp', 'port': '53', 'network': '198.18.0.1/255.255.0.0'},
     'keep_open[0]'),
])
def test_bad_keep_open_changes_nothing(make_host, capsys, entry, message):
    host = make_host()
    out = run(capsys, keep_open=[entry])
    assert out['failed'] is True and message in out['msg'] and 'nothing changed' in out['msg']
    assert host.text(4) == RULES_FILE and host.commands == []


def test_missing_ufw_is_reported_when_asked(make_host, capsys):
    make_host(installed=False)
    out = run(capsys, if_missing='report')
    assert out['changed'] is False and out['installed'] is False
    out = run(capsys)
    assert out['failed'] is True and 'ufw is not installed' in out['msg']


def test_policy_changes_after_the_rules(make_host, capsys):
    host = make_host()
    out = run(capsys, default_outgoing='deny')
    assert out['policies'] == {'incoming': 'deny', 'outgoing': 'deny', 'routed': None}
    reload_at = max(i for i, c in enumerate(host.commands) if 'restore -n' in c)
    policy_at = host.commands.index('/usr/sbin/ufw default deny outgoing')
    assert reload_at < policy_at


def test_an_inactive_ufw_starts_as_at_boot(make_host, capsys):
    """Policies first (in the files, as `ufw default` writes them on a disabled ufw), then
    ufw writes its logging section for them, then the rules files, then ufw-init start: what
    the host loads at boot (tests/reliability/test_ufw_start.py: same kernel rules and files
    as `ufw default` + `ufw --force enable`)."""
    host = make_host(active=False)
    out = run(capsys, default_outgoing='deny', enabled=True)
    assert out['changed'] is True and out['active'] is False, out      # active: before the run
    assert host.active is True
    assert not any('--force enable' in command or 'ufw default' in command
                   for command in host.commands)
    assert host.commands.index('/usr/sbin/ufw logging low') < host.commands.index('%s start' % host.init)
    assert host.defaults.read_text() == 'IPV6=yes\nDEFAULT_INPUT_POLICY="DROP"\nDEFAULT_OUTPUT_POLICY="DROP"\n'
    assert '[UFW ALLOW]' in ADMIN_AFTER_RULES
    assert (host.dir / 'after.rules').read_text() == ADMIN_AFTER_RULES.replace('UFW ALLOW', 'UFW BLOCK')
    # reported as any policy change is
    assert out['policies'] == {'incoming': 'deny', 'outgoing': 'deny', 'routed': None}
    assert 'default outgoing: allow' in out['diff']['before']
    assert 'default outgoing: deny' in out['diff']['after']
    assert (host.dir / 'ufw.conf').read_text() == 'ENABLED=yes\nLOGLEVEL=low\n'
    assert '--dport 10000 -j ACCEPT' in host.text(4)


def logging_section(text):
    return text.partition('### LOGGING ###\n')[2].partition('### END LOGGING ###\n')[0]


def test_an_inactive_ufw_gets_its_logging_section_without_running_ufw(make_host, capsys):
    """What ufw logging would write (tests/golden/ufw_logging_0.36.2.json, from real ufw) for
    the policies this run sets: written by the module, no ufw process."""
    from test_ufw_plan import golden_case
    host = make_host(active=False, recent=True, routed='DROP')
    out = run(capsys, default_outgoing='deny', enabled=True)
    assert out['changed'] is True, out
    assert not any(' logging ' in command for command in host.commands), host.commands
    assert '%s start' % host.init in host.commands
    _ipv6, _level, _policies, ufw_wrote = golden_case('yes low bbb')
    for family in (4, 6):
        assert logging_section(host.text(family)) == logging_section(ufw_wrote[family])
    assert '--dport 22 -j ACCEPT' in host.text(4) and '--dport 10000 -j ACCEPT' in host.text(4)


@pytest.mark.parametrize('recent, routed', [(False, 'DROP'), (True, None)])
def test_ufw_writes_the_logging_section_when_only_it_can_tell(make_host, capsys, recent, routed):
    """The kernel's recent match not loaded (ufw tests it), a policy not set: ufw logging."""
    host = make_host(active=False, recent=recent, routed=routed)
    before = host.text(4)
    out = run(capsys, default_outgoing='deny', enabled=True)
    assert out['changed'] is True, out
    assert '/usr/sbin/ufw logging low' in host.commands
    # the canned ufw writes nothing: the module did not touch the logging section either
    assert logging_section(host.text(4)) == logging_section(before)


def test_a_failed_boot_start_puts_ufw_conf_back(make_host, capsys):
    host = make_host(active=False, init='fails')
    out = run(capsys, enabled=True)
    assert out['failed'] is True
    assert out['msg'] == ('enabling ufw failed: %s start failed: iptables-restore: line 5 failed'
                          % host.init)
    assert (host.dir / 'ufw.conf').read_text() == 'ENABLED=no\nLOGLEVEL=low\n'


@pytest.mark.parametrize('init, conf', [
    (None, 'ENABLED=no\nLOGLEVEL=low\n'),          # no init script where ufw keeps it
    ('ok', 'ENABLED=no\n'),                        # no LOGLEVEL: ufw enable writes one
    ('ok', 'ENABLED=yes\nLOGLEVEL=low\n'),         # stopped, not disabled: ufw's own way
])
def test_otherwise_ufw_enable_starts_it(make_host, capsys, init, conf):
    host = make_host(active=False, init=init)
    (host.dir / 'ufw.conf').write_text(conf)
    out = run(capsys, enabled=True)
    assert out['changed'] is True, out
    assert '/usr/sbin/ufw --force enable' in host.commands
    assert not any(command.endswith('ufw-init start') for command in host.commands)


def test_log_prefixes_swapped_and_drop_log_block_both_land(make_host, capsys):
    """The catch-all prefixes are swapped in after.rules where `ufw default` ran, after the
    other writes there (drop logging's block here): neither undoes the other."""
    host = make_host(active=False)
    out = run(capsys, default_outgoing='deny', enabled=True, log_drops=True)
    assert out['changed'] is True, out
    after = (host.dir / 'after.rules').read_text()
    assert '[UFW BLOCK]' in after and '[UFW ALLOW]' not in after
    assert 'jaas.firewall log drops' in after


def package_templates(host):
    """Both user rules files as the ufw package installs them (captured from real ufw)."""
    from test_ufw_plan import UFW_LOGGING
    for index, name in enumerate(('user.rules', 'user6.rules')):
        (host.dir / name).write_text(UFW_LOGGING['templates'][index])


def test_package_templates_of_a_stopped_ufw_get_ufws_full_format_without_ufw(make_host, capsys):
    """A ufw never used (the package's template rules files), left disabled: the files get
    ufw's full format as `ufw logging` writes it (golden, from real ufw), then our rules."""
    from test_ufw_plan import golden_case
    host = make_host(active=False, recent=True, routed='DROP', outgoing='DROP')
    package_templates(host)
    out = run(capsys)
    assert out['changed'] is True, out
    assert not any(' logging ' in command for command in host.commands), host.commands
    _ipv6, _level, _policies, ufw_wrote = golden_case('yes low bbb')
    assert host.text(6) == ufw_wrote[6]        # no IPv6 rule: exactly ufw's file
    head = ufw_wrote[4].partition('### RULES ###\n')[0] + '### RULES ###\n'
    end = '\n### END RULES ###' + ufw_wrote[4].partition('\n### END RULES ###')[2]
    assert host.text(4).startswith(head) and host.text(4).endswith(end)
    assert '--dport 10000 -j ACCEPT' in host.text(4)


def test_a_policy_set_on_a_disabled_ufw_is_in_the_logging_section_it_gets(make_host, capsys):
    """ufw left disabled, its package templates rewritten into ufw's full format: `ufw
    default` runs after the files are written and does not rewrite their logging section,
    so it is written for the policies this run sets, as `ufw default` then `ufw logging`
    would leave it (tests/reliability/test_ufw_start.py checks with ufw)."""
    from test_ufw_plan import golden_case
    host = make_host(active=False, recent=True, routed='DROP')          # outgoing ACCEPT
    package_templates(host)                                           # ufw never used
    out = run(capsys, default_outgoing='deny')
    assert out['changed'] is True, out
    assert '/usr/sbin/ufw default deny outgoing' in host.commands
    _ipv6, _level, _policies, ufw_wrote = golden_case('yes low bbb')
    for family in (4, 6):
        assert logging_section(host.text(family)) == logging_section(ufw_wrote[family])
