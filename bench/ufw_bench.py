#!/usr/bin/env python3
"""Benchmark: a community.general.ufw loop vs the jaas.firewall.ufw role.

Starts two fresh, identical containers from the harness image (no network at all: nothing
is ever sent anywhere, ufw only writes rules), enables ufw in both, then applies the same
rules (bundled catalog, default blocks cloudflare + jvb + turn, IPv4 + IPv6) twice:

  loop  community.general.ufw, one task iteration per rule (the naive way)
  role  jaas.firewall.ufw (one jaas.firewall.ufw_rules call)

and prints wall time of each ansible-playbook run (first apply, re-run with nothing to
change), the ratios, and the controller's peak memory (largest RSS of any process of the
ansible-playbook run, from wait4). Both containers must end with the same rules.

Usage: bench/ufw_bench.py [--image jaas-firewall-test:bookworm] [--keep]
Run from the repository root after `make setup images` (`make bench-ufw`).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(os.path.abspath(sys.executable))
sys.path.insert(0, os.path.join(REPO, 'tests'))
from reliability import harness  # noqa: E402  (the suite's container settings)
import timing  # noqa: E402  (bench/timing.py: timed runs, parallel start-up)

RULES_EXPR = ("{{ lookup('jaas.firewall.catalog', blocks=['cloudflare', 'jvb', 'turn'])"
              " | jaas.firewall.rules }}")

LOOP_PLAYBOOK = """
- name: community.general.ufw, one rule per loop iteration
  hosts: loop
  gather_facts: false
  vars:
    rules: "%s"
  tasks:
    - name: Allow one JaaS rule
      community.general.ufw:
        rule: allow
        direction: "{{ item.direction }}"
        proto: "{{ item.protocol }}"
        to_ip: "{{ item.network if item.direction == 'out' else 'any' }}"
        from_ip: "{{ item.network if item.direction == 'in' else 'any' }}"
        to_port: "{{ item.ports | replace('-', ':') if item.ports else omit }}"
        comment: "jaas:{{ item.block }}{{ ':' ~ item.region if item.region else '' }}"
      loop: "{{ rules }}"
      loop_control:
        label: "{{ item.network }} {{ item.protocol }} {{ item.ports }}"
""" % RULES_EXPR

ROLE_PLAYBOOK = """
- name: jaas.firewall.ufw role
  hosts: role
  gather_facts: false
  roles:
    - role: jaas.firewall.ufw
"""


def docker(*args, check=True):
    return subprocess.run(['docker'] + list(args), check=check, capture_output=True,
                          text=True).stdout.strip()


def start(name, image):
    harness.start_container(name, image)
    docker('exec', name, 'ufw', '--force', 'enable')


def timed_playbook(playbook, inventory, env):
    """Run ansible-playbook; return (seconds, peak RSS in MiB, summary line)."""
    run = timing.timed_run([os.path.join(BIN, 'ansible-playbook'), '-i', inventory, playbook], env)
    if run.rc != 0:
        sys.stderr.write(run.output[-4000:])
        raise SystemExit('ansible-playbook %s failed' % playbook)
    recap = [line for line in run.output.splitlines() if 'changed=' in line]
    return run.wall, run.maxrss_mib, recap[-1].strip() if recap else ''


def jaas_rules(name):
    added = docker('exec', name, 'ufw', 'show', 'added').splitlines()
    return sorted(line for line in added if "comment 'jaas:" in line)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--image', default='jaas-firewall-test:bookworm')
    parser.add_argument('--keep', action='store_true', help='keep the containers')
    args = parser.parse_args()

    suffix = str(os.getpid())
    names = {'loop': 'jaas-bench-ufw-loop-' + suffix, 'role': 'jaas-bench-ufw-role-' + suffix}
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, '.collections'),
               ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'),
               ANSIBLE_ROLES_PATH=os.path.join(REPO, 'roles'), ANSIBLE_FORCE_COLOR='0')
    results = {}
    with tempfile.TemporaryDirectory(prefix='jaas-bench-ufw-') as work:
        inventory = os.path.join(work, 'inventory.ini')
        with open(inventory, 'w') as handle:
            for group, name in names.items():
                handle.write('[%s]\n%s ansible_connection=community.docker.docker '
                             'ansible_python_interpreter=/usr/bin/python3\n' % (group, name))
        playbooks = {}
        for group, text in (('loop', LOOP_PLAYBOOK), ('role', ROLE_PLAYBOOK)):
            playbooks[group] = os.path.join(work, group + '.yml')
            with open(playbooks[group], 'w') as handle:
                handle.write(text)
        try:
            for name in names.values():
                start(name, args.image)
            for group in ('loop', 'role'):
                for run in ('first', 'rerun'):
                    print('%s %s ...' % (group, run), flush=True)
                    results[(group, run)] = timed_playbook(playbooks[group], inventory, env)
                    print('  %.1f s, peak %.0f MiB, %s' % results[(group, run)], flush=True)
            loop_rules, role_rules = jaas_rules(names['loop']), jaas_rules(names['role'])
        finally:
            if not args.keep:
                for name in names.values():
                    docker('rm', '-f', name, check=False)

    print()
    print('rules applied: loop %d, role %d, identical: %s'
          % (len(loop_rules), len(role_rules), loop_rules == role_rules))
    print('%-8s %12s %12s %8s %14s' % ('run', 'loop (s)', 'role (s)', 'ratio', 'peak MiB l/r'))
    for run in ('first', 'rerun'):
        loop, role = results[('loop', run)], results[('role', run)]
        print('%-8s %12.1f %12.1f %7.1fx %7.0f/%-6.0f'
              % (run, loop[0], role[0], loop[0] / role[0], loop[1], role[1]))
    os.makedirs(os.path.join(REPO, 'bench', 'results'), exist_ok=True)
    with open(os.path.join(REPO, 'bench', 'results', 'ufw.json'), 'w') as handle:
        json.dump({'%s_%s' % key: {'seconds': value[0], 'peak_rss_mib': value[1],
                                   'recap': value[2]} for key, value in results.items()},
                  handle, indent=2)
    if loop_rules != role_rules or len(role_rules) == 0:
        raise SystemExit('the loop and the role did not produce the same rules')


if __name__ == '__main__':
    main()
