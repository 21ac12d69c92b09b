"""plugins/plugin_utils/rules_cache.py: computed once per (catalog bytes, selection, code)."""

import pytest

from ansible_collections.jaas.firewall.plugins.plugin_utils import rules_cache

# A stand-in catalog and what the rules filter makes of it (written by hand).
CATALOG_TEXT = """schema_version: 1
provenance: {title: A test lab, url: "https://lab.example.invalid/", retrieved: "2026-12-01"}
domains:
  core:
    description: Core
    names: [8x8.vc, "*.8x8.vc"]
    rules: [{protocol: tcp, ports: "443"}]
blocks:
  jvb:
    description: Video bridges
    direction: out
    rules: [{protocol: tcp, ports: "443"}]
    networks: [198.18.0.0/24]
"""
RULE = {'direction': 'out', 'family': 4, 'network': '198.18.0.0/24', 'protocol': 'tcp',
        'ports': '443', 'block': 'jvb', 'region': None}
DOMAIN = {'category': 'core', 'families': [4, 6], 'names': ['8x8.vc', '*.8x8.vc'],
          'rules': [{'protocol': 'tcp', 'ports': '443'}]}
SELECTION = {'blocks': ['jvb'], 'allow_private_networks': True, 'domains': ['core']}


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'cache'))
    monkeypatch.delenv('JAAS_FIREWALL_RULES_CACHE', raising=False)
    # Every call is a run of its own (a new worker of a new ansible-playbook), so each one
    # goes through the stored entry's validation; the per-run copy has tests of its own.
    monkeypatch.setattr(rules_cache, 'run_dir', lambda: None)
    catalog = tmp_path / 'catalog.yml'
    catalog.write_text(CATALOG_TEXT)
    calls = []

    def compute():
        calls.append(1)
        return [[dict(RULE)], [dict(DOMAIN)]]
    return catalog, calls, compute


def test_second_host_reads_the_cache(env):
    catalog, calls, compute = env
    selection = dict(SELECTION, catalog_file=str(catalog), families=[4, 6])
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


# --- through the backend action: what reaches the module's ``rules`` option -------------
# The bundled catalog, the webhook origins with webhooks on: the vendor page's three
# inbound origins, TCP to the receiver port (443 by default). Written out by hand.
WEBHOOK_RULES = [
    {'direction': 'in', 'family': 4, 'network': network, 'protocol': 'tcp', 'ports': '443',
     'block': 'webhook_origins', 'region': None}
    for network in ('35.162.88.192/32', '52.10.206.157/32', '52.26.201.32/32')]
WEBHOOK_SELECTION = {'blocks': ['webhook_origins'], 'webhooks': True}


class _Action(object):
    """The backend action's own desired_rules/_compute_rules with the real catalog lookup."""

    def __init__(self):
        from types import SimpleNamespace
        import yaml
        from ansible import constants
        from ansible_collections.jaas.firewall.plugins.lookup import catalog
        name = 'jaas.firewall.catalog'
        # What Ansible's plugin loader does when it loads the lookup: its options, typed.
        constants.config.initialize_plugin_configuration_definitions(
            'lookup', name, yaml.safe_load(catalog.DOCUMENTATION)['options'])

        def lookup(*args, **kwargs):
            plugin = catalog.LookupModule()
            plugin._load_name = name
            return plugin
        self._shared_loader_obj = SimpleNamespace(lookup_loader=SimpleNamespace(get=lookup))
        self._loader = self._templar = None

    def rules(self, selection):
        from ansible_collections.jaas.firewall.plugins.plugin_utils import backend_action
        cls = backend_action.BackendAction
        self._compute_rules = lambda s, v: cls._compute_rules(self, s, v)
        return cls.desired_rules(self, dict(selection), {})


def _origin(**changes):
    return dict(WEBHOOK_RULES[0], **changes)


ACTION_TAMPERED = [
    ('the whole internet, every port', WEBHOOK_RULES + [_origin(network='0.0.0.0/0', ports=None)]),
    ('an origin opened on every port', [_origin(ports=None)] + WEBHOOK_RULES[1:]),
    ('an origin on another port', [_origin(ports='22')] + WEBHOOK_RULES[1:]),
    ('an origin on udp', WEBHOOK_RULES + [_origin(protocol='udp')]),
    ('an origin turned outbound', WEBHOOK_RULES + [_origin(direction='out')]),
    ('a block the selection left out', WEBHOOK_RULES + [
        {'direction': 'out', 'family': 4, 'network': '104.16.0.0/13', 'protocol': 'tcp',
         'ports': None, 'block': 'cloudflare', 'region': None}]),
    ('a region the block does not have', [_origin(region='uk-london')] + WEBHOOK_RULES[1:]),
]


