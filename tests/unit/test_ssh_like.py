"""Which connection plugins get keep_connection / rollback_timeout (backend action plugin).

Expectations are a hand-written table of connection plugin names as users write them
(ansible_connection) and as the plugins report themselves (``transport``)."""

import pytest

from ansible_collections.jaas.firewall.plugins.plugin_utils.backend_action import ssh_like

SSH = ['ssh', 'ansible.builtin.ssh', 'ansible.legacy.ssh', 'paramiko', 'paramiko_ssh',
       'ansible.builtin.paramiko_ssh', 'ansible.netcommon.libssh', 'libssh', 'smart']
NOT_SSH = ['docker', 'community.docker.docker', 'community.docker.docker_api', 'local',
           'ansible.builtin.local', 'winrm', 'ansible.builtin.winrm', 'psrp', 'podman',
           'containers.podman.podman', 'community.general.lxd', 'kubernetes.core.kubectl',
           'sshx', 'community.ssh', '', None]


@pytest.mark.parametrize('transport', SSH)
def test_ssh_sessions_keep_their_port(transport):
    assert ssh_like(transport) is True


@pytest.mark.parametrize('transport', NOT_SSH)
def test_other_connections_have_no_port_of_ours(transport):
    assert ssh_like(transport) is False
