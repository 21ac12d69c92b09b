"""Canned ufw host for the module tests (moved from tests/unit/test_ufw_module.py)."""

from __future__ import annotations


import pytest

from ansible.module_utils import basic

from module_runs import run_main
from ansible_collections.jaas.firewall.plugins.module_utils import connection, ufw_backend, ufw_drop_log
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

    def __init__(self, tmp_path, active=True, installed=True, ipv6='yes', outgoing='ACCEPT',
                 init='ok', recent=False, routed=None):
        self.dir = tmp_path / 'ufw'
        self.dir.mkdir()
        # /proc/net/xt_recent: the kernel's recent match is loaded (ufw logging not needed)
        self.recent = tmp_path / 'xt_recent'
        if recent:
            self.recent.mkdir()
        self.active = active
        # ufw's init script: 'ok' starts ufw, 'fails' exits 1, None: there is none
        self.init = tmp_path / 'ufw-init'
        self.init_answer = init
        if init is not None:
            self.init.write_text('#!/bin/sh\nexit 99\n')   # never run: run_command is canned
            self.init.chmod(0o755)
        self.installed = installed
        self.commands = []
        if installed:
            (self.dir / 'user.rules').write_text(RULES_FILE)
            (self.dir / 'user6.rules').write_text(RULES_FILE.replace('ufw-', 'ufw6-'))
            (self.dir / 'ufw.conf').write_text('ENABLED=%s\nLOGLEVEL=low\n'
                                               % ('yes' if active else 'no'))
            for name in ('after.rules', 'after6.rules'):
                (self.dir / name).write_text(ADMIN_AFTER_RULES)
        self.defaults = tmp_path / 'default-ufw'
        self.defaults.write_text('IPV6=%s\nDEFAULT_INPUT_POLICY="DROP"\n'
                                 'DEFAULT_OUTPUT_POLICY="%s"\n' % (ipv6, outgoing)
                                 + ('DEFAULT_FORWARD_POLICY="%s"\n' % routed if routed else ''))

    def get_bin_path(self, name, required=False, opt_dirs=None):
        if name == 'ufw' and not self.installed:
            return None
        return '/usr/sbin/%s' % name

    def run_command(self, args, **kwargs):
        self.commands.append(' '.join(str(a) for a in args))
        if args[0] == str(self.init):
            if self.init_answer == 'fails':
                return 1, '', 'iptables-restore: line 5 failed\n'
            self.active = True
            return 0, '', ''
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
        monkeypatch.setattr(ufw_drop_log, 'UFW_DIR', str(fake.dir))
        monkeypatch.setattr(ufw_backend, 'DEFAULTS_FILE', str(fake.defaults))
        monkeypatch.setattr(ufw_backend, 'UFW_INIT', (str(fake.init),))
        monkeypatch.setattr(ufw_backend, 'XT_RECENT', str(fake.recent))
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


# The shape of Debian's /etc/ufw/after.rules (ufw 0.36), shortened by hand.
AFTER_RULES = """#
# rules.input-after
#
# Rules that should be run after the ufw command line added rules. Custom
# rules should be added to one of these chains:
#   ufw-after-input
#   ufw-after-output
#   ufw-after-forward
#

# Don't delete these required lines, otherwise there will be errors
*filter
:ufw-after-input - [0:0]
:ufw-after-output - [0:0]
:ufw-after-forward - [0:0]
# End required lines

# don't log noisy services by default
-A ufw-after-input -p udp --dport 137 -j ufw-skip-to-policy-input

# don't delete the 'COMMIT' line or these rules won't be processed
COMMIT
"""


# ... with an admin's log rule carrying ufw's catch-all prefix (`ufw default` swaps it)
ADMIN_LOG = '-A ufw-after-input -p udp --dport 5353 -j LOG --log-prefix "[UFW ALLOW] "\n'
ADMIN_AFTER_RULES = AFTER_RULES.replace("# don't delete the 'COMMIT'", ADMIN_LOG + "\n# don't delete the 'COMMIT'")


# Written out by hand: what ufw must find right before its COMMIT. ufw-after-output runs
# after ufw-user-output, so an operator's `ufw deny out ...` is judged first.
BLOCK_V4 = ('# BEGIN jaas.firewall domains (jaas_firewall_domains): accept what table inet '
            'jaas_domains marked\n'
            '-A ufw-after-output -m mark --mark 0x1000000/0x1000000 -m comment --comment '
            '"jaas.firewall domains" -j ACCEPT\n'
            '# END jaas.firewall domains\n')


HEAD = """*filter
:ufw-user-input - [0:0]
:ufw-user-output - [0:0]
### RULES ###
"""


TAIL = """### END RULES ###

### LOGGING ###
-A ufw-logging-allow -j LOG --log-prefix "[UFW ALLOW] " -m limit --limit 3/min --limit-burst 10
### END LOGGING ###
COMMIT
"""


def rule(network, protocol='tcp', ports='443', block='jvb', region='uk', family=4,
         direction='out'):
    return {'direction': direction, 'family': family, 'network': network,
            'protocol': protocol, 'ports': ports, 'block': block, 'region': region}


def rules_file(*blocks):
    return HEAD + ''.join(blocks) + '\n' + TAIL
