"""module_utils/rollback.py on this machine: the revert really runs as a detached process
(no systemd here), the claim decides between confirm and revert, a confirmation over the
connection that made the change is refused, a failing module reverts at once.

The waits are for an outcome with a generous bound, never timing asserts.
"""

import os
import shutil
import subprocess
import time

import pytest

from ansible_collections.jaas.firewall.plugins.module_utils import rollback
from ansible_collections.jaas.firewall.plugins.module_utils import (
    firewalld_backend, nftables_backend, ufw_backend)


class Exit(Exception):
    pass


class Fail(Exception):
    pass


class FakeModule(object):
    """What rollback.py uses of AnsibleModule, running real commands."""

    check_mode = False

    def __init__(self, bins=None):
        self.warnings = []
        self.bins = dict(bins or {})   # name -> path of a test double, or None (not installed)
        self.commands = []

    def get_bin_path(self, name, required=False):
        if name in self.bins:
            return self.bins[name]
        return shutil.which(name)

    def run_command(self, argv, environ_update=None):
        self.commands.append(list(argv))
        proc = subprocess.run(argv, capture_output=True, text=True,
                              env=dict(os.environ, **(environ_update or {})))
        return proc.returncode, proc.stdout, proc.stderr

    def warn(self, text):
        self.warnings.append(text)

    def exit_json(self, **kwargs):
        raise Exit(kwargs)

    def fail_json(self, **kwargs):
        raise Fail(kwargs)


class FileRecipe(rollback.Recipe):
    """Stands for a backend: one file, restored by the generated shell lines."""

    backend = 'file'

    def __init__(self, path):
        self.path = path

    def snapshot(self, module, directory):
        return rollback.copy_files([self.path], directory)


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.setattr(rollback, 'MIN_TIMEOUT', 1)
    monkeypatch.setattr(rollback, 'ssh_session', lambda: '198.18.40.1 40000 198.18.40.11 22')
    monkeypatch.setattr(rollback, 'lock_path', lambda: str(tmp_path / 'host.lock'))
    target = tmp_path / 'firewall.conf'
    target.write_text('before\n')
    return dict(state=str(tmp_path / 'rollback'), target=target)


def wait_for(predicate, bound=30):
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def arm(site, timeout=2, module=None):
    module = module or FakeModule()
    armed = rollback.arm(module, FileRecipe(str(site['target'])), timeout,
                         state_dir=site['state'], use_systemd=False)
    site['target'].write_text('after\n')  # the "change"
    return module, armed


def test_without_confirmation_the_host_restores_the_snapshot(site):
    _module, armed = arm(site)
    assert armed.meta['mechanism'] == 'process'
    rollback_id = armed.meta['id']
    assert wait_for(lambda: rollback.status(rollback_id, site['state']) == 'reverted')
    assert site['target'].read_text() == 'before\n'
    assert rollback.confirm(rollback_id, session='198.18.40.1 40002 198.18.40.11 22',
                            state_dir=site['state'])['state'] == 'reverted'


def test_confirmation_over_a_new_connection_keeps_the_change(site):
    _module, armed = arm(site, timeout=3)
    found = rollback.confirm(armed.meta['id'], session='198.18.40.1 40002 198.18.40.11 22',
                             state_dir=site['state'])
    assert found['state'] == 'confirmed'
    # the countdown process is gone and, past the deadline, nothing was restored
    assert wait_for(lambda: not os.path.exists('/proc/%d' % armed.meta['pid'])
                    or open('/proc/%d/stat' % armed.meta['pid']).read().split()[2] == 'Z')
    time.sleep(3.5)
    assert site['target'].read_text() == 'after\n'
    assert rollback.status(armed.meta['id'], site['state']) == 'confirmed'


def test_confirmation_over_the_same_connection_is_refused(site):
    _module, armed = arm(site, timeout=60)
    same = rollback.confirm(armed.meta['id'], session='198.18.40.1 40000 198.18.40.11 22',
                            state_dir=site['state'])
    assert same['state'] == 'same-connection'
    assert rollback.status(armed.meta['id'], site['state']) == 'armed'
    assert rollback.confirm(armed.meta['id'], session='198.18.40.1 40001 198.18.40.11 22',
                            state_dir=site['state'])['state'] == 'confirmed'


def test_a_second_run_waits_for_the_first_ones_confirmation(site):
    _module, first = arm(site, timeout=60)
    with pytest.raises(Fail) as caught:
        arm(site, timeout=60)
    assert first.meta['id'] in caught.value.args[0]['msg']
    assert 'nothing changed' in caught.value.args[0]['msg']
    rollback.confirm(first.meta['id'], session='x y z 22', state_dir=site['state'])
    _module, second = arm(site, timeout=60)
    rollback.confirm(second.meta['id'], session='x y z 22', state_dir=site['state'])


def test_a_module_failing_after_the_snapshot_reverts_at_once(site):
    module, armed = arm(site, timeout=60)
    with pytest.raises(Fail) as caught:
        module.fail_json(msg='the running firewall refused the new rules')
    result = caught.value.args[0]
    assert site['target'].read_text() == 'before\n'
    assert result['rollback']['outcome'] == 'reverted'
    assert 'restored as it was before this run' in result['msg']


