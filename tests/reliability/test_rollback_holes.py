"""Confirm-or-revert on a real systemd container (issue 19, "confirm-or-revert has holes").

* A reboot inside the window: a change armed with ``rollback_timeout`` and saved for boot
  (nftables, ``persist``), never confirmed, then ``docker restart`` (tmpfs /run wiped,
  systemd boots again, the transient timer is gone). After the boot the firewall must be
  the previous one, byte for byte (harness.nftables_snapshot: ruleset, the files that load
  it at boot, the service's boot state).
* ``systemd-run`` unusable while systemd is PID 1 (not executable; failing): the change is
  refused, nothing is left armed (no record, no boot unit, no detached countdown), and the
  host is unchanged.

Arming a rollback over the docker connection: the backends' action plugin honours
``rollback_timeout`` only on SSH sessions (there is no connection to cut otherwise), so the
module is run on the host directly - Ansible's own module-debugging path: the module is
sent once in check mode with ANSIBLE_KEEP_REMOTE_FILES, exploded there
(``AnsiballZ_*.py explode``) and executed with our arguments (``execute``). It is the
collection's code as Ansible ships it to a host.

To see these tests fail on an earlier module_utils/rollback.py, point
JAAS_ROLLBACK_UNDER_TEST at a copy of it: it replaces the exploded one.

Expectations come from the issue (previous firewall after a reboot; refused, host
unchanged), not from the code under test. Containers are named ``jaas-rb-<pid>-...``.
"""

import json
import os
import subprocess

import pytest

from . import harness

PREFIX = 'jaas-rb-%d-' % os.getpid()
STATE_DIR = '/var/lib/jaas-firewall/rollback'
BOOT_UNIT = '/etc/systemd/system/jaas-firewall-rollback-boot.service'
BOOT_LINK = '/etc/systemd/system/multi-user.target.wants/jaas-firewall-rollback-boot.service'
MODULE_DIR = '/root/jaas-rb-module'

# The previous firewall: one accept, outgoing accepted, saved for boot.
BEFORE = dict(rules=[dict(direction='out', family=4, protocol='tcp', ports='443',
                          network='198.18.50.0/24', block='core')],
              default_outgoing='accept', persist=True)
# The unconfirmed change: another rule, outgoing rejected, saved for boot too.
CHANGE = dict(rules=[dict(direction='out', family=4, protocol='tcp', ports='8443',
                          network='198.18.60.0/24', block='core')],
              default_outgoing='reject', persist=True)

PREPARE = '''
- hosts: all
  gather_facts: false
  tasks:
    - name: Send the module, in check mode (the host is not touched)
      jaas.firewall.nftables_rules: %s
      check_mode: true
'''

EXPLODE = r'''
set -e
rm -rf %(dir)s
mkdir -p %(dir)s
cd %(dir)s
cp "$(ls -t /root/.ansible/tmp/ansible-tmp-*/AnsiballZ_nftables_rules.py | head -1)" module.py
rm -rf /root/.ansible/tmp
python3 module.py explode >/dev/null
test -f debug_dir/args
mkdir -m 700 tmp
'''

RUN = r'''
cd %(dir)s
python3 - "$1" <<'EOF'
import json, sys
path = 'debug_dir/args'
args = json.load(open(path))
args['ANSIBLE_MODULE_ARGS'].update(json.loads(sys.argv[1]))
json.dump(args, open(path, 'w'))
EOF
python3 module.py execute
'''


class Runner(object):
    """The nftables module on one host, run directly with any arguments."""

    def __init__(self, host, ansible):
        self.host = host
        play = ansible.write('play', PREPARE % json.dumps(CHANGE))
        inventory = ansible.write('inventory', {'all': {'hosts': {host.name: host.inventory_vars()}}})
        env = dict(ansible.env(), ANSIBLE_KEEP_REMOTE_FILES='1', ANSIBLE_PIPELINING='0')
        proc = subprocess.run([ansible.binary, '-i', inventory, play], capture_output=True,
                              text=True, env=env, cwd=harness.ROOT, timeout=300)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
        host.sh(EXPLODE % {'dir': MODULE_DIR})
        under_test = os.environ.get('JAAS_ROLLBACK_UNDER_TEST')
        if under_test:
            with open(under_test) as handle:
                host.put(MODULE_DIR + '/debug_dir/ansible_collections/jaas/firewall/plugins/'
                         'module_utils/rollback.py', handle.read())

    def run(self, **args):
        args.setdefault('rollback_timeout', 0)
        args.update(_ansible_check_mode=False, _ansible_tmpdir=MODULE_DIR + '/tmp/')
        proc = subprocess.run(['docker', 'exec', self.host.name, 'bash', '-c',
                               RUN % {'dir': MODULE_DIR}, 'run', json.dumps(args)],
                              capture_output=True, text=True, timeout=300)
        lines = [line for line in proc.stdout.splitlines() if line.startswith('{')]
        assert lines, 'no module result: %s %s' % (proc.stdout[-2000:], proc.stderr[-2000:])
        return json.loads(lines[-1])


