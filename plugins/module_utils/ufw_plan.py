# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure half of jaas.firewall.ufw_rules: ufw's user rules files, rendered, diffed and
planned (``plan_files``), with the safety rules and settings helpers; the host side is
module_utils/ufw_backend.py.

ufw keeps the rules it was given in /etc/ufw/user.rules and user6.rules (iptables-restore
format). Between ``### RULES ###`` and ``### END RULES ###`` every rule is one block::

    <blank line>
    ### tuple ### allow tcp 443 198.18.1.0/24 any 0.0.0.0/0 out comment=6a6161733a6a7662
    -A ufw-user-output -p tcp -d 198.18.1.0/24 --dport 443 -j ACCEPT

Gateway mode adds route rules (``ufw route allow``), written by ufw 0.36 as::

    ### tuple ### route:allow tcp 443 198.18.7.0/24 any 0.0.0.0/0 in_lan0!out_wan0 comment=...
    -A ufw-user-forward -i lan0 -o wan0 -p tcp -d 198.18.7.0/24 --dport 443 -j ACCEPT

(``in_lan0`` or ``out_wan0`` alone when one side is any interface, ``in`` when both are).

The tuple line is what ufw itself parses back (``ufw show added``, ``ufw delete``); the
iptables lines are what ``iptables-restore`` loads. This module renders our rules exactly
as ufw 0.36 renders them (``UFWRule.format_rule`` + ``_write_rules``) and splices them
into the file text, leaving every other line byte for byte as it was.

No ufw import here: this runs on the managed host inside the module and in the unit tests
on the controller. Python stdlib only; every value is parsed by the rule model
(module_utils/model.py), exactly as on the controller.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import collections
import os

from ansible_collections.jaas.firewall.plugins.module_utils import model
from ansible_collections.jaas.firewall.plugins.module_utils.model import ModelError

# ufw's files (the domain half and drop logging write the after rules)
UFW_DIR = '/etc/ufw'
RULES_FILES = {4: 'user.rules', 6: 'user6.rules'}
AFTER_RULES = {4: 'after.rules', 6: 'after6.rules'}
DEFAULTS_FILE = '/etc/default/ufw'
LOGLEVELS = ('off', 'low', 'medium', 'high', 'full')
POLICY_DIRECTIONS = ('incoming', 'outgoing', 'routed')

RULES_START = '### RULES ###'
RULES_END = '### END RULES ###'
TUPLE_MARK = '### tuple ###'
# Chain prefixes ufw uses per family.
CHAIN_PREFIX = {4: 'ufw', 6: 'ufw6'}
ANY_ADDRESS = {4: '0.0.0.0/0', 6: '::/0'}
# Block keys (guard_blocks, exclude_blocks) and the tag prefix: the model's name rules, so
# nothing odd ever reaches a file or a command.
SLUG = model.NAME_RULES['block key'].regex
TAG_PREFIX = model.NAME_RULES['ufw tag prefix'].regex


class UfwRulesError(ValueError):
    """A rule cannot be rendered for ufw, or a rules file is not in ufw's format."""


# ----------------------------------------------------------------------------- rendering

def ufw_address(network, family):
    """The address as ufw writes it: canonical, host routes without their prefix."""
    try:
        parsed = model.parse_network(network)
    except ModelError as exc:
        raise UfwRulesError(str(exc.at(field='network')))
    if parsed.version != family:
        raise UfwRulesError('network: %s is not IPv%d (family %d)' % (parsed, family, family))
    if parsed.prefixlen == 0:
        return ANY_ADDRESS[family]
    if parsed.prefixlen == parsed.max_prefixlen:
        return str(parsed.network_address)
    return str(parsed)


def ufw_ports(ports):
    """'443' -> '443', '443-443' -> '443', '49152-65535' -> '49152:65535', None -> 'any'."""
    try:
        text = model.ports_text(ports)
    except ModelError as exc:
        raise UfwRulesError(str(exc.at(field='ports')))
    return 'any' if text is None else text.replace('-', ':')


