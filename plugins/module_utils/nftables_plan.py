# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure half of jaas.firewall.nftables_rules: desired table, rendering, the ``nft -j``
parser and the diff (no command, no file, no module; the host side is
module_utils/nftables_backend.py).

Everything lives in one table of ours (``inet jaas`` by default): one named interval set
per (block, family) of the grouped policy (module_utils/policy.py), one rule per (block,
family, protocol, ports) referencing it, an ``output`` and an ``input`` base chain, and in
gateway mode a ``forward`` base chain whose rules reference the same sets (matched on the
LAN and WAN interface names). The domain half's sets and rules (module_utils/nft_domains.py,
shared with the ufw and firewalld domain halves) are added by ``with_domains``.

Desired and live state share one model (``None`` = no table)::

    {'flags': [str],
     'sets':   {name: {'type': 'ipv4_addr'|'ipv6_addr', 'flags': ['interval'],
                       'elements': [CIDR str, collapsed and sorted]}},
     'chains': {name: {'type': 'filter', 'hook': str, 'prio': int, 'policy': str,
                       'rules': [rule text, in order]}},
     'foreign': [text of objects of a kind this module never creates]}

Rule text is nft syntax; the live side is rebuilt from ``nft -j list table`` by
``rule_text`` for the handful of expressions this module writes (anything else becomes a
text that never matches, so the table is rewritten). One script (``script``) replaces the
whole table in a single ``nft -f`` transaction; the same script, saved
(``persisted_file``), is what the distribution's nftables service loads at boot. Python
stdlib only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import json
import re

from ansible_collections.jaas.firewall.plugins.module_utils.nft_syntax import (
    ADDRESS, FORWARD_CHAIN, REJECT, insert_before_reject, interface_match)
from ansible_collections.jaas.firewall.plugins.module_utils.gateway import forwarded
from ansible_collections.jaas.firewall.plugins.module_utils.nft_domains import (
    dns_input_rules, domain_rules, domain_sets, forward_rules)
from ansible_collections.jaas.firewall.plugins.module_utils.model import ports_text
from ansible_collections.jaas.firewall.plugins.module_utils.policy import (
    PlanError, collapse, group_rules, service_key, unique)

FAMILY = 'inet'
POLICIES = ('accept', 'drop', 'reject')
# Table names: an nft identifier, kept short and plain (it also names the saved file).
_TABLE = re.compile(r'^[a-z][a-z0-9_]{0,31}\Z')
# Set names are "v4_<block key>" (set_name): the prefix makes a block key that starts with a digit an
# nft identifier too (block keys are the rule model's slugs).
CHAIN_HOOKS = {'input': 'input', 'output': 'output'}
CHAIN_OF = {'in': 'input', 'out': 'output'}
# ICMPv6 neighbour discovery is not conntrack "established": without it a restrictive
# chain would break IPv6 to every neighbour, allowed or not.
NEIGHBOUR_DISCOVERY = {
    'output': ('nd-neighbor-advert', 'nd-neighbor-solicit', 'nd-router-solicit'),
    'input': ('nd-neighbor-advert', 'nd-neighbor-solicit', 'nd-router-advert'),
}
# Drop logging (log_drops): what falls through a chain of ours whose policy drops (or whose
# last rule rejects) is logged, rate-limited, with the tag no other rule uses, read back by
# jaas.firewall.drop_report (module_utils/drop_log.py: ``jaas-drop out|in|fwd ``). One rule
# per chain in table inet: IPv4 and IPv6 alike.
LOG_TAG = 'jaas-drop'
LOG_DIRECTION = {'input': 'in', 'output': 'out', 'forward': 'fwd'}
LOG_COMMENT = 'log drops'


def log_rule(chain):
    """The rate-limited log rule of one chain (nft syntax as ``nft list`` prints it)."""
    return ('limit rate 10/second burst 20 packets log prefix "%s %s " level info comment "%s"'
            % (LOG_TAG, LOG_DIRECTION[chain], LOG_COMMENT))


