"""Over real SSH: the roles never lock out the Ansible connection.

Ansible connects the way users do (ssh connection plugin, key auth, pipelining on,
ControlPersist as by default) to containers running sshd on an internal network
(ssh_harness.py). sshd listens on 22 and 2222 on every host, so the port that is *not*
used must end up closed: that proves the firewall really denies incoming traffic and
that only the connection's own port was opened.

Backends ufw (Debian 12), firewalld (Debian 13), nftables (both). Three ways to reach a host:
  22      no port anywhere (ssh's default),
  p2222   ``ansible_port: 2222``,
  cfg2222 ``Port 2222`` only in the ssh config file passed with ``-F`` (the controller
          does not know the port; the host sees it in SSH_CONNECTION).
One more ufw host runs no init system at all (the revert countdown is then a detached
process instead of a systemd timer). The ufw cfg2222 host is reached as an unprivileged
user with ``become_method: su`` and ``-l`` (a login shell: SSH_CONNECTION is gone from the
module's own environment).
The catalog is cut to one block (the connection's port does not depend on it) to keep
the suite's run time modest.

Expectations come from that table, not from the code under test.
"""

import concurrent.futures
import json
import os
import re
import subprocess
import time

import pytest

from . import harness, ssh_harness

# name: (backend, suite, how the port is set, connection port, become)
KEEP_CASES = {
    'ufw-22': ('ufw', 'bookworm', None, 22, False),
    'ufw-nosystemd': ('ufw', 'bookworm', None, 22, False),
    'ufw-p2222': ('ufw', 'trixie', 'ansible_port', 2222, False),
    'ufw-cfg2222-su': ('ufw', 'bookworm', 'ssh_config', 2222, True),
    'fwd-22': ('firewalld', 'trixie', None, 22, False),
    'fwd-p2222': ('firewalld', 'bookworm', 'ansible_port', 2222, False),
    'fwd-cfg2222': ('firewalld', 'trixie', 'ssh_config', 2222, False),
    'nft-22': ('nftables', 'bookworm', None, 22, False),
    'nft-p2222': ('nftables', 'bookworm', 'ansible_port', 2222, False),
    'nft-cfg2222': ('nftables', 'trixie', 'ssh_config', 2222, False),
}
OTHER_PORT = {22: 2222, 2222: 22}
# No init system: the revert countdown must be a detached process, not a systemd timer.
NO_SYSTEMD = {'ufw-nosystemd'}

# Incoming and outgoing denied on every backend at once (ssh_harness.RESTRICT), one block.
ALL_RESTRICTED = {'jaas_firewall_blocks': ['cloudflare']}
for _variables in ssh_harness.RESTRICT.values():
    ALL_RESTRICTED.update(_variables)

BECOME_USER_SETUP = r'''
set -e
useradd -m -s /bin/bash deploy
install -d -m 700 -o deploy -g deploy /home/deploy/.ssh
cp /root/.ssh/authorized_keys /home/deploy/.ssh/authorized_keys
chown deploy:deploy /home/deploy/.ssh/authorized_keys
echo 'root:jaas-test-root' | chpasswd
'''


@pytest.fixture(scope='module')
def ssh_site(tmp_path_factory):
    """The network, the key pair and the ssh client config files of this module."""
    ssh_harness.raise_inotify_limit()
    workdir = tmp_path_factory.mktemp('ssh')
    network = ssh_harness.SshNetwork().create()
    try:
        yield {'network': network, 'key': ssh_harness.KeyPair(str(workdir / 'key')),
               'plain': ssh_harness.ssh_config(str(workdir / 'ssh_config')),
               'port2222': ssh_harness.ssh_config(str(workdir / 'ssh_config_2222'), 2222),
               'workdir': str(workdir)}
    finally:
        network.remove()


