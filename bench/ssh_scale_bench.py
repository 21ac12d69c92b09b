#!/usr/bin/env python3
"""A backend role over real SSH on 1, 10 and 50 hosts, next to Ansible's own floor.

For each fleet size, on the same fresh containers running sshd (tests/reliability/ssh_harness.py,
network 198.18.40.0/24), one after the other:

  floor        gather facts + ping (what any play costs)
  first apply  gather facts + the role, restricting (ufw: enabled, incoming and outgoing
               denied; firewalld: started, egress REJECT; nftables: input drop, output
               reject), so the connection's port is kept and confirm-or-revert is armed
               and confirmed over a new connection on every host (role default 60 s)
  re-run       the same play again: nothing to change, nothing armed
  no pipelining  the re-run once more with ANSIBLE_PIPELINING=0 (Ansible's default): what
               pipelining saves (a temporary directory, a file copy and a chmod per module)

With --without-rollback, each size also gets a second fresh fleet with its own floor and a
first apply with jaas_firewall_rollback_timeout: 0 (no snapshot, no countdown, no second
connection): what confirm-or-revert costs on a first apply.

With --kex ALGORITHMS, every run (the floors too) uses that SSH key exchange
(``-o KexAlgorithms=...`` added to Ansible's default ssh_args). OpenSSH 9's default,
sntrup761x25519, costs the ssh client about 0.1 s of CPU per new connection here, curve25519
about 0.01 s; the first apply opens two connections per host (the confirmation's is new by
design), the floor one.

With --ssh-from-image IMAGE, every run (the floors too) uses that image's OpenSSH client
instead of the controller's: its ``ssh`` binary, its shared libraries and its dynamic loader
are copied out of the local image (e.g. jaas-firewall-test:trixie, OpenSSH 10.0) and run on
this machine through a wrapper (ANSIBLE_SSH_EXECUTABLE). OpenSSH 9.9 and later negotiate
mlkem768x25519-sha256 by default, which is post-quantum like sntrup761x25519 and costs the
client about as little as curve25519: this measures the second connection on a controller
with a current OpenSSH, without choosing a key exchange for the user.

Ansible connects as users do: ssh, key auth, pipelining on, ControlPersist as by default.
Every run starts without ControlPersist masters and ends by stopping them, so each run pays
its own connections. Controller CPU is user + system time of ansible-playbook, its forks
and the ssh processes, the daemonised ControlPersist masters included (this script makes
itself their subreaper and reaps them). Wall time and CPU are printed, never asserted.

Usage: make bench-ssh   (or .venv/bin/python bench/ssh_scale_bench.py --sizes 1,10,50 --forks 50)
Run it on an otherwise idle machine (check `docker ps`): it is a benchmark, not a test.
"""
import argparse
import ctypes
import glob
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tests'))
sys.path.insert(0, os.path.join(ROOT, '.collections'))
from reliability import harness, ssh_harness  # noqa: E402
import timing  # noqa: E402  (bench/timing.py: timed runs, parallel start-up)

PREFIX = 'jaas-ssh-bench-%d-' % os.getpid()
PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
    """Orphans below us (daemonised ssh ControlPersist masters) get us as their parent."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit('prctl(PR_SET_CHILD_SUBREAPER) failed: errno %d' % ctypes.get_errno())


def reap_all():
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.05)


def stop_masters(control_dir):
    """Ask every ControlPersist master to exit, then reap them (their CPU is counted)."""
    for socket_path in glob.glob(os.path.join(control_dir, '*')):
        subprocess.run([SETTINGS['ssh'], '-o', 'ControlPath=' + socket_path, '-O', 'exit', 'bench'],
                       capture_output=True, timeout=30)
    deadline = time.monotonic() + 30
    while glob.glob(os.path.join(control_dir, '*')) and time.monotonic() < deadline:
        time.sleep(0.1)
    reap_all()


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# Ansible's default ssh_args, plus -o KexAlgorithms=... with --kex
DEFAULT_SSH_ARGS = '-C -o ControlMaster=auto -o ControlPersist=60s'
SETTINGS = dict(kex=None, ssh='ssh')


def ssh_from_image(image, directory):
    """Path of a wrapper that runs ``image``'s ssh client here (see the module docstring)."""
    def in_image(*argv):
        return subprocess.run(['docker', 'run', '--rm', '--network', 'none', '--entrypoint', argv[0],
                               image] + list(argv[1:]), capture_output=True, text=True, check=True).stdout
    needs = in_image('/usr/bin/ldd', '/usr/bin/ssh')
    libs = re.findall(r'=> (/\S+)', needs)
    loader = re.search(r'^\s*(/\S*ld-linux\S*)', needs, re.M).group(1)
    lib_dir = os.path.join(directory, 'lib')
    os.makedirs(lib_dir)
    container = subprocess.run(['docker', 'create', image], capture_output=True, text=True,
                               check=True).stdout.strip()
    try:
        for path in ['/usr/bin/ssh', loader] + libs:
            subprocess.run(['docker', 'cp', '-L', '%s:%s' % (container, path), lib_dir],
                           capture_output=True, check=True)
    finally:
        subprocess.run(['docker', 'rm', container], capture_output=True)
    wrapper = os.path.join(directory, 'ssh')
    with open(wrapper, 'w') as handle:
        handle.write('#!/bin/sh\nexec "%s/%s" --library-path "%s" "%s/ssh" "$@"\n'
                     % (lib_dir, os.path.basename(loader), lib_dir, lib_dir))
    os.chmod(wrapper, 0o755)
    version = subprocess.run([wrapper, '-V'], capture_output=True, text=True, check=True)
    return wrapper, version.stderr.strip()


