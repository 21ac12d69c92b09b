# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller half of confirm-or-revert (host half: plugins/module_utils/rollback.py).

Called by the backend action plugin in the same task, right after a backend module armed
a rollback, so the confirmation follows the change on that host at once (a separate task
would wait for every other host's change first and could miss the deadline):

1. confirm over a brand-new connection: the host refuses a confirmation that comes over the
   connection that made the change. On the ssh plugin the confirmation's ssh process opens a
   connection of its own (``OWN_CONNECTION``: no ControlPersist master used or created, so the
   play's master stays for its next tasks); on other plugins, and before the module, the
   connection is reset (``reset()`` stops the ControlPersist master).
   With pipelining (the common case) the confirmation is a stdlib-only script: ``rollback.py``
   and its imports (found by a scan of their import lines) piped into ``python3 -I -``
   (``light_script()``). No AnsiballZ and no ``ansible.module_utils.basic`` on the host:
   about 0.13 s less host CPU per host on every first apply. Without pipelining, or if the
   script does not answer with a result, ``jaas.firewall.rollback_confirm`` runs the same
   function (``rollback.confirm_result``) as a module;
2. while the host cannot be reached, try again until its revert deadline;
3. past the deadline, wait (a bounded grace) for the host to come back after restoring
   its snapshot, and fail the task with a message that says it rolled back.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import time

from ansible.errors import AnsibleConnectionFailure
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.jaas.firewall.plugins.module_utils import rollback as host_rollback
from ansible_collections.jaas.firewall.plugins.module_utils.rollback import MAX_TIMEOUT, MIN_TIMEOUT

CONFIRM_MODULE = 'jaas.firewall.rollback_confirm'
TIMEOUT_RANGE = (MIN_TIMEOUT, MAX_TIMEOUT)  # what the module accepts
# After the host's deadline: time for the revert to run and sshd to answer again.
GRACE = 45
RETRY_PAUSE = 2.0
HOST_GONE_BACK = ('reverted', 'revert-failed', 'abandoned')


def timeout_problem(value):
    """On the controller, before anything reaches the host: why a ``rollback_timeout``
    (role variable jaas_firewall_rollback_timeout) is unusable, or None."""
    if value in (None, '', 0, '0'):
        return None
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        seconds = None
    if seconds is not None and str(seconds) == str(value).strip() and (
            seconds == 0 or TIMEOUT_RANGE[0] <= seconds <= TIMEOUT_RANGE[1]):
        return None
    return ('jaas_firewall_rollback_timeout (rollback_timeout) must be 0 (off) or %d-%d '
            'seconds, got %r; nothing reached the host' % (TIMEOUT_RANGE + (value,)))


MODULE_UTILS = 'ansible_collections.jaas.firewall.plugins.module_utils'
FOREIGN_ROOTS = ('ansible', 'ansible_collections')

# The light confirmation: our module_utils sources served to ``import`` from a dict by a
# meta path finder, then rollback.confirm_result(**ARGS) printed as one JSON line.
SCRIPT = """import importlib.abc, importlib.util, json, sys
SOURCES = %(sources)s
PACKAGES = %(packages)s
ARGS = %(args)s


class Sources(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):
        if name in SOURCES or name in PACKAGES:
            return importlib.util.spec_from_loader(name, self, is_package=name in PACKAGES)
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        if module.__name__ in SOURCES:
            exec(compile(SOURCES[module.__name__], module.__name__, 'exec'), module.__dict__)


sys.meta_path.insert(0, Sources())
try:
    from %(prefix)s.rollback import confirm_result
    result = confirm_result(**ARGS)
except Exception as exc:
    result = dict(light_error='%%s: %%s' %% (type(exc).__name__, exc))
print(json.dumps(result))
"""


class NotLight(Exception):
    """A module_utils file the confirmation needs imports something beyond the stdlib."""


# Every import statement, at any indentation: ``from X import a, b`` (also in parentheses over
# several lines) or ``import X, Y``. A regular expression, not ast: the action plugin builds
# the script in each host's worker process, and ast.parse of these files costs about 15 ms.
IMPORTS = re.compile(r'^[ \t]*(?:from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#]*)'
                     r'|import[ \t]+([^\n#]*))', re.M)


def _our_imports(name, source):
    """Full names of our module_utils that ``source`` imports; NotLight on any other
    ansible import (the script has no ansible on the host) or a relative one."""
    found = []
    for module, names, plain in IMPORTS.findall(source):
        if plain:
            for alias in plain.split(','):
                words = alias.split()
                if words and words[0].split('.')[0] in FOREIGN_ROOTS:
                    raise NotLight('%s imports %s' % (name, words[0]))
            continue
        if module.startswith('.'):
            raise NotLight('%s has a relative import' % name)
        if module == MODULE_UTILS:
            found.extend('%s.%s' % (MODULE_UTILS, alias.split()[0])
                         for alias in names.strip('()').split(',') if alias.split())
        elif module.startswith(MODULE_UTILS + '.'):
            found.append(module)
        elif module.split('.')[0] in FOREIGN_ROOTS:
            raise NotLight('%s imports %s' % (name, module))
    return found


def light_sources(directory=None):
    """{full module name: source} of rollback.py and everything of ours it imports."""
    directory = directory or os.path.dirname(os.path.abspath(host_rollback.__file__))
    sources = {}
    todo = [MODULE_UTILS + '.rollback']
    while todo:
        name = todo.pop()
        if name in sources:
            continue
        path = os.path.join(directory, name[len(MODULE_UTILS) + 1:].replace('.', os.sep) + '.py')
        with open(path) as handle:
            sources[name] = handle.read()
        todo.extend(_our_imports(name, sources[name]))
    return sources


_CACHE = {}


def light_script(args):
    """The stdlib-only confirmation script for these ``confirm_result`` keyword arguments."""
    if 'sources' not in _CACHE:
        _CACHE['sources'] = ascii(light_sources())
    parts = MODULE_UTILS.split('.')
    packages = ['.'.join(parts[:index]) for index in range(1, len(parts) + 1)]
    return SCRIPT % dict(sources=_CACHE['sources'], packages=ascii(packages),
                         args=ascii(dict(args)), prefix=MODULE_UTILS)


def light_result(stdout):
    """The script's result dict from its output (the last JSON object line), or None."""
    for line in reversed(to_text(stdout or '').splitlines()):
        line = line.strip()
        if line.startswith('{'):
            try:
                found = json.loads(line)
            except ValueError:
                return None
            return found if isinstance(found, dict) and 'light_error' not in found else None
    return None


# ssh(1) takes the first value it is given for an option: put first, these make the command
# open its own TCP connection and SSH session, neither using nor becoming a ControlPersist master.
OWN_CONNECTION = '-o ControlMaster=no -o ControlPath=none'


def _reset(action):
    try:
        action._connection.reset()  # the ssh plugin: stops the ControlPersist master
    except Exception:  # a connection that cannot reset simply reconnects
        pass


def _run_on_own_connection(action, command, in_data):
    """Run ``command`` over a connection of its own: on the ssh plugin one ssh process that
    does not multiplex (the play's master stays for its next tasks, and no master is stopped
    and started); on any other plugin after a reset."""
    connection = action._connection
    try:
        own = to_text(connection.transport).rsplit('.', 1)[-1] == 'ssh'
        original = connection.get_option('ssh_args') if own else None
    except (AttributeError, KeyError):
        own = False
    if not own:
        _reset(action)
        return action._low_level_execute_command(command, sudoable=True, in_data=in_data)
    connection.set_option('ssh_args', ('%s %s' % (OWN_CONNECTION, original or '')).strip())
    try:
        return action._low_level_execute_command(command, sudoable=True, in_data=in_data)
    finally:
        connection.set_option('ssh_args', original)


def _light(action, args):
    """Confirm with the script; None when it cannot be used or gives no result."""
    interpreter = to_text(getattr(action, '_used_interpreter', None) or '').replace('#!', '', 1).strip()
    if not interpreter or getattr(action, '_jaas_no_light_confirm', False) \
            or not action._is_pipelining_enabled('new'):
        return None
    try:
        script = light_script(dict(rollback_id=args['id'], state=args.get('state', 'confirmed'),
                                   wait=args.get('wait', 30)))
    except (NotLight, IOError, OSError, SyntaxError):
        action._jaas_no_light_confirm = True
        return None
    res = _run_on_own_connection(action, '%s -I -' % interpreter, script)
    found = light_result(res.get('stdout'))
    if found is None:
        action._jaas_no_light_confirm = True  # and the module runs
        return None
    found['confirmed_by'] = 'script'
    return found


def _over_new_connection(action, args, task_vars):
    """Confirm (or query) over a new connection; dict(unreachable=True) when it fails."""
    try:
        found = _light(action, args)
        if found is None:
            _reset(action)
            found = action._execute_module(module_name=CONFIRM_MODULE, module_args=args,
                                           task_vars=task_vars)
            found['confirmed_by'] = 'module'
        return found
    except AnsibleConnectionFailure as exc:
        lines = to_text(exc).strip().splitlines()
        return dict(unreachable=True, msg=lines[-1] if lines else 'unreachable')


def _reason(found):
    return to_text(found.get('msg', '')).strip()


def rolled_back_message(rollback, found, cause):
    when = found.get('reverted_at')
    clock = time.strftime(' at %H:%M:%S UTC', time.gmtime(when)) if when else ''
    if found.get('rollback_state') == 'revert-failed':
        return ('jaas.firewall: no confirmation reached the host over a new connection within '
                '%d s (%s), so the host reverted the %s change (rollback %s)%s, but a step of '
                'the revert failed; the host answers again, see revert.log in '
                '/var/lib/jaas-firewall/rollback/%s/.'
                % (rollback['timeout'], cause, rollback['backend'], rollback['id'], clock,
                   rollback['id']))
    return ('jaas.firewall: ROLLED BACK. No confirmation reached the host over a new SSH '
            'connection within %d s (%s), so the host restored its %s firewall as it was '
            'before this run (rollback %s)%s and answers again. The change most likely cut the '
            'Ansible connection: check jaas_firewall_keep_open, '
            'jaas_firewall_allow_ansible_connection and the port Ansible connects to.'
            % (rollback['timeout'], cause, rollback['backend'], rollback['id'], clock))


def confirm(action, rollback, task_vars, sleep=time.sleep, clock=time.monotonic):
    """Result keys to merge into the backend task's result (``failed`` when rolled back)."""
    deadline = clock() + float(rollback.get('expires_in', rollback['timeout']))
    cause = 'the confirmation was not attempted'
    while True:
        found = _over_new_connection(action, dict(id=rollback['id'], state='confirmed'),
                                     task_vars)
        state = found.get('rollback_state')
        if state == 'confirmed':
            return dict(rollback=dict(rollback, armed=False, confirmed=True,
                                      confirmed_over=found.get('session'),
                                      confirmed_by=found.get('confirmed_by')))
        if state in HOST_GONE_BACK:
            return dict(failed=True, changed=False, rolled_back=True,
                        rollback=dict(rollback, armed=False, confirmed=False, outcome=state),
                        msg=rolled_back_message(rollback, found, 'it came too late'))
        if found.get('unreachable'):
            cause = 'new connections failed: %s' % _reason(found)
        else:
            cause = _reason(found) or 'confirmation failed (%s)' % state
        if clock() >= deadline:
            break
        sleep(min(RETRY_PAUSE, max(0.0, deadline - clock())))

    # The host's own revert is due now: wait for it to answer again and say what it did.
    final = deadline + GRACE
    found = {}
    while clock() < final:
        found = _over_new_connection(action, dict(id=rollback['id'], state='query'), task_vars)
        if found.get('rollback_state') in HOST_GONE_BACK:
            return dict(failed=True, changed=False, rolled_back=True,
                        rollback=dict(rollback, armed=False, confirmed=False,
                                      outcome=found['rollback_state']),
                        msg=rolled_back_message(rollback, found, cause))
        if found.get('rollback_state') == 'confirmed':  # a late retry of ours got through
            return dict(rollback=dict(rollback, armed=False, confirmed=True))
        sleep(RETRY_PAUSE)
    return dict(failed=True, changed=True, rolled_back=None,
                rollback=dict(rollback, confirmed=False, outcome=found.get('rollback_state')),
                msg='jaas.firewall: the change could not be confirmed (%s) and the host still '
                    'does not answer %d s after its revert deadline (rollback %s, state %s). '
                    'Its revert may have failed: reach it out of band.'
                    % (cause, GRACE, rollback['id'], found.get('rollback_state') or 'unreachable'))
