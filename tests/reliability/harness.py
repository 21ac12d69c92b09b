"""Containers, ansible-playbook runs and host snapshots for the reliability suite.

Plain helpers (no pytest): bench/scale_bench.py uses the same code.
"""

import collections
import concurrent.futures
import ipaddress
import json
import os
import re
import shlex
import subprocess
import sys
import threading
import time

import yaml

from . import container_exec

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CATALOG = os.path.join(ROOT, 'vars', 'jaas_catalog.yml')
IMAGES = {'bookworm': 'jaas-firewall-test:bookworm', 'trixie': 'jaas-firewall-test:trixie',
          # Debian's minimal installs: no python3-apt (run --network none like every host here)
          'bookworm-noapt': 'jaas-firewall-test:bookworm-noapt',
          'trixie-noapt': 'jaas-firewall-test:trixie-noapt'}
# The harness settings (extensions/molecule/config.yml), minus the network: --network none.
RUN_ARGS = ['--cap-add', 'NET_ADMIN', '--cap-add', 'NET_RAW', '--cap-add', 'SYS_ADMIN',
            '--security-opt', 'apparmor=unconfined', '--security-opt', 'seccomp=unconfined',
            '--cgroupns', 'host', '-v', '/sys/fs/cgroup:/sys/fs/cgroup:rw',
            '--tmpfs', '/run', '--tmpfs', '/run/lock', '--network', 'none',
            '--stop-signal', 'SIGRTMIN+3', '-e', 'container=docker',
            '--label', 'jaas.firewall.suite=reliability']
NAME_PREFIX = 'jaas-rel-%d-' % os.getpid()

_started = []
_started_lock = threading.Lock()


def remove(hosts):
    """Remove these containers (Host objects or names) and only these: a module's fixture
    must not take away the session's hosts that later test files still use."""
    names = [getattr(host, 'name', host) for host in hosts]
    with _started_lock:
        for name in names:
            if name in _started:
                _started.remove(name)
    for name in names:
        subprocess.run(['docker', 'rm', '-f', '-v', name], capture_output=True)


def remove_all():
    """Remove every container this process started (by name, one by one)."""
    with _started_lock:
        names = list(_started)
        del _started[:]
    for name in names:
        subprocess.run(['docker', 'rm', '-f', '-v', name], capture_output=True)


