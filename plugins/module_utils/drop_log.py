# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kernel log lines of netfilter drops: parse, aggregate, and the resolver's answers.

Pure Python (stdlib only): runs on the managed host inside jaas.firewall.drop_report, in the
unit tests and in bench/drop_report_bench.py.

A netfilter log line (nftables ``log``, iptables ``LOG``) is ``<prefix>IN=<if> OUT=<if> ...
SRC=<a> DST=<a> ... PROTO=<p> [SPT=<n> DPT=<n>]``, behind whatever header the reader adds:

* ``journalctl -k -o short-unix``: ``1764151200.123456 host kernel: jaas-drop out IN= ...``
* ``dmesg --time-format iso``: ``2026-11-26T10:00:00,123456+00:00 jaas-drop out IN= ...``
* rsyslog's ``/var/log/kern.log`` (RFC 3339 on Debian 12+): ``2026-11-26T10:00:00.123456+00:00
  host kernel: [ 12.3] jaas-drop out IN= ...``
* plain ``dmesg``: ``[17711.024481] jaas-drop out IN= ...`` (seconds since boot: ``boot_time``)

Our rules log with the prefix ``jaas-drop <direction> `` (``out``, ``in``, ``fwd``); every
other prefix is a foreign rule's (``[UFW BLOCK] ``, firewalld's ``filter_..._REJECT: ``...).

One packet, two lines: with ufw's own logging on, a packet our rule logs at the end of
ufw-after-output is logged again by ufw-after-logging-output as ``[UFW BLOCK]`` (and
firewalld's ``LogDenied`` does the same). Both lines carry the same packet fields (``IN=`` to
the end: addresses, LEN, ID, ports...) at the same time, so a foreign line whose fields equal
a ``jaas-drop`` line's within ``SAME_PACKET_SECONDS`` is the same packet and counted once, as
ours (whichever line came first).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import ipaddress
import re

TAG = 'jaas-drop'
DIRECTIONS = ('out', 'in', 'fwd')
_FIELDS = re.compile(r'(IN|OUT|SRC|DST|PROTO|SPT|DPT)=(\S*)')
_KERNEL = re.compile(r'\bkernel: (?:\[\s*\d+\.\d+\] )?')
_EPOCH = re.compile(r'(\d{9,11}(?:\.\d+)?) ')
_ISO = re.compile(r'(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:[.,](\d+))?(Z|[+-]\d\d:?\d\d)? ')
_UPTIME = re.compile(r'\[\s*(\d+\.\d+)\] ')
# dnsmasq's query log (log-queries): "reply <name> is <address>" / "cached <name> is <address>";
# "reply <name> is <CNAME>": the next reply lines answer the alias's target
_ANSWER = re.compile(r'\b(?:reply|cached) (\S+) is (\d[\d.]+|[0-9a-fA-F:]*:[0-9a-fA-F:.]+)\s*$')
_ALIAS = re.compile(r'\b(?:reply|cached) (\S+) is <CNAME>\s*$')
_QUERY = re.compile(r'\bquery\[')
# two log lines of one packet (ours and ufw's/firewalld's) are this close in time
SAME_PACKET_SECONDS = 1.0
# packets remembered for pairing; lines of one packet are adjacent, so a short memory does
_PAIR_MEMORY = 512


def _iso_seconds(date, fraction, zone):
    moment = datetime.datetime.strptime(date, '%Y-%m-%dT%H:%M:%S')
    if zone and zone != 'Z':
        sign = -1 if zone[0] == '-' else 1
        digits = zone[1:].replace(':', '')
        offset = datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        moment = moment - sign * offset
    seconds = (moment - datetime.datetime(1970, 1, 1)).total_seconds()
    return seconds + (float('0.' + fraction) if fraction else 0.0)


def line_time(line, boot_time=None):
    """Unix time of a log line's header, or None when it has none we know."""
    match = _EPOCH.match(line)
    if match:
        return float(match.group(1))
    match = _ISO.match(line)
    if match:
        return _iso_seconds(*match.groups())
    match = _UPTIME.match(line)
    if match and boot_time is not None:
        return boot_time + float(match.group(1))
    return None


def parse(line, boot_time=None):
    """One drop as a dict, or None for a line that is no netfilter log line.

    Keys: ``tag`` (``jaas`` or the foreign prefix, stripped), ``direction`` (ours: from the
    prefix; foreign: from IN/OUT), ``family``, ``proto``, ``address`` (the remote side:
    DST, or SRC for ``in``), ``port`` (DPT, None without one), ``src``, ``dst``, ``iif``,
    ``oif``, ``time``.
    """
    start = line.find(' IN=')
    if start < 0 or 'DST=' not in line:
        return None
    head = line[:start + 1]
    fields = dict(_FIELDS.findall(line, start))
    if 'SRC' not in fields or 'DST' not in fields:
        return None
    kernel = _KERNEL.search(head)
    if kernel:
        prefix = head[kernel.end():]
    else:
        prefix = _UPTIME.sub('', _ISO.sub('', _EPOCH.sub('', head, 1), 1), 1)
    prefix = prefix.strip()
    iif, oif = fields.get('IN', ''), fields.get('OUT', '')
    if prefix.startswith(TAG + ' ') and prefix[len(TAG) + 1:] in DIRECTIONS:
        tag, direction = 'jaas', prefix[len(TAG) + 1:]
    else:
        tag = prefix
        direction = 'fwd' if iif and oif else ('in' if iif else 'out')
    src, dst = _address(fields['SRC']), _address(fields['DST'])
    proto = fields.get('PROTO', '').lower()
    port = fields.get('DPT')
    return {'tag': tag, 'direction': direction, 'family': 6 if ':' in dst else 4,
            'proto': proto, 'address': src if direction == 'in' else dst,
            'port': int(port) if port and port.isdigit() else None,
            'src': src, 'dst': dst, 'iif': iif, 'oif': oif,
            'time': line_time(line, boot_time)}


