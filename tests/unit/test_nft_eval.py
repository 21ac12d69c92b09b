"""The verify evaluator (plugins/module_utils/nft_eval.py) against REAL rulesets.

Each dump in tests/golden/verify/ is what `nft -j list ruleset` (plus iptables-legacy-save and
iptables-nft-save) printed on a jaas-firewall-test:bookworm (nft 1.0.6) or :trixie (nft 1.1.3)
container after the setup script of tests/golden/verify/capture.py. The expectations below are
hand-written from those setup scripts (which address and port each rule accepts or drops,
which table and chain holds it), never from the evaluator.
"""

import json
import os

import pytest

from ansible_collections.jaas.firewall.plugins.module_utils import nft_eval
from ansible_collections.jaas.firewall.plugins.module_utils.nft_eval import Probe
from canned.rulesets import (  # noqa: F401 (fixtures)
    load, ruleset)

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(os.path.dirname(HERE), 'golden', 'verify')
SUITES = ('bookworm', 'trixie')

ACCEPT = ('accept', None, None, None)


# (probe arguments, (verdict, family, table, chain)); chain None = any chain of that table
NFTABLES = [
    # the fixture table (tests/golden/nftables_fixture.json), outbound: reject by default
    (('output', 4, 'tcp', '198.18.2.200', 443), ACCEPT),            # cloudflare /29, every port
    (('output', 4, 'udp', '198.18.2.207', 65535), ACCEPT),
    (('output', 4, 'tcp', '198.18.2.128', 443), ACCEPT),            # jvb lab-b
    (('output', 4, 'udp', '198.18.2.191', 10000), ACCEPT),
    (('output', 4, 'udp', '198.18.2.191', 10001), ('reject', 'inet', 'jaas', 'output')),
    (('output', 6, 'tcp', '2001:2:0:2::100', 443), ACCEPT),
    (('output', 6, 'udp', '2001:2:0:2:ffff::1', 5000), ACCEPT),
    (('output', 6, 'udp', '2001:2:0:2::101', 443), ('reject', 'inet', 'jaas', 'output')),
    (('output', 4, 'tcp', '198.18.9.9', 443), ('reject', 'inet', 'jaas', 'output')),
    # table inet foreign, output priority 10: drops 198.18.2.101 udp 443 (turn, allowed by jaas)
    (('output', 4, 'udp', '198.18.2.101', 443), ('drop', 'inet', 'foreign', 'out')),
    (('output', 4, 'tcp', '198.18.2.101', 443), ACCEPT),
    (('output', 4, 'udp', '198.18.2.101', 50000), ACCEPT),
    # table ip foreign4: out jumps (tcp) to sub, which returns for 198.18.2.160/27 and rejects
    # { 198.18.2.102, 198.18.3.0/24 } . { 443, 8000-8100 }
    (('output', 4, 'tcp', '198.18.2.102', 443), ('reject', 'ip', 'foreign4', 'sub')),
    (('output', 4, 'udp', '198.18.2.102', 443), ACCEPT),
    (('output', 4, 'tcp', '198.18.2.160', 443), ACCEPT),
    # inbound: webhook origins 198.18.2.99 and .100 on tcp 8443, 2222 and 9000 kept open
    (('input', 4, 'tcp', None, 8443, '198.18.2.99'), ACCEPT),
    (('input', 4, 'tcp', None, 8443, '198.18.2.98'), ('drop', 'inet', 'jaas', 'input')),
    (('input', 4, 'tcp', None, 2222, '198.18.77.1'), ACCEPT),
    # gateway mode: LAN lan0/lan1 -> WAN wan0
    (('forward', 4, 'tcp', '198.18.2.128', 443, None, 'lan0', 'wan0'), ACCEPT),
    (('forward', 4, 'udp', '198.18.2.100', 50000, None, 'lan1', 'wan0'), ACCEPT),
    (('forward', 4, 'tcp', '198.18.2.128', 443, None, 'eth9', 'wan0'),
     ('reject', 'inet', 'jaas', 'forward')),
    (('forward', 4, 'tcp', '198.18.9.9', 443, None, 'lan0', 'wan0'),
     ('reject', 'inet', 'jaas', 'forward')),
]