# meta keys nft prints without "meta", and whose values are quoted strings
_BARE_META = ('iif', 'oif', 'iifname', 'oifname')

# nft gives a set that a rule updates this size when none is declared.
DEFAULT_DYNAMIC_SIZE = 65535

PERSIST_CONFIG = '/etc/nftables.conf'
# What nftables.service loads on Red Hat family hosts (Debian and Ubuntu: PERSIST_CONFIG).
PERSIST_CONFIG_REDHAT = '/etc/sysconfig/nftables.conf'
PERSIST_DIR = '/etc/nftables.d'
PERSIST_SERVICE = 'nftables.service'
# systemctl is-enabled answers that need no "systemctl enable"
LOADS_AT_BOOT = ('enabled', 'enabled-runtime', 'static', 'alias', 'generated')
PERSIST_HEADER = ('# Managed by the jaas.firewall collection (nftables_rules); do not edit.\n'
                  '# Loaded at boot through an include line in %s; it replaces only\n'
                  '# table %s %s, in one transaction.\n')
INCLUDE_MARK = '  # jaas.firewall: table %s %s'


# ---------------------------------------------------------------- desired state (pure)

def check_table(name):
    if not isinstance(name, str) or not _TABLE.match(name):
        raise PlanError('prefix (the nftables table name) must be 1-32 lowercase letters, '
                        'digits or _ starting with a letter, got %r' % (name,))


def set_name(block, family):
    return 'v%d_%s' % (family, block)


def address_text(network):
    """nft prints a full-length prefix as a bare address."""
    if network.prefixlen == network.max_prefixlen:
        return str(network.network_address)
    return str(network)


def _intervals(elements):
    """Sorted, merged (first, last) integer ranges of CIDR strings of one family."""
    ranges = sorted((int(n.network_address), int(n.broadcast_address))
                    for n in (ipaddress.ip_network(e) for e in elements))
    merged = []
    for first, last in ranges:
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def space_difference(elements, minus):
    """CIDR strings covering the addresses of ``elements`` that ``minus`` does not cover.

    Reported changes are address space, not set entries: adding 198.18.2.98 next to
    198.18.2.99 changes the entry to a /31, but only .98 was added.
    """
    result = []
    for version, cls in ((4, ipaddress.IPv4Address), (6, ipaddress.IPv6Address)):
        keep = _intervals([e for e in elements if ipaddress.ip_network(e).version == version])
        cut = _intervals([e for e in minus if ipaddress.ip_network(e).version == version])
        index = 0
        for first, last in keep:
            start = first
            while index < len(cut) and cut[index][1] < start:
                index += 1
            probe = index
            while start <= last and probe < len(cut) and cut[probe][0] <= last:
                if cut[probe][0] > start:
                    result.extend(ipaddress.summarize_address_range(cls(start), cls(cut[probe][0] - 1)))
                start = max(start, cut[probe][1] + 1)
                probe += 1
            if start <= last:
                result.extend(ipaddress.summarize_address_range(cls(start), cls(last)))
    return [str(n) for n in result]


def service_text(protocol, ports):
    return '%s dport %s' % (protocol, ports) if ports else 'meta l4proto %s' % protocol


def keep_open_rule(entry):
    """Accept rule text for one validated keep-open entry."""
    match = ''
    if 'network' in entry:
        network = ipaddress.ip_network(entry['network'])
        side = 'daddr' if entry['direction'] == 'out' else 'saddr'
        match = '%s %s %s ' % (ADDRESS[network.version][0], side, address_text(network))
    return '%s%s dport %s accept comment "keep_open"' % (match, entry['protocol'],
                                                         ports_text(entry['port']))


