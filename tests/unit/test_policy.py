"""The grouped ``policy`` option (module_utils/policy.py): what the action plugins send to a
backend module instead of the flat rules. Lossless, smaller, and planned exactly like the
flat rules on the host."""

import json

from ansible_collections.jaas.firewall.plugins.module_utils import policy
from ansible_collections.jaas.firewall.plugins.plugin_utils.catalog import load_catalog
from ansible_collections.jaas.firewall.plugins.plugin_utils.rules import catalog_rules

import canned.nftables as nft_module
from canned.nftables import host  # noqa: F401  (fixture)


def rule(network, protocol='tcp', ports='443', block='jvb', region='uk-london', family=4,
         direction='out'):
    return {'direction': direction, 'family': family, 'network': network, 'protocol': protocol,
            'ports': ports, 'block': block, 'region': region}


def test_hand_written_grouping():
    rules = [rule('198.18.1.0/24'), rule('198.18.1.0/24', 'udp', '10000'),
             rule('198.18.2.0/24'), rule('198.18.2.0/24', 'udp', '10000'),
             # same block and region, but only TCP 443: its own entry (lossless)
             rule('198.18.3.0/24'),
             rule('2001:2::/48', family=6, block='cloudflare', region=None, ports=None)]
    assert policy.to_policy(rules) == [
        {'direction': 'out', 'block': 'cloudflare', 'region': None, 'family': 6,
         'services': [{'protocol': 'tcp', 'ports': None}], 'networks': ['2001:2::/48']},
        {'direction': 'out', 'block': 'jvb', 'region': 'uk-london', 'family': 4,
         'services': [{'protocol': 'tcp', 'ports': '443'}], 'networks': ['198.18.3.0/24']},
        {'direction': 'out', 'block': 'jvb', 'region': 'uk-london', 'family': 4,
         'services': [{'protocol': 'tcp', 'ports': '443'}, {'protocol': 'udp', 'ports': '10000'}],
         'networks': ['198.18.1.0/24', '198.18.2.0/24']},
    ]


def test_the_bundled_catalog_round_trips_in_the_filter_order():
    rules = catalog_rules(load_catalog(), webhooks=True)
    grouped = policy.to_policy(rules)
    assert policy.from_policy(grouped) == rules
    # smaller on the wire: the measured figure goes in the closing note, here only "smaller"
    assert len(json.dumps(grouped)) < len(json.dumps(rules)) / 2


def test_repeats_collapse_and_order_is_the_filters():
    rules = [rule('198.18.2.0/24'), rule('198.18.1.0/24'), rule('198.18.2.0/24')]
    assert policy.from_policy(policy.to_policy(rules)) == [rule('198.18.1.0/24'), rule('198.18.2.0/24')]


def test_a_module_plans_the_same_from_policy_as_from_rules(host, capsys):  # noqa: F811
    nft_module.run(host)
    from_rules = nft_module.result(capsys)
    host.applied.clear()
    host.commands.clear()
    host.conf.unlink()
    host.saved.unlink() if host.saved.exists() else None
    nft_module.run(host, rules=[], policy=policy.to_policy(nft_module.FIXTURE['rules']))
    from_policy = nft_module.result(capsys)
    assert from_rules['changed'] and from_policy['changed']
    assert from_policy['added'] == from_rules['added']
    assert from_policy['diff']['after'] == from_rules['diff']['after']
    # the result echoes the options as given, not the expanded list
    assert from_policy['invocation']['module_args']['rules'] == []


def test_a_bad_value_in_the_policy_is_refused_like_in_rules(host, capsys):  # noqa: F811
    bad = policy.to_policy([rule('198.18.1.0/24')])
    bad[0]['networks'] = ['198.18.1.0/33']
    nft_module.run(host, rules=[], policy=bad)
    out = nft_module.result(capsys)
    assert out['failed'] and '198.18.1.0/33' in out['msg'] and out['msg'].startswith('nothing changed')


def test_hostile_ports_sort_without_crashing_and_are_refused(host, capsys):  # noqa: F811
    # 1048576 once collided with the sentinel that sorted a non-port last: int vs str, TypeError
    bad = policy.to_policy([rule('198.18.1.0/24')])
    bad[0]['services'] = [{'protocol': 'tcp', 'ports': '1048576'}, {'protocol': 'tcp', 'ports': 'x'}]
    nft_module.run(host, rules=[], policy=bad)
    out = nft_module.result(capsys)
    assert out['failed'] and out['msg'].startswith('nothing changed') and 'ports' in out['msg']
