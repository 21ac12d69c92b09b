# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation of keep-open entries ({direction, protocol, port, network?}).

Used on the controller by the ``jaas.firewall.keep_open`` filter (both roles, before
anything touches the host) and on the host by ``firewalld_rules``. Every value that
comes out is rebuilt from parsed numbers and ``ipaddress`` objects, never copied, so
nothing but digits, ``-``, hex, ``.``, ``:`` and ``/`` can reach a rule or a command.
Python stdlib only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.jaas.firewall.plugins.module_utils.ports import (
    PortRangeError, PortSyntaxError, parse_port_range)

KEYS = ('direction', 'protocol', 'port', 'network')
# \Z, not $: $ also matches before a trailing newline.
_NETWORK_CHARS = re.compile(r'^[0-9A-Fa-f:./]+\Z')


class KeepOpenError(ValueError):
    """A keep-open entry is malformed; the message names it (``<name>[<index>]``)."""


def _port(value, where):
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise KeepOpenError('%s: port must be a string such as "53" or "1000-2000", got %r'
                            % (where, value))
    try:
        low, high = parse_port_range(value)
    except PortSyntaxError:
        raise KeepOpenError('%s: port %r must be "N" or "N-M"' % (where, value))
    except PortRangeError:
        raise KeepOpenError('%s: port %r is out of range 1-65535 or reversed' % (where, value))
    return '%d-%d' % (low, high) if '-' in str(value) else '%d' % low


def _network(value, where):
    if not isinstance(value, str) or not _NETWORK_CHARS.match(value):
        raise KeepOpenError('%s: network %r is not a CIDR network' % (where, value))
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError as exc:
        raise KeepOpenError('%s: network %r: %s' % (where, value, exc))


def validate_keep_open(entries, name='keep_open'):
    """Check every entry; return them normalised (``network`` only when given)."""
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise KeepOpenError('%s must be a list of dicts, got %s' % (name, type(entries).__name__))
    normalised = []
    for index, entry in enumerate(entries):
        where = '%s[%d]' % (name, index)
        if not isinstance(entry, dict):
            raise KeepOpenError('%s: must be a dict, got %r' % (where, entry))
        unknown = sorted(str(key) for key in entry if key not in KEYS)
        if unknown:
            raise KeepOpenError('%s: unknown key(s) %s (allowed: %s)'
                                % (where, ', '.join(unknown), ', '.join(KEYS)))
        if entry.get('direction') not in ('in', 'out'):
            raise KeepOpenError('%s: direction must be in or out, got %r'
                                % (where, entry.get('direction')))
        if entry.get('protocol') not in ('tcp', 'udp'):
            raise KeepOpenError('%s: protocol must be tcp or udp, got %r'
                                % (where, entry.get('protocol')))
        if entry.get('port') is None:
            raise KeepOpenError('%s: port is required' % where)
        item = {'direction': entry['direction'], 'protocol': entry['protocol'],
                'port': _port(entry['port'], where)}
        if entry.get('network') not in (None, ''):
            item['network'] = _network(entry['network'], where)
        normalised.append(item)
    return normalised
