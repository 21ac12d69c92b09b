# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Gateway mode: the options the interface-based backends (nftables, ufw) share, and which
rules of the interface apply to forwarded traffic. Documented by the doc fragment
``jaas.firewall.gateway``; keep the two in step. Python stdlib only.

A gateway forwards the catalog's outbound (network, protocol, ports) from its LAN side to
its WAN side: the rules with ``direction: out``. Inbound rules (webhook origins) stay the
host's own; a receiver behind the gateway needs the user's DNAT and forward rule.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import copy

from ansible_collections.jaas.firewall.plugins.module_utils.model import ModelError, normalise_names

GATEWAY_ARGUMENT_SPEC = dict(
    gateway=dict(type='bool', default=False),
    gateway_in_interfaces=dict(type='list', elements='str', default=[]),
    gateway_out_interfaces=dict(type='list', elements='str', default=[]),
)

# Interfaces of one side, validated, in the given order; () = any interface.
Gateway = collections.namedtuple('Gateway', 'in_interfaces out_interfaces')


def gateway_argument_spec():
    return copy.deepcopy(GATEWAY_ARGUMENT_SPEC)


def gateway_from_params(params):
    """A Gateway when gateway mode is on and state is present, else None.

    The interface names are checked by the rule model (ModelError located as
    ``gateway_in_interfaces[N]``) whether or not gateway mode is on, so a bad name is
    refused the same way on every run.
    """
    in_interfaces = normalise_names('interface name', params.get('gateway_in_interfaces'),
                                    'gateway_in_interfaces')
    out_interfaces = normalise_names('interface name', params.get('gateway_out_interfaces'),
                                     'gateway_out_interfaces')
    if not params.get('gateway') or params.get('state', 'present') != 'present':
        return None
    return Gateway(tuple(in_interfaces), tuple(out_interfaces))


def forwarded(rules):
    """The rules a gateway applies to forwarded traffic: the outbound ones."""
    return [rule for rule in rules if rule.get('direction') == 'out']


def resolver_interfaces(gateway, domains):
    """The LAN interfaces the local resolver serves, or None (host mode, or no domains).

    Gateway mode with domains: the resolver serves the LAN, so the LAN interfaces must be
    named (it never listens on every interface) and none may also be a WAN one (it would
    answer on the WAN). The controller refuses the same before any host
    (plugins/plugin_utils/backend_action.py); this is the host's own check. ModelError."""
    if gateway is None or not domains:
        return None
    if not gateway.in_interfaces:
        raise ModelError('jaas_firewall_domains in gateway mode needs '
                         'jaas_firewall_gateway_in_interfaces: the LAN interfaces the local '
                         'resolver serves (it never listens on every interface); name them, '
                         'or set jaas_firewall_domains to []')
    both = [name for name in gateway.in_interfaces if name in gateway.out_interfaces]
    if both:
        raise ModelError('jaas_firewall_gateway_in_interfaces: %s is also in '
                         'jaas_firewall_gateway_out_interfaces; with jaas_firewall_domains the '
                         'resolver would answer on the WAN side' % ', '.join(both))
    return list(gateway.in_interfaces)