def timed(ansible, hosts, play, extra, forks, pipelining=True):
    """(wall s, controller CPU s, output) of one cold ansible-playbook run."""
    control_dir = tempfile.mkdtemp(prefix='cp-', dir=ansible.workdir)
    env = ssh_harness.ssh_env(ansible, control_dir)
    if SETTINGS['kex']:
        env['ANSIBLE_SSH_ARGS'] = '%s -o KexAlgorithms=%s' % (DEFAULT_SSH_ARGS, SETTINGS['kex'])
    env['ANSIBLE_PIPELINING'] = '1' if pipelining else '0'
    env['ANSIBLE_SSH_EXECUTABLE'] = SETTINGS['ssh']
    argv = ansible.command(hosts, play, extra, forks)
    cpu_before = cpu_seconds()
    run = timing.timed_run(argv, env)
    # wait4's rusage misses the masters; the children's totals have both once they are reaped
    stop_masters(control_dir)
    cpu = cpu_seconds() - cpu_before
    timing.exit_on_failure(run, 'run failed on %d host(s)' % len(hosts))
    return run.wall, cpu, run.output


def recap_changed(text):
    return sum(int(n) for n in re.findall(r'changed=(\d+)', text.split('PLAY RECAP', 1)[-1]))


def start_fleet(network, key, config, size, suite, tag):
    def start(number):
        host = ssh_harness.SshHost.start_ssh('%s-%02d' % (tag, number), network, 10 + number,
                                             key, suite, prefix=PREFIX)
        host.config_file = config
        return host
    return timing.in_parallel(start, range(1, size + 1))


def role_fleet(site, role, size, suite, tag):
    """A fresh fleet for ``role``: on firewalld its zone's ssh service is removed first
    (incoming denied: only what the role opens gets in)."""
    hosts = start_fleet(site['network'], site['key'], site['config'], size, suite, tag)
    if role == 'firewalld':
        for host in hosts:
            host.sh('firewall-offline-cmd --remove-service=ssh >/dev/null')
    return hosts


def remove(hosts):
    for host in hosts:
        subprocess.run(['docker', 'rm', '-f', '-v', host.name], capture_output=True)


def measure_without_rollback(ansible, site, role, size, forks, suite):
    """(floor wall, floor CPU, first wall, first CPU) on a fresh fleet, rollback off."""
    hosts = role_fleet(site, role, size, suite, '%s-%d-norb' % (role, size))
    try:
        floor = timed(ansible, hosts, timing.FLOOR_PLAY, None, forks)
        first = timed(ansible, hosts, timing.ROLE_PLAY % role,
                      dict(ssh_harness.RESTRICT[role], jaas_firewall_rollback_timeout=0), forks)
        floor_again = timed(ansible, hosts, timing.FLOOR_PLAY, None, forks)
    finally:
        remove(hosts)
    return (min(floor[0], floor_again[0]), min(floor[1], floor_again[1]), first[0], first[1])


