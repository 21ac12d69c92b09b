"""plugins/plugin_utils/rules_cache.py: computed once per (catalog bytes, selection, code)."""

import pytest

from ansible_collections.jaas.firewall.plugins.plugin_utils import rules_cache


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'cache'))
    monkeypatch.delenv('JAAS_FIREWALL_RULES_CACHE', raising=False)
    catalog = tmp_path / 'catalog.yml'
    catalog.write_text('schema_version: 1\n')
    calls = []

    def compute():
        calls.append(1)
        return [[{'network': '198.18.0.0/24'}], []]
    return catalog, calls, compute


def test_second_host_reads_the_cache(env):
    catalog, calls, compute = env
    selection = {'catalog_file': str(catalog), 'blocks': ['jvb'], 'families': [4]}
    first = rules_cache.cached(selection, compute)
    second = rules_cache.cached(dict(selection), compute)
    assert first == second and len(calls) == 1


def test_a_changed_catalog_or_selection_is_computed_again(env):
    catalog, calls, compute = env
    selection = {'catalog_file': str(catalog), 'blocks': ['jvb']}
    rules_cache.cached(selection, compute)
    rules_cache.cached(dict(selection, blocks=['turn']), compute)
    catalog.write_text('schema_version: 1\n# edited\n')
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