def rule_comment(rule, tag_prefix):
    """The ownership mark: '<tag_prefix>:<block>[:<region>]'."""
    for key, kind in (('block', 'block key'), ('region', 'region key')):
        value = rule.get(key)
        if value is not None or key == 'block':
            try:
                model.check_name(kind, value)
            except ModelError as exc:
                raise UfwRulesError(str(exc.at(field=key)))
    comment = '%s:%s' % (tag_prefix, rule['block'])
    if rule.get('region'):
        comment += ':%s' % rule['region']
    return comment


def encode_comment(comment):
    return binascii.hexlify(comment.encode('utf-8')).decode('ascii')


def decode_comment(hex_text):
    """ufw's hex comment back to text, or None when it is not valid hex/UTF-8."""
    try:
        return binascii.unhexlify(hex_text.strip()).decode('utf-8')
    except (binascii.Error, ValueError, TypeError):
        return None


def check_tag_prefix(tag_prefix):
    try:
        return model.check_name('ufw tag prefix', tag_prefix)
    except ModelError as exc:
        raise UfwRulesError(str(exc.at('tag_prefix')))


def _parts(rule, tag_prefix, where):
    """The validated rule's (family, protocol, dport, dst, src, hex comment) as ufw spells them."""
    check_tag_prefix(tag_prefix)
    try:
        rule = model.normalise_rule(rule, where)
    except ModelError as exc:
        raise UfwRulesError(str(exc))
    family = rule['family']
    address = ufw_address(rule['network'], family)
    anywhere = ANY_ADDRESS[family]
    dst, src = (address, anywhere) if rule['direction'] == 'out' else (anywhere, address)
    return (family, rule['protocol'], ufw_ports(rule.get('ports')), dst, src,
            encode_comment(rule_comment(rule, tag_prefix)))


def _match_spec(protocol, dport, dst, src, anywhere):
    """UFWRule.format_rule's order: -p, multiport ranges first, then -d, --dport, -s."""
    spec = '-p %s' % protocol
    multi = ':' in dport
    if multi:
        spec += ' -m multiport --dports %s' % dport
    if dst != anywhere:
        spec += ' -d %s' % dst
    if not multi and dport != 'any':
        spec += ' --dport %s' % dport
    if src != anywhere:
        spec += ' -s %s' % src
    return spec


def render_block(rule, tag_prefix, where=None):
    """(family, block text) for one rule of the interface, exactly as ufw 0.36 writes it.

    The rule is validated and normalised by the model first (errors located at ``where``).
    """
    family, protocol, dport, dst, src, comment = _parts(rule, tag_prefix, where)
    direction = rule['direction']
    tuple_line = '%s allow %s %s %s any %s %s comment=%s' % (
        TUPLE_MARK, protocol, dport, dst, src, direction, comment)
    spec = _match_spec(protocol, dport, dst, src, ANY_ADDRESS[family])
    chain = '%s-user-%s' % (CHAIN_PREFIX[family], 'output' if direction == 'out' else 'input')
    return family, '\n%s\n-A %s %s -j ACCEPT\n' % (tuple_line, chain, spec)


def check_interface(name, where):
    try:
        return model.check_name('interface name', name)
    except ModelError as exc:
        raise UfwRulesError(str(exc.at(where)))


def render_route_block(rule, tag_prefix, in_interface=None, out_interface=None, where=None):
    """(family, block text) of the route rule ufw 0.36 writes for
    ``ufw route allow [in on IN] [out on OUT] to NETWORK [port PORTS] proto PROTOCOL``.

    Only outbound rules of the interface are routed (gateway mode); None = any interface.
    """
    if rule.get('direction') != 'out':
        raise UfwRulesError('%s: only outbound rules are routed (gateway mode), got direction %r'
                            % (where or 'rule', rule.get('direction')))
    family, protocol, dport, dst, src, comment = _parts(rule, tag_prefix, where)
    sides, matches = [], ''
    if in_interface is not None:
        sides.append('in_%s' % check_interface(in_interface, 'gateway_in_interfaces'))
        matches += '-i %s ' % in_interface
    if out_interface is not None:
        sides.append('out_%s' % check_interface(out_interface, 'gateway_out_interfaces'))
        matches += '-o %s ' % out_interface
    tuple_line = '%s route:allow %s %s %s any %s %s comment=%s' % (
        TUPLE_MARK, protocol, dport, dst, src, '!'.join(sides) or 'in', comment)
    spec = _match_spec(protocol, dport, dst, src, ANY_ADDRESS[family])
    chain = '%s-user-forward' % CHAIN_PREFIX[family]
    return family, '\n%s\n-A %s %s%s -j ACCEPT\n' % (tuple_line, chain, matches, spec)


