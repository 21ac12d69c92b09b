#!/usr/bin/env python3
"""Benchmark the firewalld role against a per-rule loop (a script, not a test).

On fresh, identical containers of jaas-firewall-test:bookworm (firewalld 1.3, started,
no network: nothing is ever sent anywhere) it times:

  role       jaas.firewall.firewalld, full bundled catalog (+ webhooks): first apply, re-run
  loop       the same rules, one ansible.posix.firewalld rich-rule task per rule
             (that module has no policy option, so the rules go into the default zone:
             the cost per rule is what is measured, not the semantics): first apply, re-run
  role 10x   a synthetic catalog with 10x the networks (same schema, addresses from
             198.18.0.0/15 and 2001:2::/48): first apply, and the number of rich rules

and prints seconds, ratios and the controller's peak RSS (ansible-playbook and its forks).
Usage: make bench-firewalld   (or: .venv/bin/python bench/firewalld_bench.py [--image IMG])
"""
import argparse
import ipaddress
import json
import os
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tests'))
from reliability import harness  # noqa: E402  (the suite's container settings)
import timing  # noqa: E402  (bench/timing.py: timed runs, parallel start-up)

CATALOG = os.path.join(ROOT, 'vars', 'jaas_catalog.yml')

ROLE_PLAY = """
- hosts: all
  gather_facts: false
  roles:
    - role: jaas.firewall.firewalld
      vars:
        jaas_firewall_catalog_file: {catalog}
        # the 10x catalog's extra networks are in 198.18.0.0/15 and 2001:2::/48
        jaas_firewall_allow_private_networks: true
        jaas_firewall_webhooks: true
"""

LOOP_PLAY = """
- hosts: all
  gather_facts: false
  tasks:
    - name: Same rules as the role, computed the same way
      ansible.builtin.set_fact:
        bench_rules: >-
          {{{{ lookup('jaas.firewall.catalog', catalog_file='{catalog}',
                      blocks=['cloudflare', 'jvb', 'turn', 'webhook_origins'])
             | jaas.firewall.rules(webhooks=true) }}}}
    - name: One rich rule per rule
      ansible.posix.firewalld:
        rich_rule: >-
          rule family="ipv{{{{ item.family }}}}"
          {{{{ 'destination' if item.direction == 'out' else 'source' }}}} address="{{{{ item.network }}}}"
          {{{{ ('port port="%s" protocol="%s"' % (item.ports, item.protocol)) if item.ports
              else ('protocol value="%s"' % item.protocol) }}}} accept
        permanent: true
        immediate: true
        state: enabled
      loop: "{{{{ bench_rules }}}}"
      loop_control:
        label: "{{{{ item.block }}}} {{{{ item.network }}}} {{{{ item.protocol }}}}/{{{{ item.ports }}}}"
"""


def sh(*cmd, **kwargs):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kwargs).stdout


def start_container(image, name):
    harness.start_container(name, image)
    sh('docker', 'exec', name, 'systemctl', 'start', 'firewalld')


def play(workdir, name, playbook):
    """Run one playbook against one container; return (seconds, peak RSS MiB, stdout)."""
    inventory = os.path.join(workdir, 'inventory.yml')
    with open(inventory, 'w') as handle:
        yaml.safe_dump({'all': {'hosts': {name: {
            'ansible_connection': 'community.docker.docker',
            'ansible_python_interpreter': '/usr/bin/python3'}}}}, handle)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.collections'),
               ANSIBLE_STDOUT_CALLBACK='json', ANSIBLE_LOAD_CALLBACK_PLUGINS='1')
    # stderr apart: stdout is the json callback's document
    run = timing.timed_run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'),
                            '-i', inventory, playbook], env, split_stderr=True)
    timing.exit_on_failure(run, '%s failed on %s' % (playbook, name), tail=3000)
    return run.wall, run.maxrss_mib, run.output


def rich_rule_count(name, prefix='jaas'):
    out = sh('docker', 'exec', name, 'firewall-cmd', '--policy=%s-egress' % prefix, '--list-rich-rules')
    out += sh('docker', 'exec', name, 'firewall-cmd', '--policy=%s-ingress' % prefix, '--list-rich-rules')
    return len([line for line in out.splitlines() if line.strip()])