def test_the_module_result_carries_the_rollback(site):
    module, armed = arm(site, timeout=60)
    with pytest.raises(Exit) as caught:
        module.exit_json(changed=True)
    returned = caught.value.args[0]['rollback']
    assert returned['armed'] and returned['id'] == armed.meta['id']
    assert 0 < returned['expires_in'] <= 60
    rollback.confirm(armed.meta['id'], session='x y z 22', state_dir=site['state'])


def test_off_and_check_mode_arm_nothing(site):
    module = FakeModule()
    assert rollback.arm(module, FileRecipe(str(site['target'])), 0, state_dir=site['state']) is None
    module.check_mode = True
    assert rollback.arm(module, FileRecipe(str(site['target'])), 30, state_dir=site['state']) is None
    assert not os.path.exists(site['state'])


@pytest.mark.parametrize('timeout, ok', [(0, True), (9, False), (10, True), (86400, True),
                                         (86401, False), (-1, False)])
def test_timeout_bounds(timeout, ok):
    assert (rollback.timeout_problem(timeout) is None) is ok


def test_the_session_is_the_nearest_ssh_connection():
    from ansible_collections.jaas.firewall.plugins.module_utils.connection import ssh_session
    value = '198.18.40.1 40000 198.18.40.11 2222'
    assert ssh_session(environ={'SSH_CONNECTION': value}) == value
    assert ssh_session(pid=1, environ={}) is None


def _alive(pid):
    try:
        with open('/proc/%d/stat' % pid) as handle:
            return handle.read().split()[2] != 'Z'
    except OSError:
        return False


def test_the_countdown_restarts_when_the_change_is_made(site):
    """The run gets the whole timeout to confirm after its change, however long the change
    took: the module's exit replaces the first countdown with a new one."""
    module, armed = arm(site, timeout=30)
    first = armed.meta['pid']
    assert _alive(first)
    with pytest.raises(Exit):
        module.exit_json(changed=True)
    second = armed.meta['pid']
    assert second != first and _alive(second)
    assert wait_for(lambda: not _alive(first))
    found = rollback.confirm(armed.meta['id'], session='x y z 22', state_dir=site['state'])
    assert found['state'] == 'confirmed'
    assert wait_for(lambda: not _alive(second))
    assert site['target'].read_text() == 'after\n'


def test_a_failing_module_reverts_while_it_holds_the_host_lock(site):
    """The module holds the host lock when it fails; its own revert must not wait for it."""
    import fcntl
    import threading
    module, armed = arm(site, timeout=60)
    holder = open(rollback.lock_path(), 'a')
    fcntl.flock(holder, fcntl.LOCK_EX)  # as host_lock.acquire() does for the module
    outcome = []

    def fail():
        try:
            module.fail_json(msg='nft -f failed')
        except Fail as exc:
            outcome.append(exc.args[0])

    try:
        worker = threading.Thread(target=fail, daemon=True)
        worker.start()
        worker.join(120)
        assert outcome, 'the revert waited for the lock its own module holds'
        assert outcome[0]['rollback']['outcome'] == 'reverted'
        assert site['target'].read_text() == 'before\n'
    finally:
        holder.close()


@pytest.mark.parametrize('value, ok', [(None, True), (0, True), ('0', True), (60, True), ('60', True),
                                       (5, False), ('5', False), (90000, False), ('abc', False),
                                       (-3, False), ('1e3', False)])
def test_the_controller_refuses_a_bad_timeout_before_the_host(value, ok):
    from ansible_collections.jaas.firewall.plugins.plugin_utils.confirm_change import timeout_problem
    problem = timeout_problem(value)
    assert (problem is None) is ok
    if not ok:
        assert 'jaas_firewall_rollback_timeout' in problem and 'nothing reached the host' in problem


def test_controller_and_host_agree_on_the_range():
    from ansible_collections.jaas.firewall.plugins.plugin_utils.confirm_change import TIMEOUT_RANGE
    assert TIMEOUT_RANGE == (rollback.MIN_TIMEOUT, rollback.MAX_TIMEOUT)


# ---------------------------------------------------------------- issue 19: the holes
# Test doubles are small shell scripts in the test's own directory; the revert script's
# PATH is pointed at them (rollback._PATH), so nothing of this machine is run or changed.

def double(directory, name, body):
    """An executable test double ``name`` running ``body`` (sh)."""
    os.makedirs(str(directory), exist_ok=True)
    path = os.path.join(str(directory), name)
    with open(path, 'w') as handle:
        handle.write('#!/bin/sh\n' + body + '\n')
    os.chmod(path, 0o755)
    return path


@pytest.fixture
def systemd_site(site, tmp_path, monkeypatch):
    """A host 'with systemd': unit directory in tmp, a systemd-run double that only logs."""
    units = tmp_path / 'units'
    units.mkdir()
    monkeypatch.setattr(rollback, 'UNIT_DIR', str(units), raising=False)
    log = tmp_path / 'systemd-run.log'
    site.update(units=units, log=log, bin=tmp_path / 'bin')
    site['systemd_run'] = double(site['bin'], 'systemd-run', 'echo "$@" >> %s' % log)
    return site


