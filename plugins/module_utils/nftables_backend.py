# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nftables backend of the converge skeleton (module_utils/converge.py).

Everything lives in one table of ours (``inet jaas`` by default): one named interval set
per (block, family), one rule per (block, family, protocol, ports) referencing it, an
``output`` and an ``input`` base chain, and in gateway mode a ``forward`` base chain whose
rules reference the same sets (matched on the LAN and WAN interface names). Other tables
are never read for changes, modified or flushed.

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
whole table in a single ``nft -f`` transaction; the same script, saved, is what the
distribution's nftables service loads at boot. Python stdlib only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import json
import os
import re
import tempfile

from ansible_collections.jaas.firewall.plugins.module_utils.converge import Backend, Plan
from ansible_collections.jaas.firewall.plugins.module_utils.policy import (
    PlanError, collapse, group_rules)
from ansible_collections.jaas.firewall.plugins.module_utils.gateway import (
    forwarded, gateway_argument_spec, gateway_from_params, resolver_interfaces)
from ansible_collections.jaas.firewall.plugins.module_utils import answer_guard, nftables_domains
from ansible_collections.jaas.firewall.plugins.module_utils.domain_resolver import Resolver
from ansible_collections.jaas.firewall.plugins.module_utils.domain_sets import (
    DOMAINS_ARGUMENT_SPEC, DomainError, broader_than_catalog, check_ttl, normalise_domains)
from ansible_collections.jaas.firewall.plugins.module_utils.rollback import NftablesRecipe
from ansible_collections.jaas.firewall.plugins.module_utils.model import (
    ModelError, check_plain, ports_text)

FAMILY = 'inet'
POLICIES = ('accept', 'drop', 'reject')
# Table names: an nft identifier, kept short and plain (it also names the saved file).
_TABLE = re.compile(r'^[a-z][a-z0-9_]{0,31}\Z')
# Set names are "v4_<block key>": the prefix makes a block key that starts with a digit an
# nft identifier too (block keys are the rule model's slugs).
ADDRESS = {4: ('ip', 'ipv4_addr'), 6: ('ip6', 'ipv6_addr')}
CHAIN_HOOKS = {'input': 'input', 'output': 'output'}
CHAIN_OF = {'in': 'input', 'out': 'output'}
FORWARD_CHAIN = 'forward'
# ICMPv6 neighbour discovery is not conntrack "established": without it a restrictive
# chain would break IPv6 to every neighbour, allowed or not.
NEIGHBOUR_DISCOVERY = {
    'output': ('nd-neighbor-advert', 'nd-neighbor-solicit', 'nd-router-solicit'),
    'input': ('nd-neighbor-advert', 'nd-neighbor-solicit', 'nd-router-advert'),
}
REJECT = 'reject with icmpx type admin-prohibited'
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


def _service_key(service):
    protocol, ports = service
    return (protocol, int(ports.split('-')[0]) if ports else 0)


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


def _unique(items):
    seen, result = set(), []
    for item in items:
        if item not in seen:
            seen.add(item)
            result.append(item)
    return result


def interface_match(key, names):
    """'iifname "lan0" ', 'iifname { "a", "b" } ' (sorted, as nft lists a set) or ''."""
    if not names:
        return ''
    quoted = ['"%s"' % name for name in sorted(names)]
    return '%s %s ' % (key, quoted[0] if len(quoted) == 1 else '{ %s }' % ', '.join(quoted))


def forward_chain(rules, gateway, policy):
    """The forward chain of gateway mode: the outbound rules, LAN -> WAN, same sets."""
    interfaces = (interface_match('iifname', gateway.in_interfaces)
                  + interface_match('oifname', gateway.out_interfaces))
    rules_text = []
    if policy != 'accept':
        # Replies of the allowed flows (and their ICMP errors) come back WAN -> LAN.
        rules_text.append('ct state established,related accept comment "established"')
    for (_direction, block, family), group in sorted(group_rules(forwarded(rules)).items()):
        for protocol, ports in sorted(group['services'], key=_service_key):
            rules_text.append('%s%s daddr @%s %s accept comment "%s"'
                              % (interfaces, ADDRESS[family][0], set_name(block, family),
                                 service_text(protocol, ports), block))
    if policy == 'reject':
        rules_text.append(REJECT + ' comment "default reject"')
    return {'type': 'filter', 'hook': 'forward', 'prio': 0,
            'policy': 'accept' if policy == 'accept' else 'drop', 'rules': _unique(rules_text)}


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
        for protocol, ports in sorted(group['services'], key=_service_key):
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
                         'rules': _unique(rules_text)}
    if gateway is not None:
        chains[FORWARD_CHAIN] = forward_chain(rules, gateway, default_forward)
    return {'flags': [], 'sets': sets, 'chains': chains, 'foreign': []}


