# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Confirm-or-revert for firewall changes (documented by the doc fragment ``jaas.firewall.rollback``).

A backend module that is about to change the firewall calls ``arm()`` first (under the
host lock, only when its plan changes something):

1. the backend's state is copied into ``/var/lib/jaas-firewall/rollback/<id>/`` by a
   ``Recipe`` (files, service state, what the kernel needs to look as before), which also
   writes the shell lines that put it back;
2. ``revert.sh`` there is scheduled to run ``timeout`` seconds later *by the host itself*:
   a transient systemd timer (``systemd-run``), or a detached ``sleep`` process where
   systemd is not running. Nothing on the controller is needed for it to fire;
3. the module makes its change and returns ``rollback`` (id, seconds left).

The run then confirms over a brand-new SSH connection (``jaas.firewall.rollback_confirm``):
``confirm()`` checks that the connection is not the one that made the change (a
multiplexed channel of the old connection proves nothing), claims the rollback and stops
the timer. If no confirmation comes, ``revert.sh`` claims it instead and restores the
snapshot. The claim is an atomic ``mkdir``, so exactly one of the two wins.

A module that fails after arming reverts at once (``fail_json`` is wrapped). Python stdlib only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json
import os
import shlex
import shutil
import signal
import subprocess
import tarfile
import time

from ansible_collections.jaas.firewall.plugins.module_utils.connection import ssh_session
from ansible_collections.jaas.firewall.plugins.module_utils.host_lock import lock_path

STATE_DIR = '/var/lib/jaas-firewall/rollback'
UNIT_PREFIX = 'jaas-firewall-rollback-'
MIN_TIMEOUT = 10
MAX_TIMEOUT = 86400
KEEP_RECORDS = 10
# Seconds an armed rollback may be overdue before a new run treats it as lost (a reboot
# drops the transient timer) instead of waiting for it.
OVERDUE = 120

ROLLBACK_ARGUMENT_SPEC = dict(rollback_timeout=dict(type='int', default=0))

_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH'


def q(text):
    return shlex.quote(str(text))


def timeout_problem(timeout):
    """Why ``rollback_timeout`` is unusable, or None (0 = off)."""
    if timeout == 0 or MIN_TIMEOUT <= timeout <= MAX_TIMEOUT:
        return None
    return ('rollback_timeout must be 0 (off) or %d-%d seconds, got %d'
            % (MIN_TIMEOUT, MAX_TIMEOUT, timeout))


# ---------------------------------------------------------------- recipes (one per backend)

class Recipe(object):
    """Snapshots one backend into a directory; returns the shell lines that restore it."""

    backend = None

    def snapshot(self, module, directory):
        raise NotImplementedError


def _save_command(module, command, path):
    """Write ``command``'s output to ``path``; False when the tool is missing or fails."""
    binary = module.get_bin_path(command[0])
    if binary is None:
        return False
    rc, out, _err = module.run_command([binary] + command[1:])
    if rc != 0:
        return False
    with open(path, 'w') as handle:
        handle.write(out)
    return True


def _copy_files(paths, directory):
    """Copy each existing file (mode and times kept); shell lines that write them back."""
    lines = []
    store = os.path.join(directory, 'files')
    os.mkdir(store, 0o700)
    for index, path in enumerate(paths):
        if os.path.isfile(path):
            saved = os.path.join(store, '%d' % index)
            shutil.copy2(path, saved)
            # cp onto the existing file writes in place: owner and inode stay
            lines.append('cp -p %s %s || failed=1' % (q(saved), q(path)))
    return lines


def _unit_enablement(module, unit):
    """Shell lines that disable ``unit`` again if a change enables it (none if enabled now)."""
    systemctl = module.get_bin_path('systemctl')
    if systemctl is None:
        return []
    _rc, out, _err = module.run_command([systemctl, 'is-enabled', unit])
    if out.strip() in ('enabled', 'enabled-runtime', 'alias', 'static', 'generated'):
        return []
    return ['if [ "$(systemctl is-enabled %s 2>/dev/null)" = enabled ]; then systemctl disable %s; '
            'fi || failed=1' % (q(unit), q(unit))]


