# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Port values ("443", "49152-65535"): kept for code that imports this module; the one
parser is the rule model's (module_utils/model.py ``parse_ports``). Python stdlib only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.jaas.firewall.plugins.module_utils.model import (
    PortRangeError, PortSyntaxError, parse_ports, ports_text)


def parse_port_range(value):
    """(low, high) for 443, "443", "443-443" or "49152-65535"; PortSyntaxError or
    PortRangeError (both the model's ModelError, a ValueError) otherwise."""
    return parse_ports(value)


__all__ = ['PortRangeError', 'PortSyntaxError', 'parse_port_range', 'ports_text']
