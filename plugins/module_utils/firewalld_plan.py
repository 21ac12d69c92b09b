# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure logic of jaas.firewall.firewalld_rules: names, grouping, rich rules, diffs.

No firewalld import here: this runs on the managed host inside the module, and in the
unit tests on the controller. Python stdlib only (``ipaddress``); rules, keep-open entries,
the prefix and ipset names are validated by the rule model (module_utils/model.py),
exactly as on the controller.

Desired and live state share one shape::

    {'ipsets':   {name: {'type': 'hash:net', 'family': 'inet'|'inet6', 'entries': [str]}},
     'policies': {name: {'target': str, 'ingress_zones': [str], 'egress_zones': [str],
                         'rich_rules': [str]}}}
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.jaas.firewall.plugins.module_utils import model
from ansible_collections.jaas.firewall.plugins.module_utils.model import ModelError, normalise_keep_open
from ansible_collections.jaas.firewall.plugins.module_utils.policy import PlanError, group_rules, service_key

IPSET_TYPE = 'hash:net'
# The domain half (module_utils/firewalld_domains.py): firewalld accepts what our marking
# table marked. hash:ip,mark takes an IPv4 network but no IPv6 one: IPv4 only.
DOMAIN_IPSET_TYPE = 'hash:ip,mark'
DOMAIN_FAMILY = 4
DNS_PORT = '53'
FAMILIES = {4: ('ipv4', 'inet'), 6: ('ipv6', 'inet6')}
IPSET_NAME_MAX = model.FIREWALLD_IPSET_NAME_MAX
POLICY_NAME_MAX = model.FIREWALLD_POLICY_NAME_MAX
EGRESS_TARGETS = ('CONTINUE', 'REJECT', 'DROP')
GATEWAY_TARGETS = EGRESS_TARGETS
# firewalld's symbolic zones: HOST is the host itself (its own traffic is the egress and
# ingress policies' job), ANY every zone.
HOST_ZONE, ANY_ZONE = 'HOST', 'ANY'

# Outgoing ICMPv6 neighbour discovery is not conntrack "established": without these a
# REJECT/DROP egress policy would break IPv6 to every neighbour, allowed or not.
NEIGHBOUR_DISCOVERY = ('neighbour-solicitation', 'neighbour-advertisement', 'router-solicitation')

# Drop logging (log_drops): the tag no other rule uses, one per direction, read back by
# jaas.firewall.drop_report. A log-only rich rule with a positive priority lands in the
# policy's ``_post`` chain, after every accept of ours: only what the target is about to
# reject or drop reaches it. No family: both IPv4 and IPv6. Rate-limited by firewalld.
LOG_TAG = 'jaas-drop'
LOG_PRIORITY = 32767
LOG_LIMIT = '10/s'


def log_prefix(direction):
    """``jaas-drop out `` / ``jaas-drop fwd `` (the kernel log prefix of our drops)."""
    return '%s %s ' % (LOG_TAG, direction)


def log_rule(direction):
    return 'rule priority="%d" log prefix="%s" level="info" limit value="%s"' % (
        LOG_PRIORITY, log_prefix(direction), LOG_LIMIT)


def egress_policy_name(prefix):
    return '%s-egress' % prefix


def ingress_policy_name(prefix):
    return '%s-ingress' % prefix


def gateway_policy_name(prefix):
    return '%s-gateway' % prefix


def gateway_zones(zones, option):
    """Validated zone names of one side of the gateway policy (PlanError naming ``option``)."""
    try:
        names = model.normalise_names('firewalld zone name', zones, option)
    except ModelError as exc:
        raise PlanError(str(exc))
    if not names:
        raise PlanError('%s: at least one zone is needed (ANY = every zone)' % option)
    if HOST_ZONE in names:
        raise PlanError('%s: HOST is the host itself, not forwarded traffic (the host\'s own '
                        'rules are the egress and ingress policies)' % option)
    if ANY_ZONE in names and len(names) > 1:
        raise PlanError('%s: ANY already means every zone; it cannot be combined with %s'
                        % (option, ', '.join(n for n in names if n != ANY_ZONE)))
    return names


def gateway_dns_policy_name(prefix):
    return '%s-gateway-dns' % prefix


def domain_ipset_name(prefix):
    """``jaas-domains-v4``: the one hash:ip,mark set of the domain half."""
    return '%s-domains-v%d' % (prefix, DOMAIN_FAMILY)