# Removes what `ufw disable` leaves behind when ufw had never been active: its chains,
# the jumps to them, the built-in policies it reset, and a filter table that only ufw
# created (iptables-nft). Chains of others (Docker...) are not touched.
UFW_LEFTOVERS = r'''
jaas_ufw_leftovers() {  # $1 iptables|ip6tables  $2 nft family  $3 saved iptables-save output
  command -v "$1" >/dev/null 2>&1 || return 0
  sed -n '/^\*filter/,/^COMMIT/p' "$3" > "$3.filter"
  grep -q '^:ufw' "$3.filter" && return 0
  "$1-save" -t filter | sed -n 's/^-A \(INPUT\|OUTPUT\|FORWARD\) -j \(ufw6\{0,1\}-[a-z-]*\)$/\1 \2/p' |
    while read -r chain target; do "$1" -t filter -D "$chain" -j "$target"; done
  for chain in $("$1-save" -t filter | sed -n 's/^:\(ufw6\{0,1\}-[a-z-]*\) .*/\1/p'); do
    "$1" -t filter -F "$chain"
  done
  for chain in $("$1-save" -t filter | sed -n 's/^:\(ufw6\{0,1\}-[a-z-]*\) .*/\1/p'); do
    "$1" -t filter -X "$chain"
  done
  sed -n 's/^:\(INPUT\|OUTPUT\|FORWARD\) \([A-Z]*\) .*/\1 \2/p' "$3.filter" |
    while read -r chain policy; do "$1" -t filter -P "$chain" "$policy"; done
  # (iptables-save -t filter prints an empty filter table even when there is none)
  if ! grep -q '^\*filter' "$3" && ! "$1-save" -t filter | grep -q '^-A ' \
      && "$1" -V 2>/dev/null | grep -q nf_tables; then
    nft delete table "$2" filter
  fi
}
'''


class UfwRecipe(Recipe):
    """ufw: its rules and settings files; ``ufw reload``/``disable`` puts the kernel back."""

    backend = 'ufw'

    def __init__(self, files, active):
        self.files = list(files)
        self.active = active

    def snapshot(self, module, directory):
        lines = _copy_files(self.files, directory)
        if self.active:
            lines.append('if ufw status | grep -q "^Status: active"; then ufw reload; '
                         'else ufw --force enable; fi || failed=1')
            return lines
        lines.append('if ufw status | grep -q "^Status: active"; then ufw --force disable; '
                     'fi || failed=1')
        lines.append(UFW_LEFTOVERS)
        for command, family in (('iptables', 'ip'), ('ip6tables', 'ip6')):
            saved = os.path.join(directory, 'saved-%s' % command)
            if _save_command(module, [command + '-save'], saved):
                lines.append('jaas_ufw_leftovers %s %s %s || failed=1' % (command, family, q(saved)))
        return lines


class FirewalldRecipe(Recipe):
    """firewalld: /etc/firewalld, running and enabled-at-boot state.

    A running firewalld is reloaded from the restored configuration (runtime-only changes
    made outside firewalld's permanent configuration are not kept: the module's own reload
    drops them too). One that was stopped is stopped again, and the iptables tables
    firewalld 1.x flushed when it started are loaded back from the snapshot.
    """

    backend = 'firewalld'

    def __init__(self, running, config_dir='/etc/firewalld'):
        self.running = running
        self.config_dir = config_dir

    def snapshot(self, module, directory):
        archive = os.path.join(directory, 'config.tar')
        parent, name = os.path.split(self.config_dir.rstrip('/'))
        with tarfile.open(archive, 'w') as handle:
            handle.add(self.config_dir, arcname=name)
        staging = os.path.join(parent, '.%s.jaas-rollback' % name)
        lines = ['rm -rf %s && mkdir -m 700 %s && tar -C %s -xpf %s && rm -rf %s && '
                 'mv %s %s && rmdir %s || failed=1'
                 % (q(staging), q(staging), q(staging), q(archive), q(self.config_dir),
                    q(os.path.join(staging, name)), q(self.config_dir), q(staging))]
        lines.extend(_unit_enablement(module, 'firewalld.service'))
        if self.running:
            lines.append('if systemctl is-active -q firewalld.service; then firewall-cmd --reload; '
                         'else systemctl start firewalld.service; fi || failed=1')
            return lines
        lines.append('systemctl stop firewalld.service || failed=1')
        for command in ('iptables', 'ip6tables'):
            saved = os.path.join(directory, 'saved-%s' % command)
            if _save_command(module, [command + '-save'], saved):
                strip = "sed -e '/^#/d' -e 's/\\[[0-9]*:[0-9]*\\]/[0:0]/'"
                lines.append('if [ "$(%s-save | %s)" != "$(%s < %s)" ]; then %s-restore < %s; '
                             'fi || failed=1' % (command, strip, strip, q(saved), command, q(saved)))
        return lines


