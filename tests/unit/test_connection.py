"""module_utils/connection.py: the SSH connection's port, read on the host.

The real test starts a process tree with SSH_CONNECTION set only on the ancestor (as sudo
leaves it: the module's own environment is scrubbed) and asks from the grandchild.
"""

import os
import subprocess
import sys

import pytest

from ansible_collections.jaas.firewall.plugins.module_utils import connection

HELPER = (
    'import sys; sys.path[:0] = %r\n'
    'from ansible_collections.jaas.firewall.plugins.module_utils.connection import ssh_connection_ports\n'
    'print(ssh_connection_ports())\n' % (sys.path,))


def _grandchild_ports(ancestor_env_value):
    """sh (with SSH_CONNECTION) -> env -u SSH_CONNECTION python (asks)."""
    env = dict(os.environ)
    env.pop('SSH_CONNECTION', None)
    if ancestor_env_value is not None:
        env['SSH_CONNECTION'] = ancestor_env_value
    # `sh -c '...; true'` stays alive as the parent (no exec optimisation of the last command)
    out = subprocess.run(['sh', '-c', 'env -u SSH_CONNECTION "$0" -c "$1"; true',
                          sys.executable, HELPER],
                         env=env, capture_output=True, text=True, check=True).stdout
    return out.strip()


def test_port_found_in_an_ancestor_when_our_environment_is_scrubbed():
    assert _grandchild_ports('198.18.0.1 50514 198.18.0.11 2222') == '[2222]'


def test_no_ssh_session_no_port():
    assert _grandchild_ports(None) == '[]'


@pytest.mark.parametrize('value', ['', 'garbage', '198.18.0.1 50514 198.18.0.11',
                                   '198.18.0.1 50514 198.18.0.11 0',
                                   '198.18.0.1 50514 198.18.0.11 65536',
                                   '198.18.0.1 50514 198.18.0.11 22x'])
def test_malformed_values_are_ignored(value):
    assert connection.server_port(value) is None
    assert _grandchild_ports(value) == '[]'


def test_own_environment_counts():
    assert connection.ssh_connection_ports(
        pid=1, environ={'SSH_CONNECTION': '2001:2::1 40000 2001:2::11 22'}) == [22]


def test_fake_proc_tree_nested_sessions(tmp_path):
    # 300 -> 200 (ssh session on 2222) -> 100 (nested ssh session on 22) -> 1
    tree = {300: (200, None), 200: (100, '198.18.0.1 1 198.18.0.11 2222'),
            100: (1, '198.18.0.1 1 198.18.0.11 22')}
    for pid, (ppid, value) in tree.items():
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / 'status').write_text('Name:\tx\nPPid:\t%d\n' % ppid)
        env = b'PATH=/bin\0' + (('SSH_CONNECTION=%s\0' % value).encode() if value else b'')
        (tmp_path / str(pid) / 'environ').write_bytes(env)
    assert connection.ssh_connection_ports(pid=300, proc=str(tmp_path), environ={}) == [22, 2222]


@pytest.mark.parametrize('keep, port, detected, expected', [
    (False, 2222, [22], []),          # not asked: nothing
    (True, None, [2222], [2222]),     # ssh config port, no ansible_port: the detected one
    (True, 22, [2222], [22, 2222]),   # controller and host disagree: keep both
    (True, None, [], [22]),           # nothing known: ssh's default
    (True, 2200, [], [2200]),
])
def test_kept_connection_ports(keep, port, detected, expected):
    assert connection.kept_connection_ports(keep, port, detect=lambda: detected) == expected


def test_connection_port_out_of_range_is_refused():
    with pytest.raises(ValueError, match='out of range'):
        connection.kept_connection_ports(True, 70000, detect=lambda: [])