def _insert_before_reject(chain, new_rules):
    rules = chain['rules']
    tail = [rules.pop()] if rules and rules[-1].startswith(REJECT) else []
    rules += [rule for rule in new_rules if rule not in rules] + tail


def with_domains(model, domains, ttl, exclude=None, gateway=None):
    """The table with the domain half (module_utils/nftables_domains.py) added: the timed
    sets, the answer guard's sets, and the rules allowing them in the output chain, ahead
    of its final reject.

    ``gateway`` (gateway mode; its LAN interfaces checked by gateway.resolver_interfaces):
    the forward chain allows the same, LAN -> WAN, and an input chain that does not accept
    everything accepts DNS from the LAN interfaces (the resolver serves the LAN)."""
    if model is None or not domains:
        return model
    model['sets'].update(nftables_domains.domain_sets(domains, ttl, exclude))
    _insert_before_reject(model['chains']['output'],
                          nftables_domains.domain_rules(domains, exclude))
    if gateway is not None and FORWARD_CHAIN in model['chains']:
        interfaces = (interface_match('iifname', gateway.in_interfaces)
                      + interface_match('oifname', gateway.out_interfaces))
        _insert_before_reject(model['chains'][FORWARD_CHAIN],
                              nftables_domains.forward_rules(domains, exclude, interfaces))
        if model['chains']['input']['policy'] != 'accept':     # drop, or reject (drop + tail)
            _insert_before_reject(model['chains']['input'], nftables_domains.dns_input_rules(
                interface_match('iifname', gateway.in_interfaces)))
    return model


def with_drop_logging(model, log_drops):
    """The table with ``log_rule`` last in each chain that drops (before its final reject),
    after every accept of ours - including the domain half's. Accepting chains drop nothing
    of ours: nothing to log."""
    if model is None or not log_drops:
        return model
    for name, chain in model['chains'].items():
        if chain['policy'] != 'accept':
            _insert_before_reject(chain, [log_rule(name)])
    return model


# ---------------------------------------------------------------- rendering (pure)

def _resolver_diff(config):
    """The resolver's configuration in the diff, each line marked as not nft syntax."""
    return ''.join('# resolver: %s\n' % line for line in config.splitlines())


def render_table(model, table, carried=None):
    """The table definition in nft syntax ('' when there is no table).

    ``carried``: {set name: [element text]} the resolver put into our timed domain sets,
    written into the replacement (module_utils/nftables_domains.py), never saved.
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
            item, dynamic[body['name']], extras = nftables_domains.live_set(body)
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


def default_persist_config(exists=os.path.exists):
    """The file this host's nftables.service loads: Red Hat's /etc/sysconfig/nftables.conf
    when it is there and Debian's /etc/nftables.conf is not, else /etc/nftables.conf."""
    if exists(PERSIST_CONFIG_REDHAT) and not exists(PERSIST_CONFIG):
        return PERSIST_CONFIG_REDHAT
    return PERSIST_CONFIG


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


# ---------------------------------------------------------------- the backend (host)

