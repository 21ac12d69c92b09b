#!/usr/bin/env python3
"""Run jaas.firewall.allow_jaas inside the execution environment, as AWX does.

AWX's execution nodes start the EE container and run ``ansible-runner`` in it; this script
does the same with docker: a private data directory (project, inventory, extra vars, SSH
key) mounted at /runner, ``ansible-runner run /runner -p site.yml`` inside the EE, the
container attached to an internal test network where one sshd test host waits
(tests/reliability/ssh_harness.py). The play restricts traffic (ufw enabled, incoming and
outgoing denied), so the connection's port is kept and confirm-or-revert is armed and
confirmed from inside the EE. Afterwards the host is checked from outside.

Usage: tools/ee/run.py [--image jaas-firewall-ee:latest] [--net 40]   (after tools/ee/build.sh)
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'tests'))
from reliability import harness, ssh_harness  # noqa: E402

SITE = '- ansible.builtin.import_playbook: jaas.firewall.allow_jaas\n'
# ufw forced: the test hosts have nft installed too, which auto-selection would prefer.
EXTRA_VARS = {'jaas_firewall_backend': 'ufw', 'jaas_firewall_ufw_enable': True,
              'jaas_firewall_ufw_default_incoming': 'deny',
              'jaas_firewall_ufw_default_outgoing': 'deny'}


def private_data_dir(host, key):
    """ansible-runner's input layout: project/, inventory/, env/."""
    pdd = tempfile.mkdtemp(prefix='jaas-ee-runner-')
    for sub in ('project', 'inventory', 'env'):
        os.mkdir(os.path.join(pdd, sub))
    with open(os.path.join(pdd, 'project', 'site.yml'), 'w') as handle:
        handle.write(SITE)
    inventory = {'all': {'hosts': {'ee-target': {
        'ansible_host': host.ipv4, 'ansible_user': 'root',
        'ansible_ssh_common_args': '-o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no',
        'ansible_python_interpreter': '/usr/bin/python3'}}}}
    with open(os.path.join(pdd, 'inventory', 'hosts.json'), 'w') as handle:
        json.dump(inventory, handle)
    with open(os.path.join(pdd, 'env', 'extravars'), 'w') as handle:
        json.dump(EXTRA_VARS, handle)
    with open(os.path.join(pdd, 'env', 'envvars'), 'w') as handle:
        json.dump({'ANSIBLE_PIPELINING': 'True', 'ANSIBLE_NOCOLOR': 'True'}, handle)
    # ansible-runner loads env/ssh_key into an ssh-agent inside the container
    shutil.copy(key.private, os.path.join(pdd, 'env', 'ssh_key'))
    subprocess.run(['chmod', '-R', 'a+rwX', pdd], check=True)
    return pdd


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--image', default='jaas-firewall-ee:latest')
    parser.add_argument('--net', type=int, default=ssh_harness.DEFAULT_NET)
    args = parser.parse_args()
    if subprocess.run(['docker', 'image', 'inspect', args.image], capture_output=True).returncode:
        sys.exit('image %s missing: run tools/ee/build.sh first' % args.image)
    ssh_harness.raise_inotify_limit()
    network = ssh_harness.SshNetwork(args.net, name='jaas-ssh-ee-%d' % os.getpid()).create()
    key = ssh_harness.KeyPair()
    pdd = None
    try:
        host = ssh_harness.SshHost.start_ssh('ee-target', network, 11, key, 'bookworm',
                                             prefix='jaas-ssh-ee-%d-' % os.getpid())
        pdd = private_data_dir(host, key)
        proc = subprocess.run(
            ['docker', 'run', '--rm', '--network', network.name, '-v', '%s:/runner' % pdd,
             args.image, 'ansible-runner', 'run', '/runner', '-p', 'site.yml'],
            capture_output=True, text=True, timeout=900)
        print(proc.stdout[-6000:])
        if proc.returncode != 0:
            sys.exit('ansible-runner in %s failed (rc %d): %s'
                     % (args.image, proc.returncode, proc.stderr[-3000:]))
        # Checked from outside: rules in place, connection's port kept, change confirmed.
        rules = host.sh("ufw show added | grep -c \"comment 'jaas:\" || true").stdout.strip()
        status = host.sh('ufw status verbose').stdout
        outcome = host.sh('cat /var/lib/jaas-firewall/rollback/*/outcome', check=False).stdout.split()
        new_ssh = host.new_ssh('true', 22).returncode == 0
        print('ee-target: %s jaas-tagged ufw rules; %s; rollback outcome %s; new ssh on 22: %s'
              % (rules, ' '.join(line for line in status.splitlines()
                                 if line.startswith(('Status', 'Default'))), outcome, new_ssh))
        if int(rules or 0) == 0 or 'deny (incoming)' not in status or outcome != ['confirmed'] \
                or not new_ssh:
            sys.exit('the EE run did not leave the host as expected')
        print('OK: jaas.firewall.allow_jaas ran with ansible-runner inside %s' % args.image)
    finally:
        harness.remove_all()
        network.remove()
        if pdd:
            shutil.rmtree(pdd, ignore_errors=True)


if __name__ == '__main__':
    main()