BOOT_UNIT = 'jaas-firewall-rollback-boot.service'     # the name issue 19 gives it


def boot_paths(site):
    units = site['units']
    return units / BOOT_UNIT, units / 'multi-user.target.wants' / BOOT_UNIT


def arm_systemd(site, module=None, recipe=None, timeout=60):
    module = module or FakeModule({'systemd-run': site['systemd_run']})
    armed = rollback.arm(module, recipe or FileRecipe(str(site['target'])), timeout,
                         state_dir=site['state'], use_systemd=True)
    site['target'].write_text('after\n')  # the "change"
    return module, armed


def run_revert(armed, at_boot=False, timeout=60):
    env = dict(os.environ)
    if at_boot:
        env['JAAS_FIREWALL_AT_BOOT'] = '1'
    return subprocess.run(['/bin/sh', os.path.join(armed.directory, 'revert.sh')],
                          env=env, timeout=timeout, capture_output=True, text=True)


def test_arming_under_systemd_installs_an_enabled_boot_unit_that_runs_the_revert(systemd_site):
    """A reboot drops the transient timer while the change is already saved for boot: a
    persistent unit, enabled, before the network, runs revert.sh at boot."""
    _module, armed = arm_systemd(systemd_site)
    unit, link = boot_paths(systemd_site)
    text = unit.read_text()
    script = os.path.join(armed.directory, 'revert.sh')
    assert 'ExecStart=/bin/sh %s' % script in text.splitlines()
    assert 'Type=oneshot' in text.splitlines()
    assert 'Environment=JAAS_FIREWALL_AT_BOOT=1' in text.splitlines()
    assert 'Before=network-pre.target' in text.splitlines()
    assert 'Wants=network-pre.target' in text.splitlines()
    assert 'WantedBy=multi-user.target' in text.splitlines()
    assert os.path.islink(str(link)) and os.path.realpath(str(link)) == str(unit)
    assert armed.meta['boot_unit'] == str(unit)


def test_a_confirmation_removes_the_boot_unit(systemd_site):
    _module, armed = arm_systemd(systemd_site)
    unit, link = boot_paths(systemd_site)
    assert os.path.exists(str(unit)) and os.path.lexists(str(link))
    found = rollback.confirm(armed.meta['id'], session='x y z 22', state_dir=systemd_site['state'])
    assert found['state'] == 'confirmed'
    assert not os.path.lexists(str(unit)) and not os.path.lexists(str(link))
    # a boot run all the same (its unit was read before the removal): nothing changes
    run_revert(armed, at_boot=True, timeout=30)
    assert systemd_site['target'].read_text() == 'after\n'
    assert rollback.status(armed.meta['id'], systemd_site['state']) == 'confirmed'


def test_the_boot_run_reverts_without_the_lock_holder_and_removes_its_unit(systemd_site):
    """At boot nothing can hold the host lock for the revert to wait on; here the lock is
    held on purpose: the boot run must not wait for it."""
    import fcntl
    _module, armed = arm_systemd(systemd_site)
    unit, link = boot_paths(systemd_site)
    holder = open(rollback.lock_path(), 'a')
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        run_revert(armed, at_boot=True, timeout=30)
    finally:
        holder.close()
    assert systemd_site['target'].read_text() == 'before\n'
    assert rollback.status(armed.meta['id'], systemd_site['state']) == 'reverted'
    assert not os.path.lexists(str(unit)) and not os.path.lexists(str(link))


def test_a_boot_run_finishes_a_revert_that_a_reboot_cut_short(systemd_site):
    _module, armed = arm_systemd(systemd_site)
    os.mkdir(os.path.join(armed.directory, 'claim'))         # the revert had begun...
    with open(os.path.join(armed.directory, 'outcome'), 'w') as handle:
        handle.write('reverting\n')                          # ...and the host went down
    run_revert(armed, at_boot=True, timeout=30)
    assert systemd_site['target'].read_text() == 'before\n'
    assert rollback.status(armed.meta['id'], systemd_site['state']) == 'reverted'


def test_after_a_reboot_a_change_still_armed_is_reverted_never_kept(systemd_site, tmp_path,
                                                                     monkeypatch):
    """The boot unit did not run (whatever the reason): the next run that arms reverts the
    unconfirmed change and applies nothing itself (its plan was made on that state)."""
    boot_id = tmp_path / 'boot_id'
    boot_id.write_text('11111111-1111-1111-1111-111111111111\n')
    monkeypatch.setattr(rollback, 'BOOT_ID', str(boot_id), raising=False)
    _module, first = arm_systemd(systemd_site)
    boot_id.write_text('22222222-2222-2222-2222-222222222222\n')   # rebooted
    with pytest.raises(Fail) as caught:
        arm_systemd(systemd_site)
    message = caught.value.args[0]['msg']
    assert first.meta['id'] in message and 'now reverted' in message
    assert 'rebooted' in message
    assert rollback.status(first.meta['id'], systemd_site['state']) == 'reverted'
    assert systemd_site['target'].read_text() == 'before\n'
    assert len(os.listdir(systemd_site['state'])) == 1      # the refused run armed nothing


