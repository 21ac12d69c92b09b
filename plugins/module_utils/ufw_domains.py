# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The domain half for ufw (used by module_utils/ufw_backend.py).

ufw's rules cannot refer to a set that DNS answers fill, and an accept in another nftables
table cannot override ufw's drop (a packet must pass every base chain of its hook). So the
decision is split in two, each in the place that can make it:

1. A small nftables table of ours, ``inet jaas_domains``, holds the timed sets
   (module_utils/nft_domains.py, filled by the local resolver) and one output chain
   that runs before ufw's (priority filter - 10) and only *marks* a new connection to a
   listed address and port - ``meta mark set meta mark | <mark>`` - refreshing the
   address's timeout as the nftables backend does. It accepts everything; it never drops.
2. ufw accepts packets carrying that mark: one rule at the end of ``ufw-after-output``
   (``ufw6-after-output``), kept in a marked block of /etc/ufw/after.rules
   (after6.rules) and added to the running firewall directly (iptables
   ``-C``/``-A``/``-D``), without a ufw reload. ``ufw-after-output`` runs after
   ``ufw-user-output``, so the operator's own ``ufw deny``/``reject`` of an address beats a
   DNS answer for it. (Releases before the answer guard kept this rule in before.rules,
   ahead of the user's rules; a run moves it.)

Gateway mode (``gateway`` with ``gateway_in_interfaces``, module_utils/gateway.py): the
marking table gets a forward chain too (module_utils/domain_marks.py, ``iifname`` the LAN
interfaces), and the block in after.rules gets, per LAN interface, the accept of marked
packets at the end of ``ufw-after-forward`` (``-i <lan>``, ``-o <wan>`` for each named WAN
interface) and the accept of DNS (UDP and TCP 53) from it at the end of ``ufw-after-input``
(the resolver serves the LAN: module_utils/domain_resolver.py). They are kept in the
running firewall like the output accept; the operator's own ``ufw deny``/``route deny``
rules still win (ufw's user chains run first).

Answers in the answer guard's space (module_utils/answer_guard.py: private, loopback,
link-local, CGNAT, documentation ... by default) are never marked: the marking rule checks
the guard set right after the domain set.

The table is (re)loaded from /etc/jaas-firewall/domains.nft by the resolver service before
dnsmasq starts (``ExecStartPre``), so it exists at boot without touching nftables.service.
Python stdlib only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shlex

from ansible_collections.jaas.firewall.plugins.module_utils import (
    domain_marks, nft_domains, ufw_blocks, ufw_drop_log)
from ansible_collections.jaas.firewall.plugins.module_utils.domain_resolver import (
    Resolver, check_upstreams)
from ansible_collections.jaas.firewall.plugins.module_utils.domain_sets import (
    DomainError, broader_than_catalog, domain_options)
from ansible_collections.jaas.firewall.plugins.module_utils.gateway import (
    gateway_from_params, resolver_interfaces)
from ansible_collections.jaas.firewall.plugins.module_utils.model import ModelError
from ansible_collections.jaas.firewall.plugins.module_utils.ufw_plan import AFTER_RULES, UFW_DIR

TABLE = domain_marks.TABLE
TABLE_FILE = domain_marks.TABLE_FILE
CHAIN = {4: 'ufw-after-output', 6: 'ufw6-after-output'}
FORWARD_CHAIN = {4: 'ufw-after-forward', 6: 'ufw6-after-forward'}
INPUT_CHAIN = {4: 'ufw-after-input', 6: 'ufw6-after-input'}
# Where releases before the answer guard put the accept (ahead of the user's rules):
# a run removes it from there.
OLD_RULES = {4: 'before.rules', 6: 'before6.rules'}
OLD_CHAIN = {4: 'ufw-before-output', 6: 'ufw6-before-output'}
TOOL = {4: 'iptables', 6: 'ip6tables'}
DEFAULT_MARK = domain_marks.DEFAULT_MARK
mark_text = domain_marks.mark_text
check_mark = domain_marks.check_mark
BEGIN = '# BEGIN jaas.firewall domains (jaas_firewall_domains): accept what table inet %s marked' % TABLE
END = '# END jaas.firewall domains'
COMMENT = 'jaas.firewall domains'
DNS_COMMENT = 'jaas.firewall domains: gateway dns'


def table_script(domains, ttl, mark, exclude=None, lan=None):
    """The nft file of our marking table (module_utils/domain_marks.py); ``lan``: gateway
    mode's LAN interfaces (a forward marking chain), None = host only."""
    return domain_marks.table_script(domains, ttl, mark, exclude, backend='ufw',
                                     forward_interfaces=lan)


def accept_rule(family, mark, chain=None):
    """iptables arguments of ufw's accept for marked packets (after ``-A``/``-C``/``-D``)."""
    return [chain or CHAIN[family], '-m', 'mark', '--mark', '%s/%s' % (mark_text(mark), mark_text(mark)),
            '-m', 'comment', '--comment', COMMENT, '-j', 'ACCEPT']


def gateway_rules(family, mark, sides):
    """iptables arguments (after ``-A``/``-C``/``-D``) of gateway mode's accepts: marked
    forwarded packets from each LAN interface (to each WAN one when named), and DNS from
    each LAN interface to the gateway's resolver. ``sides``: (lan, wan) or None."""
    if not sides:
        return []
    lan, wan = sides
    match = ['-m', 'mark', '--mark', '%s/%s' % (mark_text(mark), mark_text(mark))]
    rules = []
    for name in lan:
        for out in list(wan) or [None]:
            rules.append([FORWARD_CHAIN[family], '-i', name] + (['-o', out] if out else [])
                         + match + ['-m', 'comment', '--comment', COMMENT, '-j', 'ACCEPT'])
    for name in lan:
        for protocol in ('udp', 'tcp'):
            rules.append([INPUT_CHAIN[family], '-i', name, '-p', protocol, '--dport', '53',
                          '-m', 'comment', '--comment', DNS_COMMENT, '-j', 'ACCEPT'])
    return rules


def _block(family, mark, sides=None):
    return '%s\n%s\n%s\n' % (BEGIN, '\n'.join(
        ufw_blocks.rule_line(rule) for rule in [accept_rule(family, mark)]
        + gateway_rules(family, mark, sides)), END)


def without_block(text):
    return ufw_blocks.without_block(text, BEGIN, END)


def with_block(text, family, mark, sides=None):
    """after.rules with our block right before the *filter section's COMMIT (``sides``:
    gateway mode's (lan, wan) interfaces, or None)."""
    text = without_block(text)
    lines = text.splitlines(True)
    at = ufw_blocks.filter_commit(lines)
    if at is not None:
        at = ufw_drop_log.block_start(lines, at)     # the drop log stays last
        return ''.join(lines[:at]) + _block(family, mark, sides) + ''.join(lines[at:])
    raise DomainError('%s has no *filter section with a COMMIT line'
                      % os.path.join(UFW_DIR, AFTER_RULES[family]))


def check_params(params):
    """The domain options checked before anything is read (DomainError)."""
    domains = domain_options(params, params['state'] == 'present')[0]
    check_mark(params['domain_mark'])
    check_upstreams(params['dns_upstreams'])
    if domains:
        try:
            resolver_interfaces(gateway_from_params(params), params['domains'])
        except ModelError as exc:
            raise DomainError(str(exc))


class UfwDomains(object):
    """desired -> read -> plan -> apply of the ufw domain half, resolver included."""

    def __init__(self, module, active, ipv6):
        self.module = module
        self.active = active
        self.families = [4, 6] if ipv6 else [4]
        self.resolver = Resolver(module, unit_pre=domain_marks.unit_pre(module))
        self.table = domain_marks.MarkTable(module)

    def desired(self, params):
        """None (nothing of ours) or the files and the resolver; DomainError on bad input."""
        domains, ttl, exclude = domain_options(params, params['state'] == 'present')
        mark = check_mark(params['domain_mark'])
        for entry in domains:
            entry['families'] = [f for f in entry['families'] if f in self.families]
        try:
            gateway = gateway_from_params(params)
            lan = resolver_interfaces(gateway, domains)
        except ModelError as exc:
            raise DomainError(str(exc))
        resolver = self.resolver.desired(
            domains, lambda category, family: nft_domains.nft_target(TABLE, category, family),
            'nftset', ttl, params['dns_upstreams'], lan_interfaces=lan,
            log_answers=params.get('log_drops', False))
        if not domains:
            return {'resolver': None, 'script': None, 'mark': mark, 'broader': [], 'sides': None}
        return {'resolver': resolver, 'script': table_script(domains, ttl, mark, exclude, lan),
                'mark': mark, 'sides': (lan, list(gateway.out_interfaces)) if lan else None,
                'broader': broader_than_catalog(domains)}

    def missing(self, desired):
        return domain_marks.missing(self.table, self.resolver, desired['resolver'])

    @staticmethod
    def _read(path):
        return domain_marks.read_file(path)

    def read(self, desired):
        live = {'script': None, 'after': {}, 'before': {}, 'runtime': {},
                'runtime_old': {}, 'runtime_gateway': {}, 'table': False}
        for family in self.families:
            live['after'][family] = self._read(os.path.join(UFW_DIR, AFTER_RULES[family]))
            live['before'][family] = self._read(os.path.join(UFW_DIR, OLD_RULES[family]))
        live['resolver'] = self.resolver.read(desired['resolver'])
        live['script'] = self._read(TABLE_FILE)
        ours = desired['resolver'] is not None or live['script'] is not None or any(
            BEGIN in (text or '') for files in (live['after'], live['before'])
            for text in files.values())
        if not ours:
            return live
        live['script'], live['table'] = self.table.read()
        if self.active:
            for family in self.families:
                tool = self.module.get_bin_path(TOOL[family])
                for key, chain in (('runtime', CHAIN[family]), ('runtime_old', OLD_CHAIN[family])):
                    rc, _out, _err = self.module.run_command(
                        [tool, '-w', '-C'] + accept_rule(family, desired['mark'], chain)) \
                        if tool else (1, '', '')
                    live[key][family] = rc == 0
                live['runtime_gateway'][family] = self._read_gateway_rules(
                    tool, family, desired['mark'], desired.get('sides'))
        return live

    def _read_gateway_rules(self, tool, family, mark, sides):
        """{'ours': [iptables arguments of each gateway accept of ours in the kernel],
        'missing': whether a wanted one is not there}."""
        ours = []
        if tool:
            for chain in (FORWARD_CHAIN[family], INPUT_CHAIN[family]):
                rc, out, _err = self.module.run_command([tool, '-w', '-S', chain])
                for line in out.splitlines() if rc == 0 else []:
                    words = shlex.split(line)
                    if words[:1] == ['-A'] and '--comment' in words[:-1] \
                            and words[words.index('--comment') + 1] in (COMMENT, DNS_COMMENT):
                        ours.append(words[1:])
        missing = False
        for rule in gateway_rules(family, mark, sides):
            rc, _out, _err = self.module.run_command([tool, '-w', '-C'] + rule) if tool \
                else (1, '', '')
            missing = missing or rc != 0
        return {'ours': ours, 'missing': missing}

    def plan(self, desired, live):
        """(changed, steps, resolver plan); steps ordered for apply().

        The accept for marked packets belongs in after.rules (after the user's rules); a
        copy in before.rules (earlier releases) is removed, on disk and in the kernel.
        """
        resolver = self.resolver.plan(desired['resolver'], live['resolver'])
        steps = []
        present = desired['script'] is not None
        for family in self.families:
            old = live['before'][family]
            if old is not None and without_block(old) != old:
                steps.append(('before', family, without_block(old)))
            if self.active and live['runtime_old'].get(family, False):
                steps.append(('runtime-old', family, False))
            text = live['after'][family]
            if text is None:
                continue
            want = with_block(text, family, desired['mark'], desired.get('sides')) \
                if present else without_block(text)
            if want != text:
                steps.append(('after', family, want))
            if self.active and live['runtime'].get(family, False) != present:
                steps.append(('runtime', family, present))
            if self.active:
                wanted = gateway_rules(family, desired['mark'], desired.get('sides')) \
                    if present else []
                kernel = live.get('runtime_gateway', {}).get(family) \
                    or {'ours': [], 'missing': False}
                if kernel['missing'] or len(kernel['ours']) != len(wanted):
                    steps.append(('runtime-gateway', family, (kernel['ours'], wanted)))
        if present and (live['script'] != desired['script'] or not live['table']):
            steps.append(('table', None, desired['script']))
        if not present and (live['script'] is not None or live['table']):
            steps.append(('table', None, None))
        return bool(steps) or resolver.changed, steps, resolver

    def apply(self, steps, resolver, present, mark):
        if not present and resolver.changed:
            self.resolver.apply(resolver)          # resolv.conf back before the sets go
        for kind, family, value in steps:
            if kind == 'table':
                self._table(value)
            elif kind in ('after', 'before'):
                files = AFTER_RULES if kind == 'after' else OLD_RULES
                self._replace(os.path.join(UFW_DIR, files[family]), value)
            elif kind in ('runtime', 'runtime-old'):
                chain = CHAIN[family] if kind == 'runtime' else OLD_CHAIN[family]
                tool = self.module.get_bin_path(TOOL[family], required=True)
                rc, out, err = self.module.run_command(
                    [tool, '-w', '-A' if value else '-D'] + accept_rule(family, mark, chain))
                if rc != 0:
                    self.module.fail_json(msg='%s %s failed: %s' % (
                        TOOL[family], 'adding' if value else 'removing', (err or out).strip()))
            elif kind == 'runtime-gateway':
                self._gateway_runtime(family, *value)
        if present and resolver.changed:
            self.resolver.apply(resolver)          # the sets exist before it fills them

    def _gateway_runtime(self, family, ours, wanted):
        """The gateway accepts in the running firewall: ours out, the wanted ones in (the
        same as the after.rules block, without a ufw reload)."""
        ufw_blocks.replace_running(self.module, TOOL[family], ours, wanted)

    def _table(self, script):
        if script is None:
            self.table.remove()
        else:
            self.table.load(script)

    @staticmethod
    def _replace(path, text):
        domain_marks.replace_file(path, text)
