#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: verify_policy
author: jaas.firewall contributors (@jaas-firewall)
version_added: "0.3.0"
short_description: Check that the kernel's whole firewall really allows every catalog destination
description:
  - Reads what the kernel enforces, not what any of our files say - C(nft -j list ruleset)
    once (every table of every family - ours, foreign ones, firewalld's, the C(ip)/C(ip6)
    tables iptables-nft writes for ufw and Docker; C(iptables-nft-save) for those of them whose
    C(xt) matches C(nft -j) cannot show) plus C(iptables-legacy-save) and
    C(ip6tables-legacy-save) when they print rules - and evaluates every catalog rule with
    probe packets (plugins/module_utils/nft_eval.py).
  - Probes are NEW connections - for a network its first and last address, for a port range
    both ends (V(null) ports - every port - 1 and 65535). Outbound rules are probed on the
    output hook (and postrouting); inbound rules (webhook origins) on prerouting and input
    with the origin as source; with O(gateway) outbound rules also on the forward path, from
    each of O(gateway_in_interfaces) to each of O(gateway_out_interfaces).
  - A packet passes every base chain of its hooks in priority order, so an accept in our
    table does not hide a drop in another table, in C(DOCKER-USER), a firewalld policy or
    zone, ufw's chains or iptables-legacy; a drop names its family, table, chain, rule handle
    (legacy - rule number) and the rule's comment or text.
  - "Never a false 'allowed': a packet field the probe cannot know (its mark, socket owner,
    source port, an interface not given) and any expression the evaluator does not know count
    as a match on a drop or reject rule and as no match on an accept rule; such guesses are
    listed in C(uncertain) of the entry."
  - The task FAILS when any catalog rule is not effectively allowed; the message names the
    first few with the table, chain and rule that drops them.
  - Read-only - it never changes the host, in check mode or not. Needs root to list the ruleset.
  - Not checked - domain rules (the sets are filled at run time by the resolver), NAT
    rewriting (a C(dnat) ends the nat chain, the rewritten packet is not followed), C(netdev)
    and C(bridge) families, eBPF/tc programs, and anything outside this host (cloud security
    groups, upstream firewalls).