class Host(object):
    def __init__(self, name, suite):
        self.name = name
        self.suite = suite

    def __repr__(self):
        return 'Host(%s)' % self.name

    @classmethod
    def start(cls, purpose, suite='bookworm', prefix=None):
        name = (prefix or NAME_PREFIX) + purpose
        with _started_lock:
            _started.append(name)
        return start_container(name, IMAGES[suite], hostname=purpose[:60], host_class=cls,
                               suite=suite)

    @classmethod
    def start_many(cls, wanted, prefix=None):
        """{key: Host} for {key: (purpose, suite)}, started at once (each start mostly waits
        for systemd); when one fails, the others are removed and the error raised."""
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(wanted) or 1) as pool:
            futures = dict((key, pool.submit(cls.start, purpose, suite, prefix))
                           for key, (purpose, suite) in wanted.items())
        started, error = {}, None
        for key, future in futures.items():
            try:
                started[key] = future.result()
            except Exception as exc:  # noqa: BLE001 - re-raised below after the clean-up
                error = error or exc
        if error is not None:
            remove([(prefix or NAME_PREFIX) + purpose for purpose, _suite in wanted.values()])
            raise error
        return started

    def wait_for_systemd(self, timeout=90):
        deadline = time.monotonic() + timeout
        state = ''
        while time.monotonic() < deadline:
            state = self.sh('systemctl is-system-running', check=False).stdout.strip()
            if state in ('running', 'degraded'):
                return state
            time.sleep(0.3)
        raise RuntimeError('%s: systemd did not reach running in %ds (last state %r)'
                           % (self.name, timeout, state))

    def sh(self, script, check=True, timeout=120, stdin=None):
        """Run a bash script in the container (the script is ours, never test data), through
        nsenter where it can (container_exec.py: 6 ms of CPU instead of docker exec's 46)."""
        proc = subprocess.run(container_exec.entry(self.name) + ['bash', '-c', script],
                              input=stdin if stdin is not None else '', capture_output=True,
                              text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise RuntimeError('%s: %r failed (rc %d):\n%s\n%s' % (
                self.name, script, proc.returncode, proc.stdout, proc.stderr))
        return proc

    def inventory_vars(self):
        """Inventory variables Ansible connects with (ssh_harness.SshHost: real SSH)."""
        return {'ansible_connection': 'community.docker.docker',
                'ansible_python_interpreter': '/usr/bin/python3'}

    def exists(self, path):
        return self.sh('test -e %s' % path, check=False).returncode == 0

    def put(self, path, text):
        self.sh('cat > %s' % shlex.quote(path), stdin=text)


def start_container(name, image, hostname=None, host_class=Host, suite=None):
    """(Re)create a harness container and wait for systemd. Also used by bench/*.py."""
    subprocess.run(['docker', 'rm', '-f', '-v', name], capture_output=True)
    subprocess.run(['docker', 'run', '-d', '--name', name, '--hostname', hostname or name[:60]]
                   + RUN_ARGS + [image, '/lib/systemd/systemd'],
                   check=True, capture_output=True, text=True)
    host = host_class(name, suite)
    host.wait_for_systemd()
    return host


# ---------------------------------------------------------------- ansible-playbook

PlayResult = collections.namedtuple('PlayResult', 'rc stdout stderr seconds maxrss_mib')


class Ansible(object):
    """Writes inventories, plays and extra vars into ``workdir`` and runs ansible-playbook."""

    def __init__(self, workdir):
        self.workdir = workdir
        self._count = 0
        self._lock = threading.Lock()
        self.binary = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
        if not os.path.exists(self.binary):
            self.binary = 'ansible-playbook'

    def _path(self, stem, suffix):
        with self._lock:
            self._count += 1
            return os.path.join(self.workdir, '%s-%03d%s' % (stem, self._count, suffix))

    def write(self, stem, data, suffix='.yml'):
        path = self._path(stem, suffix)
        with open(path, 'w') as handle:
            if isinstance(data, str):
                handle.write(data)
            else:
                yaml.safe_dump(data, handle, sort_keys=False, allow_unicode=True)
        return path

    def env(self):
        return dict(os.environ,
                    ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'),
                    ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.collections'),
                    ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0',
                    ANSIBLE_HOST_KEY_CHECKING='0', ANSIBLE_RETRY_FILES_ENABLED='0',
                    ANSIBLE_PIPELINING='1',
                    # ~/.ansible/tmp is shared by the parallel runs; keep ours apart
                    ANSIBLE_LOCAL_TEMP=os.path.join(self.workdir, 'tmp'))

    def command(self, hosts, play, extra_vars=None, forks=20, options=()):
        inventory = self.write('inventory', {'all': {'hosts': dict(
            (host.name, host.inventory_vars()) for host in hosts)}})
        playbook = self.write('play', play)
        argv = [self.binary, '-i', inventory, '--forks', str(forks)] + list(options)
        if extra_vars is not None:
            argv += ['-e', '@' + self.write('vars', json.dumps(extra_vars), '.json')]
        return argv + [playbook]

    def start(self, hosts, play, extra_vars=None, forks=20, options=()):
        """Popen (stdout+stderr to files) for runs that a test kills or overlaps."""
        out = open(self._path('stdout', '.log'), 'w+')
        proc = subprocess.Popen(self.command(hosts, play, extra_vars, forks, options),
                                stdout=out, stderr=subprocess.STDOUT, env=self.env(),
                                cwd=ROOT, start_new_session=True)
        proc.log = out
        proc.started = time.monotonic()
        return proc

    @staticmethod
    def finish(proc, timeout=300):
        try:
            proc.wait(timeout=timeout)
        finally:
            seconds = time.monotonic() - proc.started
            proc.log.seek(0)
            text = proc.log.read()
            proc.log.close()
        return PlayResult(proc.returncode, text, '', seconds, None)

    def run(self, hosts, play, extra_vars=None, forks=20, options=(), timeout=300):
        """Run to the end; returns rc, output, seconds and the controller's peak RSS."""
        return self.run_argv(self.command(hosts, play, extra_vars, forks, options), timeout)

    def run_inventory(self, host_vars, play, timeout=300):
        """Run ``play`` on an inventory given as {inventory name: variables}, every name at
        once (several names may be one container, through ``ansible_host``)."""
        argv = [self.binary, '-i', self.write('inventory', {'all': {'hosts': host_vars}}),
                '--forks', str(len(host_vars)), self.write('play', play)]
        return self.run_argv(argv, timeout)

    def run_argv(self, argv, timeout=300):
        """Run an ansible-playbook command line (inventory and play written by the caller)."""
        start = time.monotonic()
        out = open(self._path('stdout', '.log'), 'w+')
        err = open(self._path('stderr', '.log'), 'w+')
        with out, err:
            proc = subprocess.Popen(argv, stdout=out, stderr=err, env=self.env(), cwd=ROOT)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise
            # RUSAGE_CHILDREN only covers reaped children: fine for the peak (ru_maxrss).
            out.seek(0)
            err.seek(0)
            return PlayResult(proc.returncode, out.read(), err.read(), time.monotonic() - start,
                              None)


def role_play(role, become=False):
    return ('- hosts: all\n  gather_facts: false\n  roles:\n    - role: jaas.firewall.%s\n'
            % role)


# ---------------------------------------------------------------- snapshots

_STRIP_IPT = r"sed -e '/^#/d' -e 's/\[[0-9]*:[0-9]*\]/[0:0]/'"
_STRIP_NFT = r"sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/'"


def _sections(text):
    """Split '=== name' separated output into {name: text}."""
    result, name, lines = {}, None, []
    for line in text.splitlines():
        if line.startswith('=== '):
            if name is not None:
                result[name] = '\n'.join(lines)
            name, lines = line[4:].strip(), []
        else:
            lines.append(line)
    if name is not None:
        result[name] = '\n'.join(lines)
    return result


def ufw_snapshot(host):
    """Everything a ufw run could change, normalised only where time changes it."""
    script = '''
echo '=== iptables-save'; iptables-save | %(ipt)s
echo '=== ip6tables-save'; ip6tables-save | %(ipt)s
echo '=== nft ruleset'; nft list ruleset | %(nft)s
echo '=== ufw show added'; ufw show added 2>&1 || true
echo '=== files'; sha256sum /etc/ufw/user.rules /etc/ufw/user6.rules /etc/ufw/ufw.conf \
    /etc/default/ufw /etc/ufw/before.rules /etc/ufw/after.rules 2>&1 || true
echo '=== ufw status'; ufw status verbose 2>&1 || true
''' % {'ipt': _STRIP_IPT, 'nft': _STRIP_NFT}
    return _sections(host.sh(script).stdout)


# firewalld's runtime and permanent objects, read in one process through firewalld's own
# client library (python3-firewall, not this collection's code): six firewall-cmd calls cost
# the host about 1.2 s of CPU (each makes a client that introspects firewalld's D-Bus
# interfaces), this about 0.3 s. Names sorted, settings as sorted JSON, one line each.
FIREWALLD_STATE = r'''python3 - <<'PY'
import json
import firewall.client


def show(value):
    return json.dumps(value, sort_keys=True, default=str)


try:
    client = firewall.client.FirewallClient()
    running = client.connected
except Exception:
    running = False
if not running:
    for section in ('runtime policies', 'permanent policies', 'runtime ipsets',
                    'permanent ipsets', 'runtime zones', 'permanent zones'):
        print('=== ' + section)
        print('FirewallD is not running')
    print('=== state')
    print('not running')
else:
    config = client.config()
    print('=== runtime policies')
    for name in sorted(client.getPolicies()):
        print(name, show(client.getPolicySettings(name).getSettingsDict()))
    print('=== permanent policies')
    for name in sorted(config.getPolicyNames()):
        print(name, show(config.getPolicyByName(name).getSettings().getSettingsDict()))
    print('=== runtime ipsets')
    for name in sorted(client.getIPSets()):
        print(name, show(client.getIPSetSettings(name).settings))
    print('=== permanent ipsets')
    for name in sorted(config.getIPSetNames()):
        print(name, show(config.getIPSetByName(name).getSettings().settings))
    print('=== runtime zones')
    print('default', client.getDefaultZone(), 'active', show(client.getActiveZones()))
    for name in sorted(client.getZones()):
        print(name, show(client.getZoneSettings(name).getSettingsDict()))
    print('=== permanent zones')
    for name in sorted(config.getZoneNames()):
        print(name, show(config.getZoneByName(name).getSettings().getSettingsDict()))
    print('=== state')
    print('running')
PY
'''


def firewalld_snapshot(host):
    """firewalld's policies, ipsets (with their entries) and zones, runtime and permanent,
    its state, the checksums of /etc/firewalld and the nft ruleset."""
    script = FIREWALLD_STATE + '''
echo '=== etc firewalld'; find /etc/firewalld -type f -print0 | sort -z | xargs -0 sha256sum
echo '=== nft ruleset'; nft list ruleset | %(nft)s
''' % {'nft': _STRIP_NFT}
    return _sections(host.sh(script, timeout=180).stdout)


def diff_snapshots(before, after):
    """Readable description of what changed, '' when identical."""
    import difflib
    out = []
    for key in sorted(set(before) | set(after)):
        if before.get(key) != after.get(key):
            out.append('--- %s changed:' % key)
            out.extend(list(difflib.unified_diff((before.get(key) or '').splitlines(),
                                                 (after.get(key) or '').splitlines(),
                                                 lineterm='', n=1))[2:40])
    return '\n'.join(out)


# ---------------------------------------------------------------- foreign state

UFW_FOREIGN_SETUP = r'''
set -e
ufw allow 22/tcp
ufw allow out to 198.18.5.0/24 port 8443 proto tcp comment 'admin tunnel'
ufw allow out to 2001:2:0:5::/64 port 8443 proto tcp comment 'admin tunnel v6'
ufw deny out to 198.18.6.0/24
ufw --force enable
iptables -t mangle -A OUTPUT -d 198.18.7.0/24 -j MARK --set-mark 7
ip6tables -t mangle -A OUTPUT -d 2001:2:0:7::/64 -j MARK --set-mark 7
nft add table inet foreign
nft add chain inet foreign out '{ type filter hook output priority 10; }'
nft add rule inet foreign out ip daddr 198.18.8.0/24 counter accept
'''


def ufw_foreign(host):
    """Foreign (not jaas-owned) rules: user ufw rules, raw mangle rules, a nft table."""
    script = '''
echo '=== ufw foreign'; ufw show added | grep -v "comment 'jaas" || true
echo '=== mangle4'; iptables-save -t mangle | %(ipt)s
echo '=== mangle6'; ip6tables-save -t mangle | %(ipt)s
echo '=== nft foreign'; nft list table inet foreign | %(nft)s
''' % {'ipt': _STRIP_IPT, 'nft': _STRIP_NFT}
    return _sections(host.sh(script).stdout)


FIREWALLD_FOREIGN_SETUP = r'''
set -e
systemctl start firewalld
firewall-cmd --permanent --zone=public --add-service=http
firewall-cmd --permanent --new-ipset=other-set --type=hash:net
firewall-cmd --permanent --ipset=other-set --add-entry=198.18.9.0/24
firewall-cmd --permanent --new-policy=other-policy
firewall-cmd --permanent --policy=other-policy --add-ingress-zone=HOST
firewall-cmd --permanent --policy=other-policy --add-egress-zone=ANY
firewall-cmd --permanent --policy=other-policy --add-rich-rule='rule family="ipv4" destination address="198.18.10.0/24" port port="8443" protocol="tcp" accept'
firewall-cmd --reload
nft add table inet foreign
nft add chain inet foreign out '{ type filter hook output priority 10; }'
nft add rule inet foreign out ip daddr 198.18.8.0/24 counter accept
'''


def firewalld_foreign(host):
    """The foreign objects FIREWALLD_FOREIGN_SETUP made, runtime and permanent (their lines of
    FIREWALLD_STATE; the entry missing when the object is gone) and the foreign nft table."""
    script = FIREWALLD_STATE + '''
echo '=== nft foreign'; nft list table inet foreign | %(nft)s
''' % {'nft': _STRIP_NFT}
    state = _sections(host.sh(script, timeout=180).stdout)
    result = {'nft foreign': state['nft foreign']}
    for name, kind in (('public', 'zones'), ('other-set', 'ipsets'), ('other-policy', 'policies')):
        for layer, suffix in (('runtime', ''), ('permanent', ' permanent')):
            lines = [line for line in state['%s %s' % (layer, kind)].splitlines()
                     if line.startswith(name + ' ')]
            result[name + suffix] = '\n'.join(lines) or '(missing)'
    return result


NFTABLES_FOREIGN_SETUP = r'''
set -e
cat >> /etc/nftables.conf <<'CONF'
table inet foreign {
	chain out {
		type filter hook output priority 10; policy accept;
		ip daddr 198.18.8.0/24 tcp dport 8443 accept comment "admin tunnel"
	}
}
CONF
systemctl start nftables
nft add table ip runtime_only
nft add chain ip runtime_only out '{ type filter hook output priority 20; }'
nft add rule ip runtime_only out ip daddr 198.18.9.0/24 accept
'''


def nftables_snapshot(host):
    """Everything an nftables run could change: the whole ruleset (counters stripped), the
    service's file, our saved files, the service's boot state."""
    script = '''
echo '=== nft ruleset'; nft list ruleset | %(nft)s
echo '=== nftables.conf'; sha256sum /etc/nftables.conf 2>&1 || true
echo '=== nftables.d'; find /etc/nftables.d -type f -print0 2>/dev/null | sort -z | xargs -0 -r sha256sum
echo '=== service'; systemctl is-enabled nftables 2>&1 || true
''' % {'nft': _STRIP_NFT}
    return _sections(host.sh(script).stdout)


# ---------------------------------------------------------------- ufw files vs kernel

_RULE_WORDS = re.compile(r'(-[sd]) (\S+)|--dports? (\S+)|-p (\S+)|-j (\S+)')


def _rule_key(line):
    chain = line.split()[1]
    parts = []
    for match in _RULE_WORDS.finditer(line):
        flag, address, ports, proto, target = match.groups()
        if address:
            parts.append('%s %s' % (flag, ipaddress.ip_network(address, strict=False)))
        elif ports:
            parts.append('port ' + ports)
        elif proto:
            parts.append('proto ' + proto)
        else:
            parts.append('target ' + target)
    return ' '.join([chain] + sorted(parts))


def user_chain_rules(host):
    """{family: (multiset in /etc/ufw/user*.rules, multiset in the kernel)} of user-chain rules."""
    result = {}
    for family, (path, save) in {4: ('/etc/ufw/user.rules', 'iptables-save'),
                                 6: ('/etc/ufw/user6.rules', 'ip6tables-save')}.items():
        files = host.sh('cat %s' % path).stdout
        kernel = host.sh('%s -t filter' % save).stdout
        pick = re.compile(r'^-A ufw6?-user-(input|output|forward) ')

        def keys(text):
            return collections.Counter(_rule_key(line) for line in text.splitlines()
                                       if pick.match(line))
        result[family] = (keys(files), keys(kernel))
    return result


def assert_kernel_matches_files(host):
    for family, (files, kernel) in user_chain_rules(host).items():
        missing = files - kernel
        extra = kernel - files
        assert not missing and not extra, (
            'IPv%d: the running user chains differ from ufw\'s rules file: %d rule(s) in the '
            'file but not loaded (e.g. %s), %d loaded but not in the file (e.g. %s)'
            % (family, sum(missing.values()), list(missing)[:3], sum(extra.values()),
               list(extra)[:3]))


def owned_ufw_rules(host):
    """Set of 'ufw show added' lines carrying a jaas comment."""
    return set(line for line in host.sh('ufw show added').stdout.splitlines()
               if "comment 'jaas" in line)


# ---------------------------------------------------------------- catalogs

def load_shipped_catalog():
    with open(CATALOG) as handle:
        return yaml.safe_load(handle)


def dump_catalog(data):
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=None)


