"""Bad input: malformed catalogs and role variables fail before anything changes.

Each case mutates the shipped catalog (or a role variable) and runs the real role against a
host whose firewall is already in use (ufw enabled with foreign rules and the JaaS rules
applied; firewalld running with foreign objects and the JaaS objects). A corpus is one
ansible-playbook run: every case is an inventory name of its own for the same container,
with the case's variables as host variables. The test asserts:

  * every case fails, with its own message naming the offending entry;
  * no task reported a change;
  * the host's firewall state is byte-identical before and after (iptables-save /
    ip6tables-save / nft with counters stripped, `ufw show added`, checksums of ufw's
    files; firewalld runtime + permanent listings and a checksum of /etc/firewalld).

The expectations are written by hand from the catalog schema (docs/catalog-schema.md)
and the argument specs, not derived from the validator.
"""

import os

import pytest

from . import harness


def _set(path, value):
    """Mutation: replace the value at a key path of the loaded catalog."""
    def mutate(data):
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return mutate


def _add_key(path, key, value):
    def mutate(data):
        node = data
        for step in path:
            node = node[step]
        node[key] = value
    return mutate


TURN_LONDON = ['blocks', 'turn', 'regions', 'uk-london']
JVB_LONDON = ['blocks', 'jvb', 'regions', 'uk-london']

# id: (mutation of the loaded catalog | raw text, [substrings the failure must contain])
CATALOG_CASES = {
    'bad-address': (_set(TURN_LONDON + ['networks', 1], '152.67.128.300'),
                    ['blocks.turn.regions.uk-london.networks[1]', '152.67.128.300']),
    'host-bits': (_set(JVB_LONDON + ['networks', 0], '152.67.144.7/24'),
                  ['blocks.jvb.regions.uk-london.networks[0]', 'host bits']),
    'prefix-33': (_set(['blocks', 'cloudflare', 'networks', 2], '103.22.200.0/33'),
                  ['blocks.cloudflare.networks[2]', '/33']),
    'prefix-129': (_set(['blocks', 'cloudflare', 'networks', 20], '2606:4700::/129'),
                   ['blocks.cloudflare.networks[20]', '/129']),
    'port-0': (_set(['blocks', 'jvb', 'rules', 1, 'ports'], '0'),
               ['blocks.jvb.rules[1]', 'port 0']),
    'port-70000': (_set(['blocks', 'turn', 'rules', 0, 'ports'], 70000),
                   ['blocks.turn.rules[0]', '70000']),
    'reversed-range': (_set(['blocks', 'turn', 'rules', 2, 'ports'], '65535-49152'),
                       ['blocks.turn.rules[2]', 'reversed']),
    'unknown-protocol': (_set(['blocks', 'jvb', 'rules', 0, 'protocol'], 'sctp'),
                         ['blocks.jvb.rules[0]', 'sctp']),
    'unknown-key': (_add_key(TURN_LONDON, 'netwroks', ['198.18.0.1']),
                    ['blocks.turn.regions.uk-london', "unknown key 'netwroks'"]),
    'wrong-type-networks': (_set(JVB_LONDON + ['networks'], '152.67.144.0/24'),
                            ['blocks.jvb.regions.uk-london.networks', 'a string']),
    'wrong-type-network-entry': (_set(TURN_LONDON + ['networks', 2], 130162185237),
                                 ['blocks.turn.regions.uk-london.networks[2]', 'an integer']),
    'wrong-type-schema': (_set(['schema_version'], 'one'), ['schema_version']),
    'empty-block': (_set(['blocks', 'turn'], {}),
                    ['blocks.turn', "missing required key 'direction'"]),
    'empty-regions': (_set(['blocks', 'jvb', 'regions'], {}),
                      ['blocks.jvb.regions', 'non-empty']),
    'empty-networks': (_set(TURN_LONDON + ['networks'], []),
                       ['blocks.turn.regions.uk-london.networks', 'empty list']),
    'any-v4': (_set(['blocks', 'cloudflare', 'networks', 0], '0.0.0.0/0'),
               ['blocks.cloudflare.networks[0]', 'broader than /8']),
    'any-v6': (_set(['blocks', 'cloudflare', 'networks', 15], '::/0'),
               ['blocks.cloudflare.networks[15]', 'broader than /16']),
    'bad-direction': (_set(['blocks', 'jvb', 'direction'], 'sideways'),
                      ['blocks.jvb.direction', 'sideways']),
    'broken-yaml': ('text:unclosed',
                    ['YAML syntax error', '(line ']),
    'duplicate-key': ('text:dup', ['duplicate key', 'uk-london']),
    'not-utf8': ('bytes', ['cannot read catalog']),
    'missing-file': ('missing', ['catalog file not found']),
    'directory': ('directory', ['cannot read catalog']),
}

