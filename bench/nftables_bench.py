#!/usr/bin/env python3
"""Benchmark the nftables role next to the ufw and firewalld roles (a script, not a test).

On fresh, identical containers of jaas-firewall-test:bookworm (--network none: nothing is
ever sent anywhere; docker connection) it times, for each of the three roles with the
full bundled catalog + webhooks and the role's default settings:

  first apply      the role on a host that has none of its rules yet
  no-change re-run the same play again, ``--repeat`` times (median)

then applies a synthetic catalog with 10x the networks (bench/firewalld_bench.py's
generator: same shapes, addresses from 198.18.0.0/15 and 2001:2::/48) to a fourth host
with the nftables role and counts, in the kernel (`nft -j list table inet jaas`), rules and
set elements for 1x and 10x: only the set elements may grow.

Prints seconds and controller CPU (user + system of ansible-playbook and its forks, from
os.wait4). Usage: make bench-nftables  (or .venv/bin/python bench/nftables_bench.py)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tests'))
sys.path.insert(0, os.path.join(ROOT, 'bench'))
from reliability import harness  # noqa: E402  (the suite's container settings)
from firewalld_bench import synthetic_catalog  # noqa: E402  (one 10x generator for all benches)
import timing  # noqa: E402  (bench/timing.py: timed runs, parallel start-up)

PREFIX = 'jaas-nftbench-%d-' % os.getpid()
ROLE_PLAY = """
- hosts: all
  gather_facts: false
  roles:
    - role: jaas.firewall.{role}
      vars:
        jaas_firewall_catalog_file: {catalog}
        jaas_firewall_webhooks: true
        jaas_firewall_allow_private_networks: {private}
"""
ROLES = ('nftables', 'ufw', 'firewalld')


def play(workdir, name, playbook):
    """Run one playbook against one container: (wall seconds, controller CPU seconds)."""
    inventory = os.path.join(workdir, 'inventory-%s.yml' % name)
    with open(inventory, 'w') as handle:
        yaml.safe_dump({'all': {'hosts': {name: {
            'ansible_connection': 'community.docker.docker',
            'ansible_python_interpreter': '/usr/bin/python3'}}}}, handle)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.collections'),
               ANSIBLE_NOCOLOR='1')
    run = timing.timed_run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'),
                            '-i', inventory, playbook], env)
    timing.exit_on_failure(run, '%s failed on %s' % (playbook, name), tail=3000)
    return run.wall, run.cpu


def table_counts(name):
    listing = json.loads(subprocess.run(
        ['docker', 'exec', name, 'nft', '-j', 'list', 'table', 'inet', 'jaas'],
        check=True, capture_output=True, text=True).stdout)['nftables']
    rules = sum(1 for item in listing if 'rule' in item)
    sets = [item['set'] for item in listing if 'set' in item]
    return rules, len(sets), sum(len(s.get('elem', [])) for s in sets)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--suite', default='bookworm', choices=sorted(harness.IMAGES))
    parser.add_argument('--repeat', type=int, default=3, help='no-change re-runs per role')
    args = parser.parse_args()

    results = {}
    with tempfile.TemporaryDirectory(prefix='nftbench-') as workdir:
        big_catalog = os.path.join(workdir, 'catalog10x.yml')
        networks_10x = synthetic_catalog(big_catalog)
        plays = {}
        for role in ROLES:
            plays[role] = os.path.join(workdir, '%s.yml' % role)
            with open(plays[role], 'w') as handle:
                handle.write(ROLE_PLAY.format(role=role, catalog=harness.CATALOG, private='false'))
        plays['10x'] = os.path.join(workdir, '10x.yml')
        with open(plays['10x'], 'w') as handle:
            handle.write(ROLE_PLAY.format(role='nftables', catalog=big_catalog, private='true'))

        names = dict((key, PREFIX + key) for key in ROLES + ('10x',))
        try:
            image = harness.IMAGES[args.suite]
            timing.in_parallel(lambda name: harness.start_container(name, image), names.values())
            subprocess.run(['docker', 'exec', names['firewalld'], 'systemctl', 'start', 'firewalld'],
                           check=True)
            versions = subprocess.run(['docker', 'exec', names['nftables'], 'nft', '--version'],
                                      check=True, capture_output=True, text=True).stdout.strip()
            # one host at a time: the figures must not include each other's load
            for role in ROLES:
                results[role] = {'first': play(workdir, names[role], plays[role])}
                reruns = [play(workdir, names[role], plays[role]) for _ in range(args.repeat)]
                results[role]['rerun'] = (statistics.median(r[0] for r in reruns),
                                          statistics.median(r[1] for r in reruns))
            results['counts_1x'] = table_counts(names['nftables'])
            results['10x'] = {'first': play(workdir, names['10x'], plays['10x']),
                              'rerun': play(workdir, names['10x'], plays['10x'])}
            results['counts_10x'] = table_counts(names['10x'])
        finally:
            for name in names.values():
                subprocess.run(['docker', 'rm', '-f', '-v', name], capture_output=True)

    print('%s; image %s; docker connection; full catalog + webhooks; re-run = median of %d'
          % (versions, harness.IMAGES[args.suite], args.repeat))
    print('%-28s %12s %12s %14s %14s' % ('role', 'first s', 'first CPU s', 're-run s', 're-run CPU s'))
    for key, label in (('nftables', 'nftables'), ('ufw', 'ufw'), ('firewalld', 'firewalld'),
                       ('10x', 'nftables, 10x catalog')):
        (first, first_cpu), (rerun, rerun_cpu) = results[key]['first'], results[key]['rerun']
        print('%-28s %12.1f %12.1f %14.1f %14.1f' % (label, first, first_cpu, rerun, rerun_cpu))
    for key, label in (('counts_1x', '1x catalog'), ('counts_10x', '10x catalog (%d networks)'
                                                     % networks_10x)):
        rules, sets, elements = results[key]
        print('kernel, %s: %d rules, %d sets, %d set elements' % (label, rules, sets, elements))
    print(json.dumps(results))


if __name__ == '__main__':
    main()