def domain_entry(mark):
    """Every IPv4 address with exactly this packet mark (firewalld's spelling)."""
    return '0.0.0.0/0,0x%x' % mark


def domain_rules(prefix, services):
    """One accept rich rule per (protocol, ports) for marked packets to any address."""
    return [rich_rule('out', protocol, ports, family=DOMAIN_FAMILY, ipset=domain_ipset_name(prefix))
            for protocol, ports in sorted(services, key=service_key)]


def ipset_name(prefix, block, family):
    """``jaas-turn-v4``: one hash:net set per (block, family), within firewalld's limit."""
    try:
        return model.firewalld_ipset_name(prefix, block, family)
    except ModelError as exc:
        raise PlanError(str(exc))


def owns(prefix, name):
    """Objects whose name starts with ``<prefix>-`` are ours; nothing else is ever touched."""
    return name.startswith(prefix + '-')


def check_prefix(prefix):
    try:
        model.check_name('firewalld prefix', prefix)
    except ModelError as exc:
        raise PlanError(str(exc.at('prefix')))


def rich_rule(direction, protocol, ports=None, family=None, ipset=None, address=None):
    """Render one accept rich rule in firewalld's canonical spelling.

    ``direction`` 'out' matches the destination, 'in' the source. ``family`` None means
    both families (only allowed without an address or set).
    """
    parts = ['rule']
    if family is not None:
        parts.append('family="%s"' % FAMILIES[family][0])
    side = 'destination' if direction == 'out' else 'source'
    if ipset is not None:
        parts.append('%s ipset="%s"' % (side, ipset))
    elif address is not None:
        parts.append('%s address="%s"' % (side, address))
    if ports is None:
        parts.append('protocol value="%s"' % protocol)
    else:
        parts.append('port port="%s" protocol="%s"' % (ports, protocol))
    parts.append('accept')
    return ' '.join(parts)


def icmp_rule(family, icmp_type):
    return 'rule family="%s" icmp-type name="%s" accept' % (FAMILIES[family][0], icmp_type)


def _without_contained(networks):
    """Drop networks that lie inside another one of the same set.

    nftables interval sets (and firewalld's own check) refuse overlapping entries; the
    union of the set is exactly the same, so this never widens anything.
    """
    kept = []
    for network in sorted(networks, key=lambda n: (n.prefixlen, n)):
        if not any(network.subnet_of(wider) for wider in kept):
            kept.append(network)
    return sorted(kept)


def keep_open_rules(keep_open):
    """[(direction, rich rule)] for the user's keep-open list (no ipset: a handful)."""
    try:
        entries = normalise_keep_open(keep_open, 'keep_open')
    except ModelError as exc:
        raise PlanError(str(exc))
    rendered = []
    for item in entries:
        family = address = None
        if 'network' in item:
            address = item['network']
            family = ipaddress.ip_network(address).version
        rendered.append((item['direction'], rich_rule(item['direction'], item['protocol'],
                                                      item['port'], family=family,
                                                      address=address)))
    return rendered


