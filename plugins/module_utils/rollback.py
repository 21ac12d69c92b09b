# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Confirm-or-revert for firewall changes (documented by the doc fragment ``jaas.firewall.rollback``).

A backend module that is about to change the firewall calls ``arm()`` first (under the
host lock, only when its plan changes something):

1. the backend's state is copied into ``/var/lib/jaas-firewall/rollback/<id>/`` by a
   ``Recipe`` (files, service state, what the kernel needs to look as before), which also
   writes the shell lines that put it back. Every recipe also covers the domain half's
   local resolver (``ResolverPart``: its files, /etc/resolv.conf, its service). A listing
   that fails (as opposed to "not there") refuses the change;
2. ``revert.sh`` is checked (``sh -n``; each saved nft table with ``nft -c -f``, exactly as
   the revert would load it) and, like the snapshot, fsynced;
3. where systemd is PID 1, a persistent boot unit (``jaas-firewall-rollback-boot.service``,
   enabled, ordered before ``network-pre.target``) runs ``revert.sh`` at the next boot
   unless the change was confirmed first: a reboot inside the window boots into the
   previous firewall (the change itself is already saved for boot);
4. ``revert.sh`` is scheduled to run ``timeout`` seconds later *by the host itself*: a
   transient systemd timer (``systemd-run``). If systemd runs but the timer cannot be
   armed, the change is refused (nothing changed). Only on hosts without systemd as PID 1
   is the countdown a detached ``sleep`` process (it does not survive a reboot there).
   Nothing on the controller is needed for it to fire;
5. the module makes its change and returns ``rollback`` (id, seconds left).

The run then confirms over a brand-new SSH connection (``jaas.firewall.rollback_confirm``):
``confirm()`` checks that the connection is not the one that made the change (a
multiplexed channel of the old connection proves nothing), claims the rollback, stops
the timer and removes the boot unit. If no confirmation comes, ``revert.sh`` claims it
instead and restores the snapshot. The claim is an atomic ``mkdir``, so exactly one of the
two wins.

An armed rollback whose countdown is lost (the host rebooted and the boot unit did not run,
or it is long overdue) is reverted by the next run that arms one, which then stops without
changing anything (its plan was made on the unconfirmed state). It is never kept.

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

from ansible_collections.jaas.firewall.plugins.module_utils import durable, resolver_files
from ansible_collections.jaas.firewall.plugins.module_utils.connection import ssh_session
from ansible_collections.jaas.firewall.plugins.module_utils.host_lock import lock_path

STATE_DIR = '/var/lib/jaas-firewall/rollback'
UNIT_PREFIX = 'jaas-firewall-rollback-'
# The persistent unit that reverts an unconfirmed change at boot (one at a time).
BOOT_UNIT = 'jaas-firewall-rollback-boot.service'
UNIT_DIR = '/etc/systemd/system'
BOOT_TARGET = 'multi-user.target'
MIN_TIMEOUT = 10
MAX_TIMEOUT = 86400
KEEP_RECORDS = 10
# Seconds an armed rollback may be overdue before a new run treats its countdown as lost
# (and reverts it) instead of waiting for it.
OVERDUE = 120
BOOT_ID = '/proc/sys/kernel/random/boot_id'

ROLLBACK_ARGUMENT_SPEC = dict(rollback_timeout=dict(type='int', default=0))

_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH'
_C = {'LC_ALL': 'C'}


class SnapshotError(Exception):
    """The state cannot be saved (or would not load back); nothing was changed."""


class ArmError(Exception):
    """The revert cannot be scheduled on this host; nothing was changed."""


def q(text):
    return shlex.quote(str(text))


def timeout_problem(timeout):
    """Why ``rollback_timeout`` is unusable, or None (0 = off)."""
    if timeout == 0 or MIN_TIMEOUT <= timeout <= MAX_TIMEOUT:
        return None
    return ('rollback_timeout must be 0 (off) or %d-%d seconds, got %d'
            % (MIN_TIMEOUT, MAX_TIMEOUT, timeout))