# ----------------------------------------------------------------------------- parsing

class UserRules(object):
    """One user rules file split into head, rule blocks and tail, losslessly.

    ``str(UserRules(text)) == text`` for every file ufw writes. Each block is the exact
    text of one rule including the blank line ufw writes before it.
    """

    def __init__(self, text, path='user.rules'):
        lines = text.splitlines(True)
        starts = [i for i, line in enumerate(lines) if line.strip() == RULES_START]
        ends = [i for i, line in enumerate(lines) if line.strip() == RULES_END]
        if len(starts) != 1 or len(ends) != 1 or starts[0] > ends[0]:
            raise UfwRulesError('%s: not a ufw user rules file (expected one "%s" and one '
                                '"%s" line)' % (path, RULES_START, RULES_END))
        start, end = starts[0], ends[0]
        self.head = ''.join(lines[:start + 1])
        self.preamble = []
        self.blocks = []
        for line in lines[start + 1:end]:
            if line.startswith(TUPLE_MARK):
                carried = _pop_blank_tail(self.blocks[-1] if self.blocks else self.preamble)
                self.blocks.append(carried + [line])
            elif self.blocks:
                self.blocks[-1].append(line)
            else:
                self.preamble.append(line)
        self.postamble = _pop_blank_tail(self.blocks[-1] if self.blocks else self.preamble)
        self.tail = ''.join(lines[end:])
        self.blocks = [''.join(block) for block in self.blocks]

    def __str__(self):
        return ''.join([self.head] + self.preamble + self.blocks + self.postamble + [self.tail])


def is_package_template(text):
    """True for the file as the ufw package ships it: no rule ever added by ufw.

    ufw writes its full format (``### END RULES ###``, logging section) the first time it
    changes the rules; until then the file has a ``### RULES ###`` line and nothing after it
    that is a rule.
    """
    lines = [line.strip() for line in text.splitlines()]
    return lines.count(RULES_START) == 1 and RULES_END not in lines and \
        not any(line.startswith(TUPLE_MARK) for line in lines)


def as_empty_rules_file(text):
    """A package template with an empty rules section, for planning (never written)."""
    return text.replace(RULES_START + '\n', RULES_START + '\n\n' + RULES_END + '\n', 1)


def _pop_blank_tail(lines):
    """Remove and return the trailing blank lines of ``lines``."""
    cut = len(lines)
    while cut > 0 and not lines[cut - 1].strip():
        cut -= 1
    tail = lines[cut:]
    del lines[cut:]
    return tail


def block_tuple(block):
    """The tuple line of a block, without line ending."""
    for line in block.splitlines():
        if line.startswith(TUPLE_MARK):
            return line.rstrip('\r\n')
    return None


def block_comment(block):
    """The decoded ufw comment of a block, or None."""
    line = block_tuple(block) or ''
    if ' comment=' not in line:
        return None
    return decode_comment(line.split(' comment=', 1)[1])


def owns(comment, tag_prefix, exclude_blocks=()):
    """True when a rule comment marks the rule as ours (and not in an excluded block)."""
    if comment is None:
        return False
    if comment != tag_prefix and not comment.startswith(tag_prefix + ':'):
        return False
    block = comment[len(tag_prefix) + 1:].split(':', 1)[0]
    return block not in exclude_blocks


