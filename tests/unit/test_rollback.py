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


class Exit(Exception):
    pass


class Fail(Exception):
    pass


class FakeModule(object):
    """What rollback.py uses of AnsibleModule, running real commands."""

    check_mode = False

    def __init__(self):
        self.warnings = []

    def get_bin_path(self, name, required=False):
        return shutil.which(name)

    def run_command(self, argv):
        proc = subprocess.run(argv, capture_output=True, text=True)
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
        return rollback._copy_files([self.path], directory)


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
