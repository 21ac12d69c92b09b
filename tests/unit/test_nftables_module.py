# -*- coding: utf-8 -*-
"""jaas.firewall.nftables_rules main() in milliseconds: canned nft/systemctl answers (the
listings real nft printed, tests/golden/nftables_live_*.json), every branch of the
converge skeleton, check mode included. Containers prove the behaviour (extensions/molecule/nftables);
these pin which commands run, and when.
"""

from __future__ import annotations

import os

import pytest


from canned.nftables import (  # noqa: F401 (fixtures)
    FIXTURE, host, run, result)


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


def test_without_diff_mode_the_ruleset_is_not_sent_back(host, capsys):
    # Both texts are the whole table: every host would return them on every run.
    host.save_converged()
    run(host, _ansible_diff=False)
    out = result(capsys)
    assert out['changed'] is False and 'diff' not in out
    run(host, _ansible_diff=False, rules=[])      # a change, still no diff without --diff
    out = result(capsys)
    assert out['changed'] is True and 'diff' not in out