def forward_chain(rules, gateway, policy):
    """The forward chain of gateway mode: the outbound rules, LAN -> WAN, same sets."""
    interfaces = (interface_match('iifname', gateway.in_interfaces)
                  + interface_match('oifname', gateway.out_interfaces))
    rules_text = []
    if policy != 'accept':
        # Replies of the allowed flows (and their ICMP errors) come back WAN -> LAN.
        rules_text.append('ct state established,related accept comment "established"')
    for (_direction, block, family), group in sorted(group_rules(forwarded(rules)).items()):
        for protocol, ports in sorted(group['services'], key=service_key):
            rules_text.append('%s%s daddr @%s %s accept comment "%s"'
                              % (interfaces, ADDRESS[family][0], set_name(block, family),
                                 service_text(protocol, ports), block))
    if policy == 'reject':
        rules_text.append(REJECT + ' comment "default reject"')
    return {'type': 'filter', 'hook': 'forward', 'prio': 0,
            'policy': 'accept' if policy == 'accept' else 'drop', 'rules': unique(rules_text)}


def desired_model(rules, keep_open=(), connection_ports=(), default_incoming='accept',
                  default_outgoing='accept', gateway=None, default_forward='accept'):
    """The complete table for state=present (pure; PlanError on bad input).

    ``gateway`` (module_utils/gateway.py Gateway, or None) adds the forward chain; the
    input and output chains are the same with or without it.
    """
    policies = {'input': default_incoming, 'output': default_outgoing, 'forward': default_forward}
    for chain, policy in sorted(policies.items()):
        if policy not in POLICIES:
            raise PlanError('default_%s must be one of %s, got %r'
                            % ({'input': 'incoming', 'output': 'outgoing'}.get(chain, chain),
                               ', '.join(POLICIES), policy))
    sets, catalog_rules = {}, {'input': [], 'output': []}
    for (direction, block, family), group in sorted(group_rules(rules).items()):
        name = set_name(block, family)
        sets[name] = {'type': ADDRESS[family][1], 'flags': ['interval'],
                      'elements': collapse(group['networks'])}
        side = 'daddr' if direction == 'out' else 'saddr'
        for protocol, ports in sorted(group['services'], key=service_key):
            catalog_rules[CHAIN_OF[direction]].append(
                '%s %s @%s %s accept comment "%s"'
                % (ADDRESS[family][0], side, name, service_text(protocol, ports), block))

    chains = {}
    for chain, hook in CHAIN_HOOKS.items():
        policy = policies[chain]
        rules_text = []
        if policy != 'accept':
            # Safety first, and only where it matters: an accept in an accepting chain
            # changes nothing (and cannot override another table's drop).
            interface = 'iif' if chain == 'input' else 'oif'
            rules_text += [
                'ct state established,related accept comment "established"',
                '%s "lo" accept comment "loopback"' % interface,
                'icmpv6 type { %s } accept comment "neighbour discovery"'
                % ', '.join(NEIGHBOUR_DISCOVERY[chain]),
            ]
            if chain == 'input':
                rules_text += ['tcp dport %d accept comment "ansible connection"' % port
                               for port in connection_ports]
            rules_text += [keep_open_rule(entry) for entry in keep_open
                           if CHAIN_OF[entry['direction']] == chain]
        rules_text += catalog_rules[chain]
        if policy == 'reject':
            rules_text.append(REJECT + ' comment "default reject"')
        chains[chain] = {'type': 'filter', 'hook': hook, 'prio': 0,
                         'policy': 'accept' if policy == 'accept' else 'drop',
                         'rules': unique(rules_text)}
    if gateway is not None:
        chains[FORWARD_CHAIN] = forward_chain(rules, gateway, default_forward)
    return {'flags': [], 'sets': sets, 'chains': chains, 'foreign': []}


def with_drop_logging(model, log_drops):
    """The table with ``log_rule`` last in each chain that drops (before its final reject),
    after every accept of ours - including the domain half's. Accepting chains drop nothing
    of ours: nothing to log."""
    if model is None or not log_drops:
        return model
    for name, chain in model['chains'].items():
        if chain['policy'] != 'accept':
            insert_before_reject(chain, [log_rule(name)])
    return model


# ---------------------------------------------------------------- rendering (pure)