def desired_state(rules, keep_open=None, prefix='jaas', egress_target='CONTINUE', gateway=None,
                  domains=None, log_drops=False):
    """The complete firewalld state this module owns for ``rules`` (state=present).

    ``domains``: None, or {'mark': int, 'services': [(protocol, ports)]} - the domain half's
    accept (module_utils/firewalld_domains.py): the ipset ``<prefix>-domains-v4``
    (``hash:ip,mark``, the one entry ``0.0.0.0/0,<mark>``) and one rich rule per service in
    the egress policy and, with ``gateway``, in the gateway policy, which also gets the
    policy ``<prefix>-gateway-dns`` (gateway ingress zones -> HOST, DNS over UDP and TCP) so
    LAN clients can ask the gateway's resolver.

    ``gateway``: None, or {'ingress_zones': [...], 'egress_zones': [...], 'target': str} -
    the policy ``<prefix>-gateway`` for forwarded traffic between those zones, with one
    rich rule per outbound (block, family, protocol, ports) on the same ipsets. Keep-open
    entries and neighbour discovery are the host's own and never go into it.

    ``log_drops``: a policy of ours whose target is REJECT or DROP also gets ``log_rule``
    (``jaas-drop out`` in the egress policy, ``jaas-drop fwd`` in the gateway policy); a
    CONTINUE policy drops nothing, so it logs nothing.
    """
    check_prefix(prefix)
    if egress_target not in EGRESS_TARGETS:
        raise PlanError('egress_target must be one of %s' % ', '.join(EGRESS_TARGETS))
    if gateway is not None:
        if gateway.get('target') not in GATEWAY_TARGETS:
            raise PlanError('gateway_target must be one of %s, got %r'
                            % (', '.join(GATEWAY_TARGETS), gateway.get('target')))
        gateway = dict(gateway,
                       ingress_zones=gateway_zones(gateway.get('ingress_zones'),
                                                   'gateway_ingress_zones'),
                       egress_zones=gateway_zones(gateway.get('egress_zones'),
                                                  'gateway_egress_zones'))
    ipsets = {}
    by_direction = {'out': [], 'in': []}
    forwarded = []
    for (direction, block, family), group in sorted(group_rules(rules, 'ipset').items()):
        name = ipset_name(prefix, block, family)
        ipsets[name] = {'type': IPSET_TYPE, 'family': FAMILIES[family][1],
                        'entries': [str(n) for n in _without_contained(group['networks'])]}
        for protocol, ports in sorted(group['services'], key=service_key):
            by_direction[direction].append(
                rich_rule(direction, protocol, ports, family=family, ipset=name))
            if direction == 'out':
                forwarded.append(rich_rule(direction, protocol, ports, family=family, ipset=name))
    for direction, rule in keep_open_rules(keep_open):
        by_direction[direction].append(rule)
    if domains is not None:
        name = domain_ipset_name(prefix)
        if name in ipsets:
            raise PlanError('the catalog block "domains" would share the ipset %s of the domain '
                            'half; rename the block' % name)
        if not domains.get('services'):
            raise PlanError('the domain half needs at least one service')
        ipsets[name] = {'type': DOMAIN_IPSET_TYPE, 'family': FAMILIES[DOMAIN_FAMILY][1],
                        'entries': [domain_entry(domains['mark'])]}
        marked = domain_rules(prefix, domains['services'])
        by_direction['out'].extend(marked)
        forwarded.extend(marked)
    if egress_target != 'CONTINUE':
        by_direction['out'].extend(icmp_rule(6, kind) for kind in NEIGHBOUR_DISCOVERY)
        if log_drops:
            by_direction['out'].append(log_rule('out'))

    policies = {}
    if by_direction['out'] or egress_target != 'CONTINUE':
        policies[egress_policy_name(prefix)] = {
            'target': egress_target, 'ingress_zones': ['HOST'], 'egress_zones': ['ANY'],
            'rich_rules': sorted(set(by_direction['out']))}
    if by_direction['in']:
        policies[ingress_policy_name(prefix)] = {
            'target': 'CONTINUE', 'ingress_zones': ['ANY'], 'egress_zones': ['HOST'],
            'rich_rules': sorted(set(by_direction['in']))}
    if gateway is not None:
        if log_drops and gateway['target'] != 'CONTINUE':
            forwarded.append(log_rule('fwd'))
        policies[gateway_policy_name(prefix)] = {
            'target': gateway['target'], 'ingress_zones': list(gateway['ingress_zones']),
            'egress_zones': list(gateway['egress_zones']), 'rich_rules': sorted(set(forwarded))}
        if domains is not None:
            if ANY_ZONE in gateway['ingress_zones']:
                raise PlanError('gateway_ingress_zones: ANY would let every zone, the WAN too, '
                                'ask the resolver of the domain half; name the LAN zones')
            policies[gateway_dns_policy_name(prefix)] = {
                'target': 'CONTINUE', 'ingress_zones': list(gateway['ingress_zones']),
                'egress_zones': [HOST_ZONE],
                'rich_rules': sorted(rich_rule('in', protocol, DNS_PORT)
                                     for protocol in ('tcp', 'udp'))}
    return {'ipsets': ipsets, 'policies': policies}


def _normal_entries(entries):
    normal = set()
    for entry in entries:
        try:
            normal.add(str(ipaddress.ip_network(entry, strict=False)))
        except ValueError:
            normal.add(entry)  # not ours to interpret (MAC, port...): compare verbatim
    return normal