def test_a_long_overdue_armed_change_is_reverted_not_abandoned(site):
    _module, first = arm(site, timeout=60)
    rollback._disarm(first.meta)                      # its countdown died
    meta_path = os.path.join(first.directory, 'meta.json')
    import json
    meta = json.load(open(meta_path))
    meta['deadline'] = time.time() - rollback.OVERDUE - 60
    rollback._write(meta_path, json.dumps(meta))
    with pytest.raises(Fail) as caught:
        arm(site, timeout=60)
    assert 'now reverted' in caught.value.args[0]['msg']
    assert rollback.status(first.meta['id'], site['state']) == 'reverted'


@pytest.mark.parametrize('systemd_run', [
    'echo "Failed to start transient timer unit: Transport endpoint is not connected" >&2; exit 1',
    None])
def test_no_timer_under_systemd_refuses_the_change(systemd_site, systemd_run):
    """systemd is PID 1 but systemd-run fails (or is not there): no detached fallback that
    logind may kill; the change is refused and nothing is left armed."""
    path = double(systemd_site['bin'], 'systemd-run-broken', systemd_run) if systemd_run else None
    module = FakeModule({'systemd-run': path})
    with pytest.raises(Fail) as caught:
        rollback.arm(module, FileRecipe(str(systemd_site['target'])), 60,
                     state_dir=systemd_site['state'], use_systemd=True)
    message = caught.value.args[0]['msg']
    assert 'nothing changed' in message and 'jaas_firewall_rollback_timeout' in message
    assert ('systemd-run failed' in message and 'Transport endpoint' in message) if systemd_run \
        else 'systemd-run was not found' in message
    assert os.listdir(systemd_site['state']) == []
    unit, link = boot_paths(systemd_site)
    assert not os.path.lexists(str(unit)) and not os.path.lexists(str(link))
    assert not any('sleep' in ' '.join(argv) for argv in module.commands)
    assert systemd_site['target'].read_text() == 'before\n'


def test_a_countdown_that_cannot_restart_keeps_the_first_one(systemd_site):
    """After the change, a failing systemd-run leaves the first timer (counted from the
    arming) in place: never no countdown at all."""
    module, armed = arm_systemd(systemd_site)
    first_unit = armed.meta['unit']
    module.bins['systemd-run'] = double(systemd_site['bin'], 'systemd-run-2', 'exit 1')
    with pytest.raises(Exit):
        module.exit_json(changed=True)
    assert armed.meta['unit'] == first_unit
    assert any('could not be restarted' in warning for warning in module.warnings)


class BrokenRecipe(FileRecipe):
    def snapshot(self, module, directory):
        return rollback.copy_files([self.path], directory) + ['if then fi']


def test_a_revert_script_that_does_not_parse_refuses_the_change(site):
    module = FakeModule()
    with pytest.raises(Fail) as caught:
        rollback.arm(module, BrokenRecipe(str(site['target'])), 60, state_dir=site['state'],
                     use_systemd=False)
    message = caught.value.args[0]['msg']
    assert 'sh -n' in message and 'nothing changed' in message
    assert os.listdir(site['state']) == []
    assert ['/bin/sh', '-n'] == [argv for argv in module.commands if argv[0] == '/bin/sh'][0][:2]


LISTING = '''table inet jaas {
\tchain output {
\t\ttype filter hook output priority filter; policy accept;
\t}
}
'''


def fake_nft(directory, list_table, check='exit 0', list_tables='exit 0'):
    """nft double: ``list table`` / ``list tables`` / ``-c -f`` run the given bodies; every
    call is logged with the file it was given."""
    return double(directory, 'nft', '''
echo "$@" >> %(dir)s/nft.log
case "$1 $2" in
  "list table") %(list_table)s ;;
  "list tables") %(list_tables)s ;;
  "-c -f") cp "$3" %(dir)s/checked.nft; %(check)s ;;
  *) exit 0 ;;
esac''' % dict(dir=directory, list_table=list_table, list_tables=list_tables, check=check))


def nft_recipe(site):
    return nftables_backend.NftablesRecipe('inet', 'jaas', [str(site['target'])])


def nft_module(site, nft):
    # no systemctl, no resolver service: only the table part is looked at
    return FakeModule({'nft': nft, 'systemctl': None})


def test_nft_check_refuses_a_saved_table_that_would_not_load_back(site, tmp_path):
    nft = fake_nft(tmp_path, "printf '%s'" % LISTING,
                   check='echo "Error: syntax error, unexpected junk" >&2; exit 1')
    with pytest.raises(Fail) as caught:
        rollback.arm(nft_module(site, nft), nft_recipe(site), 60, state_dir=site['state'],
                     use_systemd=False)
    message = caught.value.args[0]['msg']
    assert 'nft -c -f' in message and 'unexpected junk' in message and 'nothing changed' in message
    assert os.listdir(site['state']) == []
    # what was checked is what the revert loads: one transaction, the table as listed
    checked = (tmp_path / 'checked.nft').read_text()
    assert 'table inet jaas {}\ndelete table inet jaas\n' in checked and LISTING in checked