# id: (role variables, [substrings]); the catalog is the shipped one.
UFW_VAR_CASES = {
    'state-choice': ({'jaas_firewall_state': 'enabled'}, ['jaas_firewall_state', 'enabled']),
    'families-choice': ({'jaas_firewall_families': [5]}, ['jaas_firewall_families', '5']),
    'families-type': ({'jaas_firewall_families': ['four']}, ['jaas_firewall_families']),
    'blocks-type': ({'jaas_firewall_blocks': {'turn': True}}, ['jaas_firewall_blocks']),
    'blocks-unknown': ({'jaas_firewall_blocks': ['turm']}, ["unknown block 'turm'"]),
    'regions-unknown': ({'jaas_firewall_regions': ['uk-londn']}, ["unknown region 'uk-londn'"]),
    'webhooks-type': ({'jaas_firewall_webhooks': 'maybe'}, ['jaas_firewall_webhooks']),
    'webhook-port-type': ({'jaas_firewall_webhooks': True, 'jaas_firewall_webhook_port': 'https'},
                          ['jaas_firewall_webhook_port']),
    'webhook-port-range': ({'jaas_firewall_webhooks': True, 'jaas_firewall_webhook_port': 70000},
                           ['webhook_port', '70000']),
    'compact-type': ({'jaas_firewall_compact': 'sometimes'}, ['jaas_firewall_compact']),
    'outgoing-choice': ({'jaas_firewall_ufw_default_outgoing': 'block'},
                        ['jaas_firewall_ufw_default_outgoing', 'block']),
    'incoming-choice': ({'jaas_firewall_ufw_default_incoming': 'DENY'},
                        ['jaas_firewall_ufw_default_incoming', 'DENY']),
    'enable-type': ({'jaas_firewall_ufw_enable': 'yes please'}, ['jaas_firewall_ufw_enable']),
    'keep-open-type': ({'jaas_firewall_keep_open': '53/udp'}, ['jaas_firewall_keep_open']),
    'keep-open-protocol': ({'jaas_firewall_keep_open': [
        {'direction': 'out', 'protocol': 'icmp', 'port': '1'}]}, ['protocol', 'icmp']),
    'keep-open-missing-port': ({'jaas_firewall_keep_open': [
        {'direction': 'out', 'protocol': 'tcp'}]}, ['port']),
    'keep-open-unknown-key': ({'jaas_firewall_keep_open': [
        {'direction': 'out', 'protocol': 'tcp', 'port': '53', 'ports': '54'}]}, ['ports']),
    # Not expressible in the argument spec: the module must refuse before writing.
    'keep-open-port-0': ({'jaas_firewall_ufw_enable': True, 'jaas_firewall_keep_open': [
        {'direction': 'out', 'protocol': 'tcp', 'port': '0'}]}, ["'0'"]),
    'keep-open-bad-network': ({'jaas_firewall_ufw_enable': True, 'jaas_firewall_keep_open': [
        {'direction': 'out', 'protocol': 'tcp', 'port': '53', 'network': '198.18.0.1/15'}]},
        ['198.18.0.1/15']),
}

FIREWALLD_CATALOG_CASES = ['bad-address', 'prefix-33', 'port-70000', 'any-v4', 'broken-yaml',
                           'missing-file', 'empty-block']
FIREWALLD_VAR_CASES = {
    'egress-target-choice': ({'jaas_firewall_firewalld_egress_target': 'ACCEPT'},
                             ['jaas_firewall_firewalld_egress_target', 'ACCEPT']),
    'prefix-not-slug': ({'jaas_firewall_firewalld_prefix': 'Jaas Prod'}, ['prefix', 'Jaas Prod']),
    'enable-type': ({'jaas_firewall_firewalld_enable': 'on and off'},
                    ['jaas_firewall_firewalld_enable']),
    'families-choice': ({'jaas_firewall_families': [46]}, ['jaas_firewall_families']),
    'keep-open-port-0': ({'jaas_firewall_keep_open': [
        {'direction': 'out', 'protocol': 'udp', 'port': '0'}]}, ['keep_open[0]']),
    'keep-open-bad-network': ({'jaas_firewall_keep_open': [
        {'direction': 'in', 'protocol': 'tcp', 'port': '22', 'network': '198.18.0.1/15'}]},
        ['keep_open[0]']),
}


