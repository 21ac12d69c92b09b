"""Render the README's generated tables: blocks and ports from the catalog, backends at a
glance from the backend registry (plugins/plugin_utils/registry.py).

    python tools/readme_table.py          # print the tables
    python tools/readme_table.py --write  # replace them in README.md between their markers

tests/unit/test_readme_table.py fails when README.md is out of date.
"""

import argparse
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, '.collections'))

from ansible_collections.jaas.firewall.plugins.plugin_utils.catalog import load_catalog  # noqa: E402
from ansible_collections.jaas.firewall.plugins.plugin_utils.rules import catalog_rules  # noqa: E402
from ansible_collections.jaas.firewall.plugins.plugin_utils import registry  # noqa: E402


def markers(name):
    return ('<!-- BEGIN %s (tools/readme_table.py --write) -->' % name, '<!-- END %s -->' % name)


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


def render_backends():
    """One row per registry backend: its role, module, features and where its rules live."""
    features = list(registry.FEATURES)
    lines = ['| backend | role | module | %s | its rules |' % ' | '.join(
                 registry.FEATURES[f] for f in features),
             '|---|---|---|%s---|' % ('---|' * len(features))]
    for entry in registry.BACKENDS:
        marks = ['yes' if f in entry.features else '—' for f in features]
        lines.append('| %s | [`jaas.firewall.%s`](roles/%s/README.md) | `%s` | %s | %s |' % (
            entry.name, entry.name, entry.name, entry.module, ' | '.join(marks), entry.readme))
    return '\n'.join(lines)


TABLES = (('blocks-table', render), ('backends-table', render_backends))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--write', action='store_true')
    parser.add_argument('--table', choices=[name for name, _render in TABLES],
                        help='print only this table')
    args = parser.parse_args()
    if not args.write:
        print('\n\n'.join(render_table() for name, render_table in TABLES
                           if args.table in (None, name)))
        return 0
    path = os.path.join(REPO, 'README.md')
    with open(path, encoding='utf-8') as handle:
        text = handle.read()
    for name, render_table in TABLES:
        begin, end = markers(name)
        head, _sep, rest = text.partition(begin)
        _old, _sep2, tail = rest.partition(end)
        if not _sep or not _sep2:
            sys.exit('README.md lacks the %s markers' % name)
        text = head + begin + '\n' + render_table() + '\n' + end + tail
    with open(path, 'w', encoding='utf-8') as handle:
        handle.write(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