def describe(block, family):
    """A readable one-line summary of a rule block, for diffs and results."""
    line = block_tuple(block) or ''
    comment = block_comment(block)
    fields = line[len(TUPLE_MARK):].split(' comment=', 1)[0].split()
    if len(fields) < 7:
        return {'family': family, 'tuple': line.strip(), 'comment': comment}
    action, protocol, dport, dst, _sport, src, direction = fields[:7]
    summary = {
        'family': family,
        'direction': direction,
        'action': action,
        'protocol': protocol,
        'network': dst if direction == 'out' else src,
        'ports': None if dport == 'any' else dport.replace(':', '-'),
        'comment': comment,
    }
    if action.startswith('route:'):
        # route rules: "in", "in_lan0", "out_wan0" or "in_lan0!out_wan0"
        sides = dict(side.split('_', 1) for side in direction.split('!') if '_' in side)
        summary.update(action=action.split(':', 1)[1], direction='routed', network=dst,
                       in_interface=sides.get('in'), out_interface=sides.get('out'))
    return summary


def describe_text(summary):
    """'allow out tcp to 198.18.1.0/24 port 443 (jaas:jvb)' for diff output."""
    if 'direction' not in summary:
        return '%s (%s)' % (summary['tuple'], summary['comment'])
    if summary['direction'] == 'routed':
        return 'route %s in on %s out on %s %s to %s%s (%s)' % (
            summary['action'], summary['in_interface'] or 'any',
            summary['out_interface'] or 'any', summary['protocol'], summary['network'],
            ' port %s' % summary['ports'] if summary['ports'] else ' every port',
            summary['comment'])
    return '%s %s %s %s %s%s (%s)' % (
        summary['action'], summary['direction'], summary['protocol'],
        'to' if summary['direction'] == 'out' else 'from', summary['network'],
        ' port %s' % summary['ports'] if summary['ports'] else ' every port',
        summary['comment'])


# ----------------------------------------------------------------------------- planning

def desired_blocks(rules, tag_prefix, gateway=None):
    """{family: [block text, ...]} in the order given, duplicates dropped.

    ``gateway`` (module_utils/gateway.py Gateway, or None): after the host's rules, one
    route rule per outbound rule and (LAN interface, WAN interface) pair; an empty side
    is any interface.
    """
    check_tag_prefix(tag_prefix)
    blocks = [render_block(rule, tag_prefix, 'rules[%d]' % index)
              for index, rule in enumerate(rules)]
    if gateway is not None:
        for index, rule in enumerate(rules):
            if rule.get('direction') != 'out':
                continue
            for in_interface in gateway.in_interfaces or (None,):
                for out_interface in gateway.out_interfaces or (None,):
                    blocks.append(render_route_block(rule, tag_prefix, in_interface,
                                                     out_interface, 'rules[%d]' % index))
    return _by_family(blocks)


def _by_family(blocks):
    """{4: [block, ...], 6: [...]} of (family, block) pairs in order, duplicates dropped."""
    wanted, seen = {4: [], 6: []}, {4: set(), 6: set()}
    for family, block in blocks:
        if block not in seen[family]:
            seen[family].add(block)
            wanted[family].append(block)
    return wanted


def plan_file(text, wanted, tag_prefix, exclude_blocks=(), prune=True, path='user.rules'):
    """Converge one rules file to the wanted blocks.

    Returns (new_text, added_blocks, removed_blocks). Foreign blocks (not ours by comment)
    are never touched. Our blocks that are wanted stay where they are; our other blocks are
    removed when ``prune``; missing wanted blocks are appended after the last rule.
    ``wanted=None`` with ``prune`` removes every block we own.
    """
    parsed = UserRules(text, path)
    wanted = list(wanted or [])
    wanted_keys = set(_normalise(block) for block in wanted)
    kept, seen, removed = [], set(), []
    for block in parsed.blocks:
        if not owns(block_comment(block), tag_prefix, exclude_blocks):
            kept.append(block)
            continue
        key = _normalise(block)
        if key in wanted_keys and key not in seen:
            seen.add(key)
            kept.append(block)
        elif prune or key in seen:
            removed.append(block)  # stale, changed by hand, or a duplicate of ours
        else:
            kept.append(block)
    added = [block for block in wanted if _normalise(block) not in seen]
    parsed.blocks = kept + added
    return str(parsed), added, removed