class NftablesRecipe(Recipe):
    """nftables: our table (deleted or put back as listed), the files that load it at boot
    and the enabled state of the service that does."""

    backend = 'nftables'

    def __init__(self, family, table, files, service='nftables.service'):
        self.family = family
        self.table = table
        self.files = list(files)
        self.service = service

    def snapshot(self, module, directory):
        saved = os.path.join(directory, 'table.nft')
        lines = []
        missing_files = [path for path in self.files if not os.path.exists(path)]
        lines.extend(_copy_files(self.files, directory))
        lines.extend('rm -f %s' % q(path) for path in missing_files)
        existed = _save_command(module, ['nft', 'list', 'table', self.family, self.table], saved)
        delete = ('if nft list table %s %s >/dev/null 2>&1; then nft delete table %s %s; fi'
                  % (q(self.family), q(self.table), q(self.family), q(self.table)))
        if existed:
            lines.append('{ %s; nft -f %s; } || failed=1' % (delete, q(saved)))
        else:
            lines.append('%s || failed=1' % delete)
        lines.extend(_unit_enablement(module, self.service))
        return lines


# ---------------------------------------------------------------- arming

def _new_id():
    return '%s-%s' % (time.strftime('%Y%m%dT%H%M%S', time.gmtime()), os.urandom(3).hex())


def _read_json(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (IOError, OSError, ValueError):
        return None


def _write(path, text, mode=0o600):
    tmp = path + '.tmp'
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, 'w') as handle:
        handle.write(text)
    os.rename(tmp, path)


def _outcome(directory):
    try:
        with open(os.path.join(directory, 'outcome')) as handle:
            return handle.read().strip()
    except (IOError, OSError):
        return None


def record(rollback_id, state_dir=STATE_DIR):
    """(directory, meta dict or None) of one rollback."""
    directory = os.path.join(state_dir, os.path.basename(rollback_id))
    return directory, _read_json(os.path.join(directory, 'meta.json'))


def status(rollback_id, state_dir=STATE_DIR):
    """armed | confirmed | reverting | reverted | revert-failed | abandoned | unknown."""
    directory, meta = record(rollback_id, state_dir)
    if meta is None:
        return 'unknown'
    if not os.path.isdir(os.path.join(directory, 'claim')):
        return 'armed'
    return _outcome(directory) or 'reverting'


def _pending(state_dir, now):
    """An armed rollback of an earlier run still waiting for its confirmation, or None."""
    try:
        names = sorted(os.listdir(state_dir))
    except OSError:
        return None
    for name in names:
        directory, meta = record(name, state_dir)
        if meta is None or status(name, state_dir) != 'armed':
            continue
        if now <= meta['deadline'] + OVERDUE:
            return meta
        # Its timer is gone (the host rebooted before it fired): never fire it later.
        try:
            os.mkdir(os.path.join(directory, 'claim'))
            _write(os.path.join(directory, 'outcome'), 'abandoned\n')
        except OSError:
            pass
    return None


def _prune(state_dir, keep=KEEP_RECORDS):
    try:
        names = sorted(os.listdir(state_dir))
    except OSError:
        return
    for name in names[:-keep] if len(names) > keep else []:
        if status(name, state_dir) in ('confirmed', 'reverted', 'revert-failed', 'abandoned'):
            shutil.rmtree(os.path.join(state_dir, name), ignore_errors=True)


def revert_script(rollback_id, directory, backend, restore_lines, lock):
    return '\n'.join([
        '#!/bin/sh',
        '# jaas.firewall rollback %s (%s): restores the firewall as it was before the run' % (rollback_id, backend),
        '# that armed it, unless that run confirmed its change over a new connection first.',
        _PATH,
        'dir=%s' % q(directory),
        # Waits for a jaas.firewall module run still holding the host lock (not when that
        # module runs this script itself, after failing: it holds the lock already).
        'exec 9>>%s' % q(lock),
        'if [ -z "${JAAS_FIREWALL_LOCK_HELD:-}" ] && command -v flock >/dev/null 2>&1; then',
        '  flock -w 600 9',
        'fi',
        'mkdir "$dir/claim" 2>/dev/null || exit 0',
        'exec >"$dir/revert.log" 2>&1',
        'date +%s > "$dir/started_at"',
        'echo reverting > "$dir/outcome"',
        'failed=0',
        'set -x',
    ] + list(restore_lines) + [
        'set +x',
        'date +%s > "$dir/reverted_at"',
        'if [ "$failed" = 0 ]; then echo reverted > "$dir/outcome.tmp"; '
        'else echo revert-failed > "$dir/outcome.tmp"; fi',
        'mv "$dir/outcome.tmp" "$dir/outcome"',
        'logger -t jaas-firewall "rollback %s: no confirmation within the timeout, %s restored '
        '($(cat "$dir/outcome"))" 2>/dev/null || true' % (rollback_id, backend),
        'exit 0',
        ''])