# ---------------------------------------------------------------- reading ansible output

_FATAL = re.compile(r'^fatal: \[([^\]]+)\]: FAILED! => (\{.*\})\s*$', re.M)


def failures(output):
    """[(host, result dict)] for every 'fatal:' line of the default callback."""
    found = []
    for host, text in _FATAL.findall(output):
        try:
            found.append((host, json.loads(text)))
        except ValueError:
            found.append((host, {'msg': text}))
    return found


def failure_text(output):
    """All failure messages (msg + argument_errors), one string, for substring checks."""
    parts = []
    for _host, result in failures(output):
        parts.append(str(result.get('msg', '')))
        parts.extend(str(item) for item in result.get('argument_errors', []))
    return '\n'.join(parts)


def changed_tasks(output):
    """Names of tasks that reported 'changed' on any host."""
    names, task = [], None
    for line in output.splitlines():
        if line.startswith('TASK ['):
            task = line[6:].split(']', 1)[0]
        elif line.startswith('changed: ['):
            names.append(task)
    return names


def kernel_log_prefix():
    """Name prefix for hosts whose netfilter log lines a test reads from the machine's kernel
    log (containers have none of their own); skips when containers log nothing
    (net.netfilter.nf_log_all_netns=0; tools/harness/ensure-docker.sh sets it)."""
    import pytest
    with open('/proc/sys/net/netfilter/nf_log_all_netns') as handle:
        if handle.read().strip() != '1':
            pytest.skip('net.netfilter.nf_log_all_netns=0: containers log nothing '
                        '(tools/harness/ensure-docker.sh sets it)')
    return os.environ.get('JAAS_DROP_PREFIX', NAME_PREFIX)


