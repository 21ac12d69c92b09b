#!/usr/bin/env python3
"""Lines per second of jaas.firewall.drop_report's host half (parse + aggregate, as the module
runs it) and the controller half (classify + merge) on 100,000 kernel log lines.

The lines are the captured ones (tests/fixtures/drop_log/dmesg_iso.log) with their addresses
and ports varied over 198.18.0.0/16, 2001:2::/48 and the vendor's ports, plus one non-drop
kernel line in ten. Classified against the shipped catalog's rules for every region.

    .venv/bin/python bench/drop_report_bench.py [LINES]
"""

import os
import random
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, '.collections'))

from ansible_collections.jaas.firewall.plugins.module_utils import drop_log  # noqa: E402
from ansible_collections.jaas.firewall.plugins.plugin_utils import drop_report  # noqa: E402


def catalog_rules():
    from ansible_collections.jaas.firewall.plugins.filter.rules import rules
    from ansible_collections.jaas.firewall.plugins.plugin_utils.catalog import load_catalog
    return rules(load_catalog(os.path.join(ROOT, 'vars', 'jaas_catalog.yml')))


def make_lines(count):
    rng = random.Random(22)
    with open(os.path.join(ROOT, 'tests', 'fixtures', 'drop_log', 'dmesg_iso.log')) as handle:
        samples = [line for line in handle if not line.startswith('#')]
    lines = []
    for index in range(count):
        if index % 10 == 9:
            lines.append('2026-12-05T17:19:52,1+00:00 eth0: renamed from veth1234\n')
            continue
        line = samples[index % len(samples)]
        if 'DST=198.18.52.' in line:
            line = line.replace('DST=198.18.52.', 'DST=198.18.%d.' % rng.randrange(256), 1)
        port = rng.choice((443, 10000, 50000 + rng.randrange(15000), 80))
        line = line.replace('DPT=', 'DPT=%d X' % port, 1)
        lines.append(line)
    return lines


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    lines = make_lines(count)
    rules = catalog_rules()
    started = time.perf_counter()
    agg = drop_log.Aggregate()
    for line in lines:
        agg.add_line(line)
    rows = agg.result()
    parsed = time.perf_counter() - started
    started = time.perf_counter()
    merged = drop_report.aggregate({'bench': {'rows': rows}}, rules)
    drop_report.fragment(merged)
    classified = time.perf_counter() - started
    total = parsed + classified
    print('%d lines, %d drops, %d distinct rows, %d catalog rules' % (
        count, agg.drops, len(rows), len(rules)))
    print('host half (parse + aggregate): %.2f s, %d lines/s' % (parsed, count / parsed))
    print('controller half (classify + merge + fragment): %.2f s' % classified)
    print('total: %.2f s, %d lines/s' % (total, count / total))


if __name__ == '__main__':
    main()