def remove_from_file(text, unwanted, tag_prefix, exclude_blocks=(), path='user.rules'):
    """Remove our blocks equal to ``unwanted`` (state=absent with a rule list)."""
    parsed = UserRules(text, path)
    unwanted_keys = set(_normalise(block) for block in unwanted)
    kept, removed = [], []
    for block in parsed.blocks:
        if owns(block_comment(block), tag_prefix, exclude_blocks) and \
                _normalise(block) in unwanted_keys:
            removed.append(block)
        else:
            kept.append(block)
    parsed.blocks = kept
    return str(parsed), [], removed


def _normalise(block):
    """Compare blocks by content, not by blank lines or line endings."""
    return tuple(line.strip() for line in block.splitlines() if line.strip())


# ----------------------------------------------------------------------------- defaults

POLICY_NAMES = {'ACCEPT': 'allow', 'DROP': 'deny', 'REJECT': 'reject'}


def parse_defaults(text):
    """/etc/default/ufw -> {'ipv6': bool, 'incoming': 'deny', 'outgoing': 'allow',
    'routed': 'deny'} (ufw's names; None when a policy is not set)."""
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith('#') or '=' not in line:
            continue
        key, _sep, value = line.partition('=')
        values[key.strip()] = value.strip().strip('"\'')
    return {
        'ipv6': values.get('IPV6', 'yes').lower() == 'yes',
        'incoming': POLICY_NAMES.get(values.get('DEFAULT_INPUT_POLICY', '').upper()),
        'outgoing': POLICY_NAMES.get(values.get('DEFAULT_OUTPUT_POLICY', '').upper()),
        'routed': POLICY_NAMES.get(values.get('DEFAULT_FORWARD_POLICY', '').upper()),
    }


# ---------------------------------------------------------------- planning both files

# The planned rules files: ``updated`` the new texts of the files that change, ``added`` /
# ``removed`` rule summaries, ``owned`` rule counts per family, ``templates`` the families
# whose file is still the package template (planned as an empty rules file).
FilesPlan = collections.namedtuple('FilesPlan', 'updated added removed owned templates')


def keep_open_rules(entries, families):
    """Rules of block safety for validated keep-open entries."""
    rules = []
    for entry in entries:
        network = entry.get('network')
        for family in ([6 if ':' in network else 4] if network else families):
            rules.append(dict(direction=entry['direction'], family=family,
                              network=network or ('::/0' if family == 6 else '0.0.0.0/0'),
                              protocol=entry['protocol'], ports=entry['port'], block='safety',
                              region=None))
    return rules


def connection_rules(ports, families):
    """Rules of block safety that keep the connection's ports open inbound."""
    return [dict(direction='in', family=family, network='::/0' if family == 6 else '0.0.0.0/0',
                 protocol='tcp', ports=str(port), block='safety', region=None)
            for port in ports for family in families]


def restricted_after(desired, active, defaults):
    """Will ufw be running with a deny/reject default policy once this run is done?"""
    running = active if desired['enabled'] is None else desired['enabled']
    policies = [desired['policies'][name] or defaults[name] for name in ('incoming', 'outgoing')]
    return bool(running) and any(policy in ('deny', 'reject') for policy in policies)


def conf_value(text, key):
    """A value of ufw.conf, lower case, without quotes; None when unset."""
    for line in text.splitlines():
        if line.strip().startswith(key + '='):
            return line.split('=', 1)[1].strip().strip('"\'').lower()
    return None


def with_conf_value(text, key, value):
    """ufw.conf (or /etc/default/ufw) with every ``key=`` line set to ``key=value``, or the
    line added at the end when there is none, as ufw's own settings writer does."""
    lines, found = [], False
    for line in text.splitlines(True):
        if line.startswith(key + '='):
            line, found = '%s=%s\n' % (key, value), True
        lines.append(line)
    if not found:
        if lines and not lines[-1].endswith('\n'):
            lines[-1] += '\n'
        lines.append('%s=%s\n' % (key, value))
    return ''.join(lines)