options:
  catalog:
    description:
      - Computed on the controller by the action plugin, exactly as the backend modules' option
        of the same name (the P(jaas.firewall.catalog#lookup) options plus C(webhooks),
        C(webhook_port), C(compact)); the rules are appended to O(rules).
    type: dict
  rules:
    description:
      - Rules as produced by the P(jaas.firewall.rules#filter) filter (C(direction), C(family),
        C(network), C(protocol), C(ports), C(block), C(region)).
    type: list
    elements: dict
    default: []
  gateway:
    description: Also probe outbound rules on the forward hook (gateway mode).
    type: bool
    default: false
  gateway_in_interfaces:
    description:
      - LAN interfaces of gateway mode (the probes' input interface). Empty - unknown, so an
        interface match is a guess (see above).
    type: list
    elements: str
    default: []
  gateway_out_interfaces:
    description: WAN interfaces of gateway mode (the probes' output interface).
    type: list
    elements: str
    default: []
  max_listed:
    description: How many failing rules the failure message names.
    type: int
    default: 5
notes:
  - Supports check mode (it is read-only anyway).
  - iptables-legacy - the common subset is evaluated (C(-s)/C(-d), C(-p), C(--dport)/C(--dports),
    C(-i)/C(-o), C(--ctstate), C(-j ACCEPT/DROP/REJECT/RETURN/LOG/<chain>), C(-g), policies);
    any other match is a guess as above.
seealso:
  - module: jaas.firewall.nftables_rules
  - module: jaas.firewall.ufw_rules
  - module: jaas.firewall.firewalld_rules
"""

EXAMPLES = r"""
- name: Check that the kernel allows every JaaS destination (fails naming the dropping rule)
  jaas.firewall.verify_policy:
    catalog:
      blocks: [cloudflare, jvb, turn]
      regions: [uk-london]
      families: [4, 6]
  become: true

- name: Gateway mode, forwarded from lan0 to wan0 too
  jaas.firewall.verify_policy:
    catalog:
      regions: [uk-london]
    gateway: true
    gateway_in_interfaces: [lan0]
    gateway_out_interfaces: [wan0]
  become: true
"""

RETURN = r"""
checked:
  description: Number of catalog rules checked.
  returned: always
  type: int
allowed:
  description: Number of rules every probe of which is accepted.
  returned: always
  type: int
dropped:
  description: Number of rules at least one probe of which is dropped or rejected.
  returned: always
  type: int
probes:
  description: Number of probe packets evaluated.
  returned: always
  type: int
sources:
  description: What was read (C(nft), C(iptables-nft-save), C(iptables-legacy-save), ...).
  returned: always
  type: list
  elements: str
results:
  description: One entry per rule, in the order of O(rules).
  returned: always
  type: list
  elements: dict
  contains:
    rule:
      description: The rule - block, region, direction, protocol, network, ports.
      type: str
      sample: turn uk-london out udp 130.162.185.237/32 port 443
    allowed:
      description: Every probe of the rule is accepted.
      type: bool
    dropped_by:
      description:
        - For a rule not allowed, the first drop - C(family), C(table), C(chain), C(handle),
          C(rule) (comment or text), C(verdict) (drop/reject), C(probe) (hook, address, port)
          and C(uncertain) (guesses that led there, if any).
      type: dict
      sample:
        family: inet
        table: foreign
        chain: out
        handle: 2
        rule: ip daddr 198.18.2.101 udp dport 443 counter drop
        verdict: drop
        probe: output udp 198.18.2.101 port 443
msg:
  description: With a failure, the first O(max_listed) rules not allowed and who drops them.
  returned: always
  type: str
  sample: >-
    1 of 58 catalog rules not effectively allowed: turn uk-london out udp 130.162.185.237/32
    port 443: dropped by inet foreign out (handle 2: old vpn block)
    [probe output udp 130.162.185.237 port 443]
"""

import ipaddress
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.jaas.firewall.plugins.module_utils import nft_eval
from ansible_collections.jaas.firewall.plugins.module_utils.ruleset_read import ReadError, read_host


def port_ends(ports):
    if ports in (None, ''):
        return [1, 65535]
    text = str(ports)
    if '-' in text:
        low, high = text.split('-', 1)
        return [int(low), int(high)] if low != high else [int(low)]
    return [int(text)]


def address_ends(network):
    net = ipaddress.ip_network(network, strict=False)
    first, last = str(net.network_address), str(net.broadcast_address)
    return [first] if first == last else [first, last]


def probes_for(rule, gateway, lan, wan):
    family = int(rule['family'])
    proto = rule['protocol']
    for address in address_ends(rule['network']):
        for port in port_ends(rule.get('ports')):
            if rule.get('direction', 'out') == 'in':
                yield nft_eval.Probe('input', family, proto, saddr=address, dport=port)
                continue
            yield nft_eval.Probe('output', family, proto, daddr=address, dport=port)
            if gateway:
                for iif in lan or [None]:
                    for oif in wan or [None]:
                        yield nft_eval.Probe('forward', family, proto, daddr=address, dport=port,
                                             iif=iif, oif=oif)


def describe(rule):
    return '%s%s %s %s %s%s' % (rule.get('block') or '-', ' %s' % rule['region']
                                if rule.get('region') else '', rule.get('direction', 'out'),
                                rule['protocol'], rule['network'],
                                ' port %s' % rule['ports'] if rule.get('ports') else '')


def where(dropped):
    return '%s %s %s (%s%s)' % (dropped['family'], dropped['table'], dropped['chain'],
                                'handle %s: ' % dropped['handle']
                                if dropped.get('handle') is not None else '', dropped['rule'])


def verify(ruleset, rules, gateway=False, lan=(), wan=()):
    """(results, probes) for ``rules`` against a compiled ``nft_eval.Ruleset``."""
    results = []
    count = 0
    cache = {}
    for rule in rules:
        dropped = None
        for probe in probes_for(rule, gateway, list(lan), list(wan)):
            count += 1
            key = (probe.hook, probe.family, probe.proto, probe.daddr, probe.saddr, probe.dport,
                   probe.iif, probe.oif)
            decision = cache.get(key)
            if decision is None:
                decision = cache[key] = ruleset.decide(probe)
            if not decision.accepted:
                dropped = dict(decision.by, verdict=decision.verdict, probe=probe.describe())
                if decision.uncertain:
                    dropped['uncertain'] = decision.uncertain[:5]
                break
        entry = {'rule': describe(rule), 'allowed': dropped is None}
        if dropped:
            entry['dropped_by'] = dropped
        results.append(entry)
    return results, count


def message(results, max_listed):
    bad = [entry for entry in results if not entry['allowed']]
    if not bad:
        return '%d catalog rules checked: all effectively allowed' % len(results)
    listed = []
    for entry in bad[:max_listed]:
        dropped = entry['dropped_by']
        listed.append('%s: %s by %s [probe %s]%s' % (
            entry['rule'], 'rejected' if dropped['verdict'] == 'reject' else 'dropped',
            where(dropped), dropped['probe'],
            ' [guessed: %s]' % dropped['uncertain'][0] if dropped.get('uncertain') else ''))
    more = len(bad) - len(listed)
    return '%d of %d catalog rules not effectively allowed: %s%s' % (
        len(bad), len(results), '; '.join(listed), '; and %d more' % more if more > 0 else '')


def main():
    module = AnsibleModule(
        argument_spec=dict(
            catalog=dict(type='dict'),
            rules=dict(type='list', elements='dict', default=[]),
            gateway=dict(type='bool', default=False),
            gateway_in_interfaces=dict(type='list', elements='str', default=[]),
            gateway_out_interfaces=dict(type='list', elements='str', default=[]),
            max_listed=dict(type='int', default=5),
        ),
        supports_check_mode=True)
    started = time.monotonic()
    for index, rule in enumerate(module.params['rules']):
        try:
            ipaddress.ip_network(rule['network'], strict=False)
            port_ends(rule.get('ports'))
            if rule['protocol'] not in ('tcp', 'udp') or int(rule['family']) not in (4, 6):
                raise ValueError(rule['protocol'])
        except (KeyError, TypeError, ValueError) as exc:
            module.fail_json(msg='rules[%d]: %r is not a rule of the jaas.firewall.rules filter (%s)'
                             % (index, rule, exc))
    try:
        ruleset, texts, sources = read_host(module)
    except ReadError as exc:
        module.fail_json(msg='%s: nothing to verify' % exc)
    try:
        compiled = nft_eval.Ruleset.from_nft_json(ruleset, **texts)
    except (nft_eval.EvalError, KeyError, TypeError, ValueError) as exc:
        module.fail_json(msg='cannot read the ruleset: %s' % exc)
    results, count = verify(compiled, module.params['rules'], module.params['gateway'],
                            module.params['gateway_in_interfaces'],
                            module.params['gateway_out_interfaces'])
    allowed = sum(1 for entry in results if entry['allowed'])
    module.exit_json(changed=False, failed=allowed != len(results),
                     msg=message(results, module.params['max_listed']),
                     checked=len(results), allowed=allowed, dropped=len(results) - allowed,
                     probes=count, sources=sources, results=results,
                     seconds=round(time.monotonic() - started, 3))


if __name__ == '__main__':
    main()