def _run(module, argv):
    """module.run_command in the C locale (error texts are matched)."""
    try:
        return module.run_command(argv, environ_update=_C)
    except TypeError:  # a test double without environ_update
        return module.run_command(argv)


# ---------------------------------------------------------------- durable files

_fsync_dir = durable.fsync_path


def _write(path, text, mode=0o600):
    """Atomically and durably: temp file, fsync, rename, directory fsync."""
    tmp = path + '.tmp'
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, 'w') as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, mode)
    os.rename(tmp, path)
    _fsync_dir(os.path.dirname(path) or '.')


def _sync_tree(directory):
    """fsync every file and directory below ``directory`` (the snapshot before the change)."""
    for root, dirs, names in os.walk(directory):
        for name in names:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                durable.fsync_path(path)
        _fsync_dir(root)
    _fsync_dir(os.path.dirname(directory.rstrip('/')))


# ---------------------------------------------------------------- recipes: the parts backends use
# (each backend's Recipe lives in its backend module: UfwRecipe in ufw_backend.py,
# FirewalldRecipe in firewalld_backend.py, NftablesRecipe in nftables_backend.py)

class Recipe(object):
    """Snapshots one backend into a directory; returns the shell lines that restore it.

    ``resolver``: a ResolverPart (the domain half's resolver), snapshotted by ``arm()``
    around the recipe's own lines, or None."""

    backend = None
    resolver = None

    def snapshot(self, module, directory):
        raise NotImplementedError


def listing(module, argv, path, absent=None):
    """Write ``argv``'s output to ``path``: True. False when the listing says that what it
    lists does not exist (``absent``: that stderr text), None when the tool is not
    installed. Any other failure raises SnapshotError: a failed listing is never read as
    "nothing there" (the revert would then delete what was there)."""
    binary = module.get_bin_path(argv[0])
    if binary is None:
        return None
    rc, out, err = _run(module, [binary] + argv[1:])
    if rc != 0:
        if absent and absent in (err or ''):
            return False
        raise SnapshotError('%s failed (rc %s): %s' % (' '.join(argv), rc,
                                                       ' '.join((err or out).split())[:300]))
    with open(path, 'w') as handle:
        handle.write(out)
    return True


def _store(directory):
    """A new path for one saved file under ``directory``/files."""
    store = os.path.join(directory, 'files')
    if not os.path.isdir(store):
        os.mkdir(store, 0o700)
    return os.path.join(store, '%d' % len(os.listdir(store)))


def file_lines(paths, directory, remove_missing=True):
    """Shell lines that put each path back as it is now: a regular file (content, mode,
    owner, times; atomic rename, or in place where the path is a mount point), a symlink
    (its target), or - with ``remove_missing`` - nothing (removed again)."""
    lines = []
    for path in paths:
        try:
            info = os.lstat(path)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise
            if remove_missing:
                lines.append('jaas_gone %s || failed=1' % q(path))
            continue
        if os.path.islink(path):
            lines.append('jaas_link %s %s || failed=1' % (q(os.readlink(path)), q(path)))
        elif os.path.isfile(path):
            saved = _store(directory)
            shutil.copy2(path, saved)
            try:
                os.chown(saved, info.st_uid, info.st_gid)
            except OSError:
                pass
            lines.append('jaas_put %s %s || failed=1' % (q(saved), q(path)))
    return lines


def copy_files(paths, directory):
    """Each existing file (mode, owner and times kept) back as it is; missing ones are left."""
    return file_lines(paths, directory, remove_missing=False)


def unit_enablement(module, unit):
    """Shell lines that disable ``unit`` again if a change enables it (none if enabled now)."""
    systemctl = module.get_bin_path('systemctl')
    if systemctl is None:
        return []
    rc, out, err = _run(module, [systemctl, 'is-enabled', unit])
    state = out.strip()
    if not state:
        if 'No such file or directory' not in (err or '') and 'not-found' not in (err or ''):
            raise SnapshotError('systemctl is-enabled %s failed (rc %s): %s'
                                % (unit, rc, ' '.join((err or '').split())[:300]))
        state = 'not-found'
    if state in ('enabled', 'enabled-runtime', 'alias', 'static', 'generated'):
        return []
    return ['if [ "$(systemctl is-enabled %s 2>/dev/null)" = enabled ]; then systemctl disable %s; '
            'fi || failed=1' % (q(unit), q(unit))]


