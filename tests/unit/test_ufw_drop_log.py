# -*- coding: utf-8 -*-
"""ufw drop logging (module_utils/ufw_drop_log.py, log_drops) at unit speed: the block in
after.rules (written out by hand below: the jaas-drop prefix, rate-limited, only for the
directions whose default policy is deny/reject, forward only in gateway mode), last before
ufw's COMMIT and after the domain half's block, removed byte for byte; the running chains
converged only when our rule is the last one of its chain. Containers prove the behaviour
(tests/reliability/test_drop_logging_nft_ufw.py).
"""

from __future__ import annotations

from ansible_collections.jaas.firewall.plugins.module_utils import ufw_domains, ufw_drop_log

from canned.ufw import AFTER_RULES, BLOCK_V4

LOG_OUT = ('-A ufw-after-output -m limit --limit 10/sec --limit-burst 20 -m comment --comment '
           '"jaas.firewall log drops" -j LOG --log-prefix "jaas-drop out " --log-level 6\n')
LOG_IN = LOG_OUT.replace('ufw-after-output', 'ufw-after-input').replace('out "', 'in "')
LOG_FWD = LOG_OUT.replace('ufw-after-output', 'ufw-after-forward').replace('out "', 'fwd "')
BEGIN = ("# BEGIN jaas.firewall log drops (jaas_firewall_log_drops): what ufw's default "
         "policy drops\n")
END = '# END jaas.firewall log drops\n'
COMMIT = "# don't delete the 'COMMIT' line or these rules won't be processed\nCOMMIT\n"
POLICIES = {'incoming': 'deny', 'outgoing': 'reject', 'routed': 'deny'}


def test_block_is_last_before_commit_and_comes_out_byte_for_byte():
    rules = ufw_drop_log.wanted_rules(4, POLICIES, gateway=False)
    text = ufw_drop_log.with_block(AFTER_RULES, rules)
    assert text == AFTER_RULES.replace(COMMIT, BEGIN + LOG_OUT + LOG_IN + END + COMMIT)
    assert ufw_drop_log.with_block(text, rules) == text
    assert ufw_drop_log.with_block(text, []) == AFTER_RULES


def test_forward_only_in_gateway_mode_and_ipv6_chains():
    rules = ufw_drop_log.wanted_rules(6, POLICIES, gateway=True)
    assert [r[0] for r in rules] == ['ufw6-after-output', 'ufw6-after-input', 'ufw6-after-forward']
    text = ufw_drop_log.with_block(AFTER_RULES, ufw_drop_log.wanted_rules(4, POLICIES, True))
    assert BEGIN + LOG_OUT + LOG_IN + LOG_FWD + END in text


def test_allowing_policies_log_nothing():
    assert ufw_drop_log.wanted_rules(4, {'incoming': 'allow', 'outgoing': 'allow',
                                         'routed': 'disabled'}, True) == []
    assert ufw_drop_log.wanted_rules(4, {'outgoing': 'deny'}, False)[0][-3] == 'jaas-drop out '


def test_domain_block_stays_ahead_of_the_log_block_whichever_runs_first():
    rules = ufw_drop_log.wanted_rules(4, {'outgoing': 'deny'}, False)
    expected = AFTER_RULES.replace(COMMIT, BLOCK_V4 + BEGIN + LOG_OUT + END + COMMIT)
    logged = ufw_drop_log.with_block(AFTER_RULES, rules)
    first = ufw_domains.with_block(logged, 4, ufw_domains.DEFAULT_MARK)
    assert first == expected
    second = ufw_drop_log.with_block(
        ufw_domains.with_block(AFTER_RULES, 4, ufw_domains.DEFAULT_MARK), rules)
    assert second == expected
    # converged: neither moves anything any more
    assert ufw_domains.with_block(expected, 4, ufw_domains.DEFAULT_MARK) == expected
    assert ufw_drop_log.with_block(expected, rules) == expected


def test_runtime_converged_only_with_our_rule_last():
    rule = ufw_drop_log.log_rule('ufw-after-output', 'out')
    accept = ['ufw-after-output', '-m', 'mark', '--mark', '0x1/0x1', '-j', 'ACCEPT']
    converged = ufw_drop_log.UfwDropLog.runtime_converged
    assert converged({'ufw-after-output': [accept, rule]}, [rule])
    assert not converged({'ufw-after-output': [rule, accept]}, [rule])      # domain accept after it
    assert not converged({'ufw-after-output': [accept]}, [rule])            # missing
    assert not converged({'ufw-after-output': [rule, rule]}, [rule])        # twice
    assert not converged({'ufw-after-output': [accept, rule]}, [])          # false: must go
    assert converged({'ufw-after-output': [accept]}, [])


class FakeModule(object):
    def __init__(self, chains):
        self.chains = chains
        self.commands = []

    def get_bin_path(self, name, required=False):
        return '/usr/sbin/' + name

    def run_command(self, args):
        self.commands.append(args)
        if args[2] == '-S':
            rules = self.chains.get(args[3], [])
            return 0, ''.join('-A %s\n' % ' '.join('"%s"' % w if ' ' in w or w == '' else w
                                                    for w in r) for r in rules), ''
        chain = self.chains.setdefault(args[3], [])
        if args[2] == '-A':
            chain.append(args[3:])
        elif args[2] == '-D':
            chain.remove(args[3:])
        return 0, '', ''

    def fail_json(self, **kwargs):
        raise AssertionError(kwargs)


def test_apply_runtime_moves_our_rule_last_and_false_removes_it():
    rule = ufw_drop_log.log_rule('ufw-after-output', 'out')
    accept = ['ufw-after-output', '-m', 'mark', '--mark', '0x1/0x1', '-j', 'ACCEPT']
    module = FakeModule({'ufw-after-output': [rule, accept]})
    log = ufw_drop_log.UfwDropLog(module, [4])
    log.apply_runtime({'outgoing': 'deny'}, False)
    assert module.chains['ufw-after-output'] == [accept, rule]
    module.commands[:] = []
    log.apply_runtime({'outgoing': 'deny'}, False)
    assert all(c[2] == '-S' for c in module.commands)                       # converged: reads only
    log.apply_runtime({}, False)
    assert module.chains['ufw-after-output'] == [accept]
