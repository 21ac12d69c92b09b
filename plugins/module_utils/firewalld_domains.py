# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The domain half for firewalld (used by module_utils/firewalld_backend.py).

firewalld's rules cannot refer to a set that DNS answers fill without giving up its own
guarantees (2.x: the table-owner flag keeps other writers out of its table; 1.3.3: an
ipset's timeout is lost and a reload empties it), and an accept in another nftables table
cannot override its REJECT. So, as on ufw, the decision is split in two:

1. Our marking table ``inet jaas_domains`` (module_utils/domain_marks.py, shared with ufw):
   the timed sets the local resolver fills, and an output chain at priority -10 that only
   marks a new connection to a listed address and port (the answer guard checked in the
   same rule). In gateway mode a forward chain does the same for packets from the LAN
   interfaces (``gateway_in_interfaces``).
2. firewalld accepts the mark, with objects of its own permanent configuration
   (module_utils/firewalld_plan.py, ``domains=``): the ipset ``<prefix>-domains-v4`` of
   type ``hash:ip,mark`` holding the one entry ``0.0.0.0/0,<mark>``, and one rich rule
   per (protocol, ports) of the chosen categories in ``<prefix>-egress`` (and
   ``<prefix>-gateway``)::

       rule family="ipv4" destination ipset="jaas-domains-v4" port port="443" protocol="tcp" accept

   firewalld renders it as ``ip daddr . meta mark @jaas-domains-v4 tcp dport 443 accept``
   (set ``type ipv4_addr . mark; flags interval; elements = { 0.0.0.0/0 . 0x01000000 }``),
   measured on 1.3.3 (Debian 12) and 2.3.1 (Debian 13). Being permanent, it survives
   ``firewall-cmd --reload``; our table is not firewalld's, so a reload leaves it and its
   timed entries alone. Expiry is the timed set's, on both versions.

Limits, all failing closed:

- IPv4 only. firewalld refuses any IPv6 network in a ``hash:ip,mark`` entry (``::/0``,
  ``::/1``: "invalid address"), so AAAA answers open nothing here (clients fall back to
  the IPv4 answer). A run warns when a chosen category has IPv6.
- The mark matches exactly (``meta mark``, no mask): a packet that something else also
  marked (other bits set) is not accepted by the domain rule.
- ``FirewallBackend=iptables`` (deprecated) would turn the ipset into a kernel ipset:
  refused (the nftables or squid role are the alternatives).

The operator's own firewalld rules stay in charge: a policy of theirs with a higher
precedence (lower priority number) that rejects an address beats a DNS answer for it.
Python stdlib only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.jaas.firewall.plugins.module_utils import domain_marks, nft_domains
from ansible_collections.jaas.firewall.plugins.module_utils.domain_resolver import Resolver
from ansible_collections.jaas.firewall.plugins.module_utils.domain_sets import (
    broader_than_catalog, domain_options)

FAMILIES = [4]
FIREWALLD_CONF = '/etc/firewalld/firewalld.conf'
IPV6_LEFT_OUT = ('jaas_firewall_domains: on firewalld only IPv4 answers open (firewalld takes no '
                 'IPv6 network in a hash:ip,mark ipset), so AAAA answers of %s stay refused; the '
                 'nftables role enforces both families')
IPTABLES_BACKEND = ('jaas_firewall_domains: firewalld runs with FirewallBackend=iptables (%s), '
                    'where the domain half is not supported; use FirewallBackend=nftables, or the '
                    'nftables role or the squid role for the domain half')


def firewall_backend(text):
    """FirewallBackend= of firewalld.conf (``nftables`` when unset, as firewalld defaults)."""
    value = 'nftables'
    for line in (text or '').splitlines():
        line = line.strip()
        if line.startswith('FirewallBackend='):
            value = line.split('=', 1)[1].strip().strip('"\'') or value
    return value.lower()


class FirewalldDomains(object):
    """desired -> read -> plan -> apply of our marking table and the resolver; firewalld's
    own objects for the mark are planned with the rest of its state (firewalld_plan)."""

    def __init__(self, module):
        self.module = module
        self.resolver = Resolver(module, unit_pre=domain_marks.unit_pre(module))
        self.table = domain_marks.MarkTable(module)

    def desired(self, params, forward_interfaces=None):
        """{'resolver', 'script', 'mark', 'services', 'broader', 'ipv6_left_out'};
        DomainError on bad input. ``forward_interfaces``: the gateway's LAN interfaces."""
        domains, ttl, exclude = domain_options(params, params['state'] == 'present')
        mark = domain_marks.check_mark(params['domain_mark'])
        ipv6_left_out = sorted(entry['category'] for entry in domains if 6 in entry['families'])
        for entry in domains:
            entry['families'] = [f for f in entry['families'] if f in FAMILIES]
        domains = [entry for entry in domains if entry['families']]
        resolver = self.resolver.desired(
            domains, lambda category, family: nft_domains.nft_target(
                domain_marks.TABLE, category, family),
            'nftset', ttl, params['dns_upstreams'],
            lan_interfaces=forward_interfaces if domains else None,
            log_answers=params.get('log_drops', False))
        if not domains:
            return {'resolver': None, 'script': None, 'mark': mark, 'services': [],
                    'broader': [], 'ipv6_left_out': ipv6_left_out}
        services = sorted({service for entry in domains for service in entry['services']})
        return {'resolver': resolver, 'mark': mark, 'services': services,
                'script': domain_marks.table_script(domains, ttl, mark, exclude,
                                                    backend='firewalld',
                                                    forward_interfaces=forward_interfaces),
                'broader': broader_than_catalog(domains), 'ipv6_left_out': ipv6_left_out}

    def missing(self, desired):
        return domain_marks.missing(self.table, self.resolver, desired['resolver'])

    def refusal(self, desired, conf_path=None):
        """Why this firewalld cannot take the domain half (one line), or None."""
        if desired['resolver'] is None:
            return None
        conf_path = conf_path or FIREWALLD_CONF
        backend = firewall_backend(domain_marks.read_file(conf_path))
        if backend != 'nftables':
            return IPTABLES_BACKEND % conf_path
        return None

    def read(self, desired):
        live = {'script': None, 'table': False, 'resolver': self.resolver.read(desired['resolver'])}
        if desired['resolver'] is None and domain_marks.read_file(self.table.path) is None:
            return live                   # nothing of ours on disk: nothing to look up
        live['script'], live['table'] = self.table.read()
        return live

    def plan(self, desired, live):
        """(changed, steps, resolver plan): steps are ('table', script) or ('table', None)."""
        resolver = self.resolver.plan(desired['resolver'], live['resolver'])
        steps = []
        if desired['script'] is not None:
            if live['script'] != desired['script'] or not live['table']:
                steps.append(('table', desired['script']))
        elif live['script'] is not None or live['table']:
            steps.append(('table', None))
        return bool(steps) or resolver.changed, steps, resolver

    def apply(self, steps, resolver, present):
        if not present and resolver.changed:
            self.resolver.apply(resolver)          # resolv.conf back before the sets go
        for _kind, script in steps:
            if script is None:
                self.table.remove()
            else:
                self.table.load(script)
        if present and resolver.changed:
            self.resolver.apply(resolver)          # the sets exist before it fills them