def start_hosts(site, cases, first_number):
    """{case: SshHost} started in parallel; removed by the caller (harness.remove_all)."""
    def start(item):
        number, (name, case) = item
        backend, suite, how, port, become = case
        host = ssh_harness.SshHost.start_ssh(name, site['network'], number, site['key'],
                                             suite, ports=(22, 2222), systemd=name not in NO_SYSTEMD)
        host.config_file = site['port2222'] if how == 'ssh_config' else site['plain']
        host.connect_port = port if how == 'ansible_port' else None
        host.backend = backend
        host.purpose = name
        host.countdown = 'process' if name in NO_SYSTEMD else 'systemd'
        host.kept_port = port
        host.become_user = None
        if become:
            host.sh(BECOME_USER_SETUP)
            host.become_user = 'deploy'
        if backend == 'firewalld':
            # incoming denied: only what the role opens gets in
            host.sh('firewall-offline-cmd --remove-service=ssh >/dev/null && '
                    '! firewall-offline-cmd --zone=public --list-services | grep -qw ssh')
        return name, host

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(cases)) as pool:
        return dict(pool.map(start, enumerate(sorted(cases.items()), first_number)))


def inventory_with_become(host):
    values = ssh_harness.SshHost.inventory_vars(host)
    if host.become_user:
        values.update(ansible_user=host.become_user, ansible_become=True,
                      ansible_become_method='su', ansible_become_flags='-l',
                      ansible_become_password='jaas-test-root')
    return values


def role_plays(extra_post_tasks=''):
    # One play for every backend: a play whose hosts all fail would end the playbook.
    return '''
- name: Apply the backend role
  hosts: all
  gather_facts: false
  tasks:
    - name: Backend role
      ansible.builtin.include_role:
        name: "jaas.firewall.{{ jaas_test_backend }}"
- name: The connection after the change
  hosts: all
  gather_facts: false
  vars:
    ansible_become: false  # SSH_CONNECTION of the session itself (su -l would scrub it)
  tasks:
    # The module's own result came back over the connection that made the change; the
    # confirmation then opened a new one, which the play goes on using (ControlPersist).
    - name: The play goes on over its ControlPersist connection
      ansible.builtin.command: sh -c 'echo "$SSH_CONNECTION"'
      register: before_reset
      changed_when: false
    - name: Drop the ControlPersist master
      ansible.builtin.meta: reset_connection
    - name: A brand-new connection works
      ansible.builtin.command: sh -c 'echo "$SSH_CONNECTION"'
      register: after_reset
      changed_when: false
    - name: Report
      ansible.builtin.debug:
        msg: "SSHCHECK {{ {'host': inventory_hostname, 'before': before_reset.stdout,
               'after': after_reset.stdout,
               'kept': __result.connection_ports, 'rollback': __result.rollback | default(None)
              } | to_json }}"
      vars:
        __result: "{{ lookup('vars', 'jaas_firewall_%s_result' % jaas_test_backend) }}"
''' + extra_post_tasks


def run_plays(ansible, hosts, play, extra_vars, timeout=600):
    """ansible-playbook over SSH with groups backend_<name>; returns PlayResult."""
    inventory = {'all': {'children': {}}}
    for host in hosts:
        group = inventory['all']['children'].setdefault('backend_' + host.backend, {'hosts': {}})
        group['hosts'][host.name] = dict(inventory_with_become(host), jaas_test_backend=host.backend)
    inventory_path = ansible.write('inventory', inventory)
    argv = [ansible.binary, '-i', inventory_path, '--forks', '20',
            '-e', '@' + ansible.write('vars', json.dumps(extra_vars), '.json'),
            ansible.write('play', play)]
    env = ssh_harness.ssh_env(ansible)
    # A cut connection is noticed after one connect timeout: 5 s instead of 10 keeps the
    # suite short (the confirmation retries until its deadline anyway).
    env['ANSIBLE_TIMEOUT'] = '5'
    started = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=harness.ROOT,
                          timeout=timeout)
    return harness.PlayResult(proc.returncode, proc.stdout, proc.stderr,
                              time.monotonic() - started, None)


def reports(output, tag):
    found = {}
    for text in re.findall(r'"msg": "%s (\{.*\})"' % tag, output):
        item = json.loads(text.encode().decode('unicode_escape'))
        found[item['host']] = item
    return found


def ufw_kernel_accepts(host):
    """{family: {ports accepted by ufw-user-input}, 'policy': INPUT policies} (iptables-save)."""
    result = {}
    for family, save in ((4, 'iptables-save'), (6, 'ip6tables-save')):
        text = host.sh('%s -t filter' % save).stdout
        ports = set()
        for line in text.splitlines():
            if re.match(r'-A ufw6?-user-input ', line) and '-j ACCEPT' in line:
                match = re.search(r'--dport (\d+)', line)
                if match:
                    ports.add(int(match.group(1)))
        policy = re.search(r'^:INPUT (\w+)', text, re.M)
        result[family] = (ports, policy.group(1) if policy else None)
    return result