def test_a_failing_table_listing_is_not_read_as_no_table(site, tmp_path):
    """Old behaviour: nft failing looked like 'no table', and the revert deleted ours."""
    nft = fake_nft(tmp_path, 'echo "Error: Could not process rule: Operation not permitted" >&2; '
                             'exit 1', list_tables='echo "table inet jaas"')
    with pytest.raises(Fail) as caught:
        rollback.arm(nft_module(site, nft), nft_recipe(site), 60, state_dir=site['state'],
                     use_systemd=False)
    message = caught.value.args[0]['msg']
    assert 'nft list table inet jaas failed' in message and 'Operation not permitted' in message
    assert 'nothing changed' in message
    assert os.listdir(site['state']) == []


def test_an_absent_table_is_removed_again_by_the_revert(site, tmp_path):
    nft = fake_nft(tmp_path, 'echo "Error: No such file or directory; did you mean table '
                             'foreign in family inet?" >&2; exit 1',
                   list_tables='echo "table inet foreign"')
    module = nft_module(site, nft)
    armed = rollback.arm(module, nft_recipe(site), 60, state_dir=site['state'], use_systemd=False)
    try:
        restore = open(os.path.join(armed.directory, 'nft-inet-jaas.nft')).read()
        assert restore.endswith('table inet jaas {}\ndelete table inet jaas\n')
        assert 'nft -f %s' % os.path.join(armed.directory, 'nft-inet-jaas.nft') in \
            open(os.path.join(armed.directory, 'revert.sh')).read()
    finally:
        rollback.confirm(armed.meta['id'], session='x y z 22', state_dir=site['state'])


def test_a_failing_iptables_save_refuses_the_ufw_snapshot(site, tmp_path):
    save = double(tmp_path, 'iptables-save', 'echo "iptables-save: unable to initialize table" >&2; exit 1')
    module = FakeModule({'iptables-save': save, 'ip6tables-save': None, 'nft': None,
                         'systemctl': None})
    with pytest.raises(Fail) as caught:
        rollback.arm(module, ufw_backend.UfwRecipe([str(site['target'])], active=False), 60,
                     state_dir=site['state'], use_systemd=False)
    message = caught.value.args[0]['msg']
    assert 'iptables-save failed' in message and 'nothing changed' in message
    assert os.listdir(site['state']) == []


def test_the_ufw_domain_files_are_the_ones_the_domain_half_writes():
    from ansible_collections.jaas.firewall.plugins.module_utils import ufw_domains
    expected = {ufw_domains.TABLE_FILE} | set(
        os.path.join(ufw_domains.UFW_DIR, name)
        for name in list(ufw_domains.AFTER_RULES.values()) + list(ufw_domains.OLD_RULES.values()))
    assert set(ufw_backend.UFW_DOMAIN_FILES) == expected
    assert ufw_backend.UFW_DOMAIN_TABLE == ('inet', ufw_domains.TABLE)


# ---------------------------------------------------------------- the resolver in the snapshot

FAKE_SYSTEMCTL = r'''
s=%(dir)s
echo "$@" >> $s/systemctl.log
[ "$1" = --no-block ] && shift
case "$1" in
  show) printf 'ActiveState=%%s\nUnitFileState=%%s\n' "$(cat $s/active)" "$(cat $s/enabled)" ;;
  is-active) [ "$(cat $s/active)" = active ] ;;
  is-enabled) [ "$(cat $s/enabled)" = enabled ] ;;
  enable) echo enabled > $s/enabled ;;
  disable) echo disabled > $s/enabled ;;
  stop) echo inactive > $s/active ;;
  start|restart) echo active > $s/active ;;
esac
'''


class ResolverFileRecipe(FileRecipe):
    def __init__(self, path, resolver):
        FileRecipe.__init__(self, path)
        self.resolver = resolver


@pytest.fixture
def resolver_site(site, tmp_path, monkeypatch):
    """The resolver's files under tmp, a systemctl double keeping the service's state."""
    etc = tmp_path / 'etc'
    (etc / 'units').mkdir(parents=True)
    state = tmp_path / 'svc'
    state.mkdir()
    systemctl = double(tmp_path / 'bin', 'systemctl', FAKE_SYSTEMCTL % {'dir': state})
    monkeypatch.setattr(rollback, '_systemd_running', lambda: True)
    monkeypatch.setattr(rollback, '_PATH', 'PATH=%s:/usr/sbin:/usr/bin:/sbin:/bin; export PATH'
                        % (tmp_path / 'bin'))
    paths = dict(config=etc / 'resolver.conf', state=etc / 'handover.json',
                 resolv=etc / 'resolv.conf', unit=etc / 'units' / 'jaas-firewall-resolver.service',
                 stub=etc / 'stub-resolv.conf', svc=state)
    part = rollback.ResolverPart(files=[str(paths[k]) for k in ('config', 'state', 'resolv')],
                                 unit_file=str(paths['unit']), unit_dir=str(etc / 'units'))
    site.update(paths=paths, part=part, module=FakeModule({'systemctl': systemctl}))
    return site


def service(site, active=None, enabled=None):
    svc = site['paths']['svc']
    if active is not None:
        (svc / 'active').write_text(active + '\n')
        (svc / 'enabled').write_text(enabled + '\n')
    return (svc / 'active').read_text().strip(), (svc / 'enabled').read_text().strip()


