"""Per-entry dates: a network entry may be a mapping {network, added, expires, note}.

Expired entries (expires < today) warn and stay allowed unless drop_expired is set;
an entry expiring today is still valid today. Dates are fixed by ``today=`` so the
tests do not age. Expectations are written by hand.
"""

import datetime

import pytest
import yaml

from ansible_collections.jaas.firewall.plugins.plugin_utils.catalog import (
    CatalogError, load_catalog, validate_catalog)
from ansible_collections.jaas.firewall.plugins.plugin_utils.rules import catalog_rules

TODAY = datetime.date(2026, 6, 1)

CATALOG = """
schema_version: 1
provenance: {title: test, url: https://example.com/page, retrieved: "2026-01-01"}
blocks:
  turn:
    description: TURN relay servers
    direction: out
    rules: [{protocol: udp, ports: "443"}]
    regions:
      uk-london:
        name: UK (London)
        networks:
          - 140.238.95.196
          - {network: 152.67.128.56, added: 2026-01-15, note: new relay}
          - {network: 130.162.185.237, added: 2025-01-01, expires: 2026-05-31,
             note: vendor announced retirement}
          - {network: 132.226.213.225, expires: 2026-06-01}
"""


def load(text=CATALOG, **kwargs):
    warnings = []
    catalog = validate_catalog(yaml.safe_load(text), source='dates.yml', today=TODAY,
                               warn=warnings.append, **kwargs)
    return catalog, warnings


def london(catalog):
    return catalog['blocks']['turn']['regions']['uk-london']['networks']


def test_dated_entries_normalise_to_plain_networks():
    catalog, warnings = load()
    assert london(catalog) == ['140.238.95.196/32', '152.67.128.56/32', '130.162.185.237/32',
                               '132.226.213.225/32']
    assert warnings == ['dates.yml: blocks.turn.regions.uk-london.networks[2]: 130.162.185.237 '
                        'expired on 2026-05-31; still allowed (set drop_expired to drop it)']
    assert catalog['warnings'] == warnings


def test_drop_expired_drops_only_the_expired_entry_and_its_rules():
    catalog, warnings = load(drop_expired=True)
    assert london(catalog) == ['140.238.95.196/32', '152.67.128.56/32', '132.226.213.225/32']
    assert warnings == ['dates.yml: blocks.turn.regions.uk-london.networks[2]: 130.162.185.237 '
                        'expired on 2026-05-31; dropped']
    networks = {rule['network'] for rule in catalog_rules(catalog)}
    assert '130.162.185.237/32' not in networks and '132.226.213.225/32' in networks


def test_quoted_and_unquoted_dates_are_the_same():
    quoted = CATALOG.replace('expires: 2026-05-31', 'expires: "2026-05-31"')
    assert load(quoted) == load()


@pytest.mark.parametrize('entry,fragment', [
    ('{network: 140.238.95.196, expires: 31/05/2026}', "date '31/05/2026' is not YYYY-MM-DD"),
    ('{network: 140.238.95.196, added: "2026-02-30"}', "date '2026-02-30' is not YYYY-MM-DD"),
    ('{network: 140.238.95.196, added: 2026-05-02, expires: 2026-05-01}',
     'expires 2026-05-01 is before added 2026-05-02'),
    ('{network: 140.238.95.196, expired: 2026-05-01}', "unknown key 'expired' (did you mean 'expires'?)"),
    ('{address: 140.238.95.196}', "missing required key 'network'"),
    ('{network: 140.238.95.196/24, note: typo}', 'host bits set'),
])
def test_bad_dated_entries_are_refused(entry, fragment):
    text = CATALOG.replace('- 140.238.95.196\n', '- %s\n' % entry)
    with pytest.raises(CatalogError) as info:
        load(text)
    assert 'dates.yml: blocks.turn.regions.uk-london.networks[0]' in str(info.value)
    assert fragment in str(info.value)


def test_unquoted_timestamp_is_a_catalog_error_not_a_traceback():
    text = CATALOG.replace('expires: 2026-06-01', 'expires: 2026-06-01 10:00:00')
    with pytest.raises(CatalogError):
        load(text)


def test_invalid_network_is_refused_even_when_expired_and_dropped():
    text = CATALOG.replace('130.162.185.237, added', '130.162.185.300, added')
    with pytest.raises(CatalogError):
        load(text, drop_expired=True)


def test_unquoted_impossible_date_is_a_catalog_error_not_a_traceback(tmp_path):
    path = tmp_path / 'dates.yml'
    path.write_text(CATALOG.replace('added: 2026-01-15', 'added: 2026-02-30'))
    with pytest.raises(CatalogError):
        load_catalog(str(path), today=TODAY)


def test_integer_date_is_refused():
    text = CATALOG.replace('expires: 2026-06-01', 'expires: 20260601')
    with pytest.raises(CatalogError, match='20260601'):
        load(text)
