"""Render the README's blocks-and-ports table from the catalog.

    python tools/readme_table.py          # print the table
    python tools/readme_table.py --write  # replace it in README.md between the markers

tests/unit/test_readme_table.py fails when README.md is out of date.
"""

import argparse
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, '.collections'))

from ansible_collections.jaas.firewall.plugins.plugin_utils.catalog import load_catalog  # noqa: E402
from ansible_collections.jaas.firewall.plugins.plugin_utils.rules import catalog_rules  # noqa: E402

BEGIN = '<!-- BEGIN blocks-table (tools/readme_table.py --write) -->'
END = '<!-- END blocks-table -->'


def ports_text(rule):
    ports = rule['ports']
    if ports is None:
        return '%s all ports' % rule['protocol'].upper()
    if ports == 'receiver':
        return 'TCP your webhook port (default 443)'
    return '%s %s' % (rule['protocol'].upper(), ports)


def render():
    catalog = load_catalog()
    counts = {}
    for rule in catalog_rules(catalog, webhooks=True):
        counts[rule['block']] = counts.get(rule['block'], 0) + 1
    lines = ['| block | direction | ports | regions | networks (v4 / v6) | rules |',
             '|---|---|---|---|---|---|']
    for name, block in catalog['blocks'].items():
        if block['regions'] is None:
            networks, regions = block['networks'], '—'
        else:
            networks = [n for r in block['regions'].values() for n in r['networks']]
            regions = str(len(block['regions']))
        v6 = sum(1 for n in networks if ':' in n)
        ports = ', '.join(ports_text(r) for r in block['rules']) or 'none (not documented)'
        lines.append('| `%s` | %s | %s | %s | %d / %d | %d |' % (
            name, block['direction'], ports, regions, len(networks) - v6, v6, counts.get(name, 0)))
    lines.append('')
    lines.append('Domains (HTTPS, TCP 443; enforced on hosts by following DNS with `jaas_firewall_domains`, or by a proxy with the squid role): %s.' % ', '.join(
        '%s %d' % (k, len(v['names'])) for k, v in catalog['domains'].items()))
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--write', action='store_true')
    args = parser.parse_args()
    table = render()
    if not args.write:
        print(table)
        return 0
    path = os.path.join(REPO, 'README.md')
    with open(path, encoding='utf-8') as handle:
        text = handle.read()
    head, _sep, rest = text.partition(BEGIN)
    _old, _sep2, tail = rest.partition(END)
    if not _sep or not _sep2:
        sys.exit('README.md lacks the table markers')
    with open(path, 'w', encoding='utf-8') as handle:
        handle.write(head + BEGIN + '\n' + table + '\n' + END + tail)
    return 0


if __name__ == '__main__':
    sys.exit(main())
