# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drop logging for ufw (``log_drops``, used by module_utils/ufw_backend.py).

ufw's own logging (``ufw logging``) is global and shares ``[UFW BLOCK]`` with the admin's
rules. What the role's default deny/reject drops is logged separately, with the tag no other
rule uses (``jaas-drop out `` / ``in `` / ``fwd ``, read by jaas.firewall.drop_report): one
rate-limited LOG rule at the very end of ``ufw-after-output`` (``ufw-after-input``, and
``ufw-after-forward`` in gateway mode; ``ufw6-after-*`` for IPv6), only when that direction's
default policy is deny or reject. ufw's after chains run after its user chains and before
the policy, so what reaches their end is exactly what no rule accepted.

The same mechanism as the domain half (module_utils/ufw_domains.py): a marked block in
/etc/ufw/after.rules (after6.rules), last before the *filter COMMIT (after the domain half's
block, whose accepts must come first), loaded by every ufw reload, and the running firewall
brought to the same state directly (iptables ``-S``/``-D``/``-A``), without a reload. A log
rule of ours that is not the last rule of its chain (say the domain half appended its accept
after it) is moved back to the end. ``log_drops: false`` removes the block and the rules.
Python stdlib only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shlex

from ansible_collections.jaas.firewall.plugins.module_utils import domain_marks, ufw_blocks
from ansible_collections.jaas.firewall.plugins.module_utils.ufw_plan import AFTER_RULES, UFW_DIR

TOOL = {4: 'iptables', 6: 'ip6tables'}
# direction -> (the ufw default policy that drops it, chain per family)
CHAINS = (('out', 'outgoing', {4: 'ufw-after-output', 6: 'ufw6-after-output'}),
          ('in', 'incoming', {4: 'ufw-after-input', 6: 'ufw6-after-input'}),
          ('fwd', 'routed', {4: 'ufw-after-forward', 6: 'ufw6-after-forward'}))
DROPPING = ('deny', 'reject')
TAG = 'jaas-drop'
COMMENT = 'jaas.firewall log drops'
BEGIN = '# BEGIN jaas.firewall log drops (jaas_firewall_log_drops): what ufw\'s default policy drops'
END = '# END jaas.firewall log drops'


def log_rule(chain, direction):
    """iptables arguments (after ``-A``/``-C``/``-D``) of one chain's log rule, in the order
    ``iptables -S`` prints them."""
    return [chain, '-m', 'limit', '--limit', '10/sec', '--limit-burst', '20',
            '-m', 'comment', '--comment', COMMENT,
            '-j', 'LOG', '--log-prefix', '%s %s ' % (TAG, direction), '--log-level', '6']


def wanted_rules(family, policies, gateway):
    """[iptables arguments] of the log rules one family needs: a direction whose default
    policy is deny or reject (forward only in gateway mode)."""
    rules = []
    for direction, policy, chains in CHAINS:
        if direction == 'fwd' and not gateway:
            continue
        if policies.get(policy) in DROPPING:
            rules.append(log_rule(chains[family], direction))
    return rules


def without_block(text):
    return ufw_blocks.without_block(text, BEGIN, END)


def block_start(lines, at):
    """Where a block that must precede ours goes: ``at`` (the COMMIT line, or ufw's comment
    above it), or the start of our block when it ends right there."""
    if at and lines[at - 1].rstrip('\n') == END:
        for index in range(at - 1, -1, -1):
            if lines[index].rstrip('\n') == BEGIN:
                return index
    return at


def with_block(text, rules):
    """after.rules with our block (``rules``; none = no block) last before the *filter
    section's COMMIT. A file without one is returned unchanged (ufw would refuse it anyway)."""
    text = without_block(text)
    if not rules:
        return text
    lines = text.splitlines(True)
    at = ufw_blocks.filter_commit(lines)
    if at is None:
        return text
    block = '%s\n%s\n%s\n' % (BEGIN, '\n'.join(ufw_blocks.rule_line(r) for r in rules), END)
    return ''.join(lines[:at]) + block + ''.join(lines[at:])


class UfwDropLog(object):
    """read -> plan -> apply of the log rules, files and running firewall."""

    def __init__(self, module, families):
        self.module = module
        self.families = families

    def read(self, active, wanted):
        """after.rules; the running chains only when logging is wanted or a block of ours
        is on disk (a host that never logged costs no iptables call)."""
        live = {'after': {}, 'runtime': {}}
        for family in self.families:
            live['after'][family] = domain_marks.read_file(
                os.path.join(UFW_DIR, AFTER_RULES[family]))
        ours = wanted or any(BEGIN in (text or '') for text in live['after'].values())
        for family in self.families if active and ours else ():
            live['runtime'][family] = self._chains(family)
        return live

    def _chains(self, family):
        """{chain: [rule arguments]} of the chains we may log in (missing chain: [])."""
        tool = self.module.get_bin_path(TOOL[family])
        result = {}
        for _direction, _policy, chains in CHAINS:
            rules = []
            if tool:
                rc, out, _err = self.module.run_command([tool, '-w', '-S', chains[family]])
                for line in out.splitlines() if rc == 0 else []:
                    words = shlex.split(line)
                    if words[:1] == ['-A']:
                        rules.append(words[1:])
            result[chains[family]] = rules
        return result

    @staticmethod
    def runtime_converged(chains, wanted):
        """Each wanted rule exactly once and last in its chain; no other rule of ours."""
        for chain, rules in chains.items():
            want = [rule for rule in wanted if rule[0] == chain]
            ours = [rule for rule in rules if COMMENT in rule]
            if ours != want or (want and rules[-1] != want[0]):
                return False
        return True

    def plan(self, live, policies, gateway, active):
        """[(kind, family, value)] steps: ``after`` (new file text), ``runtime`` (wanted rules)."""
        steps = []
        for family in self.families:
            wanted = wanted_rules(family, policies, gateway)
            text = live['after'].get(family)
            if text is not None and with_block(text, wanted) != text:
                steps.append(('after', family, wanted))
            if active and not self.runtime_converged(live['runtime'].get(family, {}), wanted):
                steps.append(('runtime', family, wanted))
        return steps

    def apply_files(self, steps):
        """Our block in after.rules, re-read now (the domain half may have just written it)."""
        for kind, family, wanted in steps:
            if kind == 'after':
                path = os.path.join(UFW_DIR, AFTER_RULES[family])
                text = domain_marks.read_file(path)
                if text is not None and with_block(text, wanted) != text:
                    domain_marks.replace_file(path, with_block(text, wanted))

    def apply_runtime(self, policies, gateway):
        """The running firewall as the block says: ours out, the wanted ones appended last
        (read again now: a reload or the domain half may have changed the chains)."""
        for family in self.families:
            wanted = wanted_rules(family, policies, gateway)
            chains = self._chains(family)
            if self.runtime_converged(chains, wanted):
                continue
            ours = [rule for rules in chains.values() for rule in rules if COMMENT in rule]
            ufw_blocks.replace_running(self.module, TOOL[family], ours, wanted)