def resolver_diff(config):
    """The resolver's configuration in the diff, each line marked as not nft syntax."""
    return ''.join('# resolver: %s\n' % line for line in config.splitlines())


def render_table(model, table, carried=None):
    """The table definition in nft syntax ('' when there is no table).

    ``carried``: {set name: [element text]} the resolver put into our timed domain sets,
    written into the replacement (``carried_elements``), never saved.
    """
    if model is None:
        return ''
    carried = carried or {}
    lines = ['table %s %s {' % (FAMILY, table)]
    if model.get('flags'):
        lines.append('\tflags %s' % ','.join(model['flags']))
    for name, item in sorted(model['sets'].items()):
        lines += ['\tset %s {' % name, '\t\ttype %s' % item['type']]
        if item['flags']:
            lines.append('\t\tflags %s' % ','.join(item['flags']))
        if item.get('timeout'):
            lines.append('\t\ttimeout %ds' % item['timeout'])
        elements = item['elements'] + carried.get(name, [])
        if elements:
            lines.append('\t\telements = {')
            lines += ['\t\t\t%s,' % element for element in elements]
            lines.append('\t\t}')
        lines.append('\t}')
    for name, chain in sorted(model['chains'].items()):
        lines += ['\tchain %s {' % name,
                  '\t\ttype %s hook %s priority %d; policy %s;'
                  % (chain['type'], chain['hook'], chain['prio'], chain['policy'])]
        lines += ['\t\t%s' % rule for rule in chain['rules']]
        lines.append('\t}')
    lines += ['\t# foreign: %s' % text for text in model.get('foreign', [])]
    lines.append('}')
    return '\n'.join(lines) + '\n'


def script(model, table, carried=None):
    """One nft file that replaces our table atomically (or deletes it for None).

    Declaring the table first makes the delete valid whether or not it exists, so the
    same file works on a live host and after the service's ``flush ruleset`` at boot.
    """
    text = 'table %s %s {}\ndelete table %s %s\n' % (FAMILY, table, FAMILY, table)
    return text + render_table(model, table, carried)


def persisted_file(model, table, config):
    return (PERSIST_HEADER % (config, FAMILY, table)) + script(model, table)


def include_line(path, table):
    return 'include "%s"%s' % (path, INCLUDE_MARK % (FAMILY, table))


def is_include_of(line, path):
    """Whether a line of nftables.conf is an include of exactly our file."""
    directive = line.split('#', 1)[0].strip()
    return directive == 'include "%s"' % path


def with_include(text, path, table):
    if any(is_include_of(line, path) for line in text.splitlines()):
        return text
    if text and not text.endswith('\n'):
        text += '\n'
    return text + include_line(path, table) + '\n'


def without_include(text, path):
    lines = text.splitlines(True)
    return ''.join(line for line in lines if not is_include_of(line, path))


# ---------------------------------------------------------------- live state (pure)

def _value_text(value, quoted=False):
    if isinstance(value, bool):
        return '?%s' % json.dumps(value)
    if isinstance(value, int):
        return '%d' % value
    if isinstance(value, str):
        return '"%s"' % value if quoted else value
    if isinstance(value, list):                       # ct state flags
        return ','.join(sorted(_value_text(v) for v in value))
    if isinstance(value, dict):
        if 'range' in value and len(value['range']) == 2:
            return '%s-%s' % tuple(_value_text(v) for v in value['range'])
        if 'prefix' in value:
            return '%s/%s' % (value['prefix'].get('addr'), value['prefix'].get('len'))
        if 'set' in value:
            items = value['set'] if isinstance(value['set'], list) else [value['set']]
            return '{ %s }' % ', '.join(sorted(_value_text(v, quoted) for v in items))
    return '?%s' % json.dumps(value, sort_keys=True)


def _left_text(left):
    if isinstance(left, dict):
        if 'payload' in left and 'field' in left['payload']:
            return '%s %s' % (left['payload'].get('protocol'), left['payload']['field']), False
        if 'meta' in left:
            key = left['meta'].get('key')
            return (key, True) if key in _BARE_META else ('meta %s' % key, False)
        if 'ct' in left and 'dir' not in left['ct']:
            return 'ct %s' % left['ct'].get('key'), False
    return '?%s' % json.dumps(left, sort_keys=True), False


