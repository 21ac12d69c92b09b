# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    """The connection options every backend module takes
    (plugins/module_utils/connection.py, CONNECTION_ARGUMENT_SPEC); keep the two in step.
    Each module says in its own description where the kept port goes."""

    DOCUMENTATION = r"""
options:
  keep_connection:
    description:
      - Keep the port of the running Ansible SSH connection open inbound (TCP).
      - The port is read on the host from C(SSH_CONNECTION) of the session sshd started for
        this connection (found through the module's parent processes, so C(become) does not
        hide it), so it is right whatever set it on the controller - C(ansible_port), a
        C(Port) line in an ssh config file, C(-p) in the ssh arguments.
      - O(connection_port) is kept too when given; when the host shows no SSH session and no
        O(connection_port) is given, port 22 is kept.
      - Honoured only on connections that reach the host through an SSH session (C(ssh),
        C(paramiko_ssh), C(libssh)); on C(docker), C(local), C(winrm) and others the action
        plugin sets it to V(false) (there is no port of ours to keep), and O(rollback_timeout)
        to V(0).
    type: bool
    default: false
  connection_port:
    description:
      - The port the controller believes the connection uses. Kept in addition to the
        detected port with O(keep_connection).
      - Defaults to the port the connection plugin was configured with (C(ansible_port),
        C(remote_port)), when there is one.
    type: int
"""
