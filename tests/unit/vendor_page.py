"""An independent reading of the vendor page, for test expectations only.

Deliberately shares no code with the collection: a few regular expressions over
shared/jaas-network-requirements.md plus a hand-written table of the ports the page
states in prose for each section.
"""

import ipaddress
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
# The copy kept in the repository (CI clones have no ../shared); a test checks that it
# still equals the shared source of truth whenever that is present.
PAGE_CANDIDATES = [
    os.path.join(HERE, '..', 'fixtures', 'jaas-network-requirements.md'),
]
SHARED_PAGE = os.path.join(HERE, '..', '..', '..', 'shared', 'jaas-network-requirements.md')

# Ports as the page states them, transcribed by hand (None = every port).
PAGE_PORTS = {
    'cloudflare': [('tcp', None), ('udp', None)],       # "full IP connectivity (TCP and UDP)"
    'jvb': [('tcp', '443'), ('udp', '10000')],          # "TCP port 443 and UDP port 10000"
    'turn': [('tcp', '443'), ('udp', '443'), ('udp', '49152-65535')],
    'webhook_origins': [('tcp', 'receiver')],           # "Webhook responses will come on TCP"
}

_ADDR = r'[0-9a-fA-F.:]+(?:/\d+)?'


def page_path():
    for path in PAGE_CANDIDATES:
        if os.path.exists(path):
            return os.path.normpath(path)
    raise FileNotFoundError('vendor page copy not found in %s' % PAGE_CANDIDATES)


def read_page():
    with open(page_path(), encoding='utf-8') as handle:
        return handle.read()


def _section(text, start, end):
    body = text.split(start, 1)[1]
    return body.split(end, 1)[0] if end else body


def _bare_addresses(body):
    return [line.strip() for line in body.splitlines()
            if re.fullmatch(_ADDR, line.strip() or 'x')]


def _region_lines(body):
    regions = {}
    for name, addresses in re.findall(r'^\* (.+?): (.+)$', body, flags=re.M):
        regions[name.strip()] = [a.strip() for a in addresses.split(',')]
    return regions


def with_prefix(address):
    if '/' in address:
        return address
    return address + ('/128' if ':' in address else '/32')


def page_networks():
    """{block: {region name or None: [networks as on the page, with /32 added]}}"""
    text = read_page()
    cloudflare_v4 = _bare_addresses(_section(text, '#### IPv4', '#### IPv6'))
    cloudflare_v6 = _bare_addresses(_section(text, '#### IPv6', '#### Video Bridges'))
    jvb = _region_lines(_section(text, '#### Video Bridges', '#### TURN'))
    turn = _region_lines(_section(text, '#### TURN Relay Servers', '#### Jitsi as a Service'))
    webhook = re.findall(r'^\* (%s)$' % _ADDR,
                         _section(text, '#### Jitsi as a Service Webhook Origins', '#### Copy'),
                         flags=re.M)
    return {
        'cloudflare': {None: [with_prefix(a) for a in cloudflare_v4 + cloudflare_v6]},
        'jvb': {k: [with_prefix(a) for a in v] for k, v in jvb.items()},
        'turn': {k: [with_prefix(a) for a in v] for k, v in turn.items()},
        'webhook_origins': {None: [with_prefix(a) for a in webhook]},
    }


def page_copy_paste():
    return [with_prefix(a) for a in _bare_addresses(_section(read_page(), '#### Copy/Paste', None))]


def page_domains():
    text = read_page()
    result = {}
    for category, start, end in (('core', '#### Core Operation', '#### Auxiliary'),
                                 ('auxiliary', '#### Auxiliary Functionality', '#### Analytics'),
                                 ('analytics', '#### Analytics', '### IP Addresses')):
        result[category] = re.findall(r'^\* `https://([^`]+)`', _section(text, start, end),
                                      flags=re.M)
    return result


def page_rule_counts(blocks=('cloudflare', 'jvb', 'turn'), families=(4, 6), compact=True):
    """{block: number of rules the page asks for}: per region and family, the page's
    networks (merged with the standard library's collapse_addresses when ``compact``, as
    the rules filter merges with netaddr) times the ports the page states for the block."""
    counts = {}
    for block, regions in page_networks().items():
        if block not in blocks:
            continue
        networks = 0
        for addresses in regions.values():
            for family in families:
                chosen = set(ipaddress.ip_network(a) for a in addresses
                             if (6 if ':' in a else 4) == family)
                networks += len(list(ipaddress.collapse_addresses(chosen)) if compact else chosen)
        counts[block] = networks * len(PAGE_PORTS[block])
    return counts
