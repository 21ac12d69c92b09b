# -*- coding: utf-8 -*-
"""The ``domains`` option (module_utils/domain_sets.py): what is refused, which sets a
domain's answers go to, and where dnsmasq's matching is broader than the catalog -
against hand-written tables read off the vendor page's domain lists."""

from __future__ import annotations

import pytest

from ansible_collections.jaas.firewall.plugins.module_utils.domain_sets import (
    domain_options,
    DomainError, answer_ttl, broader_than_catalog, check_ttl, normalise_domains,
    resolver_domains)
from ansible_collections.jaas.firewall.plugins.plugin_utils.catalog import load_catalog

TCP_443 = [{'protocol': 'tcp', 'ports': '443'}]

# The vendor page's domain lists, and where dnsmasq (a domain = the domain and every name
# below it) opens more than the page lists. Written by hand from the page.
BROADER_ON_THE_VENDOR_PAGE = sorted([
    'auxiliary: www.gravatar.com also matches every name below it (*.www.gravatar.com)',
    'auxiliary: *.youtube.com also matches the apex youtube.com',
    'auxiliary: *.dropboxapi.com also matches the apex dropboxapi.com',
    'auxiliary: *.dropboxstatic.com also matches the apex dropboxstatic.com',
    'auxiliary: *.dropbox.com also matches the apex dropbox.com',
    'auxiliary: *.dropboxusercontent.com also matches the apex dropboxusercontent.com',
    'auxiliary: dropboxcaptcha.com also matches every name below it (*.dropboxcaptcha.com)',
    'auxiliary: *.microsoft.com also matches the apex microsoft.com',
    'auxiliary: *.microsoftonline.com also matches the apex microsoftonline.com',
    'auxiliary: *.msauth.net also matches the apex msauth.net',
    'auxiliary: *.live.com also matches the apex live.com',
    'auxiliary: *.microsoftonline-p.com also matches the apex microsoftonline-p.com',
    'analytics: api.amplitude.com also matches every name below it (*.api.amplitude.com)',
    'analytics: www.google-analytics.com also matches every name below it '
    '(*.www.google-analytics.com)',
    'analytics: *.gstatic.com also matches the apex gstatic.com',
    'analytics: *.googleapis.com also matches the apex googleapis.com',
    'analytics: *.google.com also matches the apex google.com',
    'analytics: *.googleusercontent.com also matches the apex googleusercontent.com',
])


def entry(category='core', names=('8x8.vc', '*.8x8.vc'), rules=TCP_443, **extra):
    value = dict(category=category, names=list(names), rules=rules)
    value.update(extra)
    return value


def test_vendor_catalog_broader_cases_are_exactly_the_hand_written_ones():
    catalog = load_catalog()
    domains = normalise_domains([entry(c, catalog['domains'][c]['names'],
                                       catalog['domains'][c]['rules'])
                                 for c in ('core', 'auxiliary', 'analytics')])
    assert sorted(broader_than_catalog(domains)) == BROADER_ON_THE_VENDOR_PAGE


def test_apex_and_wildcard_pair_is_one_resolver_domain():
    domains = normalise_domains([entry(names=['8x8.vc', '*.8x8.vc', 'jitsi.net'])])
    assert resolver_domains(domains) == {'8x8.vc': ['core'], 'jitsi.net': ['core']}


def test_a_domain_below_another_carries_both_categories():
    # dnsmasq uses only the most specific line for a name: www.example.com must also feed
    # the sets of the category that lists example.com
    domains = normalise_domains([entry('wide', ['*.example.com']),
                                 entry('narrow', ['www.example.com'])])
    assert resolver_domains(domains) == {'example.com': ['wide'],
                                         'www.example.com': ['narrow', 'wide']}


def test_defaults_and_canonical_ports():
    (checked,) = normalise_domains([entry(rules=[{'protocol': 'tcp', 'ports': '443-443'}])])
    assert checked == {'category': 'core', 'families': [4, 6], 'names': ['8x8.vc', '*.8x8.vc'],
                       'services': [('tcp', '443')]}


@pytest.mark.parametrize('bad, message', [
    ([entry(category='Core')], "domains[0].category: 'Core' is not a category key"),
    ([entry(category='a' * 13)], 'domains[0].category'),
    ([entry(), entry()], "domains[1].category: category 'core' listed twice"),
    ([entry(names=['8x8.vc', 'https://x.vc'])], "domains[0].names[1]: 'https://x.vc'"),
    ([entry(names=['*.*.vc'])], 'domains[0].names[0]'),
    ([entry(names=[])], 'domains[0].names: must list at least one'),
    ([entry(rules=[{'protocol': 'tcp'}])], 'domains[0].rules[0].ports: a domain rule needs ports'),
    ([entry(rules=[{'protocol': 'icmp', 'ports': '1'}])], "domains[0].rules[0]: 'icmp'"),
    ([entry(rules=[{'protocol': 'tcp', 'ports': '0'}])], 'domains[0].rules[0]'),
    ([entry(families=[5])], 'domains[0].families[0]'),
    ([entry(extra=1)], 'domains[0]: unknown keys extra'),
    (['core'], 'domains[0]: must be a dict'),
])
def test_bad_entries_name_the_entry(bad, message):
    with pytest.raises(DomainError) as error:
        normalise_domains(bad)
    assert message in str(error.value)


@pytest.mark.parametrize('ttl', [9, 604801, '3600', True, 3600.0])
def test_ttl_bounds(ttl):
    with pytest.raises(DomainError, match='jaas_firewall_domain_ttl'):
        check_ttl(ttl, 'jaas_firewall_domain_ttl')


@pytest.mark.parametrize('ttl, handed_out', [(10, 2), (20, 5), (240, 60), (3600, 60)])
def test_answer_ttl_stays_well_below_the_set_timeout(ttl, handed_out):
    assert answer_ttl(ttl) == handed_out


# domain_options: the one check of the domain options every backend module runs
CORE = [{'category': 'core', 'names': ['8x8.vc'], 'rules': [{'protocol': 'tcp', 'ports': '443'}]}]


def test_domain_options_absent_opens_nothing_and_still_checks_the_ttl():
    assert domain_options({'domains': CORE, 'domain_ttl': 3600}, present=False) == ([], 3600, None)
    with pytest.raises(DomainError, match='domain_ttl must be whole seconds'):
        domain_options({'domains': [], 'domain_ttl': 0}, present=False)


def test_domain_options_default_guard_and_a_refused_exclude():
    domains, ttl, exclude = domain_options({'domains': CORE, 'domain_ttl': 60}, present=True)
    assert [d['category'] for d in domains] == ['core'] and ttl == 60
    # the default answer guard holds (at least) the private and CGNAT space, per family
    assert {'10.0.0.0/8', '100.64.0.0/10'} <= set(str(n) for n in exclude[4])
    with pytest.raises(DomainError, match='not-a-network'):
        domain_options({'domains': CORE, 'domain_ttl': 60,
                        'domain_answer_exclude': ['not-a-network']}, present=True)