def _dport(expr):
    match = expr.get('match')
    if not match:
        return None
    left = match.get('left', {}).get('payload', {})
    if left.get('protocol') == 'tcp' and left.get('field') == 'dport':
        right = match.get('right')
        return right if isinstance(right, int) else None
    return None


def nft_kernel_accepts(host, table, chain_part):
    """TCP ports accepted by rules of ``table`` in chains named with ``chain_part`` (nft -j)."""
    data = json.loads(host.sh('nft -j list ruleset').stdout)
    ports = set()
    for item in data['nftables']:
        rule = item.get('rule')
        if not rule or rule.get('table') != table or chain_part not in rule['chain']:
            continue
        exprs = rule['expr']
        if any('accept' in expr for expr in exprs):
            ports.update(port for port in (_dport(expr) for expr in exprs) if port)
    return ports


@pytest.fixture(scope='module')
def keep_hosts(ssh_site):
    try:
        yield start_hosts(ssh_site, KEEP_CASES, 11)
    finally:
        harness.remove_all()


NFT_STATE = r'''
echo '=== nft ruleset'; nft list ruleset | sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/'
echo '=== files'; sha256sum /etc/nftables.conf /etc/nftables.d/* 2>&1 || true
echo '=== service'; systemctl is-enabled nftables.service 2>&1 || true
echo '=== iptables-save'; iptables-save | sed -e '/^#/d' -e 's/\[[0-9]*:[0-9]*\]/[0:0]/'
'''
SNAPSHOT = {'ufw': harness.ufw_snapshot, 'firewalld': harness.firewalld_snapshot,
            'nftables': lambda host: harness._sections(host.sh(NFT_STATE).stdout)}
ROLLBACK_TIMEOUT = 10  # the minimum, for the suite's run time; the role default is 60


def rollback_record(host, rollback_id):
    """meta.json, outcome, started_at and reverted_at of a rollback, read on the host."""
    directory = '/var/lib/jaas-firewall/rollback/%s' % rollback_id
    text = host.sh('cat {0}/meta.json; echo; for f in outcome started_at reverted_at; do '
                   'cat {0}/$f 2>/dev/null || echo none; done'.format(directory)).stdout
    meta, outcome, started_at, reverted_at = text.strip().split('\n')[-4:]
    return (json.loads(meta), outcome, None if started_at == 'none' else int(started_at),
            None if reverted_at == 'none' else int(reverted_at))


