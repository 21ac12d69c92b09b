#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: drop_report
author: jaas.firewall contributors (@jaas-firewall)
version_added: "0.3.0"
short_description: Tell why a meeting breaks - the host's logged drops, classified against the catalog
description:
  - "On each host (O(aggregate) not set): reads the kernel log since O(since) - C(journalctl -k)
    when there is a journal, else C(dmesg), or the file O(path) - bounded by O(max_lines) lines
    and O(timeout) seconds, and counts the drops logged by the roles' own rules (kernel log
    prefix C(jaas-drop out ), C(jaas-drop in ), C(jaas-drop fwd ); the role variable
    C(jaas_firewall_log_drops) turns them on) per direction, protocol, remote address and port,
    with the first and last time seen."
  - With O(include_foreign), lines logged by other rules (C([UFW BLOCK]), firewalld's
    C(LogDenied) prefixes, an admin's own C(log prefix)) count too, but only when the host's
    whole ruleset, evaluated as M(jaas.firewall.verify_policy) does (C(nft -j list ruleset),
    iptables-nft and iptables-legacy listings), drops that packet; a foreign log line of an
    accepted packet is ignored.
  - For every distinct row the host's ruleset names who drops it (family, table, chain, rule
    handle and text) in C(dropped_by).
  - O(domain_names) (computed from the catalog by the action plugin) and the query log of a
    resolver (dnsmasq C(log-queries)) give the addresses that were answered for a listed name.
    By default that log is the journal of the roles' local resolver
    (C(journalctl -u jaas-firewall-resolver.service) since O(since), bounded by O(max_lines)
    and O(timeout)) when its unit is installed - with C(jaas_firewall_domains) and
    C(jaas_firewall_log_drops) both on, the resolver logs every answer there; O(dns_log_path)
    or O(dns_log_unit) name another resolver's log instead.
  - "A packet logged twice - by the roles' rule (C(jaas-drop)) and by ufw's own logging
    (C([UFW BLOCK])) or firewalld's C(LogDenied) - counts once, as the roles' drop: the two
    lines carry the same packet fields (C(IN=) to the end) within a second (RV(paired))."
  - "On the controller (O(aggregate) set, with C(run_once)): the action plugin classifies each
    row against the catalog - V(catalog) (the catalog allows it, so something else or an outdated
    rule set dropped it; C(block) and C(detail) name the table, chain and rule), V(domain) (the
    address was answered for a listed name but was not in the domain set - encrypted DNS in the
    application or a stale cache), V(unknown) - aggregates across hosts (count, first and last seen,
    hosts), writes C(drop-report-<time>.json) to O(report_dir) and returns the table largest
    first; for V(unknown) rows on the vendor's ports (443, 10000, 49152-65535) it proposes a catalog
    fragment in RV(fragment), which is never applied."
  - Read-only on the hosts.
  - "Not seen - drops by a rule that does not log (use M(jaas.firewall.verify_policy) for those),
    drops beyond the log rate limit (10 per second, burst 20: counts are lower bounds), lines the
    kernel or journald rate-limited away, and what happens outside the host."
