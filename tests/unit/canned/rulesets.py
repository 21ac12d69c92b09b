"""Rulesets real nft, iptables-nft and iptables-legacy printed on Debian 12 and 13
(tests/golden/verify), loaded once per test session."""

import json
import os

from ansible_collections.jaas.firewall.plugins.module_utils import nft_eval

from canned.golden import GOLDEN as _GOLDEN

GOLDEN = os.path.join(_GOLDEN, "verify")


def load(scenario, suite):
    with open(os.path.join(GOLDEN, '%s_%s.json' % (scenario, suite))) as handle:
        data = json.load(handle)
    return nft_eval.Ruleset.from_nft_json(
        data['ruleset'], legacy4=data['legacy']['4'], legacy6=data['legacy']['6'],
        nft_save4=data['nft_save']['4'], nft_save6=data['nft_save']['6'])


_CACHE = {}


def ruleset(scenario, suite):
    if (scenario, suite) not in _CACHE:
        _CACHE[(scenario, suite)] = load(scenario, suite)
    return _CACHE[(scenario, suite)]