def measure(ansible, site, role, size, forks, suite):
    hosts = role_fleet(site, role, size, suite, '%s-%d' % (role, size))
    try:
        floor = timed(ansible, hosts, timing.FLOOR_PLAY, None, forks)
        first = timed(ansible, hosts, timing.ROLE_PLAY % role, ssh_harness.RESTRICT[role], forks)
        outcomes = timing.in_parallel(lambda host: host.sh(
            'cat /var/lib/jaas-firewall/rollback/*/outcome', check=False).stdout.split(), hosts)
        if any(outcome != ['confirmed'] for outcome in outcomes):
            sys.exit('%s: the first apply did not arm and confirm exactly once per host: %s'
                     % (role, outcomes))
        rerun = timed(ansible, hosts, timing.ROLE_PLAY % role, ssh_harness.RESTRICT[role], forks)
        if recap_changed(rerun[2]):
            sys.exit('%s role changed something on a converged host:\n%s' % (role, rerun[2][-3000:]))
        plain = timed(ansible, hosts, timing.ROLE_PLAY % role, ssh_harness.RESTRICT[role], forks,
                      pipelining=False)
        if recap_changed(plain[2]):
            sys.exit('%s role changed something on a converged host:\n%s' % (role, plain[2][-3000:]))
        floor_again = timed(ansible, hosts, timing.FLOOR_PLAY, None, forks)
    finally:
        remove(hosts)
    row = dict(role=role, hosts=size, forks=forks,
               floor_wall=min(floor[0], floor_again[0]), floor_cpu=min(floor[1], floor_again[1]),
               first_wall=first[0], first_cpu=first[1], rerun_wall=rerun[0], rerun_cpu=rerun[1],
               plain_wall=plain[0], plain_cpu=plain[1])
    print(json.dumps(dict(row, load=os.getloadavg()[0])), file=sys.stderr, flush=True)
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--sizes', default='1,10,50')
    parser.add_argument('--roles', default='ufw')
    parser.add_argument('--forks', type=int, default=50)
    parser.add_argument('--suite', default='bookworm')
    parser.add_argument('--net', type=int, default=ssh_harness.DEFAULT_NET)
    parser.add_argument('--without-rollback', action='store_true',
                        help='also a first apply with rollback_timeout 0 on a second fresh fleet')
    parser.add_argument('--kex', help='SSH key exchange algorithms for every run, floors included')
    parser.add_argument('--ssh-from-image', metavar='IMAGE',
                        help="run every run, floors included, with this local image's ssh client")
    args = parser.parse_args()
    SETTINGS['kex'] = args.kex
    sizes = [int(size) for size in args.sizes.split(',')]
    if max(sizes) > 200:
        sys.exit('at most 200 hosts fit on one /24 test network')
    become_subreaper()
    ssh_harness.raise_inotify_limit()
    workdir = tempfile.mkdtemp(prefix='jaas-ssh-bench-')
    os.makedirs(os.path.join(workdir, 'tmp'))
    ansible = harness.Ansible(workdir)
    client = subprocess.run(['ssh', '-V'], capture_output=True, text=True).stderr.strip()
    if args.ssh_from_image:
        SETTINGS['ssh'], client = ssh_from_image(args.ssh_from_image, os.path.join(workdir, 'client'))
    network = ssh_harness.SshNetwork(args.net, name=PREFIX + 'net').create()
    site = dict(network=network, key=ssh_harness.KeyPair(os.path.join(workdir, 'key')),
                config=ssh_harness.ssh_config(os.path.join(workdir, 'ssh_config')))
    rows = []
    try:
        for role in args.roles.split(','):
            for size in sizes:
                row = measure(ansible, site, role, size, args.forks, args.suite)
                if args.without_rollback:
                    row['norb'] = measure_without_rollback(ansible, site, role, size, args.forks,
                                                           args.suite)
                rows.append(row)
    finally:
        harness.remove_all()
        network.remove()
    print('\n## %s over SSH (Debian %s hosts, forks=%d, cold connections each run, key exchange %s, %s)\n'
          % (', '.join(args.roles.split(',')), {'bookworm': 12, 'trixie': 13}.get(args.suite, args.suite),
             args.forks, args.kex or "ssh's default", client.split(',')[0]))
    print('| role | hosts | floor: facts + ping | first apply (armed + confirmed) | vs floor '
          '| no-change re-run | vs floor | re-run without pipelining | vs with |')
    print('|---|---:|---:|---:|---:|---:|---:|---:|---:|')
    for row in rows:
        print('| {role} | {hosts} | {floor_wall:.1f} s wall, {floor_cpu:.1f} s CPU '
              '| {first_wall:.1f} s, {first_cpu:.1f} s CPU | {fw:.1f}x / {fc:.1f}x '
              '| {rerun_wall:.1f} s, {rerun_cpu:.1f} s CPU | {rw:.1f}x / {rc:.1f}x '
              '| {plain_wall:.1f} s, {plain_cpu:.1f} s CPU | {pw:.1f}x / {pc:.1f}x |'.format(
                  fw=row['first_wall'] / row['floor_wall'], fc=row['first_cpu'] / row['floor_cpu'],
                  rw=row['rerun_wall'] / row['floor_wall'], rc=row['rerun_cpu'] / row['floor_cpu'],
                  pw=row['plain_wall'] / row['rerun_wall'], pc=row['plain_cpu'] / row['rerun_cpu'],
                  **row))
    if args.without_rollback:
        print('\nFirst apply with jaas_firewall_rollback_timeout: 0, on a second fresh fleet next '
              'to its own floor:\n')
        print('| role | hosts | floor | first apply, no rollback | vs floor | with rollback (above) |')
        print('|---|---:|---:|---:|---:|---:|')
        for row in rows:
            floor_wall, floor_cpu, first_wall, first_cpu = row['norb']
            print('| %s | %d | %.1f s wall, %.1f s CPU | %.1f s, %.1f s CPU | %.1fx / %.1fx | %.1fx / %.1fx |'
                  % (row['role'], row['hosts'], floor_wall, floor_cpu, first_wall, first_cpu,
                     first_wall / floor_wall, first_cpu / floor_cpu,
                     row['first_wall'] / row['floor_wall'], row['first_cpu'] / row['floor_cpu']))
    print('\nController: %d CPUs; load average now %s. Wall and CPU ratios are role / floor.'
          % (os.cpu_count(), ' '.join('%.1f' % x for x in os.getloadavg())))


if __name__ == '__main__':
    main()
