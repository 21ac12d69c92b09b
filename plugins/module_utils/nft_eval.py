# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the kernel does with one packet: an evaluator of the whole nftables ruleset.

Pure Python (standard library only): it runs on the managed host inside
jaas.firewall.verify_policy and in the unit tests on the controller.

Input: the parsed output of ``nft -j list ruleset`` (every table of every family,
including the tables iptables-nft writes for ufw, Docker and iptables users, and
firewalld's own table) and, optionally, the text of ``iptables-legacy-save`` /
``ip6tables-legacy-save``. A probe is one NEW connection: hook (output, input or
forward), family (4/6), protocol (tcp/udp), addresses, destination port and, for
forward, the interfaces.

Semantics (what netfilter does):

* a packet passes every base chain registered on each hook of its path, in priority
  order: output then postrouting; prerouting then input; prerouting, forward,
  postrouting. An accept ends one base chain only; a drop or reject anywhere ends the
  packet. A base chain that ends without a verdict applies its policy.
* jump/goto/return, verdict maps, named and anonymous sets (prefixes, ranges,
  concatenations), ``ip``/``ip6`` ``daddr``/``saddr``, ``meta l4proto``/``nfproto``,
  ``ip protocol``/``ip6 nexthdr``, ``th``/``tcp``/``udp`` ports, ``ct state`` (always
  ``new``), interface names and indexes; counters, logs, comments, set updates and
  other side effects are no-ops.
* A packet field the probe does not know (the mark, the socket owner, the source port
  of an outbound probe, an interface not given, a ``fib`` lookup) and any expression or
  statement this evaluator does not know (an ``xt`` match of iptables-nft, a raw
  payload) is *maybe*. A maybe never yields a false "accepted": on a drop/reject rule it
  counts as a match, on an accept rule as no match, a maybe jump is followed and only a
  drop it leads to is taken. Every such guess is listed in ``uncertain``.
* iptables-legacy (``*filter``/``*mangle``/``*raw``/``*nat``/``*security`` of the save
  format): the common subset is evaluated (``-A``, policies, ``-s``/``-d``, ``-p``,
  ``--dport``/``--sport``, ``-m multiport --dports``, ``-i``/``-o``, ``-m
  conntrack --ctstate``/``-m state --state``, ``-m comment``, ``!`` negations, ``-j
  ACCEPT/DROP/REJECT/RETURN/LOG/<chain>``, ``-g <chain>``); any other option is an unknown
  match handled as above, any other target a no-op noted as uncertain.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import bisect
import ipaddress
import shlex

from ansible_collections.jaas.firewall.plugins.module_utils.policy import unique

# netfilter hook priorities of iptables' tables (iptables-legacy has no JSON)
LEGACY_PRIORITY = {'raw': -300, 'mangle': -150, 'nat': -100, 'filter': 0, 'security': 50}
LEGACY_HOOKS = {'PREROUTING': 'prerouting', 'INPUT': 'input', 'FORWARD': 'forward',
                'OUTPUT': 'output', 'POSTROUTING': 'postrouting'}
# the hooks a NEW packet of each probe kind crosses, in order
PATHS = {'output': ('output', 'postrouting'), 'input': ('prerouting', 'input'),
         'forward': ('prerouting', 'forward', 'postrouting')}
PROTOCOLS = {'tcp': 6, 'udp': 17, 'icmp': 1, 'icmpv6': 58, 'ipv6-icmp': 58, 'sctp': 132,
             'udplite': 136, 'esp': 50, 'ah': 51, 'gre': 47, 'igmp': 2, 'dccp': 33,
             'all': None}
NFPROTO = {'ipv4': 4, 'ipv6': 6}
FAMILIES = {'inet': (4, 6), 'ip': (4,), 'ip6': (6,)}
MAX_DEPTH = 64
XT_VERDICTS = {'REJECT': 'reject', 'DROP': 'drop', 'ACCEPT': 'accept', 'RETURN': 'return'}
XT_NOOP_TARGETS = ('LOG', 'NFLOG', 'ULOG', 'MARK', 'CONNMARK', 'NOTRACK', 'CT', 'TRACE',
                   'CLASSIFY', 'DSCP', 'TOS', 'TCPMSS', 'AUDIT', 'CHECKSUM', 'SECMARK',
                   'CONNSECMARK', 'TTL', 'HL', 'IDLETIMER', 'LED')


class EvalError(Exception):
    """A ruleset that cannot be read at all (not an nft -j listing)."""


class _Maybe(object):
    def __repr__(self):
        return 'MAYBE'


MAYBE = _Maybe()
ABSENT = object()      # the packet has no such field: the match is false (nft's dependency)
UNKNOWN = object()     # the packet has the field, its value is not known


class Probe(object):
    """One NEW connection. ``daddr`` / ``saddr`` as text; None = unknown."""

    __slots__ = ('hook', 'family', 'proto', 'daddr', 'saddr', 'dport', 'sport', 'iif', 'oif',
                 '_d', '_s', 'protonum')

    def __init__(self, hook, family, proto, daddr=None, dport=None, saddr=None, sport=None,
                 iif=None, oif=None):
        if hook not in PATHS:
            raise ValueError('hook must be output, input or forward, got %r' % (hook,))
        self.hook = hook
        self.family = int(family)
        self.proto = proto
        self.protonum = PROTOCOLS.get(proto, proto)
        self.daddr, self.saddr = daddr, saddr
        self.dport = None if dport is None else int(dport)
        self.sport = None if sport is None else int(sport)
        self.iif, self.oif = iif, oif
        self._d = _addr_key(daddr) if daddr is not None else None
        self._s = _addr_key(saddr) if saddr is not None else None

    def describe(self):
        where = self.daddr if self.hook != 'input' else 'from %s' % self.saddr
        return '%s %s %s port %s' % (self.hook, self.proto, where, self.dport)


def _addr_key(text):
    address = ipaddress.ip_address(str(text))
    return address.version, int(address)


class Decision(object):
    """Result for one probe: ``verdict`` accept/drop/reject, where (``by``) and guesses."""

    __slots__ = ('verdict', 'by', 'uncertain')

    def __init__(self, verdict, by=None, uncertain=()):
        self.verdict = verdict
        self.by = by
        self.uncertain = list(uncertain)

    @property
    def accepted(self):
        return self.verdict == 'accept'

    def as_dict(self):
        result = {'verdict': self.verdict}
        if self.by:
            result.update(self.by)
        if self.uncertain:
            result['uncertain'] = list(self.uncertain)
        return result

    def __repr__(self):
        return 'Decision(%r, %r, %r)' % (self.verdict, self.by, self.uncertain)


# ---------------------------------------------------------------- values and matchers

def _interval(family, value):
    """(lo, hi) of an address written as text, prefix or range; ints for other keys."""
    if isinstance(value, dict) and 'prefix' in value:
        network = ipaddress.ip_network('%s/%s' % (value['prefix']['addr'], value['prefix']['len']),
                                       strict=False)
        return ('a', network.version, int(network.network_address), int(network.broadcast_address))
    if isinstance(value, dict) and 'range' in value:
        low, high = value['range']
        lo, hi = _scalar(low), _scalar(high)
        if lo[0] == 'a':
            return ('a', lo[1], lo[2], hi[2])
        return (lo[0], None, lo[2], hi[2])
    scalar = _scalar(value)
    return (scalar[0], scalar[1], scalar[2], scalar[2])


def _scalar(value):
    """('a', version, int) for an address, ('i', None, int) for a number,
    ('s', None, text) for any other word."""
    if isinstance(value, bool):
        return ('s', None, str(value).lower())
    if isinstance(value, int):
        return ('i', None, value)
    if isinstance(value, dict) and 'elem' in value:
        return _scalar(value['elem'].get('val'))
    text = str(value)
    if ':' in text or (text[:1].isdigit() and text.count('.') == 3):
        try:
            address = ipaddress.ip_address(text)
            return ('a', address.version, int(address))
        except ValueError:
            pass
    if text.isdigit():
        return ('i', None, int(text))
    if text.lower() in PROTOCOLS:
        return ('i', None, PROTOCOLS[text.lower()])
    return ('s', None, text)


class ValueSet(object):
    """Elements of a set / anonymous set / single value, matched against a packet value."""

    def __init__(self, elements):
        self.ranges = {}      # key kind (('a', version) or 'i') -> sorted [(lo, hi)]
        self.words = set()
        self.patterns = []
        self.concats = []     # list of tuples of ValueSet (one per concat dimension)
        self.unknown = []
        for element in elements:
            self.add(element)
        self._starts = {}
        for kind, ranges in self.ranges.items():
            ranges.sort()
            merged = []
            for lo, hi in ranges:
                if merged and lo <= merged[-1][1] + 1:
                    merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
                else:
                    merged.append((lo, hi))
            self.ranges[kind] = merged
            self._starts[kind] = [lo for lo, _hi in merged]

    def add(self, element):
        if isinstance(element, dict) and 'elem' in element:
            element = element['elem'].get('val')
        if isinstance(element, dict) and 'concat' in element:
            self.concats.append(tuple(ValueSet([part]) for part in element['concat']))
            return
        if isinstance(element, list):  # a map element [key, value]: the key only
            self.add(element[0])
            return
        if isinstance(element, dict) and not ('prefix' in element or 'range' in element):
            self.unknown.append(element)
            return
        kind, version, lo, hi = _interval(None, element)
        if kind == 's':
            if lo.endswith('*') and not lo.endswith('\\*'):
                self.patterns.append(lo[:-1])
            else:
                self.words.add(lo.replace('\\*', '*'))
            return
        self.ranges.setdefault((kind, version), []).append((lo, hi))

    def contains(self, value):
        """True / False / MAYBE for a packet value (a tuple for a concatenation)."""
        if isinstance(value, tuple) and value and value[0] == 'concat':
            parts = value[1]
            result = False
            for dims in self.concats:
                if len(dims) != len(parts):
                    continue
                here = True
                for dim, part in zip(dims, parts):
                    hit = MAYBE if part is UNKNOWN else dim.contains(part)
                    if hit is False:
                        here = False
                        break
                    if hit is MAYBE:
                        here = MAYBE
                if here is True:
                    return True
                if here is MAYBE:
                    result = MAYBE
            return MAYBE if (result is False and self.unknown) else result
        kind = value[0]
        if kind == 's':
            text = value[2]
            if text in self.words or any(text.startswith(p) for p in self.patterns):
                return True
            return MAYBE if self.unknown else False
        key = (kind, value[1]) if kind == 'a' else ('i', None)
        starts = self._starts.get(key)
        if starts:
            index = bisect.bisect_right(starts, value[2]) - 1
            if index >= 0 and self.ranges[key][index][1] >= value[2]:
                return True
        return MAYBE if self.unknown else False

    def only_words(self):
        return not self.ranges and not self.patterns and not self.concats and not self.unknown \
            and self.words


def _ct_state_value():
    return ('flags', frozenset(['new']))


# ---------------------------------------------------------------- the compiled ruleset

class Rule(object):
    __slots__ = ('matches', 'action', 'where', 'notes', 'xt')

    def __init__(self, matches, action, where, notes, xt=False):
        self.xt = xt
        self.matches = matches    # list of (callable(probe) -> True/False/MAYBE, note)
        self.action = action      # ('accept'|'drop'|'reject'|'jump'|'goto'|'return'|'vmap'|None, arg)
        self.where = where        # dict family/table/chain/handle/rule
        self.notes = notes        # unknown statements (uncertain, but no-ops)


class Chain(object):
    __slots__ = ('family', 'table', 'name', 'hook', 'prio', 'policy', 'rules', 'legacy')

    def __init__(self, family, table, name, hook=None, prio=0, policy='accept', legacy=False):
        self.family, self.table, self.name = family, table, name
        self.hook, self.prio, self.policy = hook, prio, policy
        self.rules = []
        self.legacy = legacy


class Ruleset(object):
    """Compiled ruleset: ``decide(probe)`` answers for one packet."""

    def __init__(self):
        self.chains = {}      # (family, table, name) -> Chain
        self.sets = {}        # (family, table, name) -> ValueSet
        self.maps = {}        # (family, table, name) -> list of [key, verdict]
        self.base = []        # base chains (filter, nat, route) in listing order
        self._hooks = {}

    # ---- building
    @classmethod
    def from_nft_json(cls, data, legacy4=None, legacy6=None, nft_save4=None, nft_save6=None):
        """``legacy4``/``legacy6``: iptables-legacy-save / ip6tables-legacy-save text (their
        rules filter too); ``nft_save4``/``nft_save6``: iptables-nft-save text, read for the
        iptables-nft tables that hold xt matches."""
        ruleset = cls()
        if isinstance(data, str):
            import json
            data = json.loads(data)
        if not isinstance(data, dict) or not isinstance(data.get('nftables'), list):
            raise EvalError('not an nft -j list ruleset listing (no "nftables" list)')
        items = data['nftables']
        for item in items:
            if 'set' in item or 'map' in item:
                body = item.get('set') or item.get('map')
                key = (body['family'], body['table'], body['name'])
                elements = body.get('elem') or []
                ruleset.sets[key] = ValueSet(elements)
                if 'map' in item:
                    ruleset.maps[key] = elements
        for item in items:
            if 'chain' in item:
                body = item['chain']
                chain = Chain(body['family'], body['table'], body['name'], body.get('hook'),
                              _prio(body.get('prio', 0)), body.get('policy', 'accept'))
                ruleset.chains[(chain.family, chain.table, chain.name)] = chain
                if chain.hook:
                    ruleset.base.append(chain)
        for item in items:
            if 'rule' in item:
                body = item['rule']
                chain = ruleset.chains.get((body['family'], body['table'], body['chain']))
                if chain is not None:
                    chain.rules.append(ruleset._compile_rule(body))
        for family, text in ((4, nft_save4), (6, nft_save6)):
            if text and text.strip():
                ruleset._replace_xt_tables(family, text)
        for family, text in ((4, legacy4), (6, legacy6)):
            if text and text.strip():
                ruleset._add_legacy(family, text)
        return ruleset

    def _replace_xt_tables(self, family, text):
        """iptables-nft tables holding ``xt`` expressions (whose match options nft -j does not
        print) are read from iptables-nft-save instead, where the options are visible."""
        fam = 'ip' if family == 4 else 'ip6'
        xt_tables = set(key[:2] for key, chain in self.chains.items()
                        if key[0] == fam and any(rule.xt for rule in chain.rules))
        saved = _save_tables(text)
        for fam_, table in xt_tables:
            if table not in saved:
                continue
            for key in [key for key in self.chains if key[:2] == (fam_, table)]:
                del self.chains[key]
            self.base = [chain for chain in self.base if (chain.family, chain.table) != (fam_, table)]
            self._add_legacy(family, saved[table], label='', legacy=False)
        self._hooks = {}

    def _compile_rule(self, body):
        family, table = body['family'], body['table']
        matches, notes, action = [], [], (None, None)
        for expr in body.get('expr') or []:
            if not isinstance(expr, dict) or len(expr) != 1:
                notes.append('unreadable expression %r' % (expr,))
                matches.append((_always_maybe, 'unreadable expression'))
                continue
            (name, arg), = expr.items()
            if name == 'match':
                matches.append(self._compile_match(family, table, arg))
            elif name in ('accept', 'drop', 'return', 'continue'):
                if name != 'continue':
                    action = (name, None)
            elif name == 'reject':
                action = ('reject', None)
            elif name in ('jump', 'goto'):
                action = (name, arg.get('target'))
            elif name == 'vmap':
                action = ('vmap', (self._getter(family, arg.get('key')),
                                   self._vmap_entries(family, table, arg.get('data'))))
            elif name in ('dnat', 'snat', 'masquerade', 'redirect'):
                action = ('accept', name)   # nat: ends this (nat) chain's walk
            elif name == 'queue':
                action = ('drop', 'queue')  # user space decides: never a sure accept
                notes.append('queue to user space')
            elif name in ('counter', 'log', 'mangle', 'notrack', 'set', 'nftrace', 'ct count',
                          'flow', 'tproxy', 'synproxy', 'dup', 'fwd', 'secmark', 'meter',
                          'ct helper', 'ct timeout', 'ct expectation', 'xt_target_noop'):
                continue
            elif name in ('limit', 'quota', 'numgen'):
                matches.append((_always_maybe, name))
            elif name == 'xt':
                label = 'xt %s %s' % ((arg or {}).get('type', ''), (arg or {}).get('name', '?'))
                label = label.replace('  ', ' ')
                if (arg or {}).get('type') == 'target':
                    target = (arg or {}).get('name', '')
                    if target in XT_VERDICTS:
                        action = (XT_VERDICTS[target], None)
                    elif target not in XT_NOOP_TARGETS:
                        action = ('xt', label)   # unknown target: never a sure accept
                else:
                    matches.append((_always_maybe, label))
            else:
                notes.append('statement %s' % name)
                matches.append((_always_maybe, 'statement %s' % name))
        where = {'family': family, 'table': table, 'chain': body['chain'],
                 'handle': body.get('handle'), 'rule': body.get('comment') or render(body)}
        xt = any(isinstance(expr, dict) and 'xt' in expr for expr in body.get('expr') or [])
        return Rule(matches, action, where, notes, xt)

    def _vmap_entries(self, family, table, data):
        if isinstance(data, str) and data.startswith('@'):
            elements = self.maps.get((family, table, data[1:]), [])
        elif isinstance(data, dict) and 'set' in data:
            elements = data['set']
        else:
            return None
        entries = []
        for element in elements:
            if isinstance(element, list) and len(element) == 2:
                key, verdict = element
            elif isinstance(element, dict) and 'elem' in element:
                key, verdict = element['elem'].get('val'), None
            else:
                continue
            entries.append((ValueSet([key]), verdict))
        return entries

    def _compile_match(self, family, table, arg):
        left, right, op = arg.get('left'), arg.get('right'), arg.get('op', '==')
        getter = self._getter(family, left)
        label = render_expr(left) + ' ' + ('' if op in ('==', 'in') else op + ' ') + render_expr(right)
        if getter is None:
            return (_always_maybe, label)
        if isinstance(left, dict) and 'ct' in left and left['ct'].get('key') == 'state':
            return (_flag_match(getter, right, op), label)
        if isinstance(left, dict) and '&' in left:
            return (_always_maybe, label)
        values = self._right(family, table, right)
        if values is None:
            return (_always_maybe, label)
        return (_compare(getter, values, op, right), label)

    def _right(self, family, table, right):
        if isinstance(right, str) and right.startswith('@'):
            return self.sets.get((family, table, right[1:]))
        if isinstance(right, dict) and 'set' in right:
            return ValueSet(right['set'])
        if isinstance(right, dict) and not ('prefix' in right or 'range' in right
                                            or 'concat' in right):
            return None
        if isinstance(right, list):
            return ValueSet(right)
        return ValueSet([right])

    def _getter(self, family, left):
        """A function probe -> packet value / ABSENT / UNKNOWN, or None when unknown."""
        if not isinstance(left, dict) or len(left) != 1:
            return None
        (kind, arg), = left.items()
        if kind == 'payload':
            return _payload_getter(arg)
        if kind == 'meta':
            return _meta_getter(arg.get('key'))
        if kind == 'ct':
            if arg.get('key') == 'state':
                return lambda probe: _ct_state_value()
            if arg.get('key') == 'direction':
                return lambda probe: ('s', None, 'original')
            return None
        if kind == 'concat':
            parts = [self._getter(family, part) for part in arg]
            if any(part is None for part in parts):
                return None

            def concat(probe):
                values = []
                for part in parts:
                    value = part(probe)
                    if value is ABSENT:
                        return ABSENT
                    values.append(value)
                return ('concat', values)
            return concat
        return None

    # iptables-legacy ------------------------------------------------------------
    def _add_legacy(self, family, text, label='legacy ', legacy=True):
        table = None
        fam = 'ip' if family == 4 else 'ip6'
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith('#'):
                continue
            if line.startswith('*'):
                table = line[1:]
                continue
            if line == 'COMMIT' or table is None:
                continue
            name_of_table = label + table
            if line.startswith(':'):
                parts = line[1:].split()
                name, policy = parts[0], parts[1] if len(parts) > 1 else '-'
                hook = LEGACY_HOOKS.get(name) if policy != '-' else None
                chain = Chain(fam, name_of_table, name, hook, LEGACY_PRIORITY.get(table, 0),
                              policy.lower() if hook else 'accept', legacy=legacy)
                self.chains[(fam, name_of_table, name)] = chain
                if hook:
                    self.base.append(chain)
            elif line.startswith('-A '):
                try:
                    words = shlex.split(line)
                except ValueError:
                    words = line.split()
                chain = self.chains.get((fam, name_of_table, words[1]))
                if chain is None:
                    chain = Chain(fam, name_of_table, words[1], legacy=legacy)
                    self.chains[(fam, name_of_table, words[1])] = chain
                chain.rules.append(_legacy_rule(fam, name_of_table, family, words, line,
                                                len(chain.rules) + 1, self.chains))

    # ---- deciding
    def hooked(self, hook, family):
        key = (hook, family)
        if key not in self._hooks:
            chains = [chain for chain in self.base if chain.hook == hook
                      and family in FAMILIES.get(chain.family, ())]
            self._hooks[key] = sorted(chains, key=lambda chain: chain.prio)   # stable
        return self._hooks[key]

    def decide(self, probe):
        """The Decision for one probe: the first drop/reject on its path, else accept."""
        uncertain = []
        for hook in PATHS[probe.hook]:
            for chain in self.hooked(hook, probe.family):
                outcome = self._walk(chain, probe, uncertain, 0)
                if outcome is None:       # fell off the chain: its policy
                    if chain.policy in ('drop', 'reject'):
                        return Decision(chain.policy, {
                            'family': chain.family, 'table': chain.table, 'chain': chain.name,
                            'handle': None, 'rule': 'policy %s' % chain.policy}, unique(uncertain))
                    continue
                verdict, where = outcome
                if verdict in ('drop', 'reject'):
                    return Decision(verdict, where, unique(uncertain))
        return Decision('accept', None, unique(uncertain))

    def _walk(self, chain, probe, uncertain, depth):
        """(verdict, where) for accept/drop/reject, or None when the chain returns."""
        if depth > MAX_DEPTH:
            uncertain.append('jumps deeper than %d at %s %s %s'
                             % (MAX_DEPTH, chain.family, chain.table, chain.name))
            return ('drop', {'family': chain.family, 'table': chain.table, 'chain': chain.name,
                             'handle': None, 'rule': 'too deep'})
        for rule in chain.rules:
            state = True
            guesses = []
            for match, label in rule.matches:
                hit = match(probe)
                if hit is False:
                    state = False
                    break
                if hit is MAYBE:
                    state = MAYBE
                    guesses.append(label)
            if state is False:
                continue
            verdict, arg = rule.action
            if verdict == 'vmap':
                verdict, arg, more = _vmap_lookup(arg, probe)
                if more:
                    state = MAYBE
                    guesses.append(more)
                if verdict is None:
                    continue
            if verdict is None:
                continue
            where = rule.where
            if verdict == 'xt':
                # an unknown target: it may drop; never assume it let the packet through
                uncertain.append('%s (%s %s %s handle %s) counted as a drop' % (
                    arg, where['family'], where['table'], where['chain'], where['handle']))
                return ('drop', dict(where))
            if state is MAYBE:
                note = '%s (%s %s %s handle %s)' % (', '.join(guesses), where['family'],
                                                    where['table'], where['chain'], where['handle'])
            if verdict in ('drop', 'reject'):
                if state is MAYBE:
                    uncertain.append(note + ' counted as matching a %s' % verdict)
                return (verdict, dict(where))
            if verdict == 'accept':
                if state is MAYBE:
                    uncertain.append(note + ' counted as not matching an accept')
                    continue
                return ('accept', dict(where))
            if verdict == 'return':
                if state is MAYBE:
                    uncertain.append(note + ' counted as not matching a return')
                    continue
                return None
            if verdict in ('jump', 'goto'):
                target = self.chains.get((chain.family, chain.table, arg))
                if target is None:
                    uncertain.append('jump to a missing chain %s' % arg)
                    continue
                outcome = self._walk(target, probe, uncertain, depth + 1)
                if state is MAYBE:
                    if outcome is not None and outcome[0] in ('drop', 'reject'):
                        uncertain.append(note + ' counted as jumping to %s' % arg)
                        return outcome
                    uncertain.append(note + ' counted as not jumping to %s' % arg)
                    continue
                if outcome is not None:
                    return outcome
                if verdict == 'goto':
                    return None
        return None


def _vmap_lookup(arg, probe):
    getter, entries = arg
    if getter is None or entries is None:
        return 'drop', None, 'verdict map not understood'
    value = getter(probe)
    if value is ABSENT:
        return None, None, None
    if value is UNKNOWN:
        return 'drop', None, 'verdict map on an unknown field'
    if isinstance(value, tuple) and value and value[0] == 'flags':
        for keys, verdict in entries:
            if any(keys.contains(('s', None, flag)) is True for flag in value[1]):
                return _verdict_of(verdict) + (None,)
        return None, None, None
    for keys, verdict in entries:
        hit = keys.contains(value)
        if hit is True:
            return _verdict_of(verdict) + (None,)
        if hit is MAYBE:
            return 'drop', None, 'verdict map element not understood'
    return None, None, None


def _verdict_of(verdict):
    if isinstance(verdict, dict) and len(verdict) == 1:
        (name, arg), = verdict.items()
        if name in ('jump', 'goto'):
            return name, (arg or {}).get('target')
        if name in ('accept', 'drop', 'reject', 'return'):
            return name, None
    if isinstance(verdict, str) and verdict in ('accept', 'drop', 'reject', 'return'):
        return verdict, None
    return 'drop', None


def _prio(value):
    if isinstance(value, int):
        return value
    names = {'raw': -300, 'mangle': -150, 'dstnat': -100, 'filter': 0, 'security': 50,
             'srcnat': 100}
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return names.get(value, 0)
    return 0


def _always_maybe(probe):
    return MAYBE


def _payload_getter(arg):
    if 'base' in arg:   # raw payload
        return None
    protocol, field = arg.get('protocol'), arg.get('field')
    if protocol in ('ip', 'ip6'):
        version = 4 if protocol == 'ip' else 6
        if field in ('daddr', 'saddr'):
            def address(probe, version=version, field=field):
                if probe.family != version:
                    return ABSENT
                key = probe._d if field == 'daddr' else probe._s
                if key is None:
                    return UNKNOWN
                return ('a', key[0], key[1])
            return address
        if field in ('protocol', 'nexthdr'):
            def proto(probe, version=version):
                if probe.family != version:
                    return ABSENT
                return ('i', None, probe.protonum)
            return proto
        version_only = version

        def other(probe):
            return ABSENT if probe.family != version_only else UNKNOWN
        return other
    if protocol in ('tcp', 'udp', 'th', 'sctp', 'udplite', 'dccp'):
        if field in ('dport', 'sport'):
            def port(probe, protocol=protocol, field=field):
                if protocol == 'th':
                    if probe.proto not in ('tcp', 'udp', 'sctp', 'udplite', 'dccp'):
                        return ABSENT
                elif probe.proto != protocol:
                    return ABSENT
                value = probe.dport if field == 'dport' else probe.sport
                return UNKNOWN if value is None else ('i', None, value)
            return port

        def other_l4(probe, protocol=protocol):
            if protocol != 'th' and probe.proto != protocol:
                return ABSENT
            return UNKNOWN
        return other_l4
    if protocol in ('icmp', 'icmpv6'):
        return lambda probe: ABSENT    # probes are tcp/udp

    return lambda probe: UNKNOWN


def _meta_getter(key):
    if key in ('l4proto', 'protocol_l4'):
        return lambda probe: ('i', None, probe.protonum)
    if key == 'nfproto':
        return lambda probe: ('s', None, 'ipv4' if probe.family == 4 else 'ipv6')
    if key == 'protocol':   # ethertype
        return lambda probe: ('s', None, 'ip' if probe.family == 4 else 'ip6')
    if key in ('iifname', 'iif', 'oifname', 'oif'):
        inbound = key.startswith('i')

        def interface(probe):
            if inbound and probe.hook == 'output' or not inbound and probe.hook == 'input':
                return ('s', None, '')          # no such interface: never matches a name
            name = probe.iif if inbound else probe.oif
            return ('if', None, None) if name is None else ('s', None, name)
        return interface
    return lambda probe: UNKNOWN


def _compare(getter, values, op, right):
    """A match function for ==/!=/</>/... against a ValueSet."""
    negate = op == '!='
    order = op in ('<', '>', '<=', '>=', 'lt', 'gt', 'le', 'ge')
    if order:
        scalar = _scalar(right) if not isinstance(right, dict) else None

    def match(probe):
        value = getter(probe)
        if value is ABSENT:
            return False
        if value is UNKNOWN:
            return MAYBE
        if value[0] == 'if':   # an interface not given: only "lo" is known not to be it
            words = values.only_words()
            if words and words <= set(['lo']):
                return negate
            return MAYBE
        if order:
            if scalar is None or value[0] == 's' or scalar[0] == 's':
                return MAYBE
            a, b = value[2], scalar[2]
            return {'<': a < b, 'lt': a < b, '>': a > b, 'gt': a > b, '<=': a <= b,
                    'le': a <= b, '>=': a >= b, 'ge': a >= b}[op]
        hit = values.contains(value)
        if hit is MAYBE:
            return MAYBE
        return (not hit) if negate else hit
    return match


def _flag_match(getter, right, op):
    if isinstance(right, dict) and 'set' in right:
        wanted, membership = right['set'], True
    elif isinstance(right, list):
        wanted, membership = right, False
    else:
        wanted, membership = [right], False
    words = set()
    for item in wanted:
        if isinstance(item, str):
            words.add(item)
        else:
            return _always_maybe
    state = 'new'
    if membership or op in ('==', 'in'):
        hit = state in words
    else:
        hit = state not in words
    if op == '!=' and membership:
        hit = state not in words
    return lambda probe: hit


# ---------------------------------------------------------------- iptables-legacy rules

_LEGACY_KNOWN_MODULES = ('tcp', 'udp', 'multiport', 'conntrack', 'state', 'comment', 'addrtype',
                         'rt')
# -m rt: an IPv6 routing header, which a probe (a plain TCP/UDP packet) never carries
_NO_ROUTING_HEADER = ('--rt-type', '--rt-segsleft', '--rt-len', '--rt-0-res', '--rt-0-addrs',
                      '--rt-0-not-strict')


def _addrtype(destination, types, negate):
    """-m addrtype for a unicast probe: the local end is LOCAL, the remote end UNICAST."""
    def match(probe):
        local = (probe.hook == 'input') if destination else (probe.hook == 'output')
        kind = 'LOCAL' if local else 'UNICAST'
        hit = kind in types or (local and 'UNICAST' in types)
        return hit != negate
    return match


def _save_tables(text):
    """{table: text} of an iptables-save listing."""
    tables, name, lines = {}, None, []
    for line in text.splitlines():
        if line.startswith('*'):
            name, lines = line[1:].strip(), [line]
            continue
        if name is None:
            continue
        lines.append(line)
        if line.strip() == 'COMMIT':
            tables[name] = '\n'.join(lines) + '\n'
            name = None
    return tables


def _legacy_rule(fam, table, family, words, line, number, chains):
    matches, notes = [], []
    action = (None, None)
    index = 2
    negate = False
    proto = None
    comment = None
    while index < len(words):
        word = words[index]
        value = words[index + 1] if index + 1 < len(words) else ''
        if word == '!':
            negate = True
            index += 1
            continue
        step = 2
        if word in ('-d', '--destination', '-s', '--source'):
            field = 'daddr' if word in ('-d', '--destination') else 'saddr'
            values = ValueSet([_legacy_net(part) for part in value.split(',')])
            matches.append((_compare(_payload_getter({'protocol': 'ip' if family == 4 else 'ip6',
                                                      'field': field}), values,
                                     '!=' if negate else '==', None), '%s %s' % (word, value)))
        elif word in ('-p', '--protocol'):
            proto = value
            if value != 'all':
                matches.append((_compare(_meta_getter('l4proto'), ValueSet([value]),
                                         '!=' if negate else '==', None), '-p %s' % value))
        elif word in ('--dport', '--destination-port', '--sport', '--source-port', '--dports',
                      '--destination-ports', '--sports', '--source-ports'):
            field = 'dport' if 'd' in word.lstrip('-')[:1] else 'sport'
            ports = ValueSet([_legacy_ports(part) for part in value.split(',')])
            matches.append((_compare(_payload_getter({'protocol': proto or 'th', 'field': field}),
                                     ports, '!=' if negate else '==', None),
                            '%s %s' % (word, value)))
        elif word in ('-i', '--in-interface', '-o', '--out-interface'):
            key = 'iifname' if word in ('-i', '--in-interface') else 'oifname'
            name = value[:-1] + '*' if value.endswith('+') else value
            matches.append((_compare(_meta_getter(key), ValueSet([name]),
                                     '!=' if negate else '==', None), '%s %s' % (word, value)))
        elif word in ('--ctstate', '--state'):
            states = set(part.lower() for part in value.split(','))
            hit = ('new' in states) != negate
            matches.append(((lambda probe, hit=hit: hit), '%s %s' % (word, value)))
        elif word in _NO_ROUTING_HEADER:
            matches.append(((lambda probe, hit=negate: hit), '%s %s' % (word, value)))
            step = 1 if word == '--rt-0-not-strict' else 2
        elif word in ('--dst-type', '--src-type'):
            types = set(value.upper().split(','))
            matches.append((_addrtype(word == '--dst-type', types, negate),
                            '%s%s %s' % ('! ' if negate else '', word, value)))
        elif word == '-m':
            if value not in _LEGACY_KNOWN_MODULES:
                matches.append((_always_maybe, '-m %s' % value))
        elif word == '--comment':
            comment = value
        elif word in ('-j', '-g', '--jump', '--goto'):
            target = value
            if target in ('ACCEPT', 'DROP', 'REJECT', 'RETURN'):
                action = (target.lower(), None)
            elif target in ('DNAT', 'SNAT', 'MASQUERADE', 'REDIRECT'):
                action = ('accept', target)
            elif (fam, table, target) in chains:
                action = ('jump' if word in ('-j', '--jump') else 'goto', target)
            elif target in XT_NOOP_TARGETS:
                action = (None, None)
            else:
                action = ('xt', '-j %s' % target)
            # target options follow; skip them (e.g. --reject-with)
            index = len(words)
            continue
        elif word.startswith('-'):
            # an option of a match this evaluator does not know: its argument, if any
            if not value.startswith('-') and value:
                label = '%s %s' % (word, value)
            else:
                label, step = word, 1
            matches.append((_always_maybe, label))
        else:
            step = 1
        negate = False
        index += step
    where = {'family': fam, 'table': table, 'chain': words[1], 'handle': number,
             'rule': comment or line}
    return Rule(matches, action, where, notes)


def _legacy_net(text):
    if '/' in text:
        network = ipaddress.ip_network(text, strict=False)
        return {'prefix': {'addr': str(network.network_address), 'len': network.prefixlen}}
    return text


def _legacy_ports(text):
    if ':' in text:
        low, high = text.split(':', 1)
        return {'range': [int(low or 0), int(high or 65535)]}
    return int(text) if text.isdigit() else text


# ---------------------------------------------------------------- rule text

def render_expr(expr):
    if isinstance(expr, dict) and len(expr) == 1:
        (kind, arg), = expr.items()
        if kind == 'payload' and isinstance(arg, dict):
            return '%s %s' % (arg.get('protocol', 'raw'), arg.get('field', ''))
        if kind in ('meta', 'ct', 'fib', 'rt', 'socket', 'osf', 'exthdr'):
            return '%s %s' % (kind, (arg or {}).get('key') or (arg or {}).get('result') or '')
        if kind == 'prefix':
            return '%s/%s' % (arg.get('addr'), arg.get('len'))
        if kind == 'range':
            return '%s-%s' % (render_expr(arg[0]), render_expr(arg[1]))
        if kind == 'set':
            return '{ %s }' % ', '.join(render_expr(item) for item in arg)
        if kind == 'concat':
            return ' . '.join(render_expr(item) for item in arg)
        if kind == 'elem':
            return render_expr(arg.get('val'))
        if kind == 'xt':
            return 'xt %s' % ((arg or {}).get('name') or '?')
        if kind == '&':
            return '%s & %s' % (render_expr(arg[0]), render_expr(arg[1]))
        return kind
    if isinstance(expr, list):
        return ','.join(render_expr(item) for item in expr)
    return str(expr)


def render(rule):
    """Short nft-like text of a rule, for messages."""
    parts = []
    for expr in rule.get('expr') or []:
        if not isinstance(expr, dict) or len(expr) != 1:
            continue
        (name, arg), = expr.items()
        if name == 'match':
            op = arg.get('op', '==')
            parts.append('%s %s%s' % (render_expr(arg.get('left')),
                                      '' if op in ('==', 'in') else op + ' ',
                                      render_expr(arg.get('right'))))
        elif name in ('jump', 'goto'):
            parts.append('%s %s' % (name, (arg or {}).get('target')))
        elif name in ('counter', 'log', 'limit'):
            parts.append(name)
        elif name == 'xt':
            parts.append(render_expr(expr))
        elif name == 'vmap':
            parts.append('%s vmap %s' % (render_expr(arg.get('key')), render_expr(arg.get('data'))))
        else:
            parts.append(name)
    return ' '.join(parts)
