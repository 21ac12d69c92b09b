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

from ansible.module_utils import basic

from module_runs import run_main
from ansible_collections.jaas.firewall.plugins.module_utils import connection, ufw_backend
from ansible_collections.jaas.firewall.plugins.modules import ufw_rules

RULES_FILE = """*filter
:ufw-user-input - [0:0]
:ufw-user-output - [0:0]
:ufw-user-forward - [0:0]
:ufw-before-logging-input - [0:0]
:ufw-before-logging-output - [0:0]
:ufw-before-logging-forward - [0:0]
:ufw-user-logging-input - [0:0]
:ufw-user-logging-output - [0:0]
:ufw-user-logging-forward - [0:0]
:ufw-after-logging-input - [0:0]
:ufw-after-logging-output - [0:0]
:ufw-after-logging-forward - [0:0]
:ufw-logging-deny - [0:0]
:ufw-logging-allow - [0:0]
:ufw-user-limit - [0:0]
:ufw-user-limit-accept - [0:0]
### RULES ###

### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in
-A ufw-user-input -p tcp --dport 22 -j ACCEPT

### END RULES ###

### LOGGING ###
-A ufw-after-logging-input -j LOG --log-prefix "[UFW BLOCK] " -m limit --limit 3/min --limit-burst 10
### END LOGGING ###

### RATE LIMITING ###
-A ufw-user-limit -m limit --limit 3/minute -j LOG --log-prefix "[UFW LIMIT BLOCK] "
-A ufw-user-limit -j REJECT
-A ufw-user-limit-accept -j ACCEPT
### END RATE LIMITING ###
COMMIT
"""
JVB = dict(direction='out', family=4, network='198.18.1.0/24', protocol='udp', ports='10000',
           block='jvb', region='lab-a')


class FakeUfw(object):
    """ufw's files under tmp_path, and what ufw / iptables-restore would answer."""

    def __init__(self, tmp_path, active=True, installed=True, ipv6='yes', outgoing='ACCEPT'):
        self.dir = tmp_path / 'ufw'
        self.dir.mkdir()
        self.active = active
        self.installed = installed
        self.commands = []
        if installed:
            (self.dir / 'user.rules').write_text(RULES_FILE)
            (self.dir / 'user6.rules').write_text(RULES_FILE.replace('ufw-', 'ufw6-'))
            (self.dir / 'ufw.conf').write_text('ENABLED=%s\nLOGLEVEL=low\n'
                                               % ('yes' if active else 'no'))
        self.defaults = tmp_path / 'default-ufw'
        self.defaults.write_text('IPV6=%s\nDEFAULT_INPUT_POLICY="DROP"\n'
                                 'DEFAULT_OUTPUT_POLICY="%s"\n' % (ipv6, outgoing))

    def get_bin_path(self, name, required=False, opt_dirs=None):
        if name == 'ufw' and not self.installed:
            return None
        return '/usr/sbin/%s' % name

    def run_command(self, args, **kwargs):
        self.commands.append(' '.join(str(a) for a in args))
        if args[1:4] == ['-w', '-n', '-L']:     # ufw's chains are loaded while ufw is active
            return (0, 'Chain %s (1 references)\n' % args[4], '') if self.active else \
                (1, '', 'iptables: No chain/target/match by that name.\n')
        return 0, '', ''

    def text(self, family=4):
        return (self.dir / ('user.rules' if family == 4 else 'user6.rules')).read_text()


@pytest.fixture
def make_host(tmp_path, monkeypatch):
    def make(detected=(), **kwargs):
        fake = FakeUfw(tmp_path, **kwargs)
        monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path',
                            lambda module, name, *a, **k: fake.get_bin_path(name, *a, **k))
        monkeypatch.setattr(basic.AnsibleModule, 'run_command',
                            lambda module, args, **k: fake.run_command(args, **k))
        monkeypatch.setattr(ufw_backend, 'UFW_DIR', str(fake.dir))
        monkeypatch.setattr(ufw_backend, 'DEFAULTS_FILE', str(fake.defaults))
        monkeypatch.setattr(ufw_backend, 'RELOAD_PENDING', str(tmp_path / 'reload-pending'))
        monkeypatch.setattr(ufw_backend, 'kept_connection_ports', lambda keep, port=None:
                            connection.kept_connection_ports(keep, port,
                                                             detect=lambda: list(detected)))
        return fake
    return make


def run(capsys, check_mode=False, **args):
    args.setdefault('rules', [JVB])
    args.update(_ansible_check_mode=check_mode, _ansible_diff=True, backup=False)
    return run_main(ufw_rules.main, args, capsys)


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
