#!/usr/bin/env python3
"""What a backend role costs on an already-converged host, next to Ansible's own floor.

Floor: a play with fact gathering and one ``ping`` on the same hosts. Role: a play with
fact gathering and the role (nothing to change). Both run on the same containers in the
same run, alternating, ``--repeat`` times each; the script prints the median wall time
and controller CPU (user + system of ansible-playbook and its forks, from os.wait4) and
the role/floor ratios. A script, not a test: no timing is asserted anywhere.

Containers use the harness settings with --network none (docker connection).
Usage: make bench-floor   (or .venv/bin/python bench/floor_bench.py --sizes 1,20 --roles ufw)
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tests'))
sys.path.insert(0, os.path.join(ROOT, '.collections'))
from reliability import harness  # noqa: E402  (same container/ansible code as the suite)
import timing  # noqa: E402  (bench/timing.py: timed runs, parallel start-up)
from ansible_collections.jaas.firewall.plugins.plugin_utils import registry  # noqa: E402

PREFIX = 'jaas-floor-%d-' % os.getpid()
# What each role needs to converge here (the shipped catalog, default blocks): the backend
# registry's ``enable`` variables; every backend on Debian 12.
ROLE_VARS = dict((entry.name, dict(entry.enable)) for entry in registry.linux())
SUITE = dict((entry.name, 'bookworm') for entry in registry.linux())


def timed(ansible, hosts, play, extra, forks):
    """(wall seconds, controller CPU seconds, output); exits on failure."""
    run = timing.timed_play(ansible, hosts, play, extra, forks)
    timing.exit_on_failure(run, 'run failed on %d host(s)' % len(hosts))
    return run.wall, run.cpu, run.output


def measure(ansible, role, size, repeat):
    hosts = timing.start_hosts(size, SUITE[role], '%s-%d' % (role, size), PREFIX)
    extra = ROLE_VARS[role]
    forks = max(size, 1)
    first = timed(ansible, hosts, timing.ROLE_PLAY % role, extra, forks)
    floor, converged = [], []
    for _ in range(repeat):
        floor.append(timed(ansible, hosts, timing.FLOOR_PLAY, None, forks)[:2])
        wall, cpu, text = timed(ansible, hosts, timing.ROLE_PLAY % role, extra, forks)
        if any(count != '0' for count in re.findall(r'changed=(\d+)', text.split('PLAY RECAP', 1)[-1])):
            sys.exit('%s role changed something on a converged host:\n%s' % (role, text[-3000:]))
        converged.append((wall, cpu))
    for host in hosts:
        subprocess.run(['docker', 'rm', '-f', '-v', host.name], capture_output=True)
    median = lambda pairs, i: statistics.median(pair[i] for pair in pairs)  # noqa: E731
    return dict(role=role, hosts=size, first=first[0],
                floor_wall=median(floor, 0), floor_cpu=median(floor, 1),
                role_wall=median(converged, 0), role_cpu=median(converged, 1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--sizes', default='1,20')
    parser.add_argument('--roles', default='ufw,firewalld')
    parser.add_argument('--repeat', type=int, default=3)
    args = parser.parse_args()
    ansible = harness.Ansible(tempfile.mkdtemp(prefix='jaas-floor-'))
    os.makedirs(os.path.join(ansible.workdir, 'tmp'), exist_ok=True)
    # Each row is printed as soon as it is measured: a later failure loses nothing.
    print('| role | hosts | first apply | floor wall | role wall | ratio | floor CPU | role CPU | ratio |')
    print('|---|---:|---:|---:|---:|---:|---:|---:|---:|', flush=True)
    try:
        for role in args.roles.split(','):
            for size in [int(s) for s in args.sizes.split(',')]:
                row = measure(ansible, role, size, args.repeat)
                print('| %(role)s | %(hosts)d | %(first).1f s | %(floor_wall).1f s | '
                      '%(role_wall).1f s | %(wall_ratio).2f× | %(floor_cpu).1f s | '
                      '%(role_cpu).1f s | %(cpu_ratio).2f× |'
                      % dict(row, wall_ratio=row['role_wall'] / row['floor_wall'],
                             cpu_ratio=row['role_cpu'] / row['floor_cpu']), flush=True)
    finally:
        harness.remove_all()


if __name__ == '__main__':
    main()