def diff_layer(desired, live, prefix):
    """Changes that turn ``live`` (one layer: permanent or runtime) into ``desired``.

    Only objects named ``<prefix>-*`` are considered; anything else in ``live`` is ignored.
    Returns {'ipsets': {...}, 'policies': {...}} where each changed object maps to
    {'action': 'create'|'remove'|'replace'|'update', 'added': [...], 'removed': [...]}
    ('replace' = wrong type/family or zones, recreate; 'update' also covers 'target').
    """
    changes = {'ipsets': {}, 'policies': {}}
    for name in sorted(n for n in live['ipsets'] if owns(prefix, n) and n not in desired['ipsets']):
        changes['ipsets'][name] = {'action': 'remove', 'added': [],
                                   'removed': sorted(_normal_entries(live['ipsets'][name]['entries']))}
    for name, want in sorted(desired['ipsets'].items()):
        have = live['ipsets'].get(name)
        if have is None:
            changes['ipsets'][name] = {'action': 'create', 'added': list(want['entries']),
                                       'removed': []}
            continue
        have_entries = _normal_entries(have['entries'])
        want_entries = set(want['entries'])
        if (have['type'], have['family']) != (want['type'], want['family']):
            changes['ipsets'][name] = {'action': 'replace', 'added': sorted(want_entries),
                                       'removed': sorted(have_entries)}
        elif have_entries != want_entries:
            changes['ipsets'][name] = {'action': 'update',
                                       'added': sorted(want_entries - have_entries),
                                       'removed': sorted(have_entries - want_entries)}

    for name in sorted(n for n in live['policies'] if owns(prefix, n) and n not in desired['policies']):
        changes['policies'][name] = {'action': 'remove', 'added': [],
                                     'removed': sorted(live['policies'][name]['rich_rules'])}
    for name, want in sorted(desired['policies'].items()):
        have = live['policies'].get(name)
        if have is None:
            changes['policies'][name] = {'action': 'create', 'added': list(want['rich_rules']),
                                         'removed': [], 'target': want['target']}
            continue
        have_rules, want_rules = set(have['rich_rules']), set(want['rich_rules'])
        change = {'action': 'update', 'added': sorted(want_rules - have_rules),
                  'removed': sorted(have_rules - want_rules)}
        if (sorted(have['ingress_zones']), sorted(have['egress_zones'])) != \
                (sorted(want['ingress_zones']), sorted(want['egress_zones'])):
            change['action'] = 'replace'
        if have['target'] != want['target']:
            change['target'] = want['target']
        if change['added'] or change['removed'] or change['action'] == 'replace' or 'target' in change:
            changes['policies'][name] = change
    return changes


def has_changes(changes):
    return bool(changes['ipsets'] or changes['policies'])


def needs_reload(runtime_changes):
    """firewalld cannot create or delete ipsets/policies, nor change a policy's target or
    zones, in the runtime configuration: those need a (non-complete) reload after the
    permanent configuration is written. Entries and rich rules are changed live."""
    for change in list(runtime_changes['ipsets'].values()) + list(runtime_changes['policies'].values()):
        if change['action'] != 'update' or 'target' in change:
            return True
    return False


def _entry_key(entry):
    """Networks by family and address; other entries (``0.0.0.0/0,0x1000000``) after, by text."""
    try:
        network = ipaddress.ip_network(entry)
    except ValueError:
        return (7, 0, entry)
    return (network.version, int(network.network_address), str(network.prefixlen))


def render_text(state, prefix):
    """Human-readable listing of our objects, for diff mode (before/after)."""
    lines = []
    for name, ipset in sorted(state['ipsets'].items()):
        if not owns(prefix, name):
            continue
        lines.append('ipset %s (%s %s)' % (name, ipset['type'], ipset['family']))
        entries = sorted(_normal_entries(ipset['entries']), key=_entry_key)
        lines.extend('  %s' % entry for entry in entries)
    for name, policy in sorted(state['policies'].items()):
        if not owns(prefix, name):
            continue
        lines.append('policy %s (%s -> %s, target %s)' % (
            name, ','.join(policy['ingress_zones']), ','.join(policy['egress_zones']),
            policy['target']))
        lines.extend('  %s' % rule for rule in sorted(policy['rich_rules']))
    return '\n'.join(lines) + ('\n' if lines else '')


def changed_items(*layers):
    """One readable line per ipset entry or rich rule added / removed in any layer (the
    result keys every backend module returns)."""
    added, removed = set(), set()
    for changes in layers:
        for kind, label in (('ipsets', 'ipset'), ('policies', 'policy')):
            for name, change in changes.get(kind, {}).items():
                added.update('%s %s: %s' % (label, name, item) for item in change.get('added', []))
                removed.update('%s %s: %s' % (label, name, item)
                               for item in change.get('removed', []))
    return sorted(added), sorted(removed)