def loglevel(conf_text):
    """The LOGLEVEL of ufw.conf (ufw's default 'low' when unset)."""
    level = conf_value(conf_text, 'LOGLEVEL')
    return level if level in LOGLEVELS else 'low'


def summarise(blocks, family):
    return [describe(block, family) for block in blocks]


def with_safety_rules(desired, ipv6):
    """(rules, wanted blocks per family) with the connection's and the keep-open rules first,
    so the connection's rule precedes anything that could restrict it. Rules without a
    network go to the families ufw filters (IPv6 only with IPV6=yes); they are the host's
    own, never routed. ``desired``: the backend's desired state (rules, wanted, ...)."""
    rules, wanted = desired['rules'], desired['wanted']
    kept_ports = desired['connection_ports']
    if not (kept_ports or desired['keep_open']):
        return rules, wanted
    families = [4, 6] if ipv6 else [4]
    extra = connection_rules(kept_ports, families) + keep_open_rules(
        desired['keep_open'],
        [family for family in desired['keep_open_families'] if family in families])
    # The extra rules' blocks first, then the blocks desired() already rendered (the rules,
    # then their routes in gateway mode), duplicates dropped: what rendering extra + rules
    # again would give, without rendering every rule a second time on each run.
    head = desired_blocks(extra, desired['prefix'])
    return extra + rules, _by_family((family, block) for family in (4, 6)
                                     for block in head[family] + wanted[family])


def guarded_blocks(desired, rules, active, defaults):
    """The guard blocks whose rules stay although this run does not ask for them: only when
    ufw will restrict traffic afterwards (``restricted_after``)."""
    if not (desired['guard_blocks'] and restricted_after(desired, active, defaults)):
        return []
    present_blocks = set(rule['block'] for rule in rules) if desired['state'] == 'present' else set()
    return [name for name in desired['guard_blocks'] if name not in present_blocks]


def planned_policies(wanted, defaults):
    """({direction: policy after this run}, [(direction, new policy)] that change)."""
    policies = dict((name, defaults[name]) for name in POLICY_DIRECTIONS)
    changes = []
    for name in POLICY_DIRECTIONS:
        if wanted[name] and wanted[name] != defaults[name]:
            changes.append((name, wanted[name]))
            policies[name] = wanted[name]
    return policies, changes


POLICY_CHAINS = {'incoming': 'INPUT', 'outgoing': 'OUTPUT', 'routed': 'FORWARD'}
# ufw's catch-all log prefixes: a policy change on an inactive ufw (``ufw default``) swaps
# them in every line of the after rules files, whatever the direction.
LOG_PREFIX_SWAP = {'allow': ('UFW BLOCK', 'UFW ALLOW'), 'deny': ('UFW ALLOW', 'UFW BLOCK'),
                   'reject': ('UFW ALLOW', 'UFW BLOCK')}


def policy_defaults(defaults_text, changes):
    """/etc/default/ufw once ``changes`` [(direction, policy)] are made, as ``ufw default``
    writes it (the DEFAULT_<CHAIN>_POLICY line; on a disabled ufw nothing else but
    swap_log_prefixes changes)."""
    values = dict((name, key) for key, name in POLICY_NAMES.items())
    for direction, policy in changes:
        defaults_text = with_conf_value(defaults_text, 'DEFAULT_%s_POLICY' % POLICY_CHAINS[direction],
                                        '"%s"' % values[policy])
    return defaults_text


def swap_log_prefixes(after_text, changes):
    """An after rules file once ``changes`` are made: ``ufw default`` swaps ufw's catch-all
    log prefixes on every line, whatever the direction."""
    for _direction, policy in changes:
        old, new = LOG_PREFIX_SWAP[policy]
        after_text = after_text.replace(old, new)
    return after_text