def _systemd_running():
    return os.path.isdir('/run/systemd/system')


def _schedule(module, rollback_id, script, timeout, use_systemd=None, round_=1):
    """Start the countdown on the host; returns (mechanism, unit or pid)."""
    use_systemd = _systemd_running() if use_systemd is None else use_systemd
    systemd_run = module.get_bin_path('systemd-run') if use_systemd else None
    if systemd_run:
        unit = UNIT_PREFIX + rollback_id + ('' if round_ == 1 else '-%d' % round_)
        rc, out, err = module.run_command([
            systemd_run, '--unit', unit, '--collect',
            '--description', 'jaas.firewall: revert firewall change %s unless confirmed' % rollback_id,
            '--on-active', '%ds' % timeout, '--timer-property', 'AccuracySec=1s',
            '/bin/sh', script])
        if rc == 0:
            return 'systemd', unit
        module.warn('systemd-run failed (%s); the revert countdown runs as a detached process'
                    % (err or out).strip())
    with open(os.devnull, 'r+b') as null:
        process = subprocess.Popen(
            ['/bin/sh', '-c', 'sleep "$1" && exec /bin/sh "$2"', 'jaas-firewall-rollback',
             str(timeout), script],
            stdin=null, stdout=null, stderr=null, close_fds=True, cwd='/',
            start_new_session=True)
    return 'process', process.pid


class Armed(object):
    """A scheduled revert; ``result()`` is what the module returns as ``rollback``."""

    def __init__(self, module, directory, meta, use_systemd=None):
        self.module = module
        self.directory = directory
        self.meta = meta
        self.use_systemd = use_systemd

    def restart(self):
        """The change is made: count the full timeout again from now (the time the run has
        to confirm), then stop the first countdown. Runs under the host lock, so the first
        revert, if already due, is still waiting for the lock and has claimed nothing."""
        first = dict(self.meta)
        timeout = self.meta['timeout']
        mechanism, handle = _schedule(self.module, self.meta['id'],
                                      os.path.join(self.directory, 'revert.sh'), timeout,
                                      self.use_systemd, round_=2)
        self.meta.pop('unit', None)
        self.meta.pop('pid', None)
        self.meta.update(mechanism=mechanism, deadline=time.time() + timeout,
                         changed_at=time.time())
        self.meta['unit' if mechanism == 'systemd' else 'pid'] = handle
        _write(os.path.join(self.directory, 'meta.json'), json.dumps(self.meta))
        _disarm(first)

    def result(self):
        return dict(armed=True, id=self.meta['id'], backend=self.meta['backend'],
                    timeout=self.meta['timeout'], mechanism=self.meta['mechanism'],
                    expires_in=round(max(0.0, self.meta['deadline'] - time.time()), 1),
                    armed_over=self.meta['ssh_connection'])

    def revert_now(self):
        """Claim and run the revert at once (the module failed after arming)."""
        if status(self.meta['id'], os.path.dirname(self.directory)) != 'armed':
            return status(self.meta['id'], os.path.dirname(self.directory))
        subprocess.call(['/bin/sh', os.path.join(self.directory, 'revert.sh')],
                        env=dict(os.environ, JAAS_FIREWALL_LOCK_HELD='1'), timeout=900)
        _disarm(self.meta)
        return status(self.meta['id'], os.path.dirname(self.directory))


def arm(module, recipe, timeout, state_dir=STATE_DIR, use_systemd=None):
    """Snapshot the backend, schedule its revert in ``timeout`` s, hook the module's exits.

    Returns an Armed, or None when ``timeout`` is 0 or in check mode.
    """
    if not timeout or module.check_mode:
        return None
    problem = timeout_problem(timeout)
    if problem:
        module.fail_json(msg='%s; nothing changed' % problem)
    now = time.time()
    pending = _pending(state_dir, now)
    if pending:
        module.fail_json(msg='a firewall change of an earlier jaas.firewall run (rollback %s) is '
                             'still waiting for its confirmation and is reverted in %d s unless '
                             'confirmed; nothing changed. Run again after that.'
                             % (pending['id'], max(0, pending['deadline'] - now)))
    _prune(state_dir)
    rollback_id = _new_id()
    directory = os.path.join(state_dir, rollback_id)
    try:
        os.makedirs(directory, 0o700)
        restore = recipe.snapshot(module, directory)
    except (IOError, OSError, tarfile.TarError) as exc:
        shutil.rmtree(directory, ignore_errors=True)
        module.fail_json(msg='cannot snapshot %s for the rollback in %s: %s; nothing changed'
                             % (recipe.backend, directory, exc))
    script = os.path.join(directory, 'revert.sh')
    _write(script, revert_script(rollback_id, directory, recipe.backend, restore, lock_path()),
           0o700)
    meta = dict(id=rollback_id, backend=recipe.backend, timeout=timeout, armed_at=now,
                deadline=now + timeout, ssh_connection=ssh_session())
    # meta.json first: a revert that fires finds a complete record
    _write(os.path.join(directory, 'meta.json'), json.dumps(meta))
    meta['mechanism'], handle = _schedule(module, rollback_id, script, timeout, use_systemd)
    meta['unit' if meta['mechanism'] == 'systemd' else 'pid'] = handle
    _write(os.path.join(directory, 'meta.json'), json.dumps(meta))
    armed = Armed(module, directory, meta, use_systemd)
    _hook_exits(module, armed)
    return armed


