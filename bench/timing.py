"""The two pieces every bench/*.py script shares: a timed ansible-playbook run and
starting harness containers in parallel. Measures; never asserts a timing.

A timed run is Popen + os.wait4 on that one process, so its rusage covers ansible-playbook
and the forks it reaped: controller CPU is ru_utime + ru_stime, peak RSS is ru_maxrss (the
largest single process, not a sum). Wall time is the monotonic clock from just before
Popen to the end of wait4. Output goes to temporary files, never to a pipe that could fill.
"""
import collections
import concurrent.futures
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.join(ROOT, 'tests') not in sys.path:
    sys.path.insert(0, os.path.join(ROOT, 'tests'))
from reliability import harness  # noqa: E402  (the suite's container settings)

# Ansible's floor (what any play costs) and the same play with a role (% role name).
FLOOR_PLAY = '- hosts: all\n  gather_facts: true\n  tasks:\n    - ansible.builtin.ping:\n'
ROLE_PLAY = '- hosts: all\n  gather_facts: true\n  roles:\n    - role: jaas.firewall.%s\n'

# errors is None unless the run was asked to keep stderr apart from output.
TimedRun = collections.namedtuple('TimedRun', 'wall cpu maxrss_mib rc output errors')


def timed_run(argv, env, split_stderr=False):
    """Run argv in the repository root to its end; a TimedRun (rc != 0 is returned, not raised)."""
    with tempfile.TemporaryFile('w+') as out, tempfile.TemporaryFile('w+') as err:
        start = time.monotonic()
        proc = subprocess.Popen(argv, stdout=out, stderr=err if split_stderr else subprocess.STDOUT,
                                env=env, cwd=ROOT)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return TimedRun(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0,
                        proc.returncode, out.read(), err.read() if split_stderr else None)


def timed_play(ansible, hosts, play, extra_vars=None, forks=20, env=None):
    """timed_run of a harness.Ansible play on hosts (environment: ansible.env() unless given)."""
    return timed_run(ansible.command(hosts, play, extra_vars, forks),
                     ansible.env() if env is None else env)


def exit_on_failure(run, message, tail=4000):
    """Exit with '<message>:' and the end of the run's output (and errors) if it failed."""
    if run.rc != 0:
        text = run.output[-tail:]
        if run.errors is not None:
            text += '\n' + run.errors[-tail:]
        sys.exit('%s:\n%s' % (message, text))
    return run


def in_parallel(function, items, workers=10):
    """[function(item) for item in items], at most ``workers`` at a time (container start-up)."""
    items = list(items)
    workers = max(1, min(len(items), workers))
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(function, items))


def start_hosts(count, suite, tag, prefix):
    """``count`` fresh harness.Host containers named <prefix><tag>-00, -01, ..., 10 at a time."""
    return in_parallel(lambda number: harness.Host.start('%s-%02d' % (tag, number), suite,
                                                         prefix=prefix), range(count))