_COMPRESSED = {}


def _address(text):
    """The kernel prints IPv6 addresses in full (2001:0002:...:0099): compress them."""
    if ':' not in text:
        return text
    short = _COMPRESSED.get(text)
    if short is None:
        try:
            short = str(ipaddress.ip_address(text))
        except ValueError:
            short = text
        if len(_COMPRESSED) < 65536:
            _COMPRESSED[text] = short
    return short


def row_key(drop):
    return (drop['direction'], drop['family'], drop['proto'], drop['address'], drop['port'],
            drop['tag'])


class Aggregate(object):
    """Drops counted per (direction, family, proto, address, port, tag)."""

    def __init__(self, since=None, include_foreign=True):
        self.since = since
        self.include_foreign = include_foreign
        self.rows = {}
        self.lines = 0          # lines read
        self.drops = 0          # drop lines counted
        self.too_old = 0
        self.paired = 0         # foreign lines of a packet also logged as ours (not counted)
        # packet fields -> [time, tag is ours, row key] of lines not paired yet, oldest first
        self._unpaired = {}

    def _pair(self, line, drop):
        """True when this line's packet was counted already (the other half of a pair); a
        foreign line counted before its ``jaas-drop`` twin is taken back here."""
        fields = line[line.find(' IN='):].rstrip()
        ours = drop['tag'] == 'jaas'
        when = drop['time']
        pending = self._unpaired.get(fields)
        if pending:
            for index, (seen, seen_ours, key) in enumerate(pending):
                close = (when is None or seen is None
                         or abs(when - seen) <= SAME_PACKET_SECONDS)
                if seen_ours != ours and close:
                    del pending[index]
                    if not pending:
                        del self._unpaired[fields]
                    self.paired += 1
                    if ours:            # the foreign twin was counted: count ours instead
                        self._uncount(key)
                        return False
                    return True
        if pending is None:
            if len(self._unpaired) >= _PAIR_MEMORY:
                self._unpaired.pop(next(iter(self._unpaired)))
            pending = self._unpaired[fields] = []
        elif len(pending) >= 4:
            # identical packets (an IPv6 datagram sent again) logged by one rule only
            del pending[0]
        pending.append((when, ours, row_key(drop)))
        return False

    def _uncount(self, key):
        row = self.rows.get(key)
        if row is not None:
            self.drops -= 1
            row['count'] -= 1
            if row['count'] <= 0:
                del self.rows[key]

    def add_line(self, line, boot_time=None):
        self.lines += 1
        if ' IN=' not in line:
            return
        drop = parse(line, boot_time)
        if drop is None or (drop['tag'] != 'jaas' and not self.include_foreign):
            return
        when = drop['time']
        if self.since is not None and when is not None and when < self.since:
            self.too_old += 1
            return
        if self._pair(line, drop):
            return
        self.drops += 1
        key = row_key(drop)
        row = self.rows.get(key)
        if row is None:
            self.rows[key] = row = {
                'direction': drop['direction'], 'family': drop['family'], 'proto': drop['proto'],
                'address': drop['address'], 'port': drop['port'], 'tag': drop['tag'],
                'count': 0, 'first': when, 'last': when, 'iif': drop['iif'],
                'oif': drop['oif'], 'local': drop['dst'] if drop['direction'] == 'in'
                else drop['src']}
        row['count'] += 1
        if when is not None:
            if row['first'] is None or when < row['first']:
                row['first'] = when
            if row['last'] is None or when > row['last']:
                row['last'] = when

    def result(self):
        return sorted(self.rows.values(), key=lambda r: (-r['count'], r['direction'], r['family'],
                                                         r['address'], r['port'] or 0))


def name_listed(name, listed):
    """True when ``name`` is one of ``listed`` (``*.x`` covers every name below x)."""
    name = name.lower().rstrip('.')
    for entry in listed:
        if entry.startswith('*.'):
            if name.endswith(entry[1:]):
                return True
        elif name == entry:
            return True
    return False


def answers(lines, listed):
    """{address: sorted names} of the resolver's answers for listed names (dnsmasq log).

    An address answered through a CNAME chain counts for every name of the chain (the
    listed name is the one asked; its alias target usually is not listed)."""
    found = {}
    chain = []
    for line in lines:
        match = _ANSWER.search(line)
        if match:
            names = [match.group(1).lower()] + chain
            for name in names:
                if name_listed(name, listed):
                    found.setdefault(match.group(2), set()).add(name)
            continue
        alias = _ALIAS.search(line)
        if alias:
            chain.append(alias.group(1).lower())
        elif _QUERY.search(line):
            chain = []
    return dict((address, sorted(names)) for address, names in found.items())