def _statement_text(statement):
    if not isinstance(statement, dict) or len(statement) != 1:
        return '?%s' % json.dumps(statement, sort_keys=True)
    (kind, body), = statement.items()
    if kind in ('accept', 'drop') and body is None:
        return kind
    if kind == 'match' and isinstance(body, dict):
        left, quoted = _left_text(body.get('left'))
        op = body.get('op')
        right = _value_text(body.get('right'), quoted)
        if op in ('==', 'in'):
            return '%s %s' % (left, right)
        return '%s %s %s' % (left, op, right)
    if kind == 'set' and isinstance(body, dict) and body.get('op') in ('add', 'update'):
        element, _quoted = _left_text(body.get('elem'))
        return '%s %s { %s }' % (body['op'], body.get('set'), element)
    if kind == 'limit' and isinstance(body, dict) and set(body) == {'rate', 'burst', 'per'}:
        return 'limit rate %s/%s burst %s packets' % (body['rate'], body['per'], body['burst'])
    if kind == 'log' and isinstance(body, dict) and set(body) <= {'prefix', 'level'}:
        return 'log%s%s' % (' prefix "%s"' % body['prefix'] if 'prefix' in body else '',
                            ' level %s' % body['level'] if 'level' in body else '')
    if kind == 'reject':
        if not body:
            return 'reject'
        if set(body) == {'type', 'expr'} and isinstance(body['expr'], str):
            return 'reject with %s type %s' % (body['type'], body['expr'])
    return '?%s' % json.dumps(statement, sort_keys=True)


def rule_text(rule):
    """nft text of a rule from ``nft -j`` (the subset this module writes)."""
    text = ' '.join(_statement_text(s) for s in rule.get('expr', []))
    if 'comment' in rule:
        text += ' comment "%s"' % rule['comment']
    return text


def _element_networks(elem):
    if isinstance(elem, dict) and 'elem' in elem:            # element with options
        elem = elem['elem'].get('val')
    if isinstance(elem, str):
        return [ipaddress.ip_network(elem)]
    if isinstance(elem, dict) and 'prefix' in elem:
        return [ipaddress.ip_network('%s/%s' % (elem['prefix']['addr'], elem['prefix']['len']))]
    if isinstance(elem, dict) and 'range' in elem:
        low, high = (ipaddress.ip_address(a) for a in elem['range'])
        return list(ipaddress.summarize_address_range(low, high))
    raise ValueError('unexpected set element %r' % (elem,))


def _flags(value):
    if value is None:
        return []
    return sorted(value if isinstance(value, list) else [value])


def live_set(body):
    """(set model, [(address, expires seconds)]) of a timed set from ``nft -j``.

    nft 1.0.6 lists ``flags: [timeout]`` for a set declared ``dynamic,timeout`` (1.1.3
    lists both), and both add ``size 65535``: read as we declare them.
    """
    flags = sorted(set(body.get('flags') if isinstance(body.get('flags'), list)
                       else [body.get('flags')]) | {'dynamic'})
    model = {'type': body['type'], 'flags': flags, 'timeout': body.get('timeout'),
             'elements': []}
    extras = [key for key in ('gc-interval', 'policy', 'auto-merge', 'comment') if key in body]
    if body.get('size', DEFAULT_DYNAMIC_SIZE) != DEFAULT_DYNAMIC_SIZE:
        extras.append('size')
    elements = []
    for elem in body.get('elem', []):
        inner = elem.get('elem', {}) if isinstance(elem, dict) else {}
        value = inner.get('val') if inner else elem
        if not isinstance(value, str):
            extras.append('element %r' % (value,))
            continue
        elements.append((value, int(inner.get('expires', 0) or 0)))
    return model, sorted(elements), extras