def synthetic_catalog(path, factor=10):
    """The bundled catalog with every network list multiplied by ``factor`` using
    addresses from the benchmarking ranges (same shapes: /32 TURN hosts, /25-/27 bridges)."""
    with open(CATALOG) as handle:
        catalog = yaml.safe_load(handle)
    v4 = ipaddress.ip_network('198.18.0.0/15').subnets(new_prefix=25)
    v6 = ipaddress.ip_network('2001:2::/48').subnets(new_prefix=64)

    def fake(network_text):
        network = ipaddress.ip_network(str(network_text), strict=False)
        base = next(v6) if network.version == 6 else next(v4)
        prefix = max(network.prefixlen, base.prefixlen)
        return str(next(base.subnets(new_prefix=prefix)))

    for block in catalog['blocks'].values():
        holders = list(block['regions'].values()) if block.get('regions') else [block]
        for holder in holders:
            if holder.get('networks'):
                holder['networks'] = [fake(n) for n in holder['networks'] for _ in range(factor)]
    catalog['provenance']['title'] = 'Synthetic %dx catalog for bench/firewalld_bench.py' % factor
    with open(path, 'w') as handle:
        yaml.safe_dump(catalog, handle, sort_keys=False)
    return sum(len(holder.get('networks') or [])
               for block in catalog['blocks'].values()
               for holder in (list(block['regions'].values()) if block.get('regions') else [block]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--image', default='jaas-firewall-test:bookworm')
    parser.add_argument('--skip-loop', action='store_true', help='skip the slow per-rule loop')
    args = parser.parse_args()

    results = {}
    with tempfile.TemporaryDirectory(prefix='fwbench-') as workdir:
        role_play = os.path.join(workdir, 'role.yml')
        loop_play = os.path.join(workdir, 'loop.yml')
        big_catalog = os.path.join(workdir, 'catalog10x.yml')
        big_play = os.path.join(workdir, 'role10x.yml')
        with open(role_play, 'w') as handle:
            handle.write(ROLE_PLAY.format(catalog=CATALOG))
        with open(loop_play, 'w') as handle:
            handle.write(LOOP_PLAY.format(catalog=CATALOG))
        networks_10x = synthetic_catalog(big_catalog)
        with open(big_play, 'w') as handle:
            handle.write(ROLE_PLAY.format(catalog=big_catalog))

        names = ['fwbench-role', 'fwbench-loop', 'fwbench-10x']
        try:
            for name in names:
                start_container(args.image, name)
            version = sh('docker', 'exec', names[0], 'firewall-cmd', '--version').strip()

            results['role_first'] = play(workdir, 'fwbench-role', role_play)[:2]
            results['role_rerun'] = play(workdir, 'fwbench-role', role_play)[:2]
            results['role_rules'] = rich_rule_count('fwbench-role')
            results['big_first'] = play(workdir, 'fwbench-10x', big_play)[:2]
            results['big_rerun'] = play(workdir, 'fwbench-10x', big_play)[:2]
            results['big_rules'] = rich_rule_count('fwbench-10x')
            results['big_entries'] = int(sh('docker', 'exec', 'fwbench-10x', 'sh', '-c',
                                            'for s in $(firewall-cmd --get-ipsets); do '
                                            'firewall-cmd --ipset=$s --get-entries; done | wc -l'))
            if not args.skip_loop:
                results['loop_first'] = play(workdir, 'fwbench-loop', loop_play)[:2]
                results['loop_rerun'] = play(workdir, 'fwbench-loop', loop_play)[:2]
                results['loop_rules'] = len(sh('docker', 'exec', 'fwbench-loop', 'firewall-cmd',
                                               '--list-rich-rules').splitlines())
        finally:
            for name in names:
                subprocess.run(['docker', 'rm', '-f', name], capture_output=True)

    print('firewalld %s, image %s, docker connection, controller %s' % (
        version, args.image, os.uname().nodename))
    print('%-34s %9s %14s' % ('run', 'seconds', 'peak RSS MiB*'))
    for key, label in (('role_first', 'role, full catalog, first apply'),
                       ('role_rerun', 'role, full catalog, no change'),
                       ('loop_first', 'per-rule loop, first apply'),
                       ('loop_rerun', 'per-rule loop, no change'),
                       ('big_first', 'role, 10x catalog, first apply'),
                       ('big_rerun', 'role, 10x catalog, no change')):
        if key in results:
            seconds, peak = results[key]
            print('%-34s %9.1f %14.0f' % (label, seconds, peak))
    print('rich rules: full catalog %d (role) vs %s (loop); 10x catalog (%d networks, %d set '
          'entries) %d' % (results['role_rules'], results.get('loop_rules', 'n/a'),
                           networks_10x, results['big_entries'], results['big_rules']))
    if 'loop_first' in results:
        print('speed-up first apply %.1fx, no-change re-run %.1fx' % (
            results['loop_first'][0] / results['role_first'][0],
            results['loop_rerun'][0] / results['role_rerun'][0]))
    print('* ru_maxrss from wait4(): the largest of ansible-playbook and its forks')
    print(json.dumps({k: v for k, v in results.items()}, default=str))


if __name__ == '__main__':
    main()