DOCKER = [
    # DOCKER-USER (iptables-nft, ip filter, FORWARD -> DOCKER-USER) drops 198.18.2.160/27
    (('forward', 4, 'tcp', '198.18.2.160', 443, None, 'lan0', 'wan0'),
     ('drop', 'ip', 'filter', 'DOCKER-USER')),
    (('forward', 4, 'udp', '198.18.2.191', 10000, None, 'lan0', 'wan0'),
     ('drop', 'ip', 'filter', 'DOCKER-USER')),
    (('forward', 4, 'tcp', '198.18.2.128', 443, None, 'lan0', 'wan0'), ACCEPT),
    (('forward', 6, 'tcp', '2001:2:0:2::100', 443, None, 'lan0', 'wan0'), ACCEPT),
    (('output', 4, 'tcp', '198.18.2.160', 443), ACCEPT),             # DOCKER-USER is forward only
]

FIREWALLD = [
    # policy jaasout (HOST -> ANY) target REJECT, rich rule accepts 198.18.2.0/25 tcp 443
    (('output', 4, 'tcp', '198.18.2.100', 443), ACCEPT),
    (('output', 4, 'tcp', '198.18.2.0', 443), ACCEPT),
    (('output', 4, 'tcp', '198.18.2.127', 443), ACCEPT),
    (('output', 4, 'tcp', '198.18.2.128', 443), ('reject', 'inet', 'firewalld', None)),
    (('output', 4, 'udp', '198.18.2.100', 443), ('reject', 'inet', 'firewalld', None)),
    (('output', 4, 'tcp', '198.18.2.100', 444), ('reject', 'inet', 'firewalld', None)),
    (('output', 6, 'tcp', '2001:2::1', 443), ('reject', 'inet', 'firewalld', None)),
]

UFW = [
    # default deny outgoing (OUTPUT policy DROP), allow out to 198.18.2.0/25 port 443 proto tcp
    (('output', 4, 'tcp', '198.18.2.100', 443), ACCEPT),
    (('output', 4, 'tcp', '198.18.2.127', 443), ACCEPT),
    (('output', 4, 'tcp', '198.18.2.128', 443), ('drop', 'ip', 'filter', 'OUTPUT')),
    (('output', 4, 'udp', '198.18.2.100', 443), ('drop', 'ip', 'filter', 'OUTPUT')),
    (('output', 6, 'tcp', '2001:2::1', 443), ('drop', 'ip6', 'filter', 'OUTPUT')),
    # ufw allow 22/tcp inbound; default deny incoming
    (('input', 4, 'tcp', None, 22, '198.18.77.1'), ACCEPT),
    (('input', 4, 'tcp', None, 8443, '198.18.77.1'), ('drop', 'ip', 'filter', None)),
]

LEGACY = [
    # iptables-legacy: OUTPUT policy DROP; jaas-out returns 198.18.2.100, accepts
    # 198.18.2.128/27 tcp 443 and udp 10000,20000:20010
    (('output', 4, 'tcp', '198.18.2.130', 443), ACCEPT),
    (('output', 4, 'udp', '198.18.2.130', 20005), ACCEPT),
    (('output', 4, 'udp', '198.18.2.130', 10000), ACCEPT),
    (('output', 4, 'udp', '198.18.2.130', 10001), ('drop', 'ip', 'legacy filter', 'OUTPUT')),
    (('output', 4, 'tcp', '198.18.2.100', 443), ('drop', 'ip', 'legacy filter', 'OUTPUT')),
    (('output', 4, 'tcp', '198.18.2.160', 443), ('drop', 'ip', 'legacy filter', 'OUTPUT')),
    (('output', 6, 'tcp', '2001:2:0:2::100', 443), ('reject', 'ip6', 'legacy filter', 'OUTPUT')),
    (('output', 6, 'tcp', '2001:2:0:2::101', 443), ACCEPT),
]

CASES = [(scenario, suite, probe, expected)
         for scenario, table in (('nftables', NFTABLES), ('docker', DOCKER),
                                 ('firewalld', FIREWALLD), ('ufw', UFW), ('legacy', LEGACY))
         for suite in SUITES for probe, expected in table]


def make_probe(args):
    hook, family, proto, daddr, dport = args[:5]
    saddr = args[5] if len(args) > 5 else None
    iif = args[6] if len(args) > 6 else None
    oif = args[7] if len(args) > 7 else None
    return Probe(hook, family, proto, daddr=daddr, dport=dport, saddr=saddr, iif=iif, oif=oif)


@pytest.mark.parametrize('scenario, suite, args, expected', CASES,
                         ids=['%s-%s-%s' % (c[0], c[1], '-'.join(str(a) for a in c[2] if a))
                              for c in CASES])
def test_real_ruleset(scenario, suite, args, expected):
    decision = ruleset(scenario, suite).decide(make_probe(args))
    verdict, family, table, chain = expected
    assert decision.verdict == verdict, decision
    if verdict == 'accept':
        return
    assert decision.by['family'] == family, decision
    assert decision.by['table'] == table, decision
    if chain is not None:
        assert decision.by['chain'] == chain, decision