# ---------------------------------------------------------------- ufw's logging section
# ``ufw logging <level>`` on a ufw that is not running only rewrites the two user rules files
# in ufw's full format: chain declarations, the rules, a ``### LOGGING ###`` section made from
# the log level and the default policies, a ``### RATE LIMITING ###`` section where the
# kernel has the ``recent`` match. ufw_rules_file() writes the same bytes without running ufw
# (which tests ``recent`` with ten iptables calls first); tests/golden/ufw_logging_0.36.2.json,
# collected from ufw 0.36.2 on Debian 12 and 13 (tests/golden/ufw_logging_capture.py), is the
# reference.

LOG_LEVEL_RANK = dict((level, rank) for rank, level in enumerate(LOGLEVELS))
LOG_TARGETS = (('input', 'incoming'), ('output', 'outgoing'), ('forward', 'routed'))
LOG_LIMIT = '-m limit --limit 3/min --limit-burst 10'
# Exists in every network namespace once the kernel's ``recent`` match is loaded.
XT_RECENT = '/proc/net/xt_recent'


def _log_rule(verb, chain, prefix, extra=''):
    return '%s %s -j LOG --log-prefix "[%s] "%s' % (verb, chain, prefix, ' ' + extra if extra else '')


def logging_section(chain_prefix, level, policies):
    """The lines of ufw's ``### LOGGING ###`` section for one family's chains."""
    rank = LOG_LEVEL_RANK[level]
    medium, high, full = LOG_LEVEL_RANK['medium'], LOG_LEVEL_RANK['high'], LOG_LEVEL_RANK['full']
    if rank == 0:  # off: the user logging chains return at once
        return ['-I %s-user-logging-%s -j RETURN' % (chain_prefix, target) for target, _d in LOG_TARGETS]
    limit = LOG_LIMIT if rank < high else ''
    lines = []
    # what the default policy of each direction does: blocked always, allowed from medium
    for target, direction in LOG_TARGETS:
        chain = '%s-after-logging-%s' % (chain_prefix, target)
        if policies[direction] in ('deny', 'reject'):
            lines.append(_log_rule('-A', chain, 'UFW BLOCK', limit))
        elif rank >= medium:
            lines.append(_log_rule('-A', chain, 'UFW ALLOW', limit))
    deny = chain_prefix + '-logging-deny'
    if rank < medium:  # invalid packets are not logged below medium
        lines.append('-I %s -m conntrack --ctstate INVALID -j RETURN %s' % (deny, limit))
    else:
        lines.append('-A %s -m conntrack --ctstate INVALID -j LOG --log-prefix "[UFW AUDIT INVALID] "%s'
                     % (deny, ' ' + limit if limit else ''))
    lines.append(_log_rule('-A', deny, 'UFW BLOCK', limit))
    lines.append(_log_rule('-A', chain_prefix + '-logging-allow', 'UFW ALLOW', limit))
    if rank >= medium:  # every packet (new ones at medium) before the rules
        audit = {medium: '-m conntrack --ctstate NEW ' + LOG_LIMIT, high: LOG_LIMIT, full: ''}[rank]
        for target, _direction in LOG_TARGETS:
            lines.append(_log_rule('-I', '%s-before-logging-%s' % (chain_prefix, target), 'UFW AUDIT', audit))
    return lines


def _rules_file_head(chain_prefix, limit):
    chains = ['user-input', 'user-output', 'user-forward'] + [
        '%s-logging-%s' % (where, target) for where in ('before', 'user', 'after')
        for target, _direction in LOG_TARGETS] + ['logging-deny', 'logging-allow']
    if limit:
        chains += ['user-limit', 'user-limit-accept']
    return '*filter\n' + ''.join(':%s-%s - [0:0]\n' % (chain_prefix, chain) for chain in chains) + \
        RULES_START + '\n'


def _rules_file_tail(chain_prefix, level, policies, in_use):
    text = '\n%s\n\n### LOGGING ###\n' % RULES_END
    if in_use:
        text += ''.join(line + '\n' for line in logging_section(chain_prefix, level, policies))
    text += '### END LOGGING ###\n'
    if in_use:
        text += '\n### RATE LIMITING ###\n'
        if level != 'off':
            text += '-A %s-user-limit -m limit --limit 3/minute -j LOG --log-prefix "[UFW LIMIT BLOCK] "\n' % chain_prefix
        text += '-A {0}-user-limit -j REJECT\n-A {0}-user-limit-accept -j ACCEPT\n' \
                '### END RATE LIMITING ###\n'.format(chain_prefix)
    return text + 'COMMIT\n'


