# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The argument spec of the rule interface (docs/ARCHITECTURE.md), shared by every backend
module. Its documentation is the doc fragment ``jaas.firewall.rules``; keep the two in step."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

RULE_OPTIONS = dict(
    direction=dict(type='str', required=True, choices=['in', 'out']),
    family=dict(type='int', required=True, choices=[4, 6]),
    network=dict(type='str', required=True),
    protocol=dict(type='str', required=True, choices=['tcp', 'udp']),
    ports=dict(type='str'),
    block=dict(type='str', required=True),
    region=dict(type='str'),
)


def rules_argument_spec():
    """{'rules': ...} for a module's argument_spec (a copy: AnsibleModule may modify it)."""
    return dict(rules=dict(type='list', elements='dict', default=[],
                           options=copy.deepcopy(RULE_OPTIONS)))


POLICY_OPTIONS = dict(
    direction=dict(type='str', required=True, choices=['in', 'out']),
    family=dict(type='int', required=True, choices=[4, 6]),
    block=dict(type='str', required=True),
    region=dict(type='str'),
    services=dict(type='list', elements='dict', required=True, options=dict(
        protocol=dict(type='str', required=True, choices=['tcp', 'udp']),
        ports=dict(type='str'))),
    networks=dict(type='list', elements='str', required=True),
)


def policy_argument_spec():
    """{'policy': ...}: the rules grouped for transport (module_utils/policy.py ``to_policy``)."""
    return dict(policy=dict(type='list', elements='dict', default=[],
                            options=copy.deepcopy(POLICY_OPTIONS)))


KEEP_OPEN_OPTIONS = dict(
    direction=dict(type='str', required=True, choices=['in', 'out']),
    protocol=dict(type='str', required=True, choices=['tcp', 'udp']),
    port=dict(type='str', required=True),
    network=dict(type='str'),
)


def keep_open_argument_spec():
    """{'keep_open': ...} for a module's argument_spec (a copy, like rules_argument_spec)."""
    return dict(keep_open=dict(type='list', elements='dict', default=[],
                               options=copy.deepcopy(KEEP_OPEN_OPTIONS)))


def controller_argument_spec():
    """Options the action plugin consumes on the controller (doc fragment
    ``jaas.firewall.controller``); listed so that the module's spec matches its docs."""
    return dict(catalog=dict(type='dict'), install=dict(type='list', elements='str'),
                role_variables=dict(type='bool', default=False))
