"""jaas.firewall.verify_policy's probing (plugins/modules/verify_policy.py) on real captured
rulesets (tests/golden/verify/, see test_nft_eval.py): which probes a catalog rule gets (first
and last address, both port ends, forward in gateway mode) and the failure message.
Expectations hand-written from the setup scripts of tests/golden/verify/capture.py."""

import pytest

from ansible_collections.jaas.firewall.plugins.modules import verify_policy

from canned.rulesets import ruleset


def rule(network, protocol, ports, direction='out', block='turn', region='lab'):
    return {'direction': direction, 'family': 6 if ':' in network else 4, 'network': network,
            'protocol': protocol, 'ports': ports, 'block': block, 'region': region}


# (rule, gateway, expected: None = allowed, else (table, chain) of the first drop)
CASES = [
    (rule('198.18.2.200/29', 'tcp', None), False, None),            # cloudflare, every port
    (rule('198.18.2.128/26', 'tcp', '443'), False, None),            # .128/27 + .160/27
    (rule('198.18.2.128/25', 'tcp', '443'), False, ('jaas', 'output')),   # last address .255
    (rule('198.18.2.100/32', 'udp', '49152-65535'), False, None),
    (rule('198.18.2.100/32', 'udp', '443-444'), False, ('jaas', 'output')),   # upper end 444
    (rule('198.18.2.101/32', 'udp', '443'), False, ('foreign', 'out')),
    (rule('198.18.2.102/32', 'tcp', '443'), False, ('foreign4', 'sub')),
    (rule('198.18.2.99/32', 'tcp', '8443', 'in', 'webhook_origins', None), False, None),
    (rule('198.18.2.98/32', 'tcp', '8443', 'in', 'webhook_origins', None), False,
     ('jaas', 'input')),
    (rule('2001:2:0:2::100/128', 'tcp', '443'), True, None),
    (rule('198.18.2.128/27', 'tcp', '443'), True, None),
]


@pytest.mark.parametrize('suite', ['bookworm', 'trixie'])
@pytest.mark.parametrize('catalog_rule, gateway, expected', CASES)
def test_probes_and_verdicts(suite, catalog_rule, gateway, expected):
    results, _count = verify_policy.verify(ruleset('nftables', suite), [catalog_rule], gateway,
                                           ['lan0'], ['wan0'])
    entry = results[0]
    assert entry['allowed'] is (expected is None), entry
    if expected:
        assert (entry['dropped_by']['table'], entry['dropped_by']['chain']) == expected, entry


@pytest.mark.parametrize('suite', ['bookworm', 'trixie'])
def test_docker_user_only_in_gateway_mode(suite):
    jvb = rule('198.18.2.160/27', 'tcp', '443', block='jvb')
    results, count = verify_policy.verify(ruleset('docker', suite), [jvb], False)
    assert results[0]['allowed'] and count == 2                  # output: .160 and .191
    results, count = verify_policy.verify(ruleset('docker', suite), [jvb], True, ['lan0'], ['wan0'])
    assert not results[0]['allowed']
    assert results[0]['dropped_by']['table'] == 'filter'
    assert results[0]['dropped_by']['chain'] == 'DOCKER-USER'
    assert results[0]['dropped_by']['probe'] == 'forward tcp 198.18.2.160 port 443'


def test_message_names_the_first_ones():
    rules = [rule('198.18.2.200/29', 'tcp', None), rule('198.18.2.101/32', 'udp', '443'),
             rule('198.18.9.0/24', 'tcp', '443', region='far')]
    results, _count = verify_policy.verify(ruleset('nftables', 'trixie'), rules)
    message = verify_policy.message(results, 5)
    assert message.startswith('2 of 3 catalog rules not effectively allowed: '), message
    assert 'turn lab out udp 198.18.2.101/32 port 443: dropped by inet foreign out (handle ' \
        in message and 'foreign drop' in message, message
    assert 'turn far out tcp 198.18.9.0/24 port 443: rejected by inet jaas output' in message
    assert verify_policy.message(results, 1).endswith('; and 1 more')