def nft_table(module, directory, family, table, required=True):
    """Save nft table ``family table`` as the revert loads it back: one file, one
    transaction that creates the table (empty), deletes it and declares it as listed - or
    only the first two when it does not exist now (the revert then removes one the change
    made). Checked here with ``nft -c -f``. A listing error is not absence: it raises
    SnapshotError. ``required=False`` (a table of the domain half): without nft, or without
    nftables in the kernel (``nft list tables`` fails too), there is no line at all."""
    nft = module.get_bin_path('nft')
    if nft is None:
        if required:
            raise SnapshotError('nft is not installed')
        return []
    rc, out, err = _run(module, [nft, 'list', 'table', family, table])
    if rc == 0:
        listing = out
    else:
        rc_tables, tables, err_tables = _run(module, [nft, 'list', 'tables', family])
        named = 'table %s %s' % (family, table)
        if rc_tables == 0 and 'No such file or directory' in (err or '') and \
                named not in [line.strip() for line in tables.splitlines()]:
            listing = None
        elif rc_tables != 0 and not required:
            return []
        else:
            raise SnapshotError('nft list table %s %s failed (rc %s): %s' % (
                family, table, rc, ' '.join((err or out or err_tables).split())[:300]))
    saved = os.path.join(directory, 'nft-%s-%s.nft' % (family, table))
    text = ('# jaas.firewall rollback: table %s %s as it was before the change (%s)\n'
            'table %s %s {}\ndelete table %s %s\n'
            % (family, table, 'listed' if listing is not None else 'absent',
               family, table, family, table))
    with open(saved, 'w') as handle:
        handle.write(text + (listing or ''))
    rc, out, err = _run(module, [nft, '-c', '-f', saved])
    if rc != 0:
        raise SnapshotError('the saved table %s %s would not load back (nft -c -f %s): %s'
                            % (family, table, saved, ' '.join((err or out).split())[:300]))
    return ['nft -f %s || failed=1' % q(saved)]


class ResolverPart(object):
    """The domain half's local resolver (module_utils/resolver_files.py): its config, unit
    and hand-over record, /etc/resolv.conf (a symlink stays a symlink), ``extra_files`` of
    the backend's domain half, and the service's enabled and active state.

    ``snapshot()`` returns (lines run before the recipe's, lines run after): a resolver that
    was not running/enabled is stopped/disabled first (while its unit file still exists);
    files come back next; after the firewall, systemd is reloaded when the unit file
    changed and a resolver that ran is restarted when anything of it changed."""

    def __init__(self, extra_files=(), service=resolver_files.SERVICE,
                 unit_file=resolver_files.UNIT_FILE, files=None, unit_dir=None):
        self.service = service
        self.unit_file = unit_file
        self.files = list(files if files is not None else (
            resolver_files.CONFIG_FILE, resolver_files.STATE_FILE, resolver_files.RESOLV_CONF)
            + tuple(getattr(resolver_files, 'ROLLBACK_FILES', ()))) + list(extra_files)
        self.unit_dir = unit_dir

    def _service_state(self, module):
        """(active, enabled) or None where systemd does not run services."""
        systemctl = module.get_bin_path('systemctl')
        if systemctl is None or not _systemd_running():
            return None
        rc, out, err = _run(module, [systemctl, 'show', '-p', 'ActiveState', '-p',
                                     'UnitFileState', self.service])
        if rc != 0:
            raise SnapshotError('systemctl show %s failed (rc %s): %s'
                                % (self.service, rc, ' '.join((err or out).split())[:300]))
        values = dict(line.split('=', 1) for line in out.splitlines() if '=' in line)
        return (values.get('ActiveState') in ('active', 'activating', 'reloading'),
                values.get('UnitFileState') == 'enabled')

    def snapshot(self, module, directory):
        state = self._service_state(module)
        svc = q(self.service)
        wants = q(os.path.join(self.unit_dir or UNIT_DIR, BOOT_TARGET + '.wants', self.service))
        before, after = [], []
        if state is not None:
            active, enabled = state
            if not enabled:
                before.append('if systemctl is-enabled -q %s 2>/dev/null; then systemctl '
                              'disable %s; fi || failed=1' % (svc, svc))
            if not active:
                # at boot its start job may be queued already: stop cancels it
                before.append('if systemctl is-active -q %s || { [ -n "$at_boot" ] && '
                              '[ -e %s ]; }; then $SC stop %s; fi || failed=1'
                              % (svc, q(self.unit_file), svc))
        files = ['jaas_changed=0'] + file_lines([self.unit_file], directory) + [
            'resolver_unit_changed=$jaas_changed', 'jaas_changed=0'] + \
            file_lines(self.files, directory) + ['resolver_changed=$jaas_changed']
        if state is not None:
            active, enabled = state
            after.append('if [ "$resolver_unit_changed" = 1 ]; then systemctl daemon-reload; '
                         'fi || failed=1')
            after.append('if [ -L %s ] && [ ! -e %s ]; then rm -f %s; fi' % (wants, wants, wants))
            if enabled:
                after.append('if ! systemctl is-enabled -q %s 2>/dev/null; then systemctl '
                             'enable %s; fi || failed=1' % (svc, svc))
            if active:
                after.append('if [ "$resolver_unit_changed$resolver_changed" != 00 ] || ! '
                             'systemctl is-active -q %s; then $SC restart %s; fi || failed=1'
                             % (svc, svc))
        return before + files, after


