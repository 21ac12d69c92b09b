#!/usr/bin/env python3
"""Benchmark jaas.firewall.verify (a script, not a test).

1. The evaluator alone (plugins/module_utils/nft_eval.py), on the controller: the full bundled
   catalog with webhooks (every block, region and family) probed against the real rulesets
   of tests/golden/verify/ (Debian 12 and 13 captures), gateway mode on: compile time, probes
   and probes/s (every probe decided, no cache).
2. The playbook on real hosts: ``--hosts`` fresh jaas-firewall-test containers (bookworm then
   trixie, --network none, docker connection), the nftables role applied with the full
   catalog (outgoing reject, gateway mode), then playbooks/verify.yml on all of them at once:
   wall seconds per run, per host, and the module's own seconds on each host.

Usage: .venv/bin/python bench/verify_bench.py [--hosts 2] [--no-hosts]
"""
import argparse
import json
import os
import re
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, '.collections'))
sys.path.insert(0, os.path.join(ROOT, 'tests'))

from ansible_collections.jaas.firewall.plugins.module_utils import nft_eval  # noqa: E402
from ansible_collections.jaas.firewall.plugins.modules import verify_policy  # noqa: E402
from ansible_collections.jaas.firewall.plugins.plugin_utils.catalog import load_catalog, select  # noqa: E402
from ansible_collections.jaas.firewall.plugins.filter.rules import rules as rules_filter  # noqa: E402

GOLDEN = os.path.join(ROOT, 'tests', 'golden', 'verify')
VARS = {'jaas_firewall_webhooks': True,
        'jaas_firewall_nftables_default_outgoing': 'reject',
        'jaas_firewall_gateway': True,
        'jaas_firewall_gateway_in_interfaces': ['lan0'],
        'jaas_firewall_gateway_out_interfaces': ['wan0']}


def full_rules():
    catalog = select(load_catalog(), blocks=['cloudflare', 'jvb', 'turn', 'webhook_origins'])
    return rules_filter(catalog, webhooks=True)


def evaluator():
    rules = full_rules()
    print('catalog: %d rules (full bundled catalog, webhooks on)' % len(rules))
    print('%-22s %8s %8s %10s %12s %8s' % ('ruleset', 'compile', 'probes', 'seconds', 'probes/s',
                                           'allowed'))
    for name in sorted(os.listdir(GOLDEN)):
        if not name.endswith('.json'):
            continue
        with open(os.path.join(GOLDEN, name)) as handle:
            data = json.load(handle)
        start = time.perf_counter()
        ruleset = nft_eval.Ruleset.from_nft_json(
            data['ruleset'], legacy4=data['legacy']['4'], legacy6=data['legacy']['6'],
            nft_save4=data['nft_save']['4'], nft_save6=data['nft_save']['6'])
        compiled = time.perf_counter() - start
        probes = [probe for rule in rules
                  for probe in verify_policy.probes_for(rule, True, ['lan0'], ['wan0'])]
        start = time.perf_counter()
        accepted = sum(1 for probe in probes if ruleset.decide(probe).accepted)
        seconds = time.perf_counter() - start
        print('%-22s %7.3fs %8d %9.3fs %12.0f %8d'
              % (name[:-5], compiled, len(probes), seconds, len(probes) / seconds, accepted))


def hosts(count):
    from reliability import harness
    ansible = harness.Ansible(os.path.join('/tmp', 'verify-bench-%d' % os.getpid()))
    os.makedirs(ansible.workdir, exist_ok=True)
    prefix = os.environ.get('JAAS_VERIFY_PREFIX', 'jaas-verifybench-%d-' % os.getpid())
    started = []
    try:
        for index in range(count):
            suite = ('bookworm', 'trixie')[index % 2]
            started.append(harness.Host.start('bench-%d-%s' % (index, suite), suite, prefix))
        result = ansible.run(started, harness.role_play('nftables'), extra_vars=VARS)
        assert result.rc == 0, result.stdout[-2000:]
        play = '- ansible.builtin.import_playbook: %s\n' % os.path.join(ROOT, 'playbooks',
                                                                        'verify.yml')
        for run in range(3):
            result = ansible.run(started, play, extra_vars=VARS, options=['-v'])
            assert result.rc == 0, result.stdout[-2000:]
            module_seconds = [float(s) for s in re.findall(r'"seconds": ([0-9.]+)', result.stdout)]
            checked = re.findall(r'"checked": (\d+)', result.stdout)
            print('verify.yml run %d: %d hosts, %s rules each: %.2f s wall (%.2f s per host), '
                  'module on host %s s' % (run + 1, len(started), ','.join(sorted(set(checked))),
                                           result.seconds, result.seconds / len(started),
                                           ', '.join('%.3f' % s for s in module_seconds)))
    finally:
        harness.remove_all()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--hosts', type=int, default=2)
    parser.add_argument('--no-hosts', action='store_true')
    args = parser.parse_args()
    evaluator()
    if not args.no_hosts and args.hosts > 0:
        hosts(args.hosts)


if __name__ == '__main__':
    main()
