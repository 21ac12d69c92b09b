# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The converge skeleton every backend module runs (documented by the doc fragment
``jaas.firewall.converge``).

    validate (pure) -> missing? -> lock -> read live -> plan (pure) -> check/diff -> apply -> result

A backend is one module_utils file with a ``Backend`` subclass that supplies the hooks;
this file owns the order, check mode, the host lock, the safety inputs (keep-open entries,
the connection's port) and the result shape (``changed``, ``added``, ``removed``, ``diff``,
``installed``, ``connection_ports``, ``lock_wait`` plus the backend's extras). Python stdlib only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import copy

from ansible_collections.jaas.firewall.plugins.module_utils.connection import (
    CONNECTION_ARGUMENT_SPEC, kept_connection_ports)
from ansible_collections.jaas.firewall.plugins.module_utils.host_lock import (
    LOCK_ARGUMENT_SPEC, acquire)
from ansible_collections.jaas.firewall.plugins.module_utils.model import ModelError, normalise_keep_open
from ansible_collections.jaas.firewall.plugins.module_utils.policy import (  # noqa: F401 (backends import PlanError from here)
    PlanError, from_policy)
from ansible_collections.jaas.firewall.plugins.module_utils.rollback import (
    ROLLBACK_ARGUMENT_SPEC, arm, timeout_problem)
from ansible_collections.jaas.firewall.plugins.module_utils.rule_spec import (
    controller_argument_spec, keep_open_argument_spec, policy_argument_spec, rules_argument_spec)


class ApplyError(Exception):
    """apply() could not finish. The module fails with the result so far, ``result`` merged
    in and ``msg`` as its message (an armed rollback reverts at once)."""

    def __init__(self, msg, result=None):
        super(ApplyError, self).__init__(msg)
        self.msg = msg
        self.result = dict(result or {})


# What a backend's plan() returns. ``added``/``removed``: one readable line per item;
# ``before``/``after``: text for the diff; ``extras``: backend result keys; ``work``: what
# apply() needs (opaque to the skeleton); ``warnings``: shown to the user, also in check mode.
Plan = collections.namedtuple('Plan', 'changed added removed before after extras work warnings',
                              defaults=((),))

# Inputs every backend gets besides the rules: validated keep-open entries and the
# TCP ports of the running connection (empty unless keep_connection).
Safety = collections.namedtuple('Safety', 'keep_open connection_ports')


def core_argument_spec(prefix_default):
    """The options every backend module takes (a fresh copy each call)."""
    spec = rules_argument_spec()
    spec.update(policy_argument_spec())
    spec.update(copy.deepcopy(LOCK_ARGUMENT_SPEC))
    spec.update(copy.deepcopy(CONNECTION_ARGUMENT_SPEC))
    spec.update(copy.deepcopy(ROLLBACK_ARGUMENT_SPEC))
    spec.update(controller_argument_spec())  # consumed by the action plugin
    spec.update(keep_open_argument_spec())
    spec.update(
        state=dict(type='str', default='present', choices=['present', 'absent']),
        prefix=dict(type='str', default=prefix_default),
        if_missing=dict(type='str', default='fail', choices=['fail', 'report']),
    )
    return spec


class Backend(object):
    """Hooks a backend supplies. Only read(), plan() and apply() touch or read the host."""

    #: backend-specific options, merged over core_argument_spec()
    argument_spec = {}
    #: default of the ``prefix`` option (the ownership mark)
    prefix_default = 'jaas'
    #: header of the diff ("nftables table inet jaas")
    diff_header = ''

    def __init__(self, module):
        self.module = module

    def desired(self, params, safety):
        """Pure: the complete state this module owns. Raise PlanError on bad input."""
        raise NotImplementedError

    def missing(self):
        """Why the firewall cannot be managed here (tool not installed), or None."""
        return None

    def read(self):
        """The live state, read under the host lock."""
        raise NotImplementedError

    def plan(self, desired, live):
        """Pure: a Plan from desired and live state."""
        raise NotImplementedError

    def check(self, plan):
        """Validate the change on the host without making it (check mode too)."""

    def apply(self, plan):
        """Make the change; return extra result keys. Fail with fail_json."""
        raise NotImplementedError

    def rollback_recipe(self):
        """A module_utils/rollback.py Recipe that snapshots (and restores) everything apply()
        changes; None when the backend has none (``rollback_timeout`` is then refused)."""
        return None

    # Optional hooks; the defaults are the skeleton's own behaviour.
    def safety(self, params):
        """The Safety inputs, checked before desired() (raise PlanError)."""
        return safety_inputs(params)

    def report_missing(self, reason):
        """Exit the module when missing() gave a reason."""
        params = self.module.params
        if params['state'] == 'present' and params['if_missing'] == 'fail':
            self.module.fail_json(msg='%s; nothing changed' % reason, installed=False)
        self.module.exit_json(changed=False, installed=False, added=[], removed=[], diff={},
                              connection_ports=[], msg='%s: nothing was done' % reason)

    def arms_rollback(self, plan):
        """Whether this changing plan arms the revert of ``rollback_timeout``."""
        return True

    def diff(self, plan):
        """The result's ``diff`` for a plan, in diff mode only (both texts are the whole ruleset:
        every host would send them back on every run); None leaves the key out."""
        if not self.module._diff:
            return None
        return dict(before_header=self.diff_header, after_header=self.diff_header,
                    before=plan.before, after=plan.after)


def safety_inputs(params):
    """Validated keep-open entries and the connection's ports (raises PlanError)."""
    try:
        keep_open = normalise_keep_open(params['keep_open'], 'keep_open')
        present = params['state'] == 'present'
        ports = kept_connection_ports(params['keep_connection'] and present,
                                      params['connection_port'])
    except (ModelError, ValueError) as exc:
        raise PlanError(str(exc))
    return Safety(keep_open, ports)


def run(module, backend):
    """Converge one host and exit the module; every backend module's main() ends here."""
    params = module.params
    # The grouped ``policy`` (what the action plugins send) becomes the flat rules every
    # backend plans from, after any ``rules`` given directly; only desired() reads them, and
    # the result's invocation echoes the options as given.
    given_rules = params.get('rules')
    params['rules'] = list(given_rules or []) + from_policy(params.get('policy') or [])
    try:
        safety = backend.safety(params)
        desired = backend.desired(params, safety)
        params['rules'] = given_rules
        if timeout_problem(params['rollback_timeout']):
            raise PlanError(timeout_problem(params['rollback_timeout']))
    except PlanError as exc:
        module.fail_json(msg='nothing changed: %s' % exc)

    reason = backend.missing()
    if reason:
        backend.report_missing(reason)

    # From the first read to the last change: a concurrent run waits, then plans
    # against this run's result.
    lock_wait = acquire(module, params['lock_timeout'])
    live = backend.read()
    plan = backend.plan(desired, live)
    result = dict(changed=plan.changed, added=plan.added, removed=plan.removed,
                  installed=True, connection_ports=safety.connection_ports,
                  lock_wait=lock_wait)
    diff = backend.diff(plan)
    if diff is not None:
        result['diff'] = diff
    result.update(plan.extras)
    for warning in plan.warnings:
        module.warn(warning)
    if plan.changed:
        backend.check(plan)
        if not module.check_mode:
            if params['rollback_timeout'] and backend.arms_rollback(plan):
                # Before the change: the host reverts by itself unless the run confirms.
                recipe = backend.rollback_recipe()
                if recipe is None:
                    module.fail_json(msg='rollback_timeout: this backend cannot snapshot its '
                                         'state; nothing changed')
                arm(module, recipe, params['rollback_timeout'])
            try:
                result.update(backend.apply(plan) or {})
            except ApplyError as exc:
                result.update(exc.result)
                result['msg'] = exc.msg
                module.fail_json(**result)
    module.exit_json(**result)


def argument_spec(backend_class):
    """The core options plus the backend's, for the module's AnsibleModule()."""
    spec = core_argument_spec(backend_class.prefix_default)
    spec.update(copy.deepcopy(backend_class.argument_spec))
    return spec