def boot_state(host):
    """What must be gone once a rollback is settled or refused: armed records, the boot
    unit, a detached countdown (``/bin/sh -c sleep ...``)."""
    found = host.sh('''
for d in %(dir)s/*/; do [ -f "$d/meta.json" ] && [ ! -d "$d/claim" ] && echo "armed $d"; done
ls %(unit)s %(link)s 2>/dev/null
true''' % {'dir': STATE_DIR, 'unit': BOOT_UNIT, 'link': BOOT_LINK}).stdout.split('\n')
    found += [line for line in host.sh('ps -eo args=').stdout.splitlines()
              if line.startswith('/bin/sh -c sleep')]
    return [line for line in found if line.strip()]


@pytest.fixture(scope='module', params=['bookworm', 'trixie'])
def nft_host(ansible, request):
    """A Debian 12 / 13 systemd container whose firewall is BEFORE, saved for boot."""
    host = harness.Host.start('nft-%s' % request.param, request.param, prefix=PREFIX)
    try:
        runner = Runner(host, ansible)
        result = runner.run(**BEFORE)
        assert result.get('changed') and not result.get('failed'), result
        # the firewall as a boot brings it up (nftables.service loads the saved copy)
        host.sh('systemctl restart nftables.service')
        host.runner = runner
        yield host
    finally:
        subprocess.run(['docker', 'rm', '-f', '-v', host.name], capture_output=True)


@pytest.mark.parametrize('breakage', ['not-executable', 'failing'])
def test_systemd_run_unusable_under_systemd_refuses_the_change(nft_host, breakage):
    host = nft_host
    before = harness.nftables_snapshot(host)
    if breakage == 'not-executable':
        host.sh('chmod -x /usr/bin/systemd-run')
    else:
        host.sh('mv /usr/bin/systemd-run /usr/bin/systemd-run.jaas-rb && '
                'printf "#!/bin/sh\\necho \\"Failed to start transient timer unit: Access '
                'denied\\" >&2\\nexit 1\\n" > /usr/bin/systemd-run && chmod 755 /usr/bin/systemd-run')
    try:
        result = host.runner.run(rollback_timeout=600, **CHANGE)
    finally:
        host.sh('if [ -e /usr/bin/systemd-run.jaas-rb ]; then mv -f /usr/bin/systemd-run.jaas-rb '
                '/usr/bin/systemd-run; fi; chmod 755 /usr/bin/systemd-run')
    assert result.get('failed'), result
    assert 'systemd-run' in result['msg'] and 'nothing changed' in result['msg'], result['msg']
    assert harness.diff_snapshots(before, harness.nftables_snapshot(host)) == ''
    assert boot_state(host) == []


def test_a_reboot_inside_the_window_boots_into_the_previous_firewall(nft_host):
    host = nft_host
    before = harness.nftables_snapshot(host)
    result = host.runner.run(rollback_timeout=600, **CHANGE)
    assert result.get('changed') and not result.get('failed'), result
    assert result['rollback']['armed'] and result['rollback']['mechanism'] == 'systemd'
    assert harness.diff_snapshots(before, harness.nftables_snapshot(host)) != '', \
        'the change was not made'

    # A reboot long before the deadline (600 s): tmpfs /run is wiped, the timer is gone.
    subprocess.run(['docker', 'restart', '-t', '20', host.name], check=True, capture_output=True)
    host.wait_for_systemd()

    changes = harness.diff_snapshots(before, harness.nftables_snapshot(host))
    journal = host.sh('journalctl -b --no-pager -u jaas-firewall-rollback-boot.service '
                      '-u nftables.service | tail -20', check=False).stdout
    assert changes == '', 'after the reboot the unconfirmed change is still there:\n%s\n%s' % (
        changes, journal)
    outcome = host.sh('cat %s/%s/outcome' % (STATE_DIR, result['rollback']['id'])).stdout.strip()
    assert outcome == 'reverted'
    assert boot_state(host) == []
