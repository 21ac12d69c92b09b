"""Canned nftables host for the module tests (moved from tests/unit/test_nftables_module.py)."""

from __future__ import annotations

import json
import os

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from module_runs import end_previous_run
from ansible_collections.jaas.firewall.plugins.modules import nftables_rules
from ansible_collections.jaas.firewall.plugins.module_utils.gateway import Gateway
from ansible_collections.jaas.firewall.plugins.module_utils import nftables_plan as nft

GOLDEN = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'golden')
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


def install(fake, monkeypatch):
    """Route the module's commands to ``fake``; the connection's port, as the skeleton
    detects it on the host, is 2222."""
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path',
                        lambda module, name, *a, **k: fake.get_bin_path(module, name, *a, **k))
    monkeypatch.setattr(basic.AnsibleModule, 'run_command',
                        lambda module, args, **k: fake.run_command(module, args, **k))
    from ansible_collections.jaas.firewall.plugins.module_utils import connection, converge
    monkeypatch.setattr(converge, 'kept_connection_ports', lambda keep, port=None:
                        connection.kept_connection_ports(keep, port, detect=lambda: [2222]))
    return fake


@pytest.fixture
def host(tmp_path, monkeypatch):
    return install(FakeHost(tmp_path), monkeypatch)


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


LIVE_VERSIONS = ('1.0.6', '1.1.3')


def fixture_model(**changes):
    args = dict(rules=FIXTURE['rules'], keep_open=FIXTURE['keep_open'],
                connection_ports=FIXTURE['connection_ports'],
                default_incoming=FIXTURE['default_incoming'],
                default_outgoing=FIXTURE['default_outgoing'])
    args.update(changes)
    return nft.desired_model(**args)


LAN_WAN = Gateway(('lan1', 'lan0'), ('wan0',))


def gateway_model(**changes):
    args = dict(gateway=Gateway(tuple(FIXTURE['gateway']['in_interfaces']),
                                tuple(FIXTURE['gateway']['out_interfaces'])),
                default_forward=FIXTURE['gateway']['default_forward'])
    args.update(changes)
    return fixture_model(**args)