def calls(site):
    path = site['paths']['svc'] / 'systemctl.log'
    return path.read_text().splitlines() if path.exists() else []


def test_a_first_hand_over_is_undone_symlink_files_and_service(resolver_site):
    """Before: resolv.conf a symlink (systemd-resolved's stub), no resolver. The change hands
    resolv.conf over and installs and starts the resolver; the revert puts all of it back."""
    site, paths = resolver_site, resolver_site['paths']
    paths['stub'].write_text('nameserver 127.0.0.53\n')
    os.symlink(str(paths['stub']), str(paths['resolv']))
    service(site, 'inactive', '')
    armed = rollback.arm(site['module'], ResolverFileRecipe(str(site['target']), site['part']), 60,
                         state_dir=site['state'], use_systemd=False)
    # the change (what domain_resolver.py does on a hand-over)
    os.unlink(str(paths['resolv']))
    paths['resolv'].write_text('nameserver 127.0.0.153\n')
    for key in ('config', 'state', 'unit'):
        paths[key].write_text('ours\n')
    service(site, 'active', 'enabled')
    before_revert = len(calls(site))
    run_revert(armed)
    assert rollback.status(armed.meta['id'], site['state']) == 'reverted'
    assert os.path.islink(str(paths['resolv'])) and os.readlink(str(paths['resolv'])) == str(paths['stub'])
    assert paths['stub'].read_text() == 'nameserver 127.0.0.53\n'
    assert not any(paths[key].exists() for key in ('config', 'state', 'unit'))
    assert service(site) == ('inactive', 'disabled')
    made = calls(site)[before_revert:]
    assert 'daemon-reload' in made
    # disabled while its unit file still existed (before the files came back)
    assert made.index('disable jaas-firewall-resolver.service') < made.index('daemon-reload')


def test_a_changed_resolver_config_is_restored_and_the_resolver_restarted(resolver_site):
    site, paths = resolver_site, resolver_site['paths']
    paths['config'].write_text('server=198.18.0.53\n')
    paths['unit'].write_text('[Service]\n')
    paths['state'].write_text('{}\n')
    paths['resolv'].write_text('nameserver 127.0.0.153\n')
    os.chmod(str(paths['resolv']), 0o644)
    service(site, 'active', 'enabled')
    armed = rollback.arm(site['module'], ResolverFileRecipe(str(site['target']), site['part']), 60,
                         state_dir=site['state'], use_systemd=False)
    paths['config'].write_text('server=198.18.0.54\n')           # the change
    before_revert = len(calls(site))
    run_revert(armed)
    assert paths['config'].read_text() == 'server=198.18.0.53\n'
    assert paths['resolv'].read_text() == 'nameserver 127.0.0.153\n'
    made = calls(site)[before_revert:]
    assert 'restart jaas-firewall-resolver.service' in made
    assert 'daemon-reload' not in made                          # the unit file did not change
    assert service(site) == ('active', 'enabled')


def test_an_unchanged_resolver_is_left_running(resolver_site):
    site, paths = resolver_site, resolver_site['paths']
    paths['config'].write_text('server=198.18.0.53\n')
    service(site, 'active', 'enabled')
    armed = rollback.arm(site['module'], ResolverFileRecipe(str(site['target']), site['part']), 60,
                         state_dir=site['state'], use_systemd=False)
    before_revert = len(calls(site))
    run_revert(armed)
    made = calls(site)[before_revert:]
    assert not any(call.split()[0] in ('restart', 'stop', 'disable', 'daemon-reload')
                   for call in made), made
    assert site['target'].read_text() == 'before\n'


def test_at_boot_the_resolver_is_stopped_without_waiting_for_its_queued_start(resolver_site):
    """At boot the resolver's start job may be queued behind the boot unit: systemctl must
    not wait for it (--no-block), and a unit file present is enough to stop it."""
    site, paths = resolver_site, resolver_site['paths']
    service(site, 'inactive', '')
    armed = rollback.arm(site['module'], ResolverFileRecipe(str(site['target']), site['part']), 60,
                         state_dir=site['state'], use_systemd=False)
    paths['unit'].write_text('ours\n')
    paths['config'].write_text('ours\n')
    service(site, 'inactive', 'enabled')          # enabled by the change, not started yet
    before_revert = len(calls(site))
    run_revert(armed, at_boot=True)
    made = calls(site)[before_revert:]
    assert '--no-block stop jaas-firewall-resolver.service' in made
    assert not paths['unit'].exists() and service(site) == ('inactive', 'disabled')


def test_the_resolver_part_lists_the_files_of_resolver_files():
    from ansible_collections.jaas.firewall.plugins.module_utils import resolver_files
    part = rollback.ResolverPart()
    assert part.unit_file == resolver_files.UNIT_FILE
    assert part.service == resolver_files.SERVICE
    assert {resolver_files.CONFIG_FILE, resolver_files.STATE_FILE,
            resolver_files.RESOLV_CONF} <= set(part.files)
    for recipe in (ufw_backend.UfwRecipe([], True), firewalld_backend.FirewalldRecipe(True),
                   nftables_backend.NftablesRecipe('inet', 'jaas', [])):
        assert isinstance(recipe.resolver, rollback.ResolverPart)
    assert set(ufw_backend.UFW_DOMAIN_FILES) <= set(ufw_backend.UfwRecipe([], True).resolver.files)