# ---------------------------------------------------------------- records

def _new_id():
    return '%s-%s' % (time.strftime('%Y%m%dT%H%M%S', time.gmtime()), os.urandom(3).hex())


def _read_json(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (IOError, OSError, ValueError):
        return None


def _outcome(directory):
    try:
        with open(os.path.join(directory, 'outcome')) as handle:
            return handle.read().strip()
    except (IOError, OSError):
        return None


def _boot_id():
    try:
        with open(BOOT_ID) as handle:
            return handle.read().strip() or None
    except (IOError, OSError):
        return None


def record(rollback_id, state_dir=STATE_DIR):
    """(directory, meta dict or None) of one rollback."""
    directory = os.path.join(state_dir, os.path.basename(rollback_id))
    return directory, _read_json(os.path.join(directory, 'meta.json'))


def status(rollback_id, state_dir=STATE_DIR):
    """armed | confirmed | reverting | reverted | revert-failed | unknown (``abandoned``:
    records of releases that kept a change whose countdown was lost)."""
    directory, meta = record(rollback_id, state_dir)
    if meta is None:
        return 'unknown'
    if not os.path.isdir(os.path.join(directory, 'claim')):
        return 'armed'
    return _outcome(directory) or 'reverting'


def _armed(state_dir):
    """[(directory, meta)] of the rollbacks still armed, oldest first."""
    try:
        names = sorted(os.listdir(state_dir))
    except OSError:
        return []
    found = []
    for name in names:
        directory, meta = record(name, state_dir)
        if meta is not None and status(name, state_dir) == 'armed':
            found.append((directory, meta))
    return found


def _lost(meta, now, boot_id):
    """Why an armed rollback's countdown is gone, or None while it still runs."""
    if meta.get('boot_id') and boot_id and meta['boot_id'] != boot_id:
        return 'the host rebooted after it was armed and the boot unit did not revert it'
    if now > meta['deadline'] + OVERDUE:
        return 'its countdown is %d s overdue' % (now - meta['deadline'])
    return None


def _pending(state_dir, now):
    """An armed rollback of an earlier run still waiting for its confirmation, or None."""
    boot_id = _boot_id()
    for _directory, meta in _armed(state_dir):
        if not _lost(meta, now, boot_id):
            return meta
    return None


def _revert_lost(state_dir, now):
    """Revert every armed rollback whose countdown is lost (never keep an unconfirmed change).
    Runs under the host lock; returns [(id, why, outcome)]."""
    boot_id = _boot_id()
    done = []
    for directory, meta in _armed(state_dir):
        why = _lost(meta, now, boot_id)
        if why:
            subprocess.call(['/bin/sh', os.path.join(directory, 'revert.sh')],
                            env=dict(os.environ, JAAS_FIREWALL_LOCK_HELD='1'), timeout=900)
            _remove_boot_unit(directory)
            done.append((meta['id'], why, status(meta['id'], state_dir)))
    return done


def _prune(state_dir, keep=KEEP_RECORDS):
    try:
        names = sorted(os.listdir(state_dir))
    except OSError:
        return
    for name in names[:-keep] if len(names) > keep else []:
        if status(name, state_dir) in ('confirmed', 'reverted', 'revert-failed', 'abandoned'):
            shutil.rmtree(os.path.join(state_dir, name), ignore_errors=True)


# ---------------------------------------------------------------- revert.sh and the boot unit

# Shell functions the restore lines use (files of file_lines).
SCRIPT_FUNCTIONS = r'''
jaas_put() {  # $1 saved copy  $2 path: $2 as saved (atomic rename; in place on a mount point)
  if [ ! -L "$2" ] && cmp -s "$1" "$2"; then return 0; fi
  jaas_changed=1
  mkdir -p "$(dirname "$2")" && rm -f "$2.jaas-rollback" && cp -p "$1" "$2.jaas-rollback" || return 1
  if [ -e "$2" ] && [ ! -L "$2" ]; then chcon --reference="$2" "$2.jaas-rollback" 2>/dev/null; fi
  mv -f "$2.jaas-rollback" "$2" 2>/dev/null && return 0
  rm -f "$2.jaas-rollback"
  cat "$1" > "$2"
}
jaas_link() {  # $1 target  $2 path: $2 a symlink to $1 again
  if [ -L "$2" ] && [ "$(readlink "$2")" = "$1" ]; then return 0; fi
  jaas_changed=1
  rm -f "$2.jaas-rollback" && ln -s "$1" "$2.jaas-rollback" && mv -fT "$2.jaas-rollback" "$2"
}
jaas_gone() {  # $1 path that did not exist before the change
  if [ ! -e "$1" ] && [ ! -L "$1" ]; then return 0; fi
  jaas_changed=1
  rm -f "$1"
}
'''


def _boot_paths(unit_dir=None):
    """(unit file, its enabling symlink) of the boot unit."""
    unit_dir = unit_dir or UNIT_DIR
    return (os.path.join(unit_dir, BOOT_UNIT),
            os.path.join(unit_dir, BOOT_TARGET + '.wants', BOOT_UNIT))


def boot_unit_text(rollback_id, script):
    """The persistent unit that runs ``script`` at boot: the firewall comes up as before the
    unconfirmed change (after the firewall services, before the network)."""
    return '\n'.join([
        '# Written by jaas.firewall when it armed rollback %s; removed when that change is' % rollback_id,
        '# confirmed or reverted. At boot it reverts the change unless it was confirmed first.',
        '[Unit]',
        'Description=jaas.firewall: revert the unconfirmed firewall change %s at boot' % rollback_id,
        'After=local-fs.target nftables.service ufw.service firewalld.service',
        'Before=network-pre.target',
        'Wants=network-pre.target',
        'ConditionPathExists=%s' % script,
        '',
        '[Service]',
        'Type=oneshot',
        'Environment=JAAS_FIREWALL_AT_BOOT=1',
        'ExecStart=/bin/sh %s' % script,
        'TimeoutStartSec=900',
        '',
        '[Install]',
        'WantedBy=%s' % BOOT_TARGET,
        ''])


def _install_boot_unit(rollback_id, script, unit_dir=None):
    """Write and enable the boot unit (the enabling symlink as ``systemctl enable`` makes it,
    without reloading systemd: it only matters at the next boot). Atomic and fsynced."""
    unit, link = _boot_paths(unit_dir)
    _write(unit, boot_unit_text(rollback_id, script), 0o644)
    wants = os.path.dirname(link)
    if not os.path.isdir(wants):
        os.makedirs(wants, 0o755)
        _fsync_dir(os.path.dirname(wants))
    temp = link + '.tmp'
    if os.path.lexists(temp):
        os.unlink(temp)
    os.symlink(unit, temp)
    os.rename(temp, link)
    _fsync_dir(wants)
    return unit


def _remove_boot_unit(directory, unit_dir=None):
    """Remove the boot unit if it still runs this rollback's revert.sh; True when removed."""
    unit, link = _boot_paths(unit_dir)
    try:
        with open(unit) as handle:
            ours = os.path.join(directory, 'revert.sh') in handle.read()
    except (IOError, OSError):
        return False
    if not ours:
        return False
    for path in (link, unit):
        try:
            os.unlink(path)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise
        _fsync_dir(os.path.dirname(path))
    return True


def revert_script(rollback_id, directory, backend, restore_lines, lock, boot_unit=None):
    """revert.sh. ``boot_unit``: (unit file, link) to remove once the rollback is settled."""
    boot_off = ['jaas_boot_unit_off() { :; }']
    if boot_unit:
        boot_off = ['jaas_boot_unit_off() {  # the boot unit, while it is still this rollback\'s',
                    '  if grep -qsF "$dir/revert.sh" %s; then rm -f %s %s; fi'
                    % (q(boot_unit[0]), q(boot_unit[1]), q(boot_unit[0])),
                    '}']
    return '\n'.join([
        '#!/bin/sh',
        '# jaas.firewall rollback %s (%s): restores the firewall as it was before the run' % (rollback_id, backend),
        '# that armed it, unless that run confirmed its change over a new connection first.',
        _PATH,
        'dir=%s' % q(directory),
    ] + boot_off + [
        'at_boot="${JAAS_FIREWALL_AT_BOOT:-}"',
        'if [ -n "$at_boot" ]; then',
        # Run by the boot unit: no module runs yet (nothing holds the host lock), and units
        # ordered after this one must not be waited for.
        '  SC="systemctl --no-block"',
        'else',
        '  SC=systemctl',
        # Waits for a jaas.firewall module run still holding the host lock (not when that
        # module runs this script itself, after failing: it holds the lock already).
        '  exec 9>>%s' % q(lock),
        '  if [ -z "${JAAS_FIREWALL_LOCK_HELD:-}" ] && command -v flock >/dev/null 2>&1; then',
        '    flock -w 600 9',
        '  fi',
        'fi',
        'if ! mkdir "$dir/claim" 2>/dev/null; then',
        # settled (confirmed, reverted) - or a revert that a reboot cut short: finished at boot
        '  if [ -z "$at_boot" ] || [ "$(cat "$dir/outcome" 2>/dev/null)" != reverting ]; then',
        '    jaas_boot_unit_off',
        '    exit 0',
        '  fi',
        'fi',
        'exec >>"$dir/revert.log" 2>&1',
        'date +%s > "$dir/started_at"',
        'echo reverting > "$dir/outcome"',
        'failed=0',
        'jaas_changed=0',
        SCRIPT_FUNCTIONS,
        'set -x',
    ] + list(restore_lines) + [
        'set +x',
        'date +%s > "$dir/reverted_at"',
        'if [ "$failed" = 0 ]; then echo reverted > "$dir/outcome.tmp"; '
        'else echo revert-failed > "$dir/outcome.tmp"; fi',
        'mv "$dir/outcome.tmp" "$dir/outcome"',
        'jaas_boot_unit_off',
        'sync',
        'logger -t jaas-firewall "rollback %s: no confirmation%s, %s restored '
        '($(cat "$dir/outcome"))" 2>/dev/null || true'
        % (rollback_id, '${at_boot:+ before a reboot}', backend),
        'exit 0',
        ''])


def _check_script(module, script):
    """``sh -n``: a revert script that does not parse refuses the change."""
    rc, out, err = _run(module, ['/bin/sh', '-n', script])
    if rc != 0:
        raise SnapshotError('%s does not parse (sh -n): %s'
                            % (script, ' '.join((err or out).split())[:300]))


# ---------------------------------------------------------------- arming

def _systemd_running():
    return os.path.isdir('/run/systemd/system')


def _schedule(module, rollback_id, script, timeout, use_systemd=None, round_=1):
    """Start the countdown on the host; returns (mechanism, unit or pid). Where systemd is
    PID 1 only a systemd timer will do (ArmError otherwise): a detached process may be killed
    with the session (logind) and is not supervised."""
    use_systemd = _systemd_running() if use_systemd is None else use_systemd
    if use_systemd:
        systemd_run = module.get_bin_path('systemd-run')
        if not systemd_run:
            raise ArmError('systemd runs on this host but systemd-run was not found')
        unit = UNIT_PREFIX + rollback_id + ('' if round_ == 1 else '-%d' % round_)
        rc, out, err = module.run_command([
            systemd_run, '--unit', unit, '--collect',
            '--description', 'jaas.firewall: revert firewall change %s unless confirmed' % rollback_id,
            '--on-active', '%ds' % timeout, '--timer-property', 'AccuracySec=1s',
            '/bin/sh', script])
        if rc != 0:
            raise ArmError('systemd-run failed (rc %s): %s'
                           % (rc, ' '.join((err or out).split())[:300]))
        return 'systemd', unit
    # No systemd as PID 1 (containers with another init, ...): a detached countdown.
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
        revert, if already due, is still waiting for the lock and has claimed nothing. If
        the new countdown cannot be armed, the first one stays."""
        first = dict(self.meta)
        timeout = self.meta['timeout']
        try:
            mechanism, handle = _schedule(self.module, self.meta['id'],
                                          os.path.join(self.directory, 'revert.sh'), timeout,
                                          self.use_systemd, round_=2)
        except ArmError as exc:
            self.module.warn('rollback %s: the revert countdown could not be restarted after the '
                             'change (%s); the first one stays: the host reverts %d s after it '
                             'was armed unless the change is confirmed'
                             % (self.meta['id'], exc, timeout))
            return
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


def _discard(directory):
    """Undo an arming that did not complete (before any change)."""
    try:
        _remove_boot_unit(directory)
    except OSError:
        pass
    shutil.rmtree(directory, ignore_errors=True)


def arm(module, recipe, timeout, state_dir=STATE_DIR, use_systemd=None):
    """Snapshot the backend, schedule its revert in ``timeout`` s, hook the module's exits.

    Returns an Armed, or None when ``timeout`` is 0 or in check mode. Fails (nothing
    changed) when the snapshot, its check or the countdown cannot be made. ``timeout`` is
    checked by the caller (converge.run: ``timeout_problem``).
    """
    if not timeout or module.check_mode:
        return None
    now = time.time()
    reverted = _revert_lost(state_dir, now)
    if reverted:
        module.fail_json(changed=True, msg=(
            'an unconfirmed firewall change of an earlier jaas.firewall run was still in place '
            '(%s); it is now reverted. Nothing of this run was applied (it was planned on that '
            'state): run again.' % '; '.join('rollback %s: %s, %s' % item for item in reverted)))
    pending = _pending(state_dir, now)
    if pending:
        module.fail_json(msg='a firewall change of an earlier jaas.firewall run (rollback %s) is '
                             'still waiting for its confirmation and is reverted in %d s unless '
                             'confirmed; nothing changed. Run again after that.'
                             % (pending['id'], max(0, pending['deadline'] - now)))
    use_systemd = _systemd_running() if use_systemd is None else use_systemd
    _prune(state_dir)
    rollback_id = _new_id()
    directory = os.path.join(state_dir, rollback_id)
    script = os.path.join(directory, 'revert.sh')
    boot = _boot_paths() if use_systemd else None
    try:
        os.makedirs(directory, 0o700)
        restore = recipe.snapshot(module, directory)
        if recipe.resolver is not None:
            before, after = recipe.resolver.snapshot(module, directory)
            restore = before + list(restore) + after
        _write(script, revert_script(rollback_id, directory, recipe.backend, restore,
                                     lock_path(), boot), 0o700)
        _check_script(module, script)
        meta = dict(id=rollback_id, backend=recipe.backend, timeout=timeout, armed_at=now,
                    deadline=now + timeout, ssh_connection=ssh_session(), boot_id=_boot_id(),
                    boot_unit=boot[0] if boot else None)
        # meta.json first: a revert that fires finds a complete record
        _write(os.path.join(directory, 'meta.json'), json.dumps(meta))
        _sync_tree(directory)
        if boot:
            _install_boot_unit(rollback_id, script)
    except (IOError, OSError, tarfile.TarError, SnapshotError) as exc:
        _discard(directory)
        module.fail_json(msg='cannot snapshot %s for the rollback in %s: %s; nothing changed'
                             % (recipe.backend, directory, exc))
    try:
        meta['mechanism'], handle = _schedule(module, rollback_id, script, timeout, use_systemd)
    except ArmError as exc:
        _discard(directory)
        module.fail_json(msg='jaas_firewall_rollback_timeout (rollback_timeout=%d): the revert '
                             'countdown cannot be armed: %s; nothing changed (there is no '
                             'unsupervised fallback under systemd)' % (timeout, exc))
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
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        if name == 'files' and os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
        elif name == 'config.tar' or name.endswith('.nft') or name.startswith('saved-'):
            os.unlink(path)


def confirm(rollback_id, session=None, state_dir=STATE_DIR, wait=30):
    """Claim the rollback for the run: dict(state=..., ...).

    state ``confirmed``: this call disarmed it (countdown stopped, boot unit removed).
    ``same-connection``: refused, the call came over the connection that made the change.
    Any other state is what the host did (``reverted``...), waiting up to ``wait`` s for a
    revert in progress to finish.
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
    _remove_boot_unit(directory)
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


def _bad_id(rollback_id):
    return (not rollback_id or rollback_id != rollback_id.strip() or '/' in rollback_id
            or rollback_id.startswith('.'))


def confirm_result(rollback_id, state='confirmed', wait=30, check_mode=False, state_dir=STATE_DIR):
    """The result of ``jaas.firewall.rollback_confirm`` (``failed`` and ``msg`` included), for
    the module and for the controller's light confirmation (plugins/plugin_utils/confirm_change.py),
    which runs this file with its stdlib-only imports and no AnsiballZ."""
    if _bad_id(rollback_id):
        return dict(failed=True, changed=False, rollback_state='unknown',
                    msg='id %r is not a rollback id' % rollback_id)
    if state == 'query' or check_mode:
        found = settled(rollback_id, state_dir, wait=wait)
        state = found.pop('state')
        return dict(found, changed=False, rollback_state=state)
    found = confirm(rollback_id, state_dir=state_dir, wait=wait)
    state = found.pop('state')
    if state == 'confirmed':
        return dict(found, changed=True, rollback_state=state,
                    msg='rollback %s disarmed: the change is kept' % rollback_id)
    messages = {
        'unknown': 'no rollback %s on this host' % rollback_id,
        'same-connection': 'not confirmed: this call came over the SSH connection that made the '
                           'change (%s), which proves nothing about new connections; run '
                           'meta: reset_connection first' % found.get('session'),
        'reverted': 'rollback %s: the host already restored the firewall as it was before the '
                    'change (no confirmation in time)' % rollback_id,
        'revert-failed': 'rollback %s: the host tried to restore the firewall and a step failed '
                         '(see revert.log in %s)' % (rollback_id, state_dir),
        'abandoned': 'rollback %s was abandoned by an earlier release (its timer was lost, e.g. by a '
                     'reboot)' % rollback_id,
        'reverting': 'rollback %s: the host is restoring the firewall' % rollback_id,
    }
    return dict(found, failed=True, changed=False, rollback_state=state,
                msg=messages.get(state, 'rollback %s: %s' % (rollback_id, state)))
