# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    """The domain half of every Linux backend module (plugins/module_utils/domain_*.py)."""

    DOCUMENTATION = r"""
options:
  domains:
    description:
      - The catalog's domain categories to allow by following DNS; V([]) turns the domain half
        off (and hands /etc/resolv.conf back if an earlier run took it over). Computed on the
        controller from the C(domains) key of O(catalog); each entry is C(category) (1-12
        lowercase letters, digits or C(_)), C(families) (default V([4, 6])), C(names) (the
        catalog's names, C(*.example.com) wildcards included) and C(rules) (C(protocol) and
        C(ports), for example C(tcp)/V("443")).
      - Per (category, family) the backend keeps one timed address set and allows the
        category's rules to it. A local resolver (the distribution's dnsmasq, as the service
        C(jaas-firewall-resolver), listening on 127.0.0.153:53 over UDP and TCP, without a
        cache) adds every A and AAAA answer for a listed name to the sets of that name's
        categories, CNAME chains included; /etc/resolv.conf is handed over to it.
      - dnsmasq matches a domain and every name below it, so V(*.youtube.com) alone also
        opens C(youtube.com), and an exact name such as V(www.gravatar.com) also opens the
        names below it; the module returns these cases in RV(domains_broader_than_catalog).
    type: list
    elements: dict
    default: []
  domain_ttl:
    description:
      - Seconds an address stays in a domain set after the answer that added it or the
        last new connection to it, whichever is later (a new connection restarts it).
        Addresses the names no longer use close that long after their last use.
      - The resolver hands out answers with a TTL of at most a quarter of this (and at most
        60 s), so clients ask again well before an idle address closes.
      - From V(10) to V(604800).
    type: int
    default: 3600
  dns_upstreams:
    description:
      - The DNS servers the local resolver forwards to. V([]) = the ones the host used
        before the hand-over, followed as they change where a tool keeps a file of them -
        the file a /etc/resolv.conf symlink points at (resolvconf, systemd-resolved's
        uplinks behind its stub, an admin's own file), NetworkManager's
        C(/run/NetworkManager/no-stub-resolv.conf) when NetworkManager wrote
        /etc/resolv.conf - else the C(nameserver) lines of /etc/resolv.conf as they were.
      - IP addresses; an IPv6 link-local one may carry C(%<interface>). Control
        characters are refused. Each must answer a DNS question before the hand-over.
    type: list
    elements: str
    default: []
notes:
  - The hand-over never leaves the host without DNS. Before anything changes (check mode
    too) the new resolver configuration must pass C(dnsmasq --test) and every upstream
    must answer a real question (the root zone's NS, UDP then TCP); otherwise the task
    fails naming the upstream and nothing changes. After a restart the resolver must
    answer a question it forwards, or its previous configuration comes back and
    /etc/resolv.conf is left alone; a resolver that /etc/resolv.conf names is never
    removed (without a configuration to go back to, the recorded file is given back first).
    The resolver unit restarts whatever stops it. A lost or damaged record of the previous
    /etc/resolv.conf is never restored; the file is rebuilt from the servers the resolver
    forwards to.
  - DHCP and NetworkManager. A lease renewal that updates a followed file (see
    O(dns_upstreams)) reaches the resolver without a run and keeps the hand-over.
    NetworkManager replaces a regular /etc/resolv.conf at its next DNS change, and
    dhclient without resolvconf rewrites it at each renewal; either undoes the hand-over
    until the next run, which reports who rewrote it (also in check mode), takes the new
    file as the one to give back and hands over again. A warning says so for a
    NetworkManager host; C(rc-manager=unmanaged) in NetworkManager.conf's C([main]) keeps
    the hand-over. No DHCP client hook is installed.
  - Domain rules work only for programs that resolve names through /etc/resolv.conf. A
    browser using DNS over HTTPS or TLS, or C(nss-resolve) in C(/etc/nsswitch.conf) (a
    warning says so), bypasses the local resolver, and its connections to the JaaS domains
    stay refused unless their addresses are allowed otherwise.
  - With cache-less answers an emptied set refills with the next lookup of each name. A
    firewall reload or restart that empties the sets therefore closes the domains for
    programs that keep using an answer they already have, until they ask again (at most
    the answer TTL described under O(domain_ttl)); established connections are unaffected.
"""