# ---------------------------------------------------------------- issue 21: the light confirmation

SYSTEM_PYTHON = '/usr/bin/python3'  # no ansible installed for it: the script must not need one
ARMING = '198.18.40.1 40000 198.18.40.11 22'   # the site fixture's session that made the change
NEW = '198.18.40.1 40002 198.18.40.11 22'


def run_light(args, session):
    from ansible_collections.jaas.firewall.plugins.plugin_utils import confirm_change
    proc = subprocess.run([SYSTEM_PYTHON, '-I', '-'], input=confirm_change.light_script(args),
                          capture_output=True, text=True, timeout=60,
                          env=dict(PATH=os.environ['PATH'], SSH_CONNECTION=session))
    return proc, confirm_change.light_result(proc.stdout)


@pytest.mark.skipif(not os.path.exists(SYSTEM_PYTHON), reason='needs a python3 without ansible')
def test_the_light_script_confirms_without_ansible_on_the_host(site):
    assert subprocess.call([SYSTEM_PYTHON, '-c', 'import ansible'], stderr=subprocess.DEVNULL) != 0
    _module, armed = arm(site, timeout=60)
    args = dict(rollback_id=armed.meta['id'], state='confirmed', state_dir=site['state'])
    proc, same = run_light(args, ARMING)
    assert same is not None, proc.stderr
    assert same['failed'] and same['rollback_state'] == 'same-connection'
    assert 'made the change' in same['msg']
    assert rollback.status(armed.meta['id'], site['state']) == 'armed'
    proc, found = run_light(args, NEW)
    assert found is not None, proc.stderr
    assert found['rollback_state'] == 'confirmed' and found['changed'] and not found.get('failed')
    assert found['session'] == NEW and found['armed_over'] == ARMING
    assert rollback.status(armed.meta['id'], site['state']) == 'confirmed'
    _proc, query = run_light(dict(args, state='query'), NEW)
    assert query['rollback_state'] == 'confirmed' and not query['changed']


@pytest.mark.skipif(not os.path.exists(SYSTEM_PYTHON), reason='needs a python3 without ansible')
def test_the_light_script_reports_unknown_and_bad_ids(site):
    _proc, found = run_light(dict(rollback_id='20261206T000000-abcdef', state='query',
                                  state_dir=site['state']), NEW)
    assert found['rollback_state'] == 'unknown'
    _proc, bad = run_light(dict(rollback_id='../etc', state_dir=site['state']), NEW)
    assert bad['failed'] and bad['rollback_state'] == 'unknown' and 'not a rollback id' in bad['msg']


def test_the_light_script_takes_every_import_of_rollback_and_nothing_else(tmp_path):
    from ansible_collections.jaas.firewall.plugins.plugin_utils import confirm_change
    prefix = confirm_change.MODULE_UTILS + '.'
    # hand-written: what rollback.py imports of ours, directly or through them
    assert set(confirm_change.light_sources()) == {
        prefix + name for name in ('rollback', 'durable', 'resolver_files', 'connection', 'host_lock')}
    (tmp_path / 'rollback.py').write_text('from %sdurable import x\n' % prefix)
    (tmp_path / 'durable.py').write_text('from ansible.module_utils.basic import AnsibleModule\n')
    with pytest.raises(confirm_change.NotLight, match='durable imports ansible.module_utils.basic'):
        confirm_change.light_sources(str(tmp_path))



@pytest.mark.parametrize('source, found', [
    ('import os, json\n', []),
    ('from ansible_collections.jaas.firewall.plugins.module_utils import durable, resolver_files\n',
     ['durable', 'resolver_files']),
    ('from ansible_collections.jaas.firewall.plugins.module_utils import (\n    durable,\n'
     '    host_lock as lock)\n', ['durable', 'host_lock']),
    ('def f():\n    from ansible_collections.jaas.firewall.plugins.module_utils.connection import x\n',
     ['connection']),
    ('import ansible.module_utils.basic\n', 'imports ansible.module_utils.basic'),
    ('import os, ansible\n', 'imports ansible'),
    ('def f():\n    from ansible.module_utils.common.text import converters\n',
     'imports ansible.module_utils.common.text'),
    ('from . import durable\n', 'relative import'),
])
def test_the_import_scan_finds_ours_and_refuses_any_other_ansible(source, found):
    from ansible_collections.jaas.firewall.plugins.plugin_utils import confirm_change
    if isinstance(found, str):
        with pytest.raises(confirm_change.NotLight, match=found):
            confirm_change._our_imports('x', source)
    else:
        assert confirm_change._our_imports('x', source) == [
            confirm_change.MODULE_UTILS + '.' + name for name in found]


@pytest.mark.parametrize('stdout, found', [
    ('{"rollback_state": "confirmed"}\n', {'rollback_state': 'confirmed'}),
    ('Welcome to the host\n{"rollback_state": "armed"}\n', {'rollback_state': 'armed'}),
    ('{"light_error": "ImportError: no"}\n', None),
    ('Traceback (most recent call last):\n  boom\n', None),
    ('{"rollback_state": \n', None),
    ('', None),
    ('[1, 2]\n', None),
])
def test_only_a_result_line_counts_as_the_scripts_answer(stdout, found):
    from ansible_collections.jaas.firewall.plugins.plugin_utils import confirm_change
    assert confirm_change.light_result(stdout) == found


