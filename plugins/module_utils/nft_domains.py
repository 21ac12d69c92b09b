# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The domain half's nft sets and rules (pure), shared by every backend that enforces domains:
the nftables backend puts them in its own table (``nftables_plan.with_domains``), ufw and
firewalld in a table of their own (module_utils/domain_marks.py).

Per (category, family) one timed set the local resolver fills, ``domains_<category>_v4``
and ``_v6`` (``flags dynamic,timeout``, ``timeout <ttl>``), and per (category, family,
protocol, ports) one output rule::

    ip daddr @domains_core_v4 tcp dport 443 update @domains_core_v4 { ip daddr } accept comment "domains core"

Why ``update``: dnsmasq adds an address the first time it answers it, and adding an address
already in a timed set does not refresh its timeout (measured, nft 1.0.6/1.1.3, kernel 6.x).
Without it an address in steady use would close ``ttl`` seconds after its first answer, and
a client still holding that answer would be refused. With it, every new connection to the
address restarts its timeout, so an address closes ``ttl`` seconds after the last answer
that added it or the last connection to it, whichever is later.

The answer guard (module_utils/answer_guard.py) adds, per family, one interval set of the
space no answer may open, ``answer_guard_v4``/``_v6``, matched in the same rule right after
the domain set and before the ``update`` (an excluded address is neither accepted nor
refreshed)::

    ip daddr @domains_core_v4 ip daddr != @answer_guard_v4 tcp dport 443 update ... accept

In gateway mode the forward chain gets the same rules for connections the gateway forwards
from its LAN to its WAN (``forward_rules``): the same timed sets and answer guard, matched on
the interfaces like the chain's other rules, and only on a connection's first packet (its
replies pass the chain's ``established`` rule)::

    iifname "lan0" oifname "wan0" ip daddr @domains_core_v4 ip daddr != @answer_guard_v4
        tcp dport 443 ct state new update @domains_core_v4 { ip daddr } accept comment "domains core"

Only the gateway's own resolver fills the sets, so a LAN client that asks another
resolver gets no domain accept; the input chain accepts DNS from the LAN interfaces to it
(``dns_input_rules``) when the chain would otherwise drop it.

The set elements are the resolver's, not ours: planning ignores them, and when the nftables
table has to be replaced anyway they are carried into the new table with what is left of
their timeout (``nftables_plan.carried_elements``). Python stdlib only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.jaas.firewall.plugins.module_utils import answer_guard
from ansible_collections.jaas.firewall.plugins.module_utils.nft_syntax import ADDRESS

SET_FLAGS = ['dynamic', 'timeout']


def set_name(category, family):
    return 'domains_%s_v%d' % (category, family)


def nft_target(table, category, family):
    """How dnsmasq's ``nftset=`` names the set: ``4#inet#jaas#domains_core_v4``."""
    return '%d#inet#%s#%s' % (family, table, set_name(category, family))


def _guarded(exclude, family):
    return bool(exclude and exclude.get(family))


def domain_sets(domains, ttl, exclude=None):
    """{set name: set model} for the checked entries of module_utils/domain_sets.py.

    ``exclude``: {family: [networks]} of the answer guard (answer_guard.normalise_exclude);
    a family with networks gets its guard set, a family without (or None) none.
    """
    sets = {}
    for entry in domains:
        for family in entry['families']:
            sets[set_name(entry['category'], family)] = {
                'type': ADDRESS[family][1], 'flags': list(SET_FLAGS), 'timeout': ttl,
                'elements': []}
            if _guarded(exclude, family):
                sets[answer_guard.set_name(family)] = {
                    'type': ADDRESS[family][1], 'flags': ['interval'],
                    'elements': [str(network) for network in exclude[family]]}
    return sets


def guard_match(family, exclude):
    """`` ip daddr != @answer_guard_v4`` (with its leading space), or '' without a guard."""
    if not _guarded(exclude, family):
        return ''
    return ' %s daddr != @%s' % (ADDRESS[family][0], answer_guard.set_name(family))


def set_rules(domains, exclude=None, prefix='', new_only=False, verdict='accept'):
    """Rule texts matching the domain sets, in category order (nft prints them back
    identically): ``prefix`` first (the chain's interfaces, with a trailing space), then the
    set and the answer guard, the service, ``ct state new`` with ``new_only``, the update
    that refreshes the timeout, and ``verdict``."""
    rules = []
    for entry in domains:
        for family in entry['families']:
            name = set_name(entry['category'], family)
            match = ADDRESS[family][0]
            for protocol, ports in entry['services']:
                rules.append('%s%s daddr @%s%s %s dport %s %supdate @%s { %s daddr } %s '
                             'comment "domains %s"'
                             % (prefix, match, name, guard_match(family, exclude), protocol, ports,
                                'ct state new ' if new_only else '', name, match, verdict,
                                entry['category']))
    return rules


def domain_rules(domains, exclude=None):
    """Output chain rule texts."""
    return set_rules(domains, exclude)


def forward_rules(domains, exclude=None, interfaces=''):
    """Forward chain rule texts (gateway mode): ``interfaces`` is the chain's
    ``iifname ... oifname ... `` prefix (with its trailing space); only a connection's
    first packet (its replies pass the chain's ``established`` rule)."""
    return set_rules(domains, exclude, interfaces, new_only=True)


def dns_input_rules(interfaces):
    """Input chain rule texts accepting DNS (UDP and TCP 53) from the LAN interfaces to the
    gateway's resolver; ``interfaces`` is the ``iifname ... `` prefix."""
    return ['%s%s dport 53 accept comment "gateway dns"' % (interfaces, protocol)
            for protocol in ('udp', 'tcp')]