@pytest.mark.parametrize('what, rules', ACTION_TAMPERED, ids=[t[0] for t in ACTION_TAMPERED])
def test_a_tampered_entry_never_reaches_the_module(env, what, rules):
    import json
    action = _Action()
    assert action.rules(WEBHOOK_SELECTION) == (WEBHOOK_RULES, [])
    with open(_entry_path(WEBHOOK_SELECTION), 'w') as handle:
        json.dump([rules, []], handle)
    assert action.rules(WEBHOOK_SELECTION) == (WEBHOOK_RULES, []), what


def test_a_tampered_domain_entry_never_reaches_the_module(env):
    import json
    action = _Action()
    selection = dict(WEBHOOK_SELECTION, domains=['core'])
    good = action.rules(selection)
    # from the vendor page: core is 8x8.com, 8x8.vc, jitsi.net with and without "*."
    assert good[1] == [{'category': 'core', 'families': [4, 6],
                        'names': ['8x8.com', '*.8x8.com', '8x8.vc', '*.8x8.vc', 'jitsi.net',
                                  '*.jitsi.net'],
                        'rules': [{'protocol': 'tcp', 'ports': '443'}]}]
    for names, services in ((['8x8.co'], None), (['x8.vc'], None), (['*.com'], None),
                            (None, [{'protocol': 'tcp', 'ports': None}]),
                            (None, [{'protocol': 'udp', 'ports': '443'}])):
        entry = dict(good[1][0])
        entry['names'] = names or entry['names']
        entry['rules'] = services or entry['rules']
        with open(_entry_path(selection), 'w') as handle:
            json.dump([WEBHOOK_RULES, [entry]], handle)
        assert action.rules(selection) == good, (names, services)


# --- the file itself: only a regular file of ours that nobody else can write ------------
WIDE_OPEN = [[dict(RULE, network='0.0.0.0/0', ports=None)], []]


def _replace_entry(selection, make):
    """Put ``make(path)``'s file where the entry is (after writing a good entry)."""
    import os
    path = _entry_path(selection)
    os.unlink(path)
    make(path)


def _write_wide_open(path):
    import json
    with open(path, 'w') as handle:
        json.dump(WIDE_OPEN, handle)


def test_group_writable_or_foreign_entries_are_not_trusted(env):
    import os
    catalog, calls, compute = env
    selection = dict(SELECTION, catalog_file=str(catalog))
    good = rules_cache.cached(selection, compute)
    # The tampered rule is also refused by the rule checks; the file checks come first
    # and are what this test is about, so the file holds a rule the model accepts.
    _replace_entry(selection, _write_wide_open)
    os.chmod(_entry_path(selection), 0o620)
    assert rules_cache.load(rules_cache.cache_key(selection)) is None
    if os.getuid() == 0:
        os.chmod(_entry_path(selection), 0o600)
        os.chown(_entry_path(selection), 65534, 65534)
        assert rules_cache.load(rules_cache.cache_key(selection)) is None
    assert rules_cache.cached(selection, compute) == good


def test_a_symlinked_entry_is_not_followed(env, tmp_path):
    import os
    catalog, calls, compute = env
    selection = dict(SELECTION, catalog_file=str(catalog))
    rules_cache.cached(selection, compute)
    elsewhere = tmp_path / 'elsewhere.json'
    _write_wide_open(str(elsewhere))
    _replace_entry(selection, lambda path: os.symlink(str(elsewhere), path))
    assert rules_cache.load(rules_cache.cache_key(selection)) is None


def test_a_fifo_in_place_of_the_entry_is_not_read(env):
    import json
    import os
    import threading
    catalog, calls, compute = env
    selection = dict(SELECTION, catalog_file=str(catalog))
    rules_cache.cached(selection, compute)
    _replace_entry(selection, os.mkfifo)
    path = _entry_path(selection)

    def feed():
        # Blocks until a reader opens the FIFO; then hands it the tampered entry.
        try:
            with open(path, 'w') as handle:
                handle.write(json.dumps(WIDE_OPEN))
        except OSError:
            pass
    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        assert rules_cache.load(rules_cache.cache_key(selection)) is None
    finally:
        # Release the feeder if nothing opened the FIFO for reading.
        os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
        feeder.join(5)


