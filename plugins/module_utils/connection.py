# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which TCP port does the running Ansible connection use? Asked on the managed host.

The controller only knows ``ansible_port`` when the inventory sets it; a ``Port`` line in
an ssh config file, ``-p`` in ``ansible_ssh_args`` or a jump host's forwarding are
invisible to it. The host knows for sure: sshd puts ``SSH_CONNECTION`` ("client-address
client-port server-address server-port") into the environment of the session it starts.
``become`` (sudo, su) usually scrubs it from our own environment, so the process's
ancestors are asked too: the session shell that sshd started still carries it, and root
may read its ``/proc/<pid>/environ``. Python stdlib only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

PROC = '/proc'
_MAX_DEPTH = 64


def _parent(pid, proc):
    try:
        with open(os.path.join(proc, str(pid), 'status')) as handle:
            for line in handle:
                if line.startswith('PPid:'):
                    return int(line.split()[1])
    except (IOError, OSError, ValueError, IndexError):
        pass
    return 0


def _ssh_connection(pid, proc):
    try:
        with open(os.path.join(proc, str(pid), 'environ'), 'rb') as handle:
            data = handle.read()
    except (IOError, OSError):
        return None
    for item in data.split(b'\0'):
        if item.startswith(b'SSH_CONNECTION='):
            return item.split(b'=', 1)[1].decode('ascii', 'replace')
    return None


def server_port(value):
    """The server port of an ``SSH_CONNECTION`` value, or None when it is not one."""
    fields = (value or '').split()
    if len(fields) != 4 or not fields[3].isdigit():
        return None
    port = int(fields[3])
    return port if 1 <= port <= 65535 else None


def ssh_connection_ports(pid=None, proc=PROC, environ=None):
    """Sorted server ports of the SSH sessions this process runs under ([] if none).

    Looks at ``environ`` (default: our own environment) and then at every ancestor up to
    PID 1. Normally one port; several only with nested sessions (ssh into a host, then
    Ansible from there), and keeping all of them open is the safe answer.
    """
    ports = set()
    port = server_port((os.environ if environ is None else environ).get('SSH_CONNECTION'))
    if port:
        ports.add(port)
    pid = os.getpid() if pid is None else pid
    for _depth in range(_MAX_DEPTH):
        if pid <= 1:
            break
        port = server_port(_ssh_connection(pid, proc))
        if port:
            ports.add(port)
        pid = _parent(pid, proc)
    return sorted(ports)


def ssh_session(pid=None, proc=PROC, environ=None):
    """The ``SSH_CONNECTION`` value of the nearest SSH session this process runs under,
    or None. Two runs over the same (multiplexed) connection see the same value; a new
    TCP connection has a new client port, so the value tells the two apart."""
    value = (os.environ if environ is None else environ).get('SSH_CONNECTION')
    if server_port(value):
        return value
    pid = os.getpid() if pid is None else pid
    for _depth in range(_MAX_DEPTH):
        if pid <= 1:
            break
        value = _ssh_connection(pid, proc)
        if server_port(value):
            return value
        pid = _parent(pid, proc)
    return None


# Options every backend module takes for the connection (documented in each module).
CONNECTION_ARGUMENT_SPEC = dict(
    keep_connection=dict(type='bool', default=False),
    connection_port=dict(type='int'),
)


def kept_connection_ports(keep_connection, connection_port=None, detect=ssh_connection_ports):
    """TCP ports to keep open inbound for the running connection ([] unless asked).

    The detected SSH port(s), plus ``connection_port`` (what the controller believes) when
    given; 22 when neither says anything. Raises ValueError for a port outside 1-65535.
    """
    if connection_port is not None and not 1 <= connection_port <= 65535:
        raise ValueError('connection_port %d is out of range 1-65535' % connection_port)
    if not keep_connection:
        return []
    ports = set(detect())
    if connection_port:
        ports.add(connection_port)
    return sorted(ports) or [22]
