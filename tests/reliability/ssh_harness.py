"""Test hosts that Ansible reaches over real SSH, the way users connect.

Plain helpers (no pytest), shared by tests/reliability/test_ssh.py and bench/ssh_scale_bench.py.

- ``SshNetwork``: one internal dual-stack Docker network (default 198.18.40.0/24 and
  2001:2:0:40::/64). The machine reaches its containers through the bridge address, so
  ssh runs from here with no port publishing; nothing on it can reach anything else.
- ``KeyPair``: an ed25519 key pair generated for the run in a temporary directory
  (never committed), installed as root's authorized key on every host.
- ``SshHost``: a harness container (systemd, same settings as the other suites) on that
  network with sshd started on the ports asked for (``ssh-keygen -A`` first: the images
  ship without host keys).
- ``ssh_config``: an ssh client config file for ``-F`` (``Port 2222`` only there when the
  port must come from the user's ssh configuration and not from ``ansible_port``).
- ``new_ssh``: a brand-new ssh connection from the controller (no ControlMaster), to
  prove that a port accepts new connections.

Container and network names start with ``jaas-ssh-<pid>-``.
"""

import os
import shlex
import socket
import subprocess
import tempfile
import time

from ansible_collections.jaas.firewall.plugins.plugin_utils import registry

from . import harness

NAME_PREFIX = 'jaas-ssh-%d-' % os.getpid()
DEFAULT_NET = 40
_INOTIFY = '/proc/sys/fs/inotify/max_user_instances'

# Incoming and outgoing denied, per backend: the role variables a user sets, from the backend
# registry (plugins/plugin_utils/registry.py, ``restrict``). firewalld's incoming side is the
# zone: the SSH hosts' public zone has no ssh service (removed before the run), so only the
# role's ingress policy can let SSH in.
RESTRICT = dict((entry.name, dict(entry.restrict)) for entry in registry.linux())


def raise_inotify_limit(wanted=8192):
    """Many systemd containers exhaust the default (128): systemd then exits in the newest."""
    try:
        with open(_INOTIFY) as handle:
            current = int(handle.read())
        if current < wanted:
            subprocess.run(['sysctl', '-q', '-w', 'fs.inotify.max_user_instances=%d' % wanted],
                           check=True, capture_output=True)
    except (OSError, ValueError, subprocess.CalledProcessError) as exc:
        raise RuntimeError('cannot raise fs.inotify.max_user_instances to %d: %s' % (wanted, exc))


class SshNetwork(object):
    """An internal Docker network 198.18.N.0/24 + 2001:2:0:N::/64 (gateway .1 = the machine)."""

    def __init__(self, index=DEFAULT_NET, name=None):
        self.index = index
        self.name = name or '%snet%d' % (NAME_PREFIX, index)
        self.ipv4_subnet = '198.18.%d.0/24' % index
        self.ipv6_subnet = '2001:2:0:%d::/64' % index

    def ipv4(self, number):
        return '198.18.%d.%d' % (self.index, number)

    def ipv6(self, number):
        return '2001:2:0:%d::%x' % (self.index, number)

    def create(self):
        self.remove()
        proc = subprocess.run(
            ['docker', 'network', 'create', '--internal', '--ipv6',
             '--subnet', self.ipv4_subnet, '--gateway', self.ipv4(1),
             '--subnet', self.ipv6_subnet, '--gateway', self.ipv6(1),
             '--label', 'jaas.firewall.suite=ssh', self.name],
            capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError('docker network create %s (%s) failed: %s'
                               % (self.name, self.ipv4_subnet, proc.stderr.strip()))
        return self

    def remove(self):
        subprocess.run(['docker', 'network', 'rm', self.name], capture_output=True)


class KeyPair(object):
    """A throwaway ed25519 key pair in its own temporary directory."""

    def __init__(self, directory=None):
        self.directory = directory or tempfile.mkdtemp(prefix='jaas-ssh-key-')
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        self.private = os.path.join(self.directory, 'id_ed25519')
        if not os.path.exists(self.private):
            subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'jaas-ssh-test',
                            '-f', self.private], check=True, capture_output=True)
        with open(self.private + '.pub') as handle:
            self.public = handle.read().strip()


def ssh_config(path, port=None):
    """Write an ssh client config for ``-F``: no known_hosts state, key auth only, and
    ``Port`` only when given (the case where the port comes from the user's ssh config)."""
    lines = ['Host *',
             '    UserKnownHostsFile /dev/null',
             '    StrictHostKeyChecking no',
             '    PasswordAuthentication no',
             '    KbdInteractiveAuthentication no',
             '    IdentitiesOnly yes',
             '    LogLevel ERROR']
    if port:
        lines.append('    Port %d' % port)
    with open(path, 'w') as handle:
        handle.write('\n'.join(lines) + '\n')
    return path