def live_model(listing, table, dynamic=None):
    """The model of our table from ``nft -j list table inet <table>`` (parsed JSON).

    Elements of timed sets (the resolver's) go into ``dynamic`` {set name: [(address,
    seconds left)]} when a dict is given, never into the model.
    """
    model = {'flags': [], 'sets': {}, 'chains': {}, 'foreign': []}
    dynamic = {} if dynamic is None else dynamic
    rules = []
    for item in listing.get('nftables', []):
        (kind, body), = item.items()
        if kind == 'metainfo':
            continue
        if body.get('family') != FAMILY or body.get('table', body.get('name')) != table:
            continue                                 # not ours (never expected here)
        if kind == 'table':
            model['flags'] = _flags(body.get('flags'))
        elif kind == 'set' and body.get('type') in ('ipv4_addr', 'ipv6_addr') \
                and 'timeout' in _flags(body.get('flags')) \
                and 'interval' not in _flags(body.get('flags')):
            item, dynamic[body['name']], extras = live_set(body)
            model['sets'][body['name']] = item
            model['foreign'] += ['set %s has %s' % (body['name'], e) for e in extras]
        elif kind == 'set' and body.get('type') in ('ipv4_addr', 'ipv6_addr'):
            try:
                networks = [n for e in body.get('elem', []) for n in _element_networks(e)]
            except ValueError as exc:
                model['foreign'].append('set %s: %s' % (body.get('name'), exc))
                networks = []
            model['sets'][body['name']] = {'type': body['type'], 'flags': _flags(body.get('flags')),
                                           'elements': collapse(networks)}
            for extra in ('timeout', 'gc-interval', 'size', 'policy', 'auto-merge', 'comment'):
                if extra in body:
                    model['foreign'].append('set %s has %s' % (body['name'], extra))
        elif kind == 'chain':
            model['chains'][body['name']] = {
                'type': body.get('type'), 'hook': body.get('hook'), 'prio': body.get('prio'),
                'policy': body.get('policy'), 'rules': []}
        elif kind == 'rule':
            rules.append(body)
        else:
            model['foreign'].append('%s %s' % (kind, body.get('name', '')))
    for rule in rules:
        chain = model['chains'].get(rule.get('chain'))
        if chain is None:
            model['foreign'].append('rule in unknown chain %s' % rule.get('chain'))
        else:
            chain['rules'].append(rule_text(rule))
    model['foreign'].sort()
    return model


# ---------------------------------------------------------------- planning (pure)

def _set_shape(name, item):
    return 'set %s (%s%s%s)' % (name, item['type'], ''.join(', ' + f for f in item['flags']),
                                ', timeout %ds' % item['timeout'] if item.get('timeout') else '')


def _chain_head(name, chain):
    return ('chain %s (type %s hook %s priority %s policy %s)'
            % (name, chain['type'], chain['hook'], chain['prio'], chain['policy']))