class NftablesBackend(Backend):
    """Hooks for converge.run(): reads with ``nft -j``, applies with one ``nft -f``."""

    prefix_default = 'jaas'
    argument_spec = dict(
        default_incoming=dict(type='str', default='accept', choices=list(POLICIES)),
        default_outgoing=dict(type='str', default='accept', choices=list(POLICIES)),
        default_forward=dict(type='str', default='accept', choices=list(POLICIES)),
        persist=dict(type='bool', default=True),
        persist_config=dict(type='path'),
        persist_file=dict(type='path'),
        log_drops=dict(type='bool', default=False),
    )
    argument_spec.update(gateway_argument_spec())
    argument_spec.update(DOMAINS_ARGUMENT_SPEC)

    def __init__(self, module):
        super(NftablesBackend, self).__init__(module)
        self.table = module.params['prefix']
        self.nft = None
        self.diff_header = 'nftables table %s %s' % (FAMILY, self.table)
        self.resolver = Resolver(module)
        self.desired_resolver = None

    # -- pure -------------------------------------------------------------------------
    def desired(self, params, safety):
        check_table(self.table)
        self.connection_ports = list(safety.connection_ports)
        try:
            gateway = gateway_from_params(params)
        except ModelError as exc:
            raise PlanError(str(exc))
        model = None
        if params['state'] == 'present':
            model = desired_model(params['rules'], safety.keep_open, safety.connection_ports,
                                  params['default_incoming'], params['default_outgoing'],
                                  gateway, params['default_forward'])
        try:
            domains = normalise_domains(params['domains']) if model is not None else []
            ttl = check_ttl(params['domain_ttl'])
            exclude = answer_guard.normalise_exclude(
                params['domain_answer_exclude']) if domains else None
            lan = resolver_interfaces(gateway, domains)
            resolver = self.resolver.desired(
                domains, lambda category, family: nftables_domains.nft_target(
                    self.table, category, family), 'nftset', ttl, params['dns_upstreams'],
                lan_interfaces=lan, log_answers=params['log_drops'])
        except (DomainError, ModelError) as exc:
            raise PlanError(str(exc))
        model = with_domains(model, domains, ttl, exclude, gateway)
        model = with_drop_logging(model, params['log_drops'])
        self.desired_resolver = resolver
        for option in ('persist_file', 'persist_config'):
            if params[option] is not None:
                try:
                    check_plain(params[option], option)
                except ModelError as exc:
                    raise PlanError(str(exc))
        self.persist_file = params['persist_file'] or os.path.join(PERSIST_DIR, self.table + '.nft')
        self.persist_config = params['persist_config'] or default_persist_config()
        keep = params['persist'] and model is not None
        persist = {'file': persisted_file(model, self.table, self.persist_config) if keep else None,
                   'include': keep, 'enable': keep}
        return {'table': model, 'persist': persist, 'resolver': resolver,
                'broader': broader_than_catalog(domains)}

    def plan(self, desired, live):
        added, removed = table_changes(desired['table'], live['table'], self.table)
        table_changed = desired['table'] != live['table']
        actions = persist_actions(desired['persist'], live['persist'])
        model = desired['table'] or {'sets': {}, 'chains': {}}
        extras = dict(
            table='%s %s' % (FAMILY, self.table) if desired['table'] is not None else None,
            sets=len(model['sets']),
            elements=sum(len(s['elements']) for s in model['sets'].values()),
            rules=sum(len(c['rules']) for c in model['chains'].values()),
            policies={name: c['policy'] for name, c in model['chains'].items()},
            persist_changes=['%s %s' % (a, self._persist_target(a)) for a in actions],
            persist_file=self.persist_file,
            transaction=table_changed,
            # only a restrictive input chain holds the connection's rule
            connection_ports=self.connection_ports if model['chains'].get(
                'input', {}).get('policy', 'accept') != 'accept' else [])
        extras['msg'] = ('table %s %s: %d sets, %d elements, %d rules; policies %s; %d added, '
                         '%d removed; %s' % (
                             FAMILY, self.table, extras['sets'], extras['elements'],
                             extras['rules'], ', '.join('%s %s' % i for i in
                                                        sorted(extras['policies'].items())) or
                             'none', len(added), len(removed),
                             'saved copy: ' + ', '.join(extras['persist_changes'])
                             if actions else 'saved copy unchanged'))
        if desired['table'] is None:
            extras['msg'] = 'table %s %s absent; %d removed; %s' % (
                FAMILY, self.table, len(removed), ', '.join(extras['persist_changes']) or
                'nothing saved')
        warnings = []
        if desired['persist']['enable'] and live['persist']['enabled'] not in LOADS_AT_BOOT + (
                'disabled', 'indirect'):
            warnings.append('%s is %s: the table is saved in %s, but nothing loads it at boot'
                            % (PERSIST_SERVICE, live['persist']['enabled'], self.persist_file))
        carried = nftables_domains.carried_elements(
            (desired['table'] or {}).get('sets', {}), (live['table'] or {}).get('sets', {}),
            live['dynamic'])
        return self._with_resolver(desired, live, Plan(
            changed=table_changed or bool(actions), added=added, removed=removed,
            warnings=warnings,
            before=self._persist_summary(live['persist']) + render_table(live['table'], self.table),
            after=self._persist_summary(desired['persist']) + render_table(desired['table'], self.table),
            extras=extras,
            work={'script': script(desired['table'], self.table, carried) if table_changed else None,
                  'actions': actions, 'persist': desired['persist']}))

    def _with_resolver(self, desired, live, plan):
        """The table's plan and the resolver's (module_utils/domain_resolver.py) as one."""
        try:
            resolver = self.resolver.plan(desired['resolver'], live['resolver'])
        except DomainError as exc:
            self.module.fail_json(msg='nothing changed: %s' % exc)
        extras = dict(plan.extras, resolver=resolver.extras,
                      domain_elements=dict((name, len(elements)) for name, elements
                                           in sorted(live['dynamic'].items())),
                      domains_broader_than_catalog=desired['broader'])
        if resolver.changed:
            extras['msg'] += '; resolver: %s' % ', '.join(resolver.steps)
        return plan._replace(
            changed=plan.changed or resolver.changed, added=plan.added + resolver.added,
            removed=plan.removed + resolver.removed, warnings=list(plan.warnings) + resolver.warnings,
            before=plan.before + _resolver_diff(resolver.before),
            after=plan.after + _resolver_diff(resolver.after), extras=extras,
            work=dict(plan.work, resolver=resolver))

    def _persist_target(self, action):
        if action in ('write', 'delete'):
            return self.persist_file
        if action in ('include', 'uninclude'):
            return '%s (include "%s")' % (self.persist_config, self.persist_file)
        return PERSIST_SERVICE

    def _persist_summary(self, persist):
        return ('# saved to %s: %s; included from %s: %s\n'
                % (self.persist_file, 'yes' if persist['file'] is not None else 'no',
                   self.persist_config, 'yes' if persist['include'] else 'no'))

    # -- host -------------------------------------------------------------------------
    def _run(self, args, **kwargs):
        return self.module.run_command([self.nft] + args, environ_update={'LC_ALL': 'C'},
                                       **kwargs)

    def missing(self):
        self.nft = self.module.get_bin_path('nft')
        if not self.nft:
            return 'nftables is not installed (no nft command)'
        return self.resolver.missing(self.desired_resolver)

    def read(self):
        rc, out, err = self._run(['-j', 'list', 'tables', FAMILY])
        if rc != 0:
            self.module.fail_json(msg='nft -j list tables failed: %s; nothing changed'
                                      % (err or out).strip())
        try:
            names = [item['table']['name'] for item in json.loads(out or '{}').get('nftables', [])
                     if 'table' in item]
        except (ValueError, KeyError, TypeError) as exc:
            self.module.fail_json(msg='cannot parse nft -j output (%s); nothing changed' % exc)
        table, dynamic = None, {}
        if self.table in names:
            rc, out, err = self._run(['-j', 'list', 'table', FAMILY, self.table])
            if rc != 0:
                self.module.fail_json(msg='nft -j list table %s %s failed: %s; nothing changed'
                                          % (FAMILY, self.table, (err or out).strip()))
            try:
                table = live_model(json.loads(out), self.table, dynamic)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                self.module.fail_json(msg='cannot parse nft -j list table output (%s); '
                                          'nothing changed' % exc)
        return {'table': table, 'persist': self._read_persist(), 'dynamic': dynamic,
                'resolver': self.resolver.read(self.desired_resolver)}

    def _read_persist(self):
        try:
            with open(self.persist_file) as handle:
                saved = handle.read()
        except (IOError, OSError):
            saved = None
        try:
            with open(self.persist_config) as handle:
                included = any(is_include_of(line, self.persist_file) for line in handle)
        except (IOError, OSError):
            included = False
        enabled = 'unknown'
        systemctl = self.module.get_bin_path('systemctl')
        if systemctl:
            _rc, out, _err = self.module.run_command([systemctl, 'is-enabled', PERSIST_SERVICE],
                                                     environ_update={'LC_ALL': 'C'})
            enabled = (out.strip().splitlines() or ['unknown'])[0]
        return {'file': saved, 'include': included, 'enabled': enabled}

    def _write_temp(self, text):
        fd, path = tempfile.mkstemp(prefix='jaas-nft-', suffix='.nft',
                                    dir=getattr(self.module, 'tmpdir', None))
        with os.fdopen(fd, 'w') as handle:
            handle.write(text)
        return path

    def check(self, plan):
        """``nft -c``: the kernel validates the whole transaction without committing it;
        the resolver's configuration and upstreams are checked before anything changes."""
        self.resolver.preflight(plan.work['resolver'])
        if plan.work['script'] is None:
            return
        path = self._write_temp(plan.work['script'])
        try:
            rc, out, err = self._run(['-c', '-f', path])
        finally:
            os.unlink(path)
        if rc != 0:
            self.module.fail_json(msg='nft -c refused the generated table (nothing changed): %s'
                                      % (err or out).strip(), script=plan.work['script'])

    def apply(self, plan):
        # The sets exist before the resolver fills them, and the resolver hands resolv.conf
        # back before they go.
        resolver = plan.work['resolver']
        if resolver.changed and self.desired_resolver is None:
            self.resolver.apply(resolver)
        self._apply_table(plan)
        if resolver.changed and self.desired_resolver is not None:
            self.resolver.apply(resolver)
        return {}

    def _apply_table(self, plan):
        if plan.work['script'] is not None:
            path = self._write_temp(plan.work['script'])
            try:
                rc, out, err = self._run(['-f', path])
            finally:
                os.unlink(path)
            if rc != 0:
                # One transaction: unless nft died after the kernel committed it, nothing
                # changed; either way the next run sees which and converges.
                self.module.fail_json(msg='nft -f failed (rc %s); the table is either unchanged '
                                          'or fully replaced, never partly: %s'
                                          % (rc, (err or out).strip()))
        warnings = []
        for action in plan.work['actions']:
            getattr(self, '_persist_' + action)(plan.work['persist'], warnings)
        for warning in warnings:
            self.module.warn(warning)
        return {}

    def rollback_recipe(self):
        return NftablesRecipe(FAMILY, self.table, [self.persist_file, self.persist_config],
                              PERSIST_SERVICE)

    # persistence steps: each one atomic (rename) and idempotent
    def _replace_file(self, path, text, mode):
        directory = os.path.dirname(path)
        fd, temp = tempfile.mkstemp(prefix='.jaas-', dir=directory)
        with os.fdopen(fd, 'w') as handle:
            handle.write(text)
        os.chmod(temp, mode)
        self.module.atomic_move(temp, path)

    def _persist_write(self, persist, warnings):
        directory = os.path.dirname(self.persist_file)
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        self._replace_file(self.persist_file, persist['file'], 0o644)

    def _persist_include(self, persist, warnings):
        try:
            with open(self.persist_config) as handle:
                text = handle.read()
            mode = os.stat(self.persist_config).st_mode & 0o7777
        except (IOError, OSError):
            text, mode = '#!/usr/sbin/nft -f\n', 0o755
        self._replace_file(self.persist_config, with_include(text, self.persist_file, self.table),
                           mode)

    def _persist_uninclude(self, persist, warnings):
        with open(self.persist_config) as handle:
            text = handle.read()
        mode = os.stat(self.persist_config).st_mode & 0o7777
        self._replace_file(self.persist_config, without_include(text, self.persist_file), mode)

    def _persist_delete(self, persist, warnings):
        os.unlink(self.persist_file)

    def _persist_enable(self, persist, warnings):
        systemctl = self.module.get_bin_path('systemctl')
        rc, out, err = self.module.run_command([systemctl, 'enable', PERSIST_SERVICE])
        if rc != 0:
            warnings.append('systemctl enable %s failed (%s): the table is saved in %s but '
                            'may not be loaded at boot' % (PERSIST_SERVICE, (err or out).strip(),
                                                           self.persist_file))
