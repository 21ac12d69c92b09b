"""How the test code runs a command in a harness container: nsenter where it can, else
``docker exec``.

``docker exec`` costs the machine about 46 ms of CPU per call (dockerd, containerd, the
shim and runc), and the suites make thousands of them on two cores; ``nsenter`` into the
namespaces of the container's init costs about 6 ms. So, as root with nsenter at hand, a
command enters the init's namespaces with the container's own environment (what ``docker
exec`` gives: the image's variables, HOSTNAME, HOME, docker's default PATH). What differs:
it keeps the caller's capabilities and cgroup, which no test here looks at (the roles
themselves still run over Ansible's docker connection or SSH).

The init's PID is checked against its PID namespace on every call, so a restarted
container is looked up again. A stopped container, a machine without nsenter, a caller
that is not root, or JAAS_HARNESS_DOCKER_EXEC=1 gets ``docker exec``.
"""

import json
import os
import shutil
import subprocess
import threading

# what docker exec puts in PATH when the image sets none (ours set none)
DOCKER_DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'


def _nsenter():
    """nsenter's path when this process may and can enter namespaces (probed once, on its
    own namespaces); None otherwise."""
    path = shutil.which('nsenter')
    if not path or os.geteuid() != 0 or os.environ.get('JAAS_HARNESS_DOCKER_EXEC'):
        return None
    probe = subprocess.run([path, '-t', str(os.getpid()), '-a', '-r', '-w', 'true'],
                           capture_output=True)
    return path if probe.returncode == 0 else None


NSENTER = _nsenter()
_inits = {}  # container name -> (init PID, its PID namespace, argv prefix)
_lock = threading.Lock()


def _pid_namespace(pid):
    try:
        return os.readlink('/proc/%s/ns/pid' % pid)
    except OSError:
        return None


def entry(name):
    """The argv prefix that runs a command (argv to follow) in container ``name``, stdin
    passed through."""
    if NSENTER:
        with _lock:
            known = _inits.get(name)
        if known and _pid_namespace(known[0]) == known[1]:
            return known[2]
        found = subprocess.run(['docker', 'inspect', '-f', '{{.State.Pid}} {{.Config.Hostname}} '
                                '{{json .Config.Env}}', name], capture_output=True, text=True)
        pid, hostname, env = (found.stdout.split(' ', 2) + ['', '', ''])[:3]
        namespace = _pid_namespace(pid) if pid.isdigit() and int(pid) > 0 else None
        if found.returncode == 0 and namespace:
            argv = [NSENTER, '-t', pid, '-a', '-r', '-w', 'env', '-i', DOCKER_DEFAULT_PATH,
                    'HOME=/root', 'HOSTNAME=' + hostname.strip()] + (json.loads(env) or [])
            with _lock:
                _inits[name] = (int(pid), namespace, argv)
            return argv
    return ['docker', 'exec', '-i', name]