def table_changes(desired, live, table):
    """(added, removed): one readable line per set element, rule, policy or object."""
    added, removed = [], []
    if desired == live:
        return added, removed
    empty = {'flags': [], 'sets': {}, 'chains': {}, 'foreign': []}
    want, have = desired or empty, live or empty
    if live is None:
        added.append('table %s %s' % (FAMILY, table))
    if desired is None:
        removed.append('table %s %s' % (FAMILY, table))
    added += ['table flag %s' % f for f in want['flags'] if f not in have['flags']]
    removed += ['table flag %s' % f for f in have['flags'] if f not in want['flags']]
    for name in sorted(set(want['sets']) | set(have['sets'])):
        new, old = want['sets'].get(name), have['sets'].get(name)
        new_elements = new['elements'] if new else []
        old_elements = old['elements'] if old else []
        if not (old and new and _set_shape(name, old) == _set_shape(name, new)):
            if new:                                  # created, removed or re-typed
                added.append(_set_shape(name, new))
            if old:
                removed.append(_set_shape(name, old))
            added += ['element %s %s' % (name, e) for e in new_elements]
            removed += ['element %s %s' % (name, e) for e in old_elements]
        elif new_elements != old_elements:
            added += ['element %s %s' % (name, e) for e in space_difference(new_elements, old_elements)]
            removed += ['element %s %s' % (name, e) for e in space_difference(old_elements, new_elements)]
    for name in sorted(set(want['chains']) | set(have['chains'])):
        new, old = want['chains'].get(name), have['chains'].get(name)
        if new and (not old or _chain_head(name, new) != _chain_head(name, old)):
            added.append(_chain_head(name, new))
        if old and (not new or _chain_head(name, new) != _chain_head(name, old)):
            removed.append(_chain_head(name, old))
        new_rules, old_rules = (new or {}).get('rules', []), (old or {}).get('rules', [])
        more = ['rule %s: %s' % (name, r) for r in new_rules if r not in old_rules]
        fewer = ['rule %s: %s' % (name, r) for r in old_rules if r not in new_rules]
        if not more and not fewer and new_rules != old_rules:
            more = ['rule order in chain %s' % name]
        added += more
        removed += fewer
    removed += ['foreign object in our table: %s' % text for text in have['foreign']]
    return added, removed


def persist_actions(want, have):
    """Ordered actions that bring the saved state from ``have`` to ``want``.

    want: {'file': text or None, 'include': bool, 'enable': bool}
    have: {'file': text or None, 'include': bool, 'enabled': systemctl is-enabled word}
    Our file is written before the include that loads it and removed after it.
    """
    actions = []
    if want['file'] is not None and have['file'] != want['file']:
        actions.append('write')
    if want['include'] and not have['include']:
        actions.append('include')
    if not want['include'] and have['include']:
        actions.append('uninclude')
    if want['file'] is None and have['file'] is not None:
        actions.append('delete')
    if want['enable'] and have['enabled'] in ('disabled', 'indirect'):  # masked: warned
        actions.append('enable')
    return actions


# -- the domain half in this table (module_utils/nft_domains.py renders it) ----------
def is_domain_set(item):
    return 'timeout' in item.get('flags', [])


def carried_elements(new_sets, old_sets, dynamic):
    """{set name: ['<address> timeout Ns expires Ms', ...]} for the replacement script.

    Only into a set of the same name and type; never longer than the new timeout;
    elements about to expire (under a second left) are left to expire.
    """
    carried = {}
    for name, elements in sorted(dynamic.items()):
        new, old = new_sets.get(name), old_sets.get(name)
        if not new or not old or new['type'] != old['type'] or not is_domain_set(new):
            continue
        kept = ['%s timeout %ds expires %ds' % (address, new['timeout'],
                                                min(expires, new['timeout']))
                for address, expires in elements if expires >= 1]
        if kept:
            carried[name] = kept
    return carried


def with_domains(model, domains, ttl, exclude=None, gateway=None):
    """The table (a model of this module) with the domain half added: the
    timed sets, the answer guard's sets, and the rules allowing them in the output chain,
    ahead of its final reject.

    ``gateway`` (gateway mode; its LAN interfaces checked by gateway.resolver_interfaces):
    the forward chain allows the same, LAN -> WAN, and an input chain that does not accept
    everything accepts DNS from the LAN interfaces (the resolver serves the LAN)."""
    if model is None or not domains:
        return model
    model['sets'].update(domain_sets(domains, ttl, exclude))
    insert_before_reject(model['chains']['output'], domain_rules(domains, exclude))
    if gateway is not None and FORWARD_CHAIN in model['chains']:
        interfaces = (interface_match('iifname', gateway.in_interfaces)
                      + interface_match('oifname', gateway.out_interfaces))
        insert_before_reject(model['chains'][FORWARD_CHAIN],
                             forward_rules(domains, exclude, interfaces))
        if model['chains']['input']['policy'] != 'accept':     # drop, or reject (drop + tail)
            insert_before_reject(model['chains']['input'], dns_input_rules(
                interface_match('iifname', gateway.in_interfaces)))
    return model
