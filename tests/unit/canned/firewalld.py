"""Canned firewalld host for the module tests (moved from tests/unit/test_firewalld_module.py)."""

from __future__ import annotations

import copy

import pytest

from ansible.module_utils import basic

from module_runs import run_main
from ansible_collections.jaas.firewall.plugins.module_utils import firewalld_backend
from ansible_collections.jaas.firewall.plugins.modules import firewalld_rules
import copy

TURN_RULES = [dict(direction='out', family=4, network=network, protocol=protocol, ports=ports,
                   block='turn', region='lab')
              for network in ('198.18.2.10/32', '198.18.2.11/32')
              for protocol, ports in (('tcp', '443'), ('udp', '49152-65535'))]
# What firewalld holds after a converging run for TURN_RULES (hand-written).
CONVERGED = {
    'ipsets': {'jaas-turn-v4': {'type': 'hash:net', 'family': 'inet',
                                'entries': ['198.18.2.10', '198.18.2.11']},
               'other-set': {'type': 'hash:ip', 'family': 'inet', 'entries': ['198.18.9.1']}},
    'policies': {
        'jaas-egress': {'target': 'CONTINUE', 'ingress_zones': ['HOST'], 'egress_zones': ['ANY'],
                        'rich_rules': [
                            'rule family="ipv4" destination ipset="jaas-turn-v4" port port="443" '
                            'protocol="tcp" accept',
                            'rule family="ipv4" destination ipset="jaas-turn-v4" '
                            'port port="49152-65535" protocol="udp" accept']},
        'other-policy': {'target': 'CONTINUE', 'ingress_zones': ['HOST'],
                         'egress_zones': ['ANY'], 'rich_rules': []}},
}


class FakeFirewalld(object):
    """Stands for firewalld_backend.Firewalld: canned layers, records what would be called."""

    def __init__(self, permanent, runtime=None, running=True):
        self.permanent = permanent
        self.runtime = copy.deepcopy(permanent if runtime is None else runtime)
        self.running = running
        self.calls = []

    def read_permanent(self):
        return copy.deepcopy(self.permanent)

    def read_runtime(self):
        return copy.deepcopy(self.runtime)

    def apply_permanent(self, desired, changes):
        self.calls.append(('permanent', sorted(changes['ipsets']), sorted(changes['policies'])))

    def apply_runtime(self, desired, changes):
        self.calls.append(('runtime', sorted(changes['ipsets']), sorted(changes['policies'])))

    def reload(self):
        self.calls.append(('reload',))


@pytest.fixture
def firewalld(tmp_path, monkeypatch):
    state = {}

    def install(fake, installed=True):
        state['fake'] = fake
        monkeypatch.setattr(firewalld_backend, 'HAS_FIREWALL', installed)
        monkeypatch.setattr(firewalld_backend, 'Firewalld', lambda prefix: fake)
        # firewalld's own rich-rule parser is not installed on the controller
        monkeypatch.setattr(firewalld_backend, 'canonical_rules', lambda desired: desired)
        monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path',
                            lambda module, name, *a, **k: None if not installed
                            else '/usr/bin/%s' % name)
        monkeypatch.setattr(basic.AnsibleModule, 'run_command',
                            lambda module, args, **k: (0, 'enabled\n', ''))
        return fake
    return install


def run(capsys, check_mode=False, **args):
    args.setdefault('rules', TURN_RULES)
    args.update(_ansible_check_mode=check_mode, _ansible_diff=True)
    return run_main(firewalld_rules.main, args, capsys)


SHOW_LOADED = 'LoadState=loaded\nUnitFileState=disabled\n'


class Host(object):
    """One canned host: firewalld's layers over D-Bus and the systemd/offline commands,
    every call in one ordered log."""

    def __init__(self, permanent, running=True, is_enabled='enabled', show=SHOW_LOADED,
                 refuse=None):
        self.permanent = copy.deepcopy(permanent)
        self.running = running
        self.is_enabled, self.show, self.refuse = is_enabled, show, refuse
        self.log = []

    # firewalld_backend.Firewalld
    def read_permanent(self):
        self.log.append('read permanent')
        return copy.deepcopy(self.permanent)

    def read_runtime(self):
        self.log.append('read runtime')
        return copy.deepcopy(self.permanent)

    def apply_permanent(self, desired, changes):
        self.log.append('apply permanent')
        if self.refuse:
            raise RuntimeError(self.refuse)

    def apply_runtime(self, desired, changes):
        self.log.append('apply runtime')

    def reload(self):
        self.log.append('reload')

    # AnsibleModule.run_command
    def command(self, argv):
        name = argv[0].rsplit('/', 1)[-1]
        self.log.append(' '.join([name] + list(argv[1:])))
        if name == 'systemctl' and argv[1] == 'show':
            return 0, self.show, ''
        if name == 'systemctl' and argv[1] == 'is-enabled':
            return 0, self.is_enabled + '\n', ''
        if name == 'systemctl' and argv[1] == 'start':
            self.running = True
        if name == 'firewall-offline-cmd' and argv[1] == '--get-policies':
            return 0, 'allow-host-ipv6\n', ''
        return 0, '', ''


class RichRule(object):
    """firewalld's rich-rule parser is not installed on the controller: spelt as given."""

    def __init__(self, rule_str):
        self.text = rule_str

    def __str__(self):
        return self.text


def rule(block, network, protocol='tcp', ports='443', direction='out', region=None):
    family = 6 if ':' in network else 4
    return {'direction': direction, 'family': family, 'network': network, 'protocol': protocol,
            'ports': ports, 'block': block, 'region': region}


TURN = [rule('turn', net, proto, ports, region=region)
        for region, net in (('uk-london', '140.238.95.196/32'), ('de-frankfurt', '130.61.64.185/32'))
        for proto, ports in (('tcp', '443'), ('udp', '443'), ('udp', '49152-65535'))]


CLOUDFLARE = [rule('cloudflare', net, proto, None)
              for net in ('173.245.48.0/20', '2400:cb00::/32') for proto in ('tcp', 'udp')]


WEBHOOK = [rule('webhook_origins', '52.26.201.32/32', 'tcp', '8443', direction='in')]
