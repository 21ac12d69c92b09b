# -*- coding: utf-8 -*-
"""jaas.firewall.nftables_rules main() in milliseconds: canned nft/systemctl answers (the
listings real nft printed, tests/golden/nftables_live_*.json), every branch of the
converge skeleton, check mode included. Containers prove the behaviour (extensions/molecule/nftables);
these pin which commands run, and when.
"""

from __future__ import annotations

import json
import os

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from module_runs import end_previous_run
from ansible_collections.jaas.firewall.plugins.modules import nftables_rules

GOLDEN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'golden')
with open(os.path.join(GOLDEN, 'nftables_fixture.json')) as _handle:
    FIXTURE = json.load(_handle)
with open(os.path.join(GOLDEN, 'nftables_live_1.1.3.json')) as _handle:
    LIVE = _handle.read()
TABLES_WITH_OURS = json.dumps({'nftables': [{'metainfo': {'version': '1.1.3'}},
                                            {'table': {'family': 'inet', 'name': 'filter', 'handle': 1}},
                                            {'table': {'family': 'inet', 'name': 'jaas', 'handle': 2}}]})
TABLES_WITHOUT = json.dumps({'nftables': [{'metainfo': {'version': '1.1.3'}},
                                          {'table': {'family': 'inet', 'name': 'filter', 'handle': 1}}]})


class FakeHost(object):
    """What the module sees of the host: nft, systemctl and the files under tmp_path."""

    def __init__(self, tmp_path, table=True, enabled='enabled', nft=True, check_rc=0):
        self.table = table
        self.enabled = enabled
        self.nft = nft
        self.check_rc = check_rc
        self.commands = []
        self.applied = []
        self.conf = tmp_path / 'nftables.conf'
        self.saved = tmp_path / 'nftables.d' / 'jaas.nft'

    def get_bin_path(self, module, name, required=False, opt_dirs=None):
        if name == 'nft' and not self.nft:
            return None
        return '/usr/sbin/%s' % name

    def run_command(self, module, args, **kwargs):
        self.commands.append(' '.join(str(a) for a in args[1:]))
        tool, rest = os.path.basename(args[0]), list(args[1:])
        if tool == 'systemctl':
            return (0 if self.enabled == 'enabled' else 1), self.enabled + '\n', ''
        if rest == ['-j', 'list', 'tables', 'inet']:
            return 0, TABLES_WITH_OURS if self.table else TABLES_WITHOUT, ''
        if rest == ['-j', 'list', 'table', 'inet', 'jaas']:
            return 0, LIVE, ''
        if rest[:2] == ['-c', '-f']:
            return self.check_rc, '', 'Error: syntax error' if self.check_rc else ''
        if rest[:1] == ['-f']:
            with open(rest[1]) as handle:
                self.applied.append(handle.read())
            return 0, '', ''
        raise AssertionError('unexpected command %r' % (args,))

    def save_converged(self):
        """The files a previous converging run left behind."""
        from ansible_collections.jaas.firewall.plugins.module_utils import nftables_plan as nft
        model = nft.desired_model(FIXTURE['rules'], FIXTURE['keep_open'], [2222],
                                  FIXTURE['default_incoming'], FIXTURE['default_outgoing'])
        self.saved.parent.mkdir()
        self.saved.write_text(nft.persisted_file(model, 'jaas', str(self.conf)))
        self.conf.write_text('flush ruleset\n' + nft.include_line(str(self.saved), 'jaas') + '\n')


@pytest.fixture
def host(tmp_path, monkeypatch):
    fake = FakeHost(tmp_path)
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path',
                        lambda module, name, *a, **k: fake.get_bin_path(module, name, *a, **k))
    monkeypatch.setattr(basic.AnsibleModule, 'run_command',
                        lambda module, args, **k: fake.run_command(module, args, **k))
    # the connection's port, as the skeleton detects it on the host
    from ansible_collections.jaas.firewall.plugins.module_utils import connection, converge
    monkeypatch.setattr(converge, 'kept_connection_ports', lambda keep, port=None:
                        connection.kept_connection_ports(keep, port, detect=lambda: [2222]))
    return fake


def run(host, check_mode=False, **overrides):
    args = dict(rules=FIXTURE['rules'], keep_open=FIXTURE['keep_open'], keep_connection=True,
                default_incoming=FIXTURE['default_incoming'],
                default_outgoing=FIXTURE['default_outgoing'],
                persist_config=str(host.conf), persist_file=str(host.saved),
                _ansible_check_mode=check_mode, _ansible_diff=True)
    args.update(overrides)
    end_previous_run()
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            nftables_rules.main()


def result(capsys):
    return json.loads(capsys.readouterr().out)


def test_converged_host_runs_no_transaction(host, capsys):
    host.save_converged()
    run(host)
    out = result(capsys)
    assert out['changed'] is False and out['added'] == [] and out['removed'] == []
    assert out['transaction'] is False and out['persist_changes'] == []
    assert not any(c.startswith(('-f', '-c')) for c in host.commands), host.commands
    assert out['connection_ports'] == [2222]
    assert out['rules'] == 6 + 19 and out['sets'] == 6
    assert out['diff']['before'] == out['diff']['after']