def test_dumps_are_real_and_both_versions():
    versions = set()
    for scenario in ('nftables', 'docker', 'firewalld', 'ufw', 'legacy'):
        for suite in SUITES:
            with open(os.path.join(GOLDEN, '%s_%s.json' % (scenario, suite))) as handle:
                data = json.load(handle)
            versions.add(data['nft_version'])
    assert '1.0.6' in versions and any(v.startswith('1.1') for v in versions)


def test_foreign_drop_names_the_rule():
    decision = ruleset('nftables', 'trixie').decide(Probe('output', 4, 'udp', '198.18.2.101', 443))
    assert decision.by['rule'] == 'foreign drop'          # the rule's comment
    assert isinstance(decision.by['handle'], int)


# ---- hand-built rulesets: unknown expressions never give a false accept

def table(chain_rules, policy='accept', hook='output', family='inet', prio=0, sets=(), name='t'):
    items = [{'table': {'family': family, 'name': name, 'handle': 1}},
             {'chain': {'family': family, 'table': name, 'name': 'c', 'handle': 1, 'hook': hook,
                        'prio': prio, 'policy': policy, 'type': 'filter'}}]
    for body in sets:
        items.append({'set': dict(body, family=family, table=name)})
    for number, expr in enumerate(chain_rules):
        items.append({'rule': {'family': family, 'table': name, 'chain': 'c',
                               'handle': number + 10, 'expr': expr}})
    return {'nftables': items}


DADDR = {'left': {'payload': {'protocol': 'ip', 'field': 'daddr'}}, 'op': '=='}
XT = {'xt': {'type': 'match', 'name': 'owner'}}
MARK = {'match': {'left': {'meta': {'key': 'mark'}}, 'op': '==', 'right': 7}}


@pytest.mark.parametrize('expr, verdict', [
    ([XT, {'drop': None}], 'drop'),                       # unknown match on a drop: matches
    ([MARK, {'drop': None}], 'drop'),                     # mark unknown: maybe
    ([XT, {'accept': None}], 'drop'),                     # unknown match on an accept: no match
    ([{'weird': {}}, {'accept': None}], 'drop'),          # unknown statement
    ([{'xt': {'type': 'target', 'name': 'FOO'}}], 'drop'),  # unknown target
])
def test_unknown_is_never_a_false_accept(expr, verdict):
    rules = [expr, [{'match': dict(DADDR, right='198.18.2.1')}, {'accept': None}]] \
        if expr[-1] != {'accept': None} else [expr]
    ruleset_ = nft_eval.Ruleset.from_nft_json(table(rules, policy='drop'))
    decision = ruleset_.decide(Probe('output', 4, 'tcp', '198.18.2.1', 443))
    assert decision.verdict == verdict
    assert decision.uncertain, decision


def test_accept_in_one_table_does_not_override_drop_in_another():
    data = table([[{'accept': None}]])
    other = table([[{'match': dict(DADDR, right={'prefix': {'addr': '198.18.2.0', 'len': 24}})},
                    {'drop': None}]], prio=100, family='ip', name='u')
    data['nftables'].extend(other['nftables'])
    decision = nft_eval.Ruleset.from_nft_json(data).decide(Probe('output', 4, 'udp', '198.18.2.9', 53))
    assert (decision.verdict, decision.by['table']) == ('drop', 'u')


def test_concatenated_set_and_vmap():
    sets = [{'name': 'pairs', 'type': ['ipv4_addr', 'inet_service'], 'flags': ['interval'],
             'elem': [{'concat': [{'prefix': {'addr': '198.18.4.0', 'len': 24}},
                                  {'range': [1000, 2000]}]}]}]
    key = {'concat': [{'payload': {'protocol': 'ip', 'field': 'daddr'}},
                      {'payload': {'protocol': 'th', 'field': 'dport'}}]}
    rules = [[{'vmap': {'key': {'meta': {'key': 'l4proto'}},
                        'data': {'set': [['udp', {'accept': None}]]}}}],
             [{'match': {'left': key, 'op': '==', 'right': '@pairs'}}, {'reject': None}]]
    compiled = nft_eval.Ruleset.from_nft_json(table(rules, sets=sets))
    assert compiled.decide(Probe('output', 4, 'tcp', '198.18.4.255', 2000)).verdict == 'reject'
    assert compiled.decide(Probe('output', 4, 'tcp', '198.18.4.255', 2001)).verdict == 'accept'
    assert compiled.decide(Probe('output', 4, 'udp', '198.18.4.1', 1500)).verdict == 'accept'
