"""Where a backend module's time goes on the host, for a converged run or a first apply.

Starts fresh harness containers, applies the role (docker connection), and keeps the
AnsiballZ payload Ansible sent for the run to look at (ANSIBLE_KEEP_REMOTE_FILES, pipelining
off for that run only). That payload is then exploded inside a host and run by hand:

- whole, ``--repeat`` times: wall and CPU of the module's python3 process;
- with every ``AnsibleModule.run_command`` timed: which commands the module waits on;
- under cProfile: the ``--top`` functions by cumulative time.

Converged (default): the payload of a second, no-change run, replayed on the same host.
``--first``: the payload of a first apply on one fresh host, replayed once on each of three
other fresh hosts (whole, timed commands, cProfile), so every figure is a first apply's.
Docker connection, so no rollback is armed. The exploded sources are byte-compiled before
anything is timed. Measures; asserts nothing.

Usage: make bench-host-profile BENCH_ROLE=ufw [BENCH_ARGS=--first]
       (or .venv/bin/python bench/host_profile.py ufw [--first] [--suite trixie])
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'bench'))
sys.path.insert(0, os.path.join(ROOT, '.collections'))

import timing  # noqa: E402
from reliability import harness  # noqa: E402
from ansible_collections.jaas.firewall.plugins.plugin_utils import registry  # noqa: E402

# Put in the exploded payload's directory: Python imports it at start-up and it times every
# AnsibleModule.run_command of the module, on stderr.
RUN_COMMAND_TIMER = '''\
import sys
import time

from ansible.module_utils import basic

_run_command = basic.AnsibleModule.run_command


def _timed(self, args, *more, **options):
    start = time.monotonic()
    result = _run_command(self, args, *more, **options)
    sys.stderr.write('RUN_COMMAND %.3f s rc=%s %s\\n' % (time.monotonic() - start, result[0], args))
    return result


basic.AnsibleModule.run_command = _timed
'''

# Runs inside the host, in the exploded payload's directory ($1: the module file, $2: repeats).
REPLAY = r'''
set -e
module=$1; repeat=$2
for i in $(seq "$repeat"); do
  python3 -c 'import resource, subprocess, sys, time
start = time.monotonic()
subprocess.run(["python3", sys.argv[1], "args"], stdout=subprocess.DEVNULL, env={"PYTHONPATH": "."})
wall = time.monotonic() - start
used = resource.getrusage(resource.RUSAGE_CHILDREN)
print("WHOLE %.3f s wall, %.3f s CPU" % (wall, used.ru_utime + used.ru_stime))' "$module"
done
'''


def keep_payload(ansible, hosts, role, extra):
    """Run the role on hosts keeping its payload; the payload's path on the first host."""
    env = dict(ansible.env(), ANSIBLE_KEEP_REMOTE_FILES='1', ANSIBLE_PIPELINING='0')
    play = timing.ROLE_PLAY.replace('true', 'false') % role
    timing.exit_on_failure(timing.timed_play(ansible, hosts, play, extra, len(hosts), env=env),
                           'the role run that keeps its payload')
    found = hosts[0].sh('ls -t /root/.ansible/tmp/*/AnsiballZ_%s_rules.py | head -n 1' % role)
    return found.stdout.strip()


DEBUG_DIR = '/tmp/jaas-profile/debug_dir'


def explode(target, payload, timer=None):
    """Copy the local payload file into target, explode and byte-compile it there; with
    ``timer`` (a local sitecustomize.py) every run_command of the module is timed."""
    target.sh('rm -rf /tmp/jaas-profile && mkdir /tmp/jaas-profile')
    subprocess.run(['docker', 'cp', payload, '%s:/tmp/jaas-profile/payload.py' % target.name],
                   check=True)
    target.sh('cd /tmp/jaas-profile && python3 payload.py explode >/dev/null '
              '&& python3 -m compileall -q debug_dir >/dev/null')
    # the module's remote temporary directory, named in its arguments, exists on the source
    # host only: a first apply's replay on a fresh host needs it too
    target.sh('mkdir -p "$(python3 -c \'import json; print(json.load(open("%s/args"))'
              '["ANSIBLE_MODULE_ARGS"].get("_ansible_tmpdir") or "/tmp")\')"' % DEBUG_DIR)
    if timer:
        subprocess.run(['docker', 'cp', timer, '%s:%s/sitecustomize.py' % (target.name, DEBUG_DIR)],
                       check=True)


def replay(source, targets, path, role, repeat, top):
    """Run the payload at path on source inside targets (whole, timed commands, cProfile)."""
    module = 'ansible_collections/jaas/firewall/plugins/modules/%s_rules.py' % role
    whole_host, timed_host, profile_host = targets
    workdir = tempfile.mkdtemp(prefix='jaas-host-profile-')
    try:
        payload = os.path.join(workdir, 'payload.py')
        subprocess.run(['docker', 'cp', '%s:%s' % (source.name, path), payload], check=True)
        timer = os.path.join(workdir, 'sitecustomize.py')
        with open(timer, 'w') as handle:
            handle.write(RUN_COMMAND_TIMER)
        explode(whole_host, payload)
        whole = whole_host.sh('cd %s && sh -s %s %d' % (DEBUG_DIR, module, repeat), stdin=REPLAY)
        print(whole.stdout.strip())
        explode(timed_host, payload, timer)
        timed = timed_host.sh('cd %s && PYTHONPATH=. python3 %s args 2>&1 >/dev/null'
                              % (DEBUG_DIR, module))
        print('\n'.join(line for line in timed.stdout.splitlines()
                        if line.startswith('RUN_COMMAND')))
        explode(profile_host, payload)
        profile = profile_host.sh('cd %s && PYTHONPATH=. python3 -m cProfile -s cumtime %s args '
                                  '2>&1' % (DEBUG_DIR, module))
    finally:
        shutil.rmtree(workdir)
    lines = profile.stdout.splitlines()
    start = next((n for n, line in enumerate(lines) if 'function calls' in line), 0)
    print('\n'.join(lines[start:start + top + 5]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('role', choices=[entry.name for entry in registry.linux()])
    parser.add_argument('--first', action='store_true', help="profile a first apply's payload")
    parser.add_argument('--suite', default='bookworm', choices=sorted(harness.IMAGES))
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--top', type=int, default=30)
    args = parser.parse_args()
    extra = dict(registry.get(args.role).enable)
    ansible = harness.Ansible(tempfile.mkdtemp(prefix='jaas-host-profile-'))
    os.makedirs(os.path.join(ansible.workdir, 'tmp'), exist_ok=True)
    hosts = timing.start_hosts(4 if args.first else 1, args.suite, 'profile',
                               'jaas-host-profile-%d-' % os.getpid())
    try:
        if args.first:
            path = keep_payload(ansible, hosts[:1], args.role, extra)
            source, targets, repeat = hosts[0], hosts[1:], 1
        else:
            play = timing.ROLE_PLAY.replace('true', 'false') % args.role
            timing.exit_on_failure(timing.timed_play(ansible, hosts, play, extra, 1), 'first apply')
            path = keep_payload(ansible, hosts, args.role, extra)
            source, targets, repeat = hosts[0], hosts * 3, args.repeat
        print('## %s_rules on Debian (%s), %s run, replayed in the host\n'
              % (args.role, args.suite, 'first-apply' if args.first else 'converged'))
        replay(source, targets, path, args.role, repeat, args.top)
    finally:
        harness.remove_all()
        shutil.rmtree(ansible.workdir, ignore_errors=True)


if __name__ == '__main__':
    main()