def test_one_missing_network_is_one_transaction(host, capsys):
    host.save_converged()
    rules = FIXTURE['rules'] + [dict(FIXTURE['rules'][-1], network='198.18.2.98/32')]
    run(host, rules=rules)
    out = result(capsys)
    assert out['changed'] is True and out['transaction'] is True
    assert out['added'] == ['element v4_webhook_origins 198.18.2.98/32'] and out['removed'] == []
    checked = [c for c in host.commands if c.startswith('-c -f')]
    applied = [c for c in host.commands if c.startswith('-f')]
    assert len(checked) == 1 and len(applied) == 1
    assert host.commands.index(checked[0]) < host.commands.index(applied[0])
    script = host.applied[0]
    assert script.startswith('table inet jaas {}\ndelete table inet jaas\ntable inet jaas {\n')
    assert '198.18.2.98/31' in script             # .98 joins .99 in one interval
    # the saved copy follows the live table
    assert out['persist_changes'] == ['write %s' % host.saved]
    assert host.saved.read_text().endswith(script)


def test_check_mode_checks_but_applies_nothing(host, capsys):
    host.table = False
    run(host, check_mode=True)
    out = result(capsys)
    assert out['changed'] is True
    assert any(c.startswith('-c -f') for c in host.commands)
    assert host.applied == []
    assert not host.saved.exists() and not host.conf.exists()


def test_refused_by_nft_check_changes_nothing(host, capsys):
    host.table = False
    host.check_rc = 1
    run(host)
    out = result(capsys)
    assert out['failed'] is True and 'nft -c refused' in out['msg']
    assert host.applied == [] and not host.saved.exists()


def test_first_run_persists_in_order(host, capsys):
    host.table = False
    host.enabled = 'disabled'
    host.conf.write_text('#!/usr/sbin/nft -f\nflush ruleset\ntable inet filter {\n}\n')
    os.chmod(host.conf, 0o755)
    run(host)
    out = result(capsys)
    assert out['persist_changes'] == ['write %s' % host.saved,
                                      'include %s (include "%s")' % (host.conf, host.saved),
                                      'enable nftables.service']
    assert out['added'][0] == 'table inet jaas'
    assert host.conf.read_text() == ('#!/usr/sbin/nft -f\nflush ruleset\ntable inet filter {\n}\n'
                                     'include "%s"  # jaas.firewall: table inet jaas\n' % host.saved)
    assert os.stat(host.conf).st_mode & 0o777 == 0o755
    assert 'systemctl enable nftables.service'.split(' ', 1)[1] in host.commands


def test_persist_false_removes_ours_only(host, capsys):
    host.save_converged()
    run(host, persist=False)
    out = result(capsys)
    assert out['changed'] is True and out['transaction'] is False
    assert not host.saved.exists()
    assert host.conf.read_text() == 'flush ruleset\n'
    assert not any(c.startswith('enable') or c.startswith('disable') for c in host.commands)


def test_absent_deletes_table_file_and_include(host, capsys):
    host.save_converged()
    run(host, state='absent')
    out = result(capsys)
    assert out['changed'] is True and out['removed'][0] == 'table inet jaas'
    assert host.applied == ['table inet jaas {}\ndelete table inet jaas\n']
    assert not host.saved.exists() and host.conf.read_text() == 'flush ruleset\n'
    assert out['table'] is None and out['connection_ports'] == []


def test_absent_on_a_clean_host_changes_nothing(host, capsys):
    host.table = False
    run(host, state='absent')
    out = result(capsys)
    assert out['changed'] is False and host.applied == []


def test_missing_nft_is_reported_when_asked(host, capsys):
    host.nft = False
    run(host, if_missing='report')
    out = result(capsys)
    assert out['installed'] is False and out['changed'] is False
    assert host.commands == []


def test_missing_nft_fails_by_default(host, capsys):
    host.nft = False
    run(host)
    out = result(capsys)
    assert out['failed'] is True and 'nftables is not installed' in out['msg']


@pytest.mark.parametrize('override, message', [
    (dict(prefix='jaas-x'), 'table name'),
    (dict(keep_open=[{'direction': 'out', 'protocol': 'udp', 'port': '0'}]), 'keep_open[0]'),
    (dict(rules=[dict(FIXTURE['rules'][0], network='198.18.2.201/29')]), 'rules[0]'),
    (dict(connection_port=70000), 'connection_port'),
])
def test_bad_input_fails_before_anything_is_read(host, capsys, override, message):
    run(host, **override)
    out = result(capsys)
    assert out['failed'] is True and message in out['msg'] and 'nothing changed' in out['msg']
    assert host.commands == []


def test_no_connection_rule_without_keep_connection(host, capsys):
    run(host, keep_connection=False, check_mode=True)
    out = result(capsys)
    assert 'ansible connection' not in out['diff']['after']
    assert out['connection_ports'] == []


@pytest.mark.parametrize('option', ['persist_config', 'persist_file'])
def test_a_newline_in_a_persist_path_is_refused_before_anything_is_read(host, capsys, option):
    run(host, **{option: str(host.conf) + '\ninclude "/tmp/evil.nft"'})
    out = result(capsys)
    assert out['failed'] is True and 'control character \\n' in out['msg'] and option in out['msg']
    assert not any(c.startswith(('-f', '-c', '-j')) for c in host.commands), host.commands
