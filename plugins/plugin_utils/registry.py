# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backend registry: the one place that declares each backend.

Everything that needs to know which backends exist reads this table instead of a list of
its own: the action plugins (module name, name options checked on the controller, which
features a module accepts), the role option files (tools/role_options.py), the
auto-selection check (tests), the test harnesses and benches (images, role variables),
and the generated README tables (``tools/readme_table.py``). tests/unit/test_registry.py
fails when a backend is missing from a place that should know it.

A backend entry:

name       the role's short name (``jaas.firewall.<name>``) and the ``jaas_firewall_backend`` value
module     the module the role calls (FQCN)
platform   ``linux`` or ``windows``
files      the module_utils files of its plan (pure) and backend (I/O); None for Windows
names      name options checked on the controller: (option, model NAME_RULES kind, role variable)
features   what the module enforces beyond the catalog's IP blocks (FEATURES)
packages   what the role installs when the firewall is missing (Debian names)
enable     role variables that turn the firewall on (benches)
restrict   role variables that deny incoming and outgoing traffic (fleet and SSH tests)
snapshot   the reliability harness's snapshot function (tests/reliability/harness.py)
readme     one README "at a glance" row: what the role manages, where the rules live
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections

#: Features a backend may support (key: README column); the action plugin refuses a feature's
#: option on the backends without it. domains: jaas_firewall_domains; gateway: forwarded
#: traffic; rollback: rollback_timeout; log_drops: jaas_firewall_log_drops; verify:
#: jaas.firewall.verify_policy can evaluate the ruleset the backend writes.
FEATURES = collections.OrderedDict((
    ('domains', 'domain half'),
    ('gateway', 'gateway mode'),
    ('rollback', 'confirm-or-revert'),
    ('log_drops', 'drop log'),
    ('verify', 'verify_policy'),
))

BackendEntry = collections.namedtuple(
    'BackendEntry', 'name module platform files names features packages enable restrict snapshot readme')

BACKENDS = (
    BackendEntry(
        name='ufw', module='jaas.firewall.ufw_rules', platform='linux',
        files=('ufw_plan', 'ufw_backend'),
        names=(('prefix', 'ufw tag prefix', None), ('tag_prefix', 'ufw tag prefix', None)),
        features=('domains', 'gateway', 'rollback', 'log_drops', 'verify'),
        packages=('ufw',),
        enable={'jaas_firewall_ufw_enable': True},
        restrict={'jaas_firewall_ufw_enable': True, 'jaas_firewall_ufw_default_incoming': 'deny',
                  'jaas_firewall_ufw_default_outgoing': 'deny'},
        snapshot='ufw_snapshot',
        readme='rules in ufw tagged `jaas:<block>[:<region>]`'),
    BackendEntry(
        name='firewalld', module='jaas.firewall.firewalld_rules', platform='linux',
        files=('firewalld_plan', 'firewalld_backend'),
        names=(('prefix', 'firewalld prefix', 'jaas_firewall_firewalld_prefix'),),
        features=('domains', 'gateway', 'rollback', 'log_drops', 'verify'),
        packages=('firewalld',),
        enable={'jaas_firewall_firewalld_enable': True},
        restrict={'jaas_firewall_firewalld_enable': True,
                  'jaas_firewall_firewalld_egress_target': 'REJECT'},
        snapshot='firewalld_snapshot',
        readme='ipsets and policies named `jaas-*`'),
    BackendEntry(
        name='nftables', module='jaas.firewall.nftables_rules', platform='linux',
        files=('nftables_plan', 'nftables_backend'),
        names=(('prefix', 'nftables table name', 'jaas_firewall_nftables_table'),),
        features=('domains', 'gateway', 'rollback', 'log_drops', 'verify'),
        packages=('nftables',),
        enable={},
        restrict={'jaas_firewall_nftables_default_incoming': 'drop',
                  'jaas_firewall_nftables_default_outgoing': 'reject'},
        snapshot='nftables_snapshot',
        readme='a table of its own, `inet jaas`'),
    BackendEntry(
        name='windows_firewall', module='community.windows.win_firewall_rule', platform='windows',
        files=None, names=(), features=('domains',), packages=(), enable={}, restrict={},
        snapshot=None,
        readme='rules in group `JaaS` (contract-tested only)'),
)

_BY_NAME = dict((entry.name, entry) for entry in BACKENDS)


def names():
    """Every backend's name, in registry order (also the role names)."""
    return [entry.name for entry in BACKENDS]


def linux():
    """The backends our own modules implement (converge skeleton), in registry order."""
    return [entry for entry in BACKENDS if entry.platform == 'linux']


def get(name):
    """The entry of backend ``name``; KeyError names the known ones."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError('unknown backend %r (known: %s)' % (name, ', '.join(names())))


def supporting(feature):
    """Modules (FQCN) of the backends of ours that support ``feature``, sorted."""
    if feature not in FEATURES:
        raise KeyError('unknown feature %r (known: %s)' % (feature, ', '.join(FEATURES)))
    return tuple(sorted(entry.module for entry in linux() if feature in entry.features))
