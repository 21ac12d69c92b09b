# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller half of jaas.firewall.drop_report: classify the hosts' drop rows against the
catalog's flat rules (plugin_utils/rules.py's shape), aggregate across hosts, render.

Verdicts:

* ``catalog`` - a catalog rule of that direction, family and protocol covers the address and
  port: the catalog allows it, so something else dropped it (``detail`` names the table, chain
  and rule the host's ruleset drops it with) or the host's own rules are older than the catalog;
* ``domain`` - the host's resolver answered the address for a listed name, and it was dropped
  anyway: not in the domain set when the packet left (encrypted DNS in the application, or a
  cached answer the set no longer holds);
* ``unknown`` - neither.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import ipaddress
import json
import os
import time

VENDOR_PORTS = ((443, 443), (10000, 10000), (49152, 65535))
OUR_TABLES = ('jaas',)


def _ports(text):
    if text in (None, ''):
        return (0, 65535)
    low, _sep, high = str(text).partition('-')
    return (int(low), int(high or low))


class Catalog(object):
    """The flat rules indexed by (direction, family, protocol) for address/port lookups."""

    def __init__(self, rules):
        self.index = {}
        for rule in rules:
            network = ipaddress.ip_network(rule['network'], strict=False)
            key = (rule.get('direction', 'out'), int(rule['family']), rule['protocol'])
            self.index.setdefault(key, []).append(
                (int(network.network_address), int(network.broadcast_address),
                 _ports(rule.get('ports')), rule))

    def find(self, direction, family, proto, address, port):
        """The first rule allowing it, or None (forwarded traffic = outbound rules)."""
        key = ('out' if direction == 'fwd' else direction, family, proto)
        try:
            number = int(ipaddress.ip_address(address))
        except ValueError:
            return None
        for first, last, (low, high), rule in self.index.get(key, ()):
            if first <= number <= last and (port is None and low == 0 and high == 65535
                                            or port is not None and low <= port <= high):
                return rule
        return None


def where(dropped):
    return '%s %s %s (%s%s)' % (dropped.get('family'), dropped.get('table'), dropped.get('chain'),
                                'handle %s: ' % dropped['handle']
                                if dropped.get('handle') is not None else '', dropped.get('rule'))


def _ours(dropped):
    table = dropped.get('table') or ''
    return table in OUR_TABLES or '_jaas-' in (dropped.get('chain') or '') \
        or (dropped.get('chain') or '').startswith('ufw')


def classify(row, catalog):
    """(verdict, block, detail) of one host row."""
    rule = catalog.find(row['direction'], row['family'], row['proto'], row['address'],
                        row['port'])
    dropped = row.get('dropped_by')
    if rule is not None:
        block = ' '.join(part for part in (rule.get('block'), rule.get('region')) if part)
        if dropped and not (row.get('tag') == 'jaas' and _ours(dropped)):
            return 'catalog', block, 'dropped by %s' % where(dropped)
        if dropped:
            return 'catalog', block, ('dropped by our own rules (%s): the host\'s rules are older '
                                      'than the catalog - re-run the role' % where(dropped))
        if 'dropped_by' in row:
            return 'catalog', block, ('allowed by the host\'s ruleset now: the dropping rule is '
                                      'gone or the drop was elsewhere (logged as %s)'
                                      % (row.get('tag') or 'untagged'))
        return 'catalog', block, 'the ruleset was not evaluated (explain off or unreadable)'
    if row.get('answered_for'):
        return 'domain', None, ('answered for %s but not in the domain set: encrypted DNS in the '
                                'application or a stale cache' % ', '.join(row['answered_for']))
    return 'unknown', None, 'not in the catalog%s' % (
        '; logged as %s' % row['tag'] if row.get('tag') not in (None, 'jaas') else '')


def _iso(seconds):
    if seconds is None:
        return None
    return datetime.datetime.utcfromtimestamp(seconds).strftime('%Y-%m-%dT%H:%M:%SZ')


def aggregate(per_host, rules):
    """Rows across hosts, largest first: the JSON report's rows."""
    catalog = Catalog(rules)
    merged = {}
    for host, result in sorted(per_host.items()):
        for row in (result or {}).get('rows') or []:
            verdict, block, detail = classify(row, catalog)
            key = (row['direction'], row['proto'], row['address'], row['port'])
            entry = merged.get(key)
            if entry is None:
                merged[key] = entry = {
                    'hosts': [], 'direction': row['direction'], 'proto': row['proto'],
                    'address': row['address'], 'port': row['port'], 'count': 0,
                    'first': row.get('first'), 'last': row.get('last'), 'verdict': verdict,
                    'block': block, 'detail': detail, 'family': row['family']}
            elif entry['detail'] != detail and detail not in entry['detail']:
                entry['detail'] += '; %s: %s' % (host, detail)
            if host not in entry['hosts']:
                entry['hosts'].append(host)
            entry['count'] += row['count']
            for edge, pick in (('first', min), ('last', max)):
                values = [v for v in (entry[edge], row.get(edge)) if v is not None]
                entry[edge] = pick(values) if values else None
    rows = sorted(merged.values(), key=lambda r: (-r['count'], r['direction'], r['address'],
                                                  r['port'] or 0))
    for row in rows:
        row['first'], row['last'] = _iso(row['first']), _iso(row['last'])
    return rows


def vendor_port(port):
    return port is not None and any(low <= port <= high for low, high in VENDOR_PORTS)


def fragment(rows):
    """A proposed catalog fragment (YAML text) for unknown rows on the vendor's ports, or ''."""
    services = {}
    for row in rows:
        if row['verdict'] != 'unknown' or not vendor_port(row['port']) \
                or row['proto'] not in ('tcp', 'udp') or row['direction'] == 'in':
            continue
        prefix = 32 if row['family'] == 4 else 128
        services.setdefault((row['proto'], row['port']), []).append(
            ('%s/%d' % (row['address'], prefix), row))
    if not services:
        return ''
    lines = ['# Proposed by jaas.firewall.drop_report from dropped traffic - NOT applied.',
             '# Check every address against the vendor page before adding it to the catalog.',
             'blocks:']
    for (proto, port), seen in sorted(services.items()):
        hosts = ', '.join(sorted({host for _net, row in seen for host in row['hosts']}))
        lines += ['  seen_%s_%d:' % (proto, port),
                  '    description: Dropped %s/%d destinations seen on %s' % (proto, port, hosts),
                  '    direction: out',
                  '    rules:',
                  '      - {protocol: %s, ports: "%d"}' % (proto, port),
                  '    regions:',
                  '      seen:',
                  '        name: Seen in the drop log',
                  '        networks:']
        lines += ['          - %s   # %d drops, last %s' % (net, row['count'], row['last'])
                  for net, row in sorted(seen, key=lambda item: -item[1]['count'])]
    return '\n'.join(lines) + '\n'


def table(rows, max_rows=40):
    header = '%-7s %-5s %-4s %-39s %-5s %-8s %-18s %s' % (
        'COUNT', 'DIR', 'PROTO', 'ADDRESS', 'PORT', 'VERDICT', 'BLOCK', 'HOSTS / DETAIL')
    lines = [header]
    for row in rows[:max_rows]:
        lines.append('%-7d %-5s %-4s %-39s %-5s %-8s %-18s %s: %s' % (
            row['count'], row['direction'], row['proto'], row['address'],
            row['port'] if row['port'] is not None else '-', row['verdict'], row['block'] or '-',
            ','.join(row['hosts']), row['detail']))
    if len(rows) > max_rows:
        lines.append('... and %d more rows (see the JSON report)' % (len(rows) - max_rows))
    return lines


def write_json(report_dir, report, now=None):
    os.makedirs(report_dir, exist_ok=True)
    stamp = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(now))
    path = os.path.join(report_dir, 'drop-report-%s.json' % stamp)
    with open(path + '.tmp', 'w') as handle:
        json.dump(report, handle, indent=1, sort_keys=True)
    os.replace(path + '.tmp', path)
    return path