def _hook_exits(module, armed):
    """Every later exit carries ``rollback``; a failure reverts at once."""
    exit_json, fail_json = module.exit_json, module.fail_json

    def exit_with_rollback(**kwargs):
        armed.restart()
        kwargs['rollback'] = armed.result()
        exit_json(**kwargs)

    def fail_and_revert(msg='', **kwargs):
        outcome = armed.revert_now()
        kwargs['rollback'] = dict(armed.result(), armed=False, outcome=outcome)
        fail_json(msg='%s; the firewall was restored as it was before this run (rollback %s: %s)'
                      % (msg, armed.meta['id'], outcome), **kwargs)

    module.exit_json = exit_with_rollback
    module.fail_json = fail_and_revert


# ---------------------------------------------------------------- confirming

def _disarm(meta):
    """Stop the countdown (the claim already keeps it from doing anything)."""
    if meta.get('mechanism') == 'systemd':
        # the service too: a revert that is due waits there for the host lock
        subprocess.call(['systemctl', 'stop', meta['unit'] + '.timer', meta['unit'] + '.service'],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elif meta.get('pid'):
        try:
            # the sleeper, or the revert it became (exec): both name the rollback's directory
            with open('/proc/%d/cmdline' % meta['pid'], 'rb') as handle:
                ours = meta['id'].encode() in handle.read()
            if ours:
                os.killpg(meta['pid'], signal.SIGTERM)
        except (IOError, OSError):
            pass


def _drop_snapshot(directory):
    for name in ('files', 'config.tar', 'table.nft'):
        path = os.path.join(directory, name)
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
        elif os.path.exists(path):
            os.unlink(path)


def confirm(rollback_id, session=None, state_dir=STATE_DIR, wait=30):
    """Claim the rollback for the run: dict(state=..., ...).

    state ``confirmed``: this call disarmed it. ``same-connection``: refused, the call came
    over the connection that made the change. Any other state is what the host did
    (``reverted``...), waiting up to ``wait`` s for a revert in progress to finish.
    """
    directory, meta = record(rollback_id, state_dir)
    if meta is None:
        return dict(state='unknown')
    session = ssh_session() if session is None else session
    if meta.get('ssh_connection') and session == meta['ssh_connection']:
        return dict(state='same-connection', session=session, armed_over=meta['ssh_connection'])
    try:
        os.mkdir(os.path.join(directory, 'claim'))
    except OSError as exc:
        if exc.errno != errno.EEXIST:
            raise
        return settled(rollback_id, state_dir, wait)
    _write(os.path.join(directory, 'outcome'), 'confirmed\n')
    _disarm(meta)
    _drop_snapshot(directory)
    return dict(state='confirmed', session=session, armed_over=meta.get('ssh_connection'),
                seconds_left=round(meta['deadline'] - time.time(), 1))


def settled(rollback_id, state_dir=STATE_DIR, wait=30):
    """The rollback's state once a revert in progress has finished (at most ``wait`` s)."""
    directory, meta = record(rollback_id, state_dir)
    deadline = time.monotonic() + wait
    state = status(rollback_id, state_dir)
    while state == 'reverting' and time.monotonic() < deadline:
        time.sleep(0.5)
        state = status(rollback_id, state_dir)
    found = dict(state=state)
    for name in ('started_at', 'reverted_at'):
        try:
            with open(os.path.join(directory, name)) as handle:
                found[name] = int(handle.read().strip())
        except (IOError, OSError, ValueError):
            pass
    if meta:
        found.update(armed_at=meta['armed_at'], deadline=meta['deadline'], timeout=meta['timeout'])
    if state == 'revert-failed':
        try:
            with open(os.path.join(directory, 'revert.log')) as handle:
                found['revert_log'] = handle.read()[-2000:]
        except (IOError, OSError):
            pass
    return found