options:
  catalog:
    description:
      - The catalog selection, exactly as the backend modules' option of the same name (lookup
        options plus C(webhooks), C(webhook_port), C(compact), C(domains)); computed on the
        controller. On the hosts it only supplies O(domain_names); with O(aggregate) it is what
        the rows are classified against.
    type: dict
  since:
    description:
      - Oldest drop read - seconds since the epoch, an ISO 8601 time (C(2026-11-26T10:00:00Z)),
        or an age like C(30m), C(2h), C(1d).
    type: str
    default: 1h
  source:
    description:
      - V(auto) - the journal's kernel messages when C(journalctl) exists, else C(dmesg);
        V(journal), V(dmesg), or V(file) (O(path), such as C(/var/log/kern.log)).
    type: str
    choices: [auto, journal, dmesg, file]
    default: auto
  path:
    description: The log file read with O(source=file).
    type: path
  max_lines:
    description: Stop after reading this many log lines (the result says RV(truncated)).
    type: int
    default: 1000000
  timeout:
    description: Stop reading after this many seconds (the result says RV(truncated)).
    type: int
    default: 60
  include_foreign:
    description: Also count drops logged by other rules, when the host's ruleset drops them.
    type: bool
    default: true
  explain:
    description: Name the table, chain and rule that drops each row (needs C(nft); root).
    type: bool
    default: true
  domain_names:
    description: Listed names (C(*.x) covers every name below x); the action plugin fills it from O(catalog).
    type: list
    elements: str
    default: []
  dns_log_path:
    description:
      - A resolver query log file (dnsmasq C(log-facility) with C(log-queries)). Set, it is read
        instead of the local resolver's journal.
    type: path
  dns_log_unit:
    description:
      - A systemd unit whose journal holds the resolver's query log. Unset (and no
        O(dns_log_path)) - C(jaas-firewall-resolver.service) when its unit file exists.
    type: str
  aggregate:
    description:
      - Controller side only, with C(run_once) - the registered results of the per-host task,
        as a dict host -> result (see the playbook C(jaas.firewall.drop_report)).
    type: dict
  report_dir:
    description: With O(aggregate), the directory (on the controller) the JSON report is written to.
    type: path
  max_rows:
    description: With O(aggregate), how many rows the table shows.
    type: int
    default: 40
notes:
  - Needs root (the kernel log, C(nft list ruleset)); with C(kernel.dmesg_restrict=1) C(dmesg) needs it too.
  - Supports check mode (read-only).
seealso:
  - module: jaas.firewall.verify_policy
"""

EXAMPLES = r"""
- name: Count the drops of the last two hours on each host
  jaas.firewall.drop_report:
    since: 2h
    catalog: {regions: [uk-london], domains: [core]}
  register: drops
  become: true

- name: Classify, aggregate across hosts, write the JSON report
  jaas.firewall.drop_report:
    aggregate: "{{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, 'drops'))) }}"
    catalog: {regions: [uk-london], domains: [core]}
    report_dir: /var/tmp/jaas-reports
  run_once: true
"""

RETURN = r"""
rows:
  description:
    - Per host - one row per (direction, family, protocol, remote address, port, tag), largest
      first. With O(aggregate) - one row per (direction, protocol, address, port) across hosts.
  returned: always
  type: list
  elements: dict
  sample:
    - {hosts: [web1, web2], direction: out, proto: udp, address: 198.18.52.99, port: 10000,
       count: 42, first: "2026-11-26T10:01:02Z", last: "2026-11-26T10:09:40Z", verdict: unknown,
       block: null, detail: "not in the catalog"}
    - {hosts: [web1], direction: out, proto: tcp, address: 198.18.52.10, port: 443, count: 3,
       verdict: catalog, block: "turn lab", detail: "dropped by inet foreign out (handle 2: ...)"}
lines:
  description: Log lines read.
  returned: always
  type: int
drops:
  description: Drop lines counted.
  returned: always
  type: int
truncated:
  description: Whether O(max_lines) or O(timeout) stopped the reading early.
  returned: always
  type: bool
source:
  description: What was read (C(journalctl -k), C(dmesg), the file).
  returned: on the hosts
  type: str
dns_log:
  description: The resolver answers read (a file or C(journalctl -u <unit>)), or null.
  returned: on the hosts
  type: str
paired:
  description: Foreign log lines not counted because the roles' rule logged the same packet.
  returned: on the hosts
  type: int
table:
  description: With O(aggregate), the report as text lines, largest first.
  returned: with aggregate
  type: list
  elements: str
report_file:
  description: With O(aggregate) and O(report_dir), the JSON file written.
  returned: with aggregate
  type: str
fragment:
  description: With O(aggregate), a proposed catalog fragment (YAML) for unknown rows on the vendor's ports, or empty. Never applied.
  returned: with aggregate
  type: str
