# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One host-wide lock for every jaas.firewall module run (documented by the doc fragment
``jaas.firewall.host_lock``).

Two runs at once would each read the same state, diff against it and write: the last
writer wins. Holding an exclusive flock from the first read to the last write makes a
second run wait and then diff against the first run's result. The kernel releases the
lock when the module process ends, however it ends, so a killed run never leaves it held.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import os
import signal
import time

LOCK_PATH = '/run/jaas-firewall.lock'
FALLBACK_DIR = '/var/lock'
DEFAULT_TIMEOUT = 120

LOCK_ARGUMENT_SPEC = dict(lock_timeout=dict(type='int', default=DEFAULT_TIMEOUT))

# Held open for the life of the module process (closing it would release the lock).
_held = []


class LockTimeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise LockTimeout()


def lock_path():
    return LOCK_PATH if os.path.isdir(os.path.dirname(LOCK_PATH)) else \
        os.path.join(FALLBACK_DIR, os.path.basename(LOCK_PATH))


def acquire(module, timeout):
    """Block until the host lock is ours (at most ``timeout`` seconds); returns the wait.

    A blocking flock (not a polling loop) so waiters queue in the kernel and show up in
    /proc/locks; SIGALRM interrupts it at the deadline.
    """
    if timeout < 0:
        module.fail_json(msg='lock_timeout must be 0 or more seconds, got %d; nothing changed'
                             % timeout)
    path = lock_path()
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, 'O_NOFOLLOW', 0), 0o600)
    except OSError as exc:
        module.fail_json(msg='cannot open the jaas.firewall lock %s: %s; nothing changed'
                             % (path, exc))
    started = time.monotonic()
    try:
        if timeout == 0:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            previous = signal.signal(signal.SIGALRM, _on_alarm)
            signal.setitimer(signal.ITIMER_REAL, timeout)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
    except (LockTimeout, IOError, OSError) as exc:
        os.close(fd)
        if isinstance(exc, LockTimeout) or getattr(exc, 'errno', None) in (errno.EAGAIN, errno.EACCES):
            module.fail_json(msg='another jaas.firewall run still holds %s after %d s '
                                 '(lock_timeout); nothing was read or changed. Run again when '
                                 'it has finished, or raise lock_timeout.' % (path, timeout))
        module.fail_json(msg='cannot lock %s: %s; nothing changed' % (path, exc))
    _held.append(fd)
    return round(time.monotonic() - started, 2)
