#!/usr/bin/env python3
"""Capture what real nft prints for the fixture table (tests/golden/nftables_live_<version>.json)
for the same table in gateway mode (nftables_gateway_live_<version>.json), and in gateway mode
with drop logging (log_drops: nftables_gateway_log_drops_live_<version>.json).

The unit tests (tests/unit/test_nftables_plan.py) read these listings back and require the
backend to see them as converged: that is how a change in nft's JSON spelling between
versions shows up at unit speed. Regenerate after changing how rules are written:

    make golden-nftables-live      # starts a Debian 12 and a Debian 13 harness container

or, with your own containers: .venv/bin/python tests/golden/nftables_capture.py NAME...

The fixture script is applied with ``nft -f`` inside a throw-away container (--network
none) and listed with ``nft -j list table inet jaas``; handles are kept as nft prints them.
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, '.collections'))
sys.path.insert(0, os.path.join(ROOT, 'tests'))

from ansible_collections.jaas.firewall.plugins.module_utils import nftables_plan as nft  # noqa: E402
from ansible_collections.jaas.firewall.plugins.module_utils.gateway import Gateway  # noqa: E402


def fixture_model(gateway=False, log_drops=False):
    with open(os.path.join(HERE, 'nftables_fixture.json')) as handle:
        data = json.load(handle)
    options = {}
    if gateway:  # every shape of the forward chain: an interface set, a single interface
        options = dict(gateway=Gateway(tuple(data['gateway']['in_interfaces']),
                                       tuple(data['gateway']['out_interfaces'])),
                       default_forward=data['gateway']['default_forward'])
    model = nft.desired_model(data['rules'], data['keep_open'], data['connection_ports'],
                              data['default_incoming'], data['default_outgoing'], **options)
    return data, nft.with_drop_logging(model, log_drops)


def capture(container, gateway=False, log_drops=False):
    data, model = fixture_model(gateway, log_drops)
    text = nft.script(model, data['table'])
    subprocess.run(['docker', 'exec', '-i', container, 'nft', '-f', '-'], input=text, text=True,
                   check=True)
    version = subprocess.run(['docker', 'exec', container, 'nft', '--version'], text=True,
                             check=True, capture_output=True).stdout.split()[1].lstrip('v')
    listing = subprocess.run(['docker', 'exec', container, 'nft', '-j', 'list', 'table', 'inet',
                              data['table']], text=True, check=True, capture_output=True).stdout
    subprocess.run(['docker', 'exec', container, 'nft', 'delete', 'table', 'inet', data['table']],
                   check=True)
    path = os.path.join(HERE, 'nftables_%s%slive_%s.json' % (
        'gateway_' if gateway else '', 'log_drops_' if log_drops else '', version))
    with open(path, 'w') as handle:
        json.dump(json.loads(listing), handle, indent=1, sort_keys=True)
        handle.write('\n')
    print('%s: nft %s -> %s' % (container, version, os.path.relpath(path, ROOT)))


def main(containers):
    if containers:
        for name in containers:
            capture(name)
            capture(name, gateway=True)
            capture(name, gateway=True, log_drops=True)
        return
    from reliability import harness  # the suite's container settings
    hosts = []
    try:
        for suite in ('bookworm', 'trixie'):
            hosts.append(harness.Host.start('nft-capture-' + suite, suite))
            capture(hosts[-1].name)
            capture(hosts[-1].name, gateway=True)
            capture(hosts[-1].name, gateway=True, log_drops=True)
    finally:
        harness.remove_all()


if __name__ == '__main__':
    main(sys.argv[1:])