def each_host(check, hosts):
    """check(host) -> [problems], run for every host at once; all problems, in host order."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(hosts)) as pool:
        return [problem for found in pool.map(check, hosts) for problem in found]


def run_cut_and_check_rollback(ansible, hosts):
    """A run that cuts the Ansible port: the host must revert by itself, the play must say
    so, and every host must end byte-identical to before and reachable on its port."""
    before = dict(zip([host.name for host in hosts],
                      each_host(lambda host: [SNAPSHOT[host.backend](host)], hosts)))
    extra = dict(ALL_RESTRICTED)
    extra.update(jaas_firewall_allow_ansible_connection=False,
                 jaas_firewall_rollback_timeout=ROLLBACK_TIMEOUT)
    result = run_plays(ansible, hosts, role_plays(), extra)
    if os.environ.get('JAAS_SSH_SHOW'):
        print(result.stdout[-6000:])
    assert result.rc != 0, result.stdout[-5000:]
    failed = dict(harness.failures(result.stdout))
    figures = ['play %.0f s' % result.seconds]

    def check(host):
        outcome = failed.get(host.name)
        if not outcome or 'ROLLED BACK' not in outcome.get('msg', ''):
            return ['%s: no rollback message: %s' % (host.name, outcome)]
        problems = []
        rollback = outcome['rollback']
        meta, state, started_at, reverted_at = rollback_record(host, rollback['id'])
        if state != 'reverted' or rollback.get('outcome') != 'reverted':
            problems.append('%s: rollback outcome %s / %s' % (host.name, state, rollback))
        if meta['mechanism'] != host.countdown:
            problems.append('%s: countdown %s, expected %s' % (host.name, meta['mechanism'],
                                                               host.countdown))
        if reverted_at is not None:
            # host clock; the revert first waits for a module run still holding the host lock
            figures.append('%s: timeout %d s; revert began %+.0f s after the deadline, took %.0f s '
                           '(%s)' % (host.name, meta['timeout'], started_at - meta['deadline'],
                                     reverted_at - started_at, meta['mechanism']))
        probe = host.new_ssh('true', host.kept_port)
        if probe.returncode != 0:
            problems.append('%s: not reachable on %d after the rollback: %s'
                            % (host.name, host.kept_port, probe.stderr.strip()))
        changes = harness.diff_snapshots(before[host.name], SNAPSHOT[host.backend](host))
        if changes:
            problems.append('%s: not restored byte-identically:\n%s' % (host.name, changes))
        return problems

    problems = each_host(check, hosts)
    print('\n'.join(['rollback figures:'] + figures))
    assert not problems, '\n'.join(problems) + '\n' + result.stdout[-3000:]


# The fresh-host cut waits out its rollback deadline (about 45 s); it runs in the background,
# followed by the role with every default on the same hosts (back to fresh after their
# rollback), while the other hosts go through enabling and the restricted-host cut.
FRESH_CUT = ('ufw-22', 'fwd-22', 'nft-22', 'ufw-nosystemd')
RESTRICTED_CUT = ('ufw-p2222', 'fwd-p2222', 'nft-cfg2222')


@pytest.fixture(scope='module')
def fresh_hosts_in_background(keep_hosts, ansible):
    """{'cut': Future of the fresh-host cut, 'enable': Future of enabling on the same hosts
    after it}; each Future raises what its check raised."""
    hosts = [keep_hosts[name] for name in FRESH_CUT]
    cut_pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    enable_pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    cut = cut_pool.submit(run_cut_and_check_rollback, ansible, hosts)

    def enable_after_cut():
        cut.result()  # the rollback must have ended (a failed one: nothing to enable on)
        enable_and_check(ansible, hosts)

    futures = {'cut': cut, 'enable': enable_pool.submit(enable_after_cut)}
    try:
        yield futures
    finally:
        cut_pool.shutdown(wait=True)
        enable_pool.shutdown(wait=True)


def enable_and_check(ansible, hosts):
    """The role with every default (rollback on): the play goes on over its connection, a new
    one works, only the connection's port is open in the kernel, the change was confirmed."""
    extra = dict(ALL_RESTRICTED)
    result = run_plays(ansible, hosts, role_plays(), extra)
    if os.environ.get('JAAS_SSH_SHOW'):
        print(result.stdout[-6000:])
    assert result.rc == 0, result.stdout[-5000:] + result.stderr[-3000:]
    checks = reports(result.stdout, 'SSHCHECK')
    assert set(checks) == set(host.name for host in hosts), result.stdout[-3000:]

    def check(host):
        name, problems = host.purpose, []
        seen = checks[host.name]
        port, other = host.kept_port, OTHER_PORT[host.kept_port]
        # both commands ran over SSH to the expected port; reset_connection opened a new one
        if seen['before'].split()[3:] != [str(port)] or seen['after'].split()[3:] != [str(port)]:
            problems.append('%s: SSH_CONNECTION %r / %r, expected server port %d'
                            % (name, seen['before'], seen['after'], port))
        if seen['before'] == seen['after']:
            problems.append('%s: reset_connection did not open a new connection' % name)
        if seen['kept'] != [port]:
            problems.append('%s: module kept %s, expected [%d]' % (name, seen['kept'], port))
        # armed (the role's default timeout), then confirmed over a new connection
        rollback = seen['rollback'] or {}
        if not rollback.get('confirmed') or rollback.get('confirmed_over') == rollback.get('armed_over'):
            problems.append('%s: change not confirmed over a new connection: %s' % (name, rollback))
        elif rollback.get('confirmed_by') != ('module' if host.become_user else 'script'):
            # pipelining is on: the light script, except under su (no pipelining with su)
            problems.append('%s: confirmed by %s, expected the %s' % (
                name, rollback, 'module (su)' if host.become_user else 'light script'))
        else:
            meta, state, _started, _reverted = rollback_record(host, rollback['id'])
            if host.countdown == 'systemd':
                countdown = host.sh('systemctl is-active %s.timer' % meta.get('unit'),
                                    check=False).stdout.strip()
            else:  # the detached sleeper (or anything else naming the rollback) is gone
                pattern = '[%s]%s' % (rollback['id'][0], rollback['id'][1:])  # not this shell
                countdown = host.sh("pgrep -f '%s' >/dev/null && echo active || echo gone"
                                    % pattern, check=False).stdout.strip()
            if state != 'confirmed' or countdown == 'active' or meta['mechanism'] != host.countdown:
                problems.append('%s: rollback %s after confirming, %s countdown %s'
                                % (name, state, meta['mechanism'], countdown))
        # brand-new connections from outside the play, IPv4 and IPv6
        for family in (4, 6):
            probe = host.new_ssh('true', port, family=family)
            if probe.returncode != 0:
                problems.append('%s: new ssh over IPv%d to %d failed: %s'
                                % (name, family, port, probe.stderr.strip()))
        if host.tcp_open(other):
            problems.append('%s: port %d (not the connection) accepts connections' % (name, other))
        if host.backend == 'ufw':
            for family, (ports, policy) in ufw_kernel_accepts(host).items():
                if ports != {port} or policy != 'DROP':
                    problems.append('%s IPv%d: ufw-user-input accepts %s, INPUT %s; expected '
                                    '{%d}, DROP' % (name, family, sorted(ports), policy, port))
        else:
            # firewalld: the chains of policy jaas-ingress; nftables: our table's input chain
            table, chain = {'firewalld': ('firewalld', 'jaas-ingress'),
                            'nftables': ('jaas', 'input')}[host.backend]
            ports = nft_kernel_accepts(host, table, chain)
            if ports != {port}:
                problems.append('%s: %s %s accepts %s in the kernel, expected {%d}'
                                % (name, table, chain, sorted(ports), port))
        return problems

    problems = each_host(check, hosts)
    assert not problems, '\n'.join(problems)


