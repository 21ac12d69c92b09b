# -*- coding: utf-8 -*-
"""jaas.firewall.firewalld_rules main() in milliseconds: firewalld's D-Bus layer replaced by
canned state (the shapes firewalld.client returns, written out by hand), so every branch of
main() runs: converged, live delta without reload, new objects with reload, check mode,
absent, missing firewalld. Containers prove the behaviour (extensions/molecule/firewalld).
"""

from __future__ import annotations


from ansible_collections.jaas.firewall.plugins.module_utils import firewalld_backend
from canned.firewalld import (  # noqa: F401 (fixtures)
    TURN_RULES, CONVERGED, FakeFirewalld, firewalld, run)


def test_converged_changes_nothing(firewalld, capsys):
    fake = firewalld(FakeFirewalld(CONVERGED))
    out = run(capsys)
    assert out['changed'] is False and out['added'] == [] and out['removed'] == []
    assert fake.calls == []
    assert out['ipsets'] == ['jaas-turn-v4'] and out['rich_rules'] == 2


def test_new_entry_goes_in_live_without_reload(firewalld, capsys):
    fake = firewalld(FakeFirewalld(CONVERGED))
    rules = TURN_RULES + [dict(rule, network='198.18.2.12/32') for rule in TURN_RULES[:2]]
    out = run(capsys, rules=rules)
    assert out.get('changed') is True and out['reloaded'] is False, out
    assert out['added'] == ['ipset jaas-turn-v4: 198.18.2.12/32'] and out['removed'] == []
    assert fake.calls == [('permanent', ['jaas-turn-v4'], []),
                          ('runtime', ['jaas-turn-v4'], [])]


def test_check_mode_reports_and_calls_nothing(firewalld, capsys):
    fake = firewalld(FakeFirewalld(CONVERGED))
    out = run(capsys, check_mode=True, rules=TURN_RULES[:2])      # 198.18.2.10 only
    assert out['changed'] is True
    # live entries are reported as networks, as the catalog writes them
    assert out['removed'] == ['ipset jaas-turn-v4: 198.18.2.11/32']
    assert fake.calls == []


def test_first_run_creates_objects_and_reloads_once(firewalld, capsys):
    empty = {'ipsets': {'other-set': CONVERGED['ipsets']['other-set']},
             'policies': {'other-policy': CONVERGED['policies']['other-policy']}}
    fake = firewalld(FakeFirewalld(empty))
    out = run(capsys)
    assert out['changed'] is True and out['reloaded'] is True
    assert fake.calls == [('permanent', ['jaas-turn-v4'], ['jaas-egress']), ('reload',)]
    assert len(out['added']) == 4                    # 2 entries + 2 rich rules


def test_absent_removes_only_ours(firewalld, capsys):
    fake = firewalld(FakeFirewalld(CONVERGED))
    out = run(capsys, state='absent', rules=[])
    assert out['changed'] is True
    assert fake.calls[0] == ('permanent', ['jaas-turn-v4'], ['jaas-egress'])
    assert not any('other' in item for item in out['removed'])


def test_missing_firewalld_is_reported_when_asked(firewalld, capsys):
    firewalld(FakeFirewalld(CONVERGED), installed=False)
    out = run(capsys, if_missing='report')
    assert out['changed'] is False and out['installed'] is False
    out = run(capsys)
    assert out['failed'] is True and 'python3-firewall' in out['msg']


def test_bad_keep_open_changes_nothing(firewalld, capsys):
    fake = firewalld(FakeFirewalld(CONVERGED))
    out = run(capsys, keep_open=[{'direction': 'out', 'protocol': 'udp', 'port': '0443'}])
    assert out['failed'] is True and 'nothing changed' in out['msg'] and 'keep_open[0]' in out['msg']
    assert fake.calls == []


def test_ssh_config_port_becomes_an_inbound_rule(firewalld, capsys, monkeypatch):
    from ansible_collections.jaas.firewall.plugins.module_utils import connection
    monkeypatch.setattr(firewalld_backend, 'kept_connection_ports', lambda keep, port=None:
                        connection.kept_connection_ports(keep, port, detect=lambda: [2222]))
    firewalld(FakeFirewalld(CONVERGED))
    out = run(capsys, keep_connection=True, check_mode=True)
    assert out['connection_ports'] == [2222]
    assert 'policy jaas-ingress: rule port port="2222" protocol="tcp" accept' in out['added']
