# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``domains`` option every backend module takes, and what the local resolver makes of it.

One entry per catalog category (computed on the controller by the action plugin)::

    {'category': 'core', 'families': [4, 6],
     'names': ['8x8.vc', '*.8x8.vc', ...],            # the catalog's names, wildcards kept
     'rules': [{'protocol': 'tcp', 'ports': '443'}]}

The backend keeps one timed address set per (category, family) and allows the category's
rules to it; the resolver adds every address it answers for a listed name to the sets of
that name's categories. dnsmasq matches a domain *and every name below it*, so a catalog
name becomes its base domain (``*.youtube.com`` -> ``youtube.com``); where the catalog is
narrower (a subdomain-only wildcard, or an exact name) the resolver is broader, which
``broader_than_catalog`` reports. Python stdlib only (runs on the managed host).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.jaas.firewall.plugins.module_utils import answer_guard
from ansible_collections.jaas.firewall.plugins.module_utils.model import (
    ModelError, parse_family, parse_protocol, ports_text)

# Part of set names (nft and ipset): short, plain, starts with a letter.
CATEGORY = re.compile(r'[a-z][a-z0-9_]{0,11}\Z')
# The catalog's domain syntax (plugins/plugin_utils/catalog.py), lowercase, no trailing dot.
DOMAIN = re.compile(r'(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\Z')
ENTRY_KEYS = ('category', 'families', 'names', 'rules')
# Bounds of jaas_firewall_domain_ttl (seconds): short enough for a test, at most a week.
TTL_MIN = 10
TTL_MAX = 7 * 24 * 3600


# The options every backend module takes for the domain half (doc fragment jaas.firewall.domains).
DOMAINS_ARGUMENT_SPEC = dict(
    domains=dict(type='list', elements='dict', default=[]),
    domain_ttl=dict(type='int', default=3600),
    dns_upstreams=dict(type='list', elements='str', default=[]),
    # None = the default answer guard (module_utils/answer_guard.py)
    domain_answer_exclude=dict(type='list', elements='str'),
)


class DomainError(ValueError):
    """A bad ``domains`` entry; the message names it."""


def _entry_error(where, reason):
    return DomainError('%s: %s' % (where, reason))


def normalise_domains(entries, name='domains'):
    """Checked entries (see the module docstring), categories unique, in the given order.

    Each entry comes back as ``{'category', 'families': [4, 6], 'names': [str],
    'services': [(protocol, ports)]}``; raises DomainError naming ``<name>[N].<key>``.
    """
    result, seen = [], set()
    for index, entry in enumerate(entries or []):
        where = '%s[%d]' % (name, index)
        if not isinstance(entry, dict):
            raise _entry_error(where, 'must be a dict with %s' % ', '.join(ENTRY_KEYS))
        unknown = sorted(set(entry) - set(ENTRY_KEYS))
        if unknown:
            raise _entry_error(where, 'unknown keys %s' % ', '.join(unknown))
        category = entry.get('category')
        if not isinstance(category, str) or not CATEGORY.match(category):
            raise _entry_error(where + '.category', '%r is not a category key for set names: '
                               '1-12 lowercase letters, digits or "_", starting with a letter'
                               % (category,))
        if category in seen:
            raise _entry_error(where + '.category', 'category %r listed twice' % category)
        seen.add(category)
        families = []
        for position, family in enumerate(entry.get('families') or [4, 6]):
            try:
                family = parse_family(family)
            except ModelError as exc:
                raise _entry_error('%s.families[%d]' % (where, position), exc.reason)
            if family not in families:
                families.append(family)
        names = []
        for position, domain in enumerate(entry.get('names') or []):
            if not isinstance(domain, str) or not DOMAIN.match(domain):
                raise _entry_error('%s.names[%d]' % (where, position),
                                   '%r is not a lowercase domain name or *.domain wildcard'
                                   % (domain,))
            if domain not in names:
                names.append(domain)
        if not names:
            raise _entry_error(where + '.names', 'must list at least one domain name')
        services = []
        for position, rule in enumerate(entry.get('rules') or []):
            at = '%s.rules[%d]' % (where, position)
            if not isinstance(rule, dict) or set(rule) - {'protocol', 'ports'}:
                raise _entry_error(at, 'must be a dict with protocol and ports')
            if rule.get('ports') is None:
                raise _entry_error(at + '.ports', 'a domain rule needs ports (every port of '
                                   'whatever a name answers is too broad)')
            try:
                service = (parse_protocol(rule.get('protocol')), ports_text(rule['ports']))
            except ModelError as exc:
                raise _entry_error(at, exc.reason)
            if service not in services:
                services.append(service)
        if not services:
            raise _entry_error(where + '.rules', 'must list at least one protocol/ports rule')
        result.append({'category': category, 'families': sorted(families), 'names': names,
                       'services': services})
    return result


def check_ttl(ttl, name='domain_ttl'):
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not TTL_MIN <= ttl <= TTL_MAX:
        raise DomainError('%s must be whole seconds from %d to %d, got %r'
                          % (name, TTL_MIN, TTL_MAX, ttl))
    return ttl


def answer_ttl(ttl):
    """The longest TTL the resolver hands out: well below the set timeout, at most a minute.

    Entries expire ``ttl`` seconds after their last answer or connection; a client that
    keeps an answer longer than that could try an address that has just closed.
    """
    return max(1, min(60, ttl // 4))


def base_domain(name):
    return name[2:] if name.startswith('*.') else name


def _suffixes(domain):
    labels = domain.split('.')
    return ['.'.join(labels[i:]) for i in range(len(labels))]


def resolver_domains(domains):
    """{base domain: sorted categories whose sets its answers go to}.

    dnsmasq applies only the most specific matching line to a name, so a domain below
    another listed one also carries the categories of every listed domain above it.
    """
    listed = {}
    for entry in domains:
        for name in entry['names']:
            listed.setdefault(base_domain(name), set()).add(entry['category'])
    result = {}
    for domain in listed:
        categories = set()
        for suffix in _suffixes(domain):
            categories |= listed.get(suffix, set())
        result[domain] = sorted(categories)
    return dict(sorted(result.items()))


def broader_than_catalog(domains):
    """Readable lines for the names the resolver matches more widely than the catalog."""
    lines = []
    for entry in domains:
        names = set(entry['names'])
        for name in entry['names']:
            base = base_domain(name)
            if name.startswith('*.') and base not in names:
                lines.append('%s: %s also matches the apex %s' % (entry['category'], name, base))
            elif not name.startswith('*.') and '*.' + name not in names:
                lines.append('%s: %s also matches every name below it (*.%s)'
                             % (entry['category'], name, name))
    return lines


def domain_options(params, present):
    """The module's domain options, checked once for every backend: (domains, ttl, exclude).

    ``domains`` is [] unless ``present``; ``exclude`` is the answer guard's {family: networks}
    (module_utils/answer_guard.py), None when there are no domains. DomainError names the
    option on bad input."""
    domains = normalise_domains(params['domains']) if present else []
    ttl = check_ttl(params['domain_ttl'])
    try:
        exclude = answer_guard.normalise_exclude(params.get('domain_answer_exclude')) \
            if domains else None
    except ModelError as exc:
        raise DomainError(str(exc))
    return domains, ttl, exclude