class FakeAction(object):
    """What confirm_change uses of an action plugin and its connection: commands really run
    here; ``events`` records resets, and each command with the ssh_args it ran with."""

    def __init__(self, interpreter, pipelining=True, transport='ansible.builtin.paramiko_ssh'):
        self._used_interpreter = '#!' + interpreter
        self.pipelining = pipelining
        self.modules = []
        self.commands = []
        self.events = []
        self.transport = transport
        self.options = dict(ssh_args='-C -o ControlMaster=auto -o ControlPersist=60s')
        self._connection = self

    def reset(self):
        self.events.append('reset')

    def get_option(self, name):
        if self.transport.rsplit('.', 1)[-1] != 'ssh':
            raise KeyError(name)
        return self.options[name]

    def set_option(self, name, value):
        self.options[name] = value

    def _is_pipelining_enabled(self, module_style, wrap_async=False):
        return self.pipelining

    def _low_level_execute_command(self, cmd, sudoable=True, in_data=None):
        self.commands.append(cmd)
        self.events.append(('run', self.options['ssh_args']))
        proc = subprocess.run(cmd, shell=True, input=in_data, capture_output=True, text=True,
                              env=dict(PATH=os.environ['PATH'], SSH_CONNECTION=NEW))
        return dict(rc=proc.returncode, stdout=proc.stdout, stderr=proc.stderr)

    def _execute_module(self, module_name, module_args, task_vars):
        self.modules.append((module_name, dict(module_args)))
        self.events.append(('module', self.options['ssh_args']))
        return dict(rollback_state='unknown', failed=True, msg='from the module')


@pytest.mark.skipif(not os.path.exists(SYSTEM_PYTHON), reason='needs a python3 without ansible')
@pytest.mark.parametrize('interpreter, pipelining, used', [
    (SYSTEM_PYTHON, True, 'script'),
    (SYSTEM_PYTHON, False, 'module'),        # no pipelining: as before, the module
    ('/bin/echo', True, 'module'),           # no result from the script: the module
    ('/nonexistent/python3', True, 'module'),
])
def test_the_module_confirms_when_the_script_cannot(interpreter, pipelining, used):
    from ansible_collections.jaas.firewall.plugins.plugin_utils import confirm_change
    action = FakeAction(interpreter, pipelining)
    found = confirm_change._over_new_connection(action, dict(id='20261206T000000-abcdef',
                                                             state='query'), {})
    assert found['confirmed_by'] == used
    assert bool(action.modules) is (used == 'module')
    assert bool(action.commands) is pipelining
    if used == 'module':
        assert action.modules == [(confirm_change.CONFIRM_MODULE,
                                   dict(id='20261206T000000-abcdef', state='query'))]
        # and later attempts of the same task go straight to the module
        confirm_change._over_new_connection(action, dict(id='x', state='query'), {})
        assert len(action.commands) == (1 if pipelining else 0)


SSH_ARGS = '-C -o ControlMaster=auto -o ControlPersist=60s'


@pytest.mark.skipif(not os.path.exists(SYSTEM_PYTHON), reason='needs a python3 without ansible')
def test_on_the_ssh_plugin_the_script_opens_a_connection_of_its_own():
    """ssh takes an option's first value: the script's ssh process neither uses nor becomes
    the play's ControlPersist master, which is left alone (no reset); ssh_args restored."""
    from ansible_collections.jaas.firewall.plugins.plugin_utils import confirm_change
    action = FakeAction(SYSTEM_PYTHON, transport='ansible.builtin.ssh')
    found = confirm_change._over_new_connection(action, dict(id='20261206T000000-abcdef',
                                                             state='query'), {})
    assert found['confirmed_by'] == 'script'
    assert action.events == [('run', '-o ControlMaster=no -o ControlPath=none ' + SSH_ARGS)]
    assert action.options['ssh_args'] == SSH_ARGS


@pytest.mark.skipif(not os.path.exists(SYSTEM_PYTHON), reason='needs a python3 without ansible')
@pytest.mark.parametrize('transport', ['ansible.builtin.ssh', 'ansible.builtin.paramiko_ssh'])
def test_the_module_runs_after_a_reset(transport):
    """The module (several commands without pipelining) goes over a reset connection, with
    the user's own ssh_args; so does everything on other connection plugins."""
    from ansible_collections.jaas.firewall.plugins.plugin_utils import confirm_change
    action = FakeAction('/bin/echo', transport=transport)
    found = confirm_change._over_new_connection(action, dict(id='20261206T000000-abcdef',
                                                             state='query'), {})
    assert found['confirmed_by'] == 'module'
    ssh = transport.endswith('.ssh')
    script_args = '-o ControlMaster=no -o ControlPath=none ' + SSH_ARGS if ssh else SSH_ARGS
    first = [] if ssh else ['reset']
    assert action.events == first + [('run', script_args), 'reset', ('module', SSH_ARGS)]
