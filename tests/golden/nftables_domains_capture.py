#!/usr/bin/env python3
"""Capture what real nft prints for the fixture table with its domain half
(tests/golden/nftables_domains_live_<version>.json).

tests/unit/test_nftables_domains.py reads these listings back: the table must be seen as
converged whatever the resolver added, and the addresses must come out as the resolver's
(with their time left). That is how nft's spelling of timed sets and ``update`` statements
(1.0.6 and 1.1.3 differ) is pinned at unit speed. Regenerate after changing how the domain
half is written, with two running containers of the test images:

    .venv/bin/python tests/golden/nftables_domains_capture.py CONTAINER_DEBIAN12 CONTAINER_DEBIAN13

The answer guard is the default one (the fixture has no ``domain_answer_exclude``). The script is applied with ``nft -f``, the fixture's addresses are added the way dnsmasq
adds them (``nft add element``, no timeout given), the table is listed with
``nft -j list table inet jaas`` and deleted again.
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, '.collections'))

from ansible_collections.jaas.firewall.plugins.module_utils import nftables_plan as nft  # noqa: E402
from ansible_collections.jaas.firewall.plugins.module_utils.domain_sets import normalise_domains  # noqa: E402
from ansible_collections.jaas.firewall.plugins.module_utils import answer_guard  # noqa: E402


def fixture():
    """(base fixture, domain fixture, desired model with the domain half)."""
    with open(os.path.join(HERE, 'nftables_fixture.json')) as handle:
        base = json.load(handle)
    with open(os.path.join(HERE, 'nftables_domains_fixture.json')) as handle:
        domains = json.load(handle)
    model = nft.desired_model(base['rules'], base['keep_open'], base['connection_ports'],
                              base['default_incoming'], base['default_outgoing'])
    model = nft.with_domains(model, normalise_domains(domains['domains']), domains['domain_ttl'],
                                          answer_guard.normalise_exclude(domains.get('domain_answer_exclude')))
    return base, domains, model


def _docker(container, *args, **kwargs):
    return subprocess.run(['docker', 'exec', '-i', container] + list(args), text=True,
                          check=True, capture_output=True, **kwargs).stdout


def capture(container):
    base, domains, model = fixture()
    table = base['table']
    _docker(container, 'nft', '-f', '-', input=nft.script(model, table))
    for name, addresses in sorted(domains['resolver_answers'].items()):
        _docker(container, 'nft', 'add', 'element', 'inet', table, name,
                '{ %s }' % ', '.join(addresses))
    version = _docker(container, 'nft', '--version').split()[1].lstrip('v')
    listing = _docker(container, 'nft', '-j', 'list', 'table', 'inet', table)
    _docker(container, 'nft', 'delete', 'table', 'inet', table)
    path = os.path.join(HERE, 'nftables_domains_live_%s.json' % version)
    with open(path, 'w') as handle:
        json.dump(json.loads(listing), handle, indent=1, sort_keys=True)
        handle.write('\n')
    print('%s: nft %s -> %s' % (container, version, os.path.relpath(path, ROOT)))


if __name__ == '__main__':
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for name in sys.argv[1:]:
        capture(name)
