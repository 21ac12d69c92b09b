"""plugins/plugin_utils/rules_cache.py: computed once per (catalog bytes, selection, code)."""

import pytest

from ansible_collections.jaas.firewall.plugins.plugin_utils import rules_cache

# A stand-in catalog text and what the rules filter makes of it (written by hand).
CATALOG_TEXT = """schema_version: 1
domains:
  core: {names: [8x8.vc, "*.8x8.vc"], rules: [{protocol: tcp, ports: "443"}]}
blocks:
  jvb:
    direction: out
    rules: [{protocol: tcp, ports: "443"}]
    networks: [198.18.0.0/24]
"""
RULE = {'direction': 'out', 'family': 4, 'network': '198.18.0.0/24', 'protocol': 'tcp',
        'ports': '443', 'block': 'jvb', 'region': None}
DOMAIN = {'category': 'core', 'families': [4, 6], 'names': ['8x8.vc', '*.8x8.vc'],
          'rules': [{'protocol': 'tcp', 'ports': '443'}]}
SELECTION = {'blocks': ['jvb'], 'allow_private_networks': True}


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'cache'))
    monkeypatch.delenv('JAAS_FIREWALL_RULES_CACHE', raising=False)
    catalog = tmp_path / 'catalog.yml'
    catalog.write_text(CATALOG_TEXT)
    calls = []

    def compute():
        calls.append(1)
        return [[dict(RULE)], [dict(DOMAIN)]]
    return catalog, calls, compute


def test_second_host_reads_the_cache(env):
    catalog, calls, compute = env
    selection = dict(SELECTION, catalog_file=str(catalog), families=[4])
    first = rules_cache.cached(selection, compute)
    second = rules_cache.cached(dict(selection), compute)
    assert first == second and len(calls) == 1


def test_a_changed_catalog_or_selection_is_computed_again(env):
    catalog, calls, compute = env
    selection = dict(SELECTION, catalog_file=str(catalog))
    rules_cache.cached(selection, compute)
    rules_cache.cached(dict(selection, blocks=['turn']), compute)
    catalog.write_text(CATALOG_TEXT + '# edited\n')
    rules_cache.cached(selection, compute)
    assert len(calls) == 3


def test_live_cloudflare_and_the_off_switch_bypass_the_cache(env, monkeypatch):
    catalog, calls, compute = env
    live = {'catalog_file': str(catalog), 'cloudflare_source': 'live'}
    rules_cache.cached(live, compute)
    rules_cache.cached(live, compute)
    monkeypatch.setenv('JAAS_FIREWALL_RULES_CACHE', '0')
    plain = {'catalog_file': str(catalog)}
    rules_cache.cached(plain, compute)
    rules_cache.cached(plain, compute)
    assert len(calls) == 4


def test_a_refused_catalog_is_never_stored(env):
    catalog, calls, _compute = env

    def refuse():
        calls.append(1)
        raise ValueError('invalid JaaS catalog')
    selection = {'catalog_file': str(catalog)}
    for _ in range(2):
        with pytest.raises(ValueError):
            rules_cache.cached(selection, refuse)
    assert len(calls) == 2


def test_unreadable_catalog_is_left_to_the_lookup(env, tmp_path):
    _catalog, calls, compute = env
    assert rules_cache.cache_key({'catalog_file': str(tmp_path / 'missing.yml')}) is None


# --- the cache is hostile: an edited entry is ignored and rebuilt --------------------
def _entry_path(selection):
    import os
    return os.path.join(rules_cache.cache_dir(), rules_cache.cache_key(selection) + '.json')


TAMPERED = [
    ('whole internet', [[dict(RULE, network='0.0.0.0/0', ports=None)], []]),
    ('a network the catalog does not name', [[dict(RULE, network='45.0.0.0/8')], []]),
    ('every port', [[dict(RULE, ports=None, network='8.8.8.0/24')], []]),
    ('an extra key', [[dict(RULE, comment='x')], []]),
    ('a wrong type', [[dict(RULE, family='4')], []]),
    ('a block the catalog does not have', [[dict(RULE, block='backdoor')], []]),
    ('a domain the catalog does not list', [[dict(RULE)], [dict(DOMAIN, names=['evil.example'])]]),
    ('not the shape', {'rules': []}),
]


@pytest.mark.parametrize('what, entry', TAMPERED, ids=[t[0] for t in TAMPERED])
def test_a_tampered_entry_is_ignored_and_rebuilt(env, what, entry):
    import json
    catalog, calls, compute = env
    selection = dict(SELECTION, catalog_file=str(catalog))
    good = rules_cache.cached(selection, compute)
    with open(_entry_path(selection), 'w') as handle:
        json.dump(entry, handle)
    assert rules_cache.cached(selection, compute) == good, what
    assert len(calls) == 2                               # recomputed
    assert rules_cache.cached(selection, compute) == good and len(calls) == 2   # and stored


def test_private_space_needs_the_selection_to_allow_it(env):
    catalog, calls, compute = env
    closed = dict(SELECTION, catalog_file=str(catalog), allow_private_networks=False)
    rules_cache.cached(closed, compute)        # (the real lookup would refuse; here it is stored)
    rules_cache.cached(closed, compute)
    assert len(calls) == 2                     # 198.18.0.0/24 from the cache is not trusted


def test_an_entry_others_can_write_is_not_trusted(env):
    import os
    catalog, calls, compute = env
    selection = dict(SELECTION, catalog_file=str(catalog))
    rules_cache.cached(selection, compute)
    os.chmod(_entry_path(selection), 0o666)
    rules_cache.cached(selection, compute)
    assert len(calls) == 2
    os.chmod(rules_cache.cache_dir(), 0o777)
    rules_cache.cached(selection, compute)
    assert len(calls) == 3