SSHD_SETUP = r'''
set -e
ssh-keygen -A >/dev/null
install -d -m 700 /root/.ssh
printf '%%s\n' %(key)s > /root/.ssh/authorized_keys
chmod 600 /root/.ssh/authorized_keys
mkdir -p /etc/ssh/sshd_config.d
cat > /etc/ssh/sshd_config.d/jaas-test.conf <<'EOF'
%(ports)s
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
MaxStartups 100:30:200
EOF
install -d -m 755 /run/sshd
sshd -t
%(start)s
'''
# A host without systemd (PID 1 is a shell): sshd daemonises itself.
NO_SYSTEMD_INIT = ['bash', '-c', 'trap "exit 0" TERM; while :; do sleep 3600 & wait $!; done']


class SshHost(harness.Host):
    """A harness container on an SshNetwork running sshd; Ansible reaches it over SSH."""

    network = None
    number = None
    ports = (22,)
    key = None
    config_file = None
    connect_port = None      # ansible_port, or None (then the ssh config file decides)

    @property
    def ipv4(self):
        return self.network.ipv4(self.number)

    @property
    def ipv6(self):
        return self.network.ipv6(self.number)

    @classmethod
    def start_ssh(cls, purpose, network, number, key, suite='bookworm', ports=(22,),
                  prefix=None, image=None, systemd=True):
        """Start the container on ``network`` at .number / ::number, sshd on ``ports``
        (``systemd=False``: no init system at all, as in many containers and chroots)."""
        name = (prefix or NAME_PREFIX) + purpose
        with harness._started_lock:
            harness._started.append(name)
        subprocess.run(['docker', 'rm', '-f', '-v', name], capture_output=True)
        args = [arg for arg in harness.RUN_ARGS if arg != 'none']
        args.remove('--network')
        args += ['--network', network.name, '--ip', network.ipv4(number),
                 '--ip6', network.ipv6(number), '--label', 'jaas.firewall.ssh=1']
        subprocess.run(['docker', 'run', '-d', '--name', name, '--hostname', purpose[:60]]
                       + args + [image or harness.IMAGES[suite]]
                       + (['/lib/systemd/systemd'] if systemd else NO_SYSTEMD_INIT),
                       check=True, capture_output=True, text=True)
        host = cls(name, suite)
        host.network, host.number, host.key, host.ports = network, number, key, tuple(ports)
        if systemd:
            host.wait_for_systemd()
        host.sh(SSHD_SETUP % {'key': shlex.quote(key.public),
                              'ports': '\n'.join('Port %d' % port for port in ports),
                              'start': 'systemctl start ssh.service' if systemd else '/usr/sbin/sshd'})
        host.wait_for_port(ports[0])
        return host

    def wait_for_port(self, port, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.tcp_open(port):
                return
            time.sleep(0.2)
        raise RuntimeError('%s: sshd not answering on %s:%d after %ds'
                           % (self.name, self.ipv4, port, timeout))

    def tcp_open(self, port, timeout=3.0, family=4):
        """True when a new TCP connection to the port completes from the controller."""
        address = self.ipv4 if family == 4 else self.ipv6
        try:
            with socket.create_connection((address, port), timeout=timeout):
                return True
        except OSError:
            return False

    def inventory_vars(self):
        extra = {}
        if self.connect_port is not None:
            extra['ansible_port'] = self.connect_port
        return dict(ansible_connection='ssh', ansible_host=self.ipv4, ansible_user='root',
                    ansible_ssh_private_key_file=self.key.private,
                    ansible_ssh_common_args='-F %s' % self.config_file,
                    ansible_python_interpreter='/usr/bin/python3', **extra)

    def new_ssh(self, command, port, family=4, timeout=10):
        """Run ``command`` over a brand-new SSH connection (no multiplexing), as root."""
        address = self.ipv4 if family == 4 else self.ipv6
        argv = ['ssh', '-F', '/dev/null', '-i', self.key.private, '-p', str(port),
                '-o', 'BatchMode=yes', '-o', 'ControlMaster=no', '-o', 'ControlPath=none',
                '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
                '-o', 'IdentitiesOnly=yes', '-o', 'LogLevel=ERROR',
                '-o', 'ConnectTimeout=%d' % timeout, 'root@' + address, command]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 20)


def ssh_env(ansible, control_path_dir=None):
    """Ansible's environment for SSH runs: pipelining on, ControlPersist as by default."""
    env = ansible.env()
    env['ANSIBLE_PIPELINING'] = '1'
    if control_path_dir:
        env['ANSIBLE_SSH_CONTROL_PATH_DIR'] = control_path_dir
    return env
