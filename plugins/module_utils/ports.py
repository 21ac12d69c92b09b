# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one parser for port values ("443", "49152-65535") used on the controller (catalog,
keep-open filter) and on the host (ufw and firewalld modules). Python stdlib only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# \Z, not $: $ also matches before a trailing newline.
_PORT_RANGE = re.compile(r'^([0-9]{1,5})(?:-([0-9]{1,5}))?\Z')


class PortSyntaxError(ValueError):
    """Not a port number or "low-high" range at all."""


class PortRangeError(ValueError):
    """Well-formed, but a port is outside 1-65535 or the range is reversed."""


def parse_port_range(value):
    """Return (low, high) for 443, "443" or "49152-65535"; raise PortSyntaxError or
    PortRangeError (both ValueError) with a short reason otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise PortSyntaxError('ports must be a port number or "low-high", got %r' % (value,))
    match = _PORT_RANGE.match(str(value))
    if not match:
        raise PortSyntaxError('ports %r is not a port number or "low-high" range' % (value,))
    low = int(match.group(1))
    high = int(match.group(2)) if match.group(2) is not None else low
    for port in (low, high):
        if not 1 <= port <= 65535:
            raise PortRangeError('port %d is out of range 1-65535' % port)
    if low > high:
        raise PortRangeError('port range %r is reversed (low > high)' % (value,))
    return low, high