def test_enabling_the_firewall_keeps_the_ssh_connection(keep_hosts, fresh_hosts_in_background,
                                                        ansible):
    """The hosts that are not in the fresh-host cut (that runs in the background meanwhile)."""
    enable_and_check(ansible, [host for name, host in sorted(keep_hosts.items())
                               if name not in FRESH_CUT])


def test_a_bad_rollback_timeout_is_refused_before_the_host(keep_hosts, ansible):
    """Checked by the action plugin on the controller: the host is not touched."""
    host = keep_hosts['ufw-p2222']  # not ufw-22: the fresh-host cut may still be changing it
    before = SNAPSHOT[host.backend](host)
    extra = dict(ALL_RESTRICTED, jaas_firewall_rollback_timeout=5,
                 jaas_firewall_allow_ansible_connection=False)
    result = run_plays(ansible, [host], role_plays(), extra)
    assert result.rc != 0
    message = harness.failure_text(result.stdout)
    assert 'jaas_firewall_rollback_timeout (rollback_timeout) must be 0 (off) or 10-86400' in message
    assert harness.diff_snapshots(before, SNAPSHOT[host.backend](host)) == ''


def test_a_run_that_cuts_ssh_on_a_restricted_host_is_rolled_back(keep_hosts, ansible):
    """ufw active / firewalld running / our table with the connection's port kept (the
    enabling test): the run drops the port, the host puts its previous rules back."""
    run_cut_and_check_rollback(ansible, [keep_hosts[name] for name in RESTRICTED_CUT])


def test_a_run_that_cuts_ssh_on_a_fresh_host_is_rolled_back(fresh_hosts_in_background):
    """ufw inactive / firewalld stopped / no table of ours before: the firewall is enabled
    without the connection's port (run in the background since the module began)."""
    fresh_hosts_in_background['cut'].result(timeout=900)


def test_enabling_after_a_rollback_keeps_the_ssh_connection(fresh_hosts_in_background):
    """The fresh-host cut's hosts, back to fresh after their rollback, with every default."""
    fresh_hosts_in_background['enable'].result(timeout=900)