def ufw_rules_file(text, family, level, policies, ipv6, recent):
    """``text`` (a user rules file) as ``ufw logging <level>`` rewrites it on a ufw that is
    not running, or None when that cannot be known without ufw (run it then): a policy that is
    not set, the kernel's ``recent`` match unknown (``recent``), a file not in ufw's layout.

    The rules between the markers are kept as they are; a package template (no rule yet)
    gets an empty rules section."""
    if level not in LOG_LEVEL_RANK or not recent or \
            any(policies.get(direction) not in POLICY_NAMES.values() for _t, direction in LOG_TARGETS):
        return None
    chain_prefix = CHAIN_PREFIX[family]
    # With IPv6 off ufw has no IPv6 logging chains and does not test ``recent`` for IPv6:
    # user6.rules then gets neither logging lines nor the rate limiting chains and section.
    in_use = family == 4 or ipv6
    head = _rules_file_head(chain_prefix, in_use)
    tail = _rules_file_tail(chain_prefix, level, policies, in_use)
    if is_package_template(text):
        body = ''
    else:
        lines = text.splitlines(True)
        starts = [index for index, line in enumerate(lines) if line == RULES_START + '\n']
        ends = [index for index, line in enumerate(lines) if line == RULES_END + '\n']
        if len(starts) != 1 or len(ends) != 1 or ends[0] <= starts[0] or \
                ''.join(lines[:starts[0] + 1]) != head or lines[ends[0] - 1] != '\n':
            return None
        body = ''.join(lines[starts[0] + 1:ends[0] - 1])
        # the rest must be ufw's own sections, which differ only in the lines it rewrites
        if _skeleton(''.join(lines[ends[0] - 1:])) != _skeleton(tail):
            return None
    return head + body + tail


def _skeleton(tail):
    """A rules file's tail (from the blank line before ``### END RULES ###``) without the
    lines ``ufw logging`` rewrites: the logging section's and the rate limit's LOG line."""
    before, _mark, after = tail.partition('### LOGGING ###\n')
    after = after.partition('### END LOGGING ###\n')[2]
    return before + '### LOGGING ###\n' + ''.join(
        line for line in after.splitlines(True) if 'UFW LIMIT BLOCK' not in line)


def enable_change(enabled, active, at_boot):
    """True/False when ufw has to be enabled/disabled (running and at boot), else None."""
    if enabled is None:
        return None
    if enabled != (active and at_boot) and (enabled or active or at_boot):
        return enabled
    return None


def plan_files(texts, wanted, tag_prefix, exclude, state, listed, directory=UFW_DIR):
    """The FilesPlan of both rules files (raises UfwRulesError). ``listed``: with
    state=absent, remove only the wanted rules instead of every owned one. ``directory``:
    where the files are (named in messages)."""
    updated, added, removed, owned, templates = {}, [], [], {}, []
    for family, name in sorted(RULES_FILES.items()):
        path = os.path.join(directory, name)
        text = texts[family]
        planned = text
        if is_package_template(text):
            templates.append(family)
            planned = as_empty_rules_file(text)
        if state == 'present':
            new_text, plus, minus = plan_file(planned, wanted[family], tag_prefix, exclude,
                                              path=path)
        elif listed:
            new_text, plus, minus = remove_from_file(planned, wanted[family], tag_prefix,
                                                     exclude, path=path)
        else:
            new_text, plus, minus = plan_file(planned, [], tag_prefix, exclude, path=path)
        if new_text != planned:
            updated[family] = new_text
        added += summarise(plus, family)
        removed += summarise(minus, family)
        owned[str(family)] = sum(1 for block in UserRules(new_text, path).blocks
                                 if owns(block_comment(block), tag_prefix))
    return FilesPlan(updated, added, removed, owned, templates)


def lines_text(items):
    """One line per item, each ending in a newline."""
    return ''.join(line + '\n' for line in items)