def write_bad_catalog(workdir, case):
    mutation, _expected = CATALOG_CASES[case]
    path = os.path.join(workdir, 'catalog-%s.yml' % case)
    if callable(mutation):
        data = harness.load_shipped_catalog()
        mutation(data)
        with open(path, 'w') as handle:
            handle.write(harness.dump_catalog(data))
    elif mutation.startswith('text:'):
        with open(harness.CATALOG) as handle:
            text = handle.read()
        if mutation == 'text:dup':
            # A second uk-london under turn: YAML would silently keep only the last one.
            anchor = '      uk-london:\n        name: UK (London)\n        networks: [140.238'
            assert anchor in text
            text = text.replace(anchor, '      uk-london:\n        name: UK (London)\n'
                                '        networks: [198.18.0.1]\n' + anchor, 1)
        else:
            # Drop the closing bracket of one flow list.
            good = 'networks: [140.238.95.196, 152.67.128.56, 130.162.185.237, 132.226.213.225]'
            assert good in text
            text = text.replace(good, good[:-1], 1)
        with open(path, 'w') as handle:
            handle.write(text)
    elif mutation == 'bytes':
        with open(harness.CATALOG, 'rb') as handle:
            raw = handle.read()
        with open(path, 'wb') as handle:
            handle.write(raw.replace('São'.encode('utf-8'), b'S\xe3o'))
    elif mutation == 'missing':
        path = os.path.join(workdir, 'no-such-catalog.yml')
    elif mutation == 'directory':
        path = os.path.join(workdir, 'catalog-dir.yml')
        os.makedirs(path, exist_ok=True)
    return path


@pytest.fixture(scope='module')
def ufw_host(fleet, ansible):
    host = fleet['bad-ufw']
    host.sh(harness.UFW_FOREIGN_SETUP)
    result = ansible.run([host], harness.role_play('ufw'))
    assert result.rc == 0, result.stdout[-3000:]
    return host


@pytest.fixture(scope='module')
def firewalld_host(fleet, ansible):
    host = fleet['bad-fwd']
    host.sh(harness.FIREWALLD_FOREIGN_SETUP, timeout=180)
    result = ansible.run([host], harness.role_play('firewalld'))
    assert result.rc == 0, result.stdout[-3000:]
    return host


def run_corpus(ansible, host, role, cases, snapshot):
    """Run every case in one ansible-playbook: one inventory name per case, all of them the
    same container, each with the case's variables as host variables. Each case must fail
    with its own message (each fails on the controller or in the module before any write,
    so they may run at once), no task may report a change, and the host must be the same
    after all of them."""
    before = snapshot(host)
    result = ansible.run_inventory(
        dict((case, dict(host.inventory_vars(), ansible_host=host.name, **cases[case][0]))
             for case in sorted(cases)),
        harness.role_play(role))
    failed = dict(harness.failures(result.stdout))
    problems = []
    if result.rc == 0:
        problems.append('the play succeeded; every case must fail')
    for case in sorted(cases):
        expected = cases[case][1]
        outcome = failed.get(case)
        if outcome is None:
            problems.append('%s: did not fail' % case)
            continue
        message = '\n'.join([str(outcome.get('msg', ''))] +
                            [str(item) for item in outcome.get('argument_errors', [])])
        missing = [text for text in expected if text not in message]
        if missing:
            problems.append('%s: failure message lacks %s; got: %s'
                            % (case, missing, message[:600]))
    changed = harness.changed_tasks(result.stdout)
    if changed:
        problems.append('tasks reported changed: %s' % changed)
    drift = harness.diff_snapshots(before, snapshot(host))
    if drift:
        problems.append('the host changed:\n%s' % drift)
    assert not problems, '\n\n'.join(problems) + '\n' + result.stdout[-3000:]


def test_malformed_catalogs_ufw(ufw_host, ansible):
    cases = dict((case, ({'jaas_firewall_catalog_file': write_bad_catalog(ansible.workdir, case)},
                         expected))
                 for case, (_mutation, expected) in CATALOG_CASES.items())
    run_corpus(ansible, ufw_host, 'ufw', cases, harness.ufw_snapshot)


def test_bad_role_variables_ufw(ufw_host, ansible):
    run_corpus(ansible, ufw_host, 'ufw', UFW_VAR_CASES, harness.ufw_snapshot)


def test_malformed_catalogs_firewalld(firewalld_host, ansible):
    cases = dict((case, ({'jaas_firewall_catalog_file': write_bad_catalog(ansible.workdir, case)},
                         CATALOG_CASES[case][1]))
                 for case in FIREWALLD_CATALOG_CASES)
    run_corpus(ansible, firewalld_host, 'firewalld', cases, harness.firewalld_snapshot)


def test_bad_role_variables_firewalld(firewalld_host, ansible):
    run_corpus(ansible, firewalld_host, 'firewalld', FIREWALLD_VAR_CASES,
               harness.firewalld_snapshot)


def test_good_catalog_still_converges_without_change(ufw_host, ansible):
    """Control: the same host and play with the shipped catalog succeed with no change,
    so the failures above are the inputs' doing, not the harness's."""
    before = harness.ufw_snapshot(ufw_host)
    result = ansible.run([ufw_host], harness.role_play('ufw'))
    assert result.rc == 0, result.stdout[-2000:]
    assert harness.changed_tasks(result.stdout) == []
    assert harness.diff_snapshots(before, harness.ufw_snapshot(ufw_host)) == ''
    harness.assert_kernel_matches_files(ufw_host)