"""

import os
import re
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.jaas.firewall.plugins.module_utils import drop_log, nft_eval, resolver_files
from ansible_collections.jaas.firewall.plugins.module_utils.ruleset_read import read_host

_AGE = re.compile(r'^(\d+)\s*([smhd])$')
_UNITS = {'s': 1, 'm': 60, 'h': 3600, 'd': 86400}


def since_seconds(text, now):
    """Unix time of ``since`` (epoch, ISO 8601, or an age); ValueError naming the value."""
    text = str(text).strip()
    match = _AGE.match(text)
    if match:
        return now - int(match.group(1)) * _UNITS[match.group(2)]
    if re.match(r'^\d+(\.\d+)?$', text):
        return float(text)
    iso = drop_log.line_time(text + ' ')
    if iso is None:
        raise ValueError('since: %r is neither seconds since the epoch, an ISO 8601 time nor an '
                         'age like 30m, 2h, 1d' % text)
    return iso


def boot_time():
    try:
        with open('/proc/uptime') as handle:
            return time.time() - float(handle.read().split()[0])
    except (IOError, OSError, ValueError):
        return None


def command_for(module, source, since):
    journal = module.get_bin_path('journalctl')
    if source == 'journal' or (source == 'auto' and journal):
        if not journal:
            module.fail_json(msg='source=journal: journalctl not found')
        return [journal, '-k', '--no-pager', '-q', '-o', 'short-unix', '--since',
                '@%d' % int(since), '-n', str(module.params['max_lines'])], 'journalctl -k'
    dmesg = module.get_bin_path('dmesg')
    if not dmesg:
        module.fail_json(msg='neither journalctl nor dmesg found: no kernel log to read')
    return [dmesg, '--time-format', 'iso'], 'dmesg'


def read_lines(argv, path, max_lines, timeout, feed, module=None):
    """Feed at most ``max_lines`` lines of a file or a command's output; True when cut short.

    A command runs under coreutils' ``timeout`` (killed after ``timeout`` seconds, what it
    printed is kept) and journalctl gets ``-n max_lines`` (the newest lines of the window)."""
    deadline = time.monotonic() + timeout
    count = 0
    if path is not None:
        with open(path, errors='replace') as handle:
            for line in handle:
                feed(line)
                count += 1
                if count >= max_lines or (count % 4096 == 0 and time.monotonic() > deadline):
                    return True
        return False
    killer = module.get_bin_path('timeout')
    if killer:
        argv = [killer, '--signal=KILL', str(timeout)] + list(argv)
    rc, out, err = module.run_command(argv, errors='surrogate_or_replace')
    lines = out.splitlines()
    if rc not in (0, 124, 137, -9) and not lines:
        module.fail_json(msg='%s failed (rc %d), no log read: %s' % (
            os.path.basename(argv[3] if killer else argv[0]), rc, err.strip()[:300]))
    for line in lines[:max_lines]:
        feed(line)
    return len(lines) >= max_lines or (killer is not None and rc in (124, 137, -9))


def dns_log_sources(params, unit_file=None):
    """(path, unit) of the resolver answers to read: the admin's, else the local resolver's
    journal when its unit is installed (it logs answers with log_drops), else nothing."""
    if params['dns_log_path'] or params['dns_log_unit']:
        return params['dns_log_path'], params['dns_log_unit']
    if os.path.exists(unit_file or resolver_files.UNIT_FILE):
        return None, resolver_files.SERVICE
    return None, None


def read_answers(module, params, since):
    """({address: names}, what was read) - bounded by max_lines and timeout like the drops."""
    listed = params['domain_names']
    path, unit = dns_log_sources(params)
    if not listed or not (path or unit):
        return {}, None
    lines = []
    if path:
        if os.path.exists(path):
            read_lines(None, path, params['max_lines'], params['timeout'], lines.append, module)
    if unit:
        journal = module.get_bin_path('journalctl')
        if journal:
            # -n: the newest answers of the window when there are more than max_lines
            read_lines([journal, '-u', unit, '--no-pager', '-q', '-o', 'cat',
                        '--since', '@%d' % int(since), '-n', str(params['max_lines'])], None,
                       params['max_lines'], params['timeout'], lines.append, module)
        else:
            unit = None
    return drop_log.answers(lines, listed), path or ('journalctl -u %s' % unit if unit else None)


def probe_for(row):
    proto = row['proto'] if row['proto'] in ('tcp', 'udp') else row['proto'] or 'tcp'
    if row['direction'] == 'in':
        return nft_eval.Probe('input', row['family'], proto, saddr=row['address'],
                              daddr=row['local'] or None, dport=row['port'])
    if row['direction'] == 'fwd':
        return nft_eval.Probe('forward', row['family'], proto, daddr=row['address'],
                              dport=row['port'], iif=row['iif'] or None, oif=row['oif'] or None)
    return nft_eval.Probe('output', row['family'], proto, daddr=row['address'], dport=row['port'],
                          oif=row['oif'] or None)


def explain(module, rows):
    """Add ``dropped_by`` (who drops it now) to each row; None when nothing can be read."""
    try:
        ruleset, texts, sources = read_host(module)
        compiled = nft_eval.Ruleset.from_nft_json(ruleset, **texts)
    except Exception as exc:  # explanation is a bonus: the counts stand without it
        module.warn('the ruleset could not be evaluated, rows are not explained: %s' % exc)
        return None
    for row in rows:
        try:
            decision = compiled.decide(probe_for(row))
        except (ValueError, KeyError, TypeError) as exc:
            row['dropped_by'] = None
            row['explain_error'] = str(exc)
            continue
        row['dropped_by'] = None if decision.accepted else decision.as_dict()
    return sources


def main():
    module = AnsibleModule(
        argument_spec=dict(
            catalog=dict(type='dict'),
            since=dict(type='str', default='1h'),
            source=dict(type='str', default='auto', choices=['auto', 'journal', 'dmesg', 'file']),
            path=dict(type='path'),
            max_lines=dict(type='int', default=1000000),
            timeout=dict(type='int', default=60),
            include_foreign=dict(type='bool', default=True),
            explain=dict(type='bool', default=True),
            domain_names=dict(type='list', elements='str', default=[]),
            dns_log_path=dict(type='path'),
            dns_log_unit=dict(type='str'),
            aggregate=dict(type='dict'),
            report_dir=dict(type='path'),
            max_rows=dict(type='int', default=40),
        ),
        required_if=[('source', 'file', ('path',))],
        supports_check_mode=True)
    params = module.params
    started = time.monotonic()
    try:
        since = since_seconds(params['since'], time.time())
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    if params['max_lines'] < 1 or params['timeout'] < 1:
        module.fail_json(msg='max_lines and timeout must be at least 1')
    aggregate = drop_log.Aggregate(since=since, include_foreign=params['include_foreign'])
    boot = boot_time()

    def feed(line):
        aggregate.add_line(line, boot)

    if params['source'] == 'file':
        if not os.path.exists(params['path']):
            module.fail_json(msg='path: %s does not exist' % params['path'])
        argv, label = None, params['path']
        truncated = read_lines(None, params['path'], params['max_lines'], params['timeout'], feed,
                               module)
    else:
        argv, label = command_for(module, params['source'], since)
        truncated = read_lines(argv, None, params['max_lines'], params['timeout'], feed, module)
    rows = aggregate.result()
    sources = explain(module, rows) if params['explain'] and rows else None
    if params['explain'] and sources is not None and params['include_foreign']:
        # a foreign line is a drop only where the ruleset drops that packet
        rows = [row for row in rows if row['tag'] == 'jaas' or row.get('dropped_by')]
    found, dns_log = read_answers(module, params, since)
    for row in rows:
        if row['address'] in found:
            row['answered_for'] = found[row['address']]
    module.exit_json(changed=False, rows=rows, lines=aggregate.lines,
                     drops=sum(row['count'] for row in rows), truncated=truncated, source=label,
                     dns_log=dns_log, paired=aggregate.paired,
                     ruleset_sources=sources or [], since=since,
                     seconds=round(time.monotonic() - started, 3))


if __name__ == '__main__':
    main()