def test_a_truncated_entry_is_rebuilt(env):
    # (also true before the validation: a regression guard)
    import os
    catalog, calls, compute = env
    selection = dict(SELECTION, catalog_file=str(catalog))
    good = rules_cache.cached(selection, compute)
    with open(_entry_path(selection), 'r+') as handle:
        handle.truncate(os.path.getsize(_entry_path(selection)) // 2)
    assert rules_cache.cached(selection, compute) == good and len(calls) == 2


def test_a_stored_entry_is_ours_alone_and_no_temp_file_is_left(env):
    import os
    import stat
    catalog, calls, compute = env
    selection = dict(SELECTION, catalog_file=str(catalog))
    rules_cache.cached(selection, compute)
    assert os.listdir(rules_cache.cache_dir()) == [rules_cache.cache_key(selection) + '.json']
    assert stat.S_IMODE(os.stat(_entry_path(selection)).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(rules_cache.cache_dir()).st_mode) & 0o022 == 0


def test_an_entry_that_expired_since_it_was_cached_is_recomputed(env, monkeypatch):
    # drop_expired: the day after an entry's "expires" date, a cached rule for it is stale
    # (the key holds the catalog bytes, not the date), so it is computed again.
    import datetime
    from ansible_collections.jaas.firewall.plugins.plugin_utils import catalog as catalog_module
    catalog, calls, compute = env
    tomorrow = datetime.date.today() + datetime.timedelta(days=1)
    catalog.write_text(CATALOG_TEXT.replace(
        'networks: [198.18.0.0/24]',
        'networks: [198.18.1.0/24, {network: 198.18.0.0/24, expires: "%s"}]' % tomorrow))
    selection = dict(SELECTION, catalog_file=str(catalog), drop_expired=True)
    rules_cache.cached(selection, compute)
    rules_cache.cached(selection, compute)
    assert len(calls) == 1                                   # today: still valid

    class DayAfter(datetime.date):
        @classmethod
        def today(cls):
            return tomorrow + datetime.timedelta(days=1)
    monkeypatch.setattr(catalog_module, 'datetime',
                        type('datetime', (), {'date': DayAfter}))
    rules_cache.cached(selection, compute)
    assert len(calls) == 2                                   # 198.18.0.0/24 has expired


# --- within one run the entry is validated once, then read from the run's directory ---
@pytest.fixture
def runs(env, tmp_path, monkeypatch):
    """(env, start_run(), validations): start_run() gives the next calls a new run directory
    (0700, as Ansible's mkdtemp makes it); validations counts valid_entry calls."""
    import os
    validations = []
    real = rules_cache.valid_entry

    def counted(value, selection):
        validations.append(1)
        return real(value, selection)
    monkeypatch.setattr(rules_cache, 'valid_entry', counted)
    number = [0]

    def start_run():
        number[0] += 1
        directory = tmp_path / ('ansible-local-%d' % number[0])
        os.mkdir(str(directory), 0o700)
        monkeypatch.setattr(rules_cache, 'run_dir', lambda: str(directory / 'jaas_firewall_rules'))
        return directory
    return env, start_run, validations


def test_within_a_run_the_entry_is_validated_once(runs):
    (catalog, calls, compute), start_run, validations = runs
    selection = dict(SELECTION, catalog_file=str(catalog))
    start_run()
    good = [rules_cache.cached(dict(selection), compute) for _host in range(5)]
    assert len(calls) == 1 and validations == []          # computed once, nothing to validate
    start_run()
    assert [rules_cache.cached(dict(selection), compute) for _host in range(5)] == good
    assert len(calls) == 1 and len(validations) == 1      # the next run validates it once


def test_a_new_run_refuses_an_entry_tampered_between_runs(runs):
    (catalog, calls, compute), start_run, validations = runs
    selection = dict(SELECTION, catalog_file=str(catalog))
    start_run()
    good = rules_cache.cached(selection, compute)
    _replace_entry(selection, _write_wide_open)
    start_run()
    assert rules_cache.cached(selection, compute) == good and len(calls) == 2


def test_a_run_copy_others_can_write_is_not_read(runs):
    import json
    import os
    (catalog, calls, compute), start_run, validations = runs
    selection = dict(SELECTION, catalog_file=str(catalog))
    run = start_run()
    good = rules_cache.cached(selection, compute)
    copy = os.path.join(rules_cache.run_dir(), rules_cache.cache_key(selection) + '.json')
    with open(copy, 'w') as handle:
        json.dump(WIDE_OPEN, handle)
    os.chmod(copy, 0o666)
    assert rules_cache.cached(selection, compute) == good   # the stored entry, validated
    os.chmod(copy, 0o600)
    os.chmod(str(run / 'jaas_firewall_rules'), 0o777)
    assert rules_cache.cached(selection, compute) == good
    assert len(validations) == 2 and len(calls) == 1


def test_a_malformed_run_copy_is_not_used(runs):
    import json
    import os
    (catalog, calls, compute), start_run, validations = runs
    selection = dict(SELECTION, catalog_file=str(catalog))
    start_run()
    good = rules_cache.cached(selection, compute)
    copy = os.path.join(rules_cache.run_dir(), rules_cache.cache_key(selection) + '.json')
    for bad in ({'rules': []}, [['not a rule'], []], [[], [], []]):
        with open(copy, 'w') as handle:
            json.dump(bad, handle)
        assert rules_cache.cached(selection, compute) == good
    assert len(validations) == 3 and len(calls) == 1
