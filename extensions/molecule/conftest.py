"""Shared by every scenario's testinfra checks (pytest loads it from here for the tests/
directories below).

testinfra's docker backend runs each check as ``docker exec <container> /bin/sh -c ...``;
the domains scenario alone makes about 660 of them, at about 46 ms of the machine's CPU
each. Here they run through tests/reliability/container_exec.py instead: nsenter into the
container's namespaces with its own environment (about 6 ms), falling back to docker exec
(a stopped container, no nsenter, not root, JAAS_HARNESS_DOCKER_EXEC=1). Checks that name a
user (``docker://user@container``) keep docker exec. Ansible's own docker connection, which
runs the roles, is untouched.
"""

import os
import sys

import testinfra.backend.docker

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), 'tests'))

from reliability import container_exec  # noqa: E402


def _run(self, command, *args, **kwargs):
    if self.user is not None:
        return _docker_exec_run(self, command, *args, **kwargs)
    cmd = self.get_command(command, *args)
    argv = container_exec.entry(self.name) + ['/bin/sh', '-c', cmd]
    out = self.run_local(' '.join(['%s'] * len(argv)), *argv)
    out.command = self.encode(cmd)
    return out


_docker_exec_run = testinfra.backend.docker.DockerBackend.run
testinfra.backend.docker.DockerBackend.run = _run