def kernel_lines(n):
    """The machine's kernel log lines of test network n's addresses (198.18.n.x,
    2001:2:n::x as the kernel prints it); dmesg needs root."""
    text = subprocess.run(['dmesg', '--time-format', 'iso'], capture_output=True, text=True,
                          check=True).stdout
    marks = ('=198.18.%d.' % n, '=2001:0002:00%d:' % n)
    return ''.join(line + '\n' for line in text.splitlines() if any(m in line for m in marks))


def sent_marks(n, v4=(), v6=()):
    """How the kernel log prints the destinations 198.18.n.x (x in ``v4``) and 2001:2:n::x
    (x in ``v6``); n two digits, as every test network here."""
    return (['DST=198.18.%d.%d ' % (n, x) for x in v4]
            + ['DST=2001:0002:00%d:0000:0000:0000:0000:%04d ' % (n, x) for x in v6])


def wait_for_kernel_lines(n, before, needles, timeout=15):
    """Poll the kernel log until each of ``needles`` is in a line of test network n that was
    not in ``before`` (what kernel_lines(n) returned before the packets were sent); the new
    lines. A deadline instead of a fixed sleep: fails naming what never came."""
    seen = set(before.splitlines())
    deadline = time.monotonic() + timeout
    while True:
        new = [line for line in kernel_lines(n).splitlines() if line not in seen]
        missing = [needle for needle in needles if not any(needle in line for line in new)]
        if not missing:
            return new
        if time.monotonic() >= deadline:
            raise AssertionError('within %d s, no new kernel log line with: %s'
                                 % (timeout, '; '.join(needle.strip() for needle in missing)))
        time.sleep(0.1)
