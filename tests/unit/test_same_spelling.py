# -*- coding: utf-8 -*-
"""One spelling, one meaning: every spelling below goes through every entry point that can
take it, and each must either give the same normal form or be refused with the same
reason (only the location in front of it differs).

Entry points: the catalog loader, the keep_open filter, the live Cloudflare list, the
ufw, firewalld and nftables backends (rules and keep-open entries, as their modules get them), the
Windows renderer (rules and keep-open entries), the Squid and Windows filters (names).

The expectations are typed in by hand below (docs/catalog-schema.md, "One rule model");
nothing is computed by the code under test. The outputs are read back from what each
entry point produces (catalog entries, ufw tuple lines, firewalld ipsets and rich rules,
nftables set elements and rule texts, Windows rule specs) with the standard library, not with the model.
"""

from __future__ import annotations

import ipaddress
import re

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.jaas.firewall.plugins.filter.keep_open import keep_open
from ansible_collections.jaas.firewall.plugins.filter.squid_acl import squid_acl
from ansible_collections.jaas.firewall.plugins.filter.windows_domain_rules import (
    windows_domain_rules)
from ansible_collections.jaas.firewall.plugins.filter.windows_powershell import (
    windows_powershell)
from ansible_collections.jaas.firewall.plugins.filter.windows_rules import windows_rules
from ansible_collections.jaas.firewall.plugins.module_utils import converge, firewalld_plan, nftables_plan
from ansible_collections.jaas.firewall.plugins.module_utils.ufw_plan import (
    UfwRulesError, desired_blocks)
from ansible_collections.jaas.firewall.plugins.plugin_utils.catalog import (
    CatalogError, load_catalog, validate_catalog)
from ansible_collections.jaas.firewall.plugins.plugin_utils.cloudflare import (
    ListRefused, parse_list)

# ----------------------------------------------------------------------------- the table
# Public networks (Cloudflare's published ranges), so no entry point may refuse them for
# their address space; nothing is ever sent to them.
NOT_A_NETWORK = ' is not a CIDR network or address'
NOT_PORTS = ' is not a port "N" or a port range "N-M"'
SLUG_CHARS = '1-%d lowercase letters, digits, "_" or "-", starting with a letter or digit'
LIVE_LINE_BREAK = 'n/a: a line break ends the line in a list of lines'

# spelling -> ('ok', normal form) | ('refused', reason); then exceptions per entry point
NETWORKS = [
    ('104.16.0.0/13', ('ok', '104.16.0.0/13'), {}),
    ('104.16.0.1', ('ok', '104.16.0.1/32'),
     {'live list': ('refused', "'104.16.0.1' has no /prefix (Cloudflare publishes ranges; a "
                               'bare address is what a line cut before its prefix looks like)')}),
    ('2400:CB00::/32', ('ok', '2400:cb00::/32'), {}),
    ('2400:cb00::1', ('ok', '2400:cb00::1/128'),
     {'live list': ('refused', "'2400:cb00::1' has no /prefix (Cloudflare publishes ranges; a "
                               'bare address is what a line cut before its prefix looks like)')}),
    ('104.16.0.0/255.248.0.0',
     ('refused', "'104.16.0.0/255.248.0.0'" + NOT_A_NETWORK +
      ': netmask notation; write the prefix length (104.16.0.0/13)'), {}),
    (' 104.16.0.0/13',
     ('refused', "' 104.16.0.0/13'" + NOT_A_NETWORK + ': leading or trailing whitespace'), {}),
    ('104.16.0.0/13 ',
     ('refused', "'104.16.0.0/13 '" + NOT_A_NETWORK + ': leading or trailing whitespace'), {}),
    ('104.16.0.0/13\n',
     ('refused', "'104.16.0.0/13\\n'" + NOT_A_NETWORK + ': leading or trailing whitespace'),
     {'live list': LIVE_LINE_BREAK}),
    ('104.016.0.0/13',
     ('refused', "'104.016.0.0/13'" + NOT_A_NETWORK + ': leading zero in an IPv4 address byte'),
     {}),
    ('104.16.0.0/013',
     ('refused', "'104.16.0.0/013'" + NOT_A_NETWORK + ': leading zero in the prefix length'), {}),
    ('104.16.0.1/13',
     ('refused', "'104.16.0.1/13' has host bits set (did you mean 104.16.0.0/13?)"), {}),
    ('104.16.0.0/33',
     ('refused', "'104.16.0.0/33': prefix /33 is out of range for IPv4 (0-32)"), {}),
    ('::ffff:104.16.0.1',
     ('refused', "'::ffff:104.16.0.1' is an IPv4-mapped IPv6 address; write the IPv4 form "
                 '104.16.0.1'), {}),
    ('2400:cb00::1%eth0',
     ('refused', "'2400:cb00::1%eth0'" + NOT_A_NETWORK + ': IPv6 zone index'), {}),
    ('104.16.0.0/13" invert="true',
     ('refused', "'104.16.0.0/13\" invert=\"true'" + NOT_A_NETWORK), {}),
]

PORTS = [
    ('443', ('ok', '443'), {}),
    (443, ('ok', '443'), {}),
    ('443-443', ('ok', '443'), {}),
    ('49152-65535', ('ok', '49152-65535'), {}),
    ('0443', ('refused', "'0443'" + NOT_PORTS + ': leading zero'), {}),
    (' 443', ('refused', "' 443'" + NOT_PORTS + ': leading or trailing whitespace'), {}),
    ('443\n', ('refused', "'443\\n'" + NOT_PORTS + ': leading or trailing whitespace'), {}),
    ('443:443', ('refused', "'443:443'" + NOT_PORTS + ': write ranges with "-" (443-443)'), {}),
    ('0', ('refused', "'0': port 0 is out of range 1-65535"), {}),
    (65536, ('refused', '65536: port 65536 is out of range 1-65535'), {}),
    ('443-80', ('refused', "'443-80': the range is reversed (low > high)"), {}),
    ('443; reboot', ('refused', "'443; reboot'" + NOT_PORTS), {}),
    (True, ('refused', 'True' + NOT_PORTS + ': expected a number or a string'), {}),
]

PROTOCOLS = [
    ('udp', ('ok', 'udp')),
    ('UDP', ('refused', "'UDP': expected tcp or udp")),
    ('udp\n', ('refused', "'udp\\n': expected tcp or udp")),
    ('icmp', ('refused', "'icmp': expected tcp or udp")),
]

DIRECTIONS = [
    ('out', ('ok', 'out')),
    ('egress', ('refused', "'egress': expected in or out")),
    ('out\n', ('refused', "'out\\n': expected in or out")),
]

BLOCK_KEYS = [
    ('turn', ('ok', 'turn')),
    ('webhook_origins', ('ok', 'webhook_origins')),
    ('turn\n', ('refused', "'turn\\n' is not a valid block key: " + SLUG_CHARS % 19)),
    ('Turn', ('refused', "'Turn' is not a valid block key: " + SLUG_CHARS % 19)),
    # 20 characters: "jaas-" + key + "-v6" would be 28 with the default prefix, but
    # 32 > 31 with an 8-character one; refused on the controller, whatever the backend.
    ('a_block_key_of_20_ch',
     ('refused', "'a_block_key_of_20_ch' is not a valid block key: longer than 19 characters "
                 "(firewalld's ipset name <prefix>-<block>-v6 holds 31)")),
]

REGION_KEYS = [
    ('uk-london', ('ok', 'uk-london')),
    ('uk-london\n', ('refused', "'uk-london\\n' is not a valid region key: " + SLUG_CHARS % 48)),
    ('UK London', ('refused', "'UK London' is not a valid region key: " + SLUG_CHARS % 48)),
]

# (name kind, spelling, expected, entry points)
NAMES = [
    ('squid', 'jaas_domains', ('ok', 'jaas_domains')),
    ('squid', 'jaas\n', ('refused', "'jaas\\n' is not a valid Squid ACL name: "
                                    '1-51 letters, digits, "_" or "-"')),
    ('squid', 'a' * 52, ('refused', "'%s' is not a valid Squid ACL name: longer than 51 "
                                    'characters (Squid uses names up to 62 and "_subdomains" '
                                    'is appended)' % ('a' * 52))),
    ('windows group', 'JaaS', ('ok', 'JaaS')),
    ('windows group', 'JaaS\n', ('refused', "'JaaS\\n' is not a valid Windows group name: "
                                            '1-64 letters, digits, spaces, ".", "_" or "-", '
                                            'starting with a letter or digit and not ending '
                                            'in a space')),
    ('windows group', 'JaaS ', ('refused', "'JaaS ' is not a valid Windows group name: "
                                           '1-64 letters, digits, spaces, ".", "_" or "-", '
                                           'starting with a letter or digit and not ending '
                                           'in a space')),
    ('ufw tag prefix', 'jaas', ('ok', 'jaas')),
    ('ufw tag prefix', 'jaas\n', ('refused', "'jaas\\n' is not a valid ufw tag prefix: "
                                             + SLUG_CHARS % 31)),
    ('firewalld prefix', 'jaas', ('ok', 'jaas')),
    ('firewalld prefix', 'jaas\n', ('refused', "'jaas\\n' is not a valid firewalld prefix: "
                                               '1-8 lowercase letters or digits, starting '
                                               'with a letter')),
    ('firewalld prefix', 'ja-as', ('refused', "'ja-as' is not a valid firewalld prefix: "
                                              '1-8 lowercase letters or digits, starting '
                                              'with a letter')),
]


# ----------------------------------------------------------------------------- entry points
# Each adapter feeds one value in and returns ('ok', normal form as the entry point
# produced it) or ('refused', the reason after the entry point's location prefix). The
# prefix is checked too: it must name the file or variable and the entry.

def _after(message, prefix):
    assert '\n' not in message, message
    assert message.startswith(prefix), (prefix, message)
    return message[len(prefix):]


def _catalog(blocks):
    return {'schema_version': 1,
            'provenance': {'title': 't', 'url': 'https://example.invalid', 'retrieved': '2026-01-01'},
            'blocks': blocks}


def _block(networks=('104.16.0.0/13',), protocol='tcp', ports='443', direction='out'):
    return {'description': 'd', 'direction': direction,
            'rules': [{'protocol': protocol, 'ports': ports}], 'networks': list(networks)}


def _load(blocks):
    try:
        return 'ok', validate_catalog(_catalog(blocks), source='lab.yml')
    except CatalogError as exc:
        assert len(exc.problems) == 1, exc.problems
        return 'refused', exc.problems[0]


def _rule(network='104.16.0.0/13', protocol='tcp', ports='443', block='cloudflare',
          region=None, direction='out'):
    family = 6 if ':' in str(network) else 4
    return {'direction': direction, 'family': family, 'network': network, 'protocol': protocol,
            'ports': ports, 'block': block, 'region': region}


def _ufw(rule, tag_prefix='jaas'):
    try:
        wanted = desired_blocks([rule], tag_prefix)
    except UfwRulesError as exc:
        return 'refused', str(exc)
    blocks = wanted[4] + wanted[6]
    assert len(blocks) == 1
    # "### tuple ### allow tcp 443 104.16.0.0/13 any 0.0.0.0/0 out comment=..."
    fields = [line for line in blocks[0].splitlines() if line.startswith('### tuple')][0].split()
    return 'ok', {'protocol': fields[4], 'ports': fields[5].replace(':', '-'),
                  'network': str(ipaddress.ip_network(fields[6])), 'direction': fields[9]}


def _firewalld(rules=(), keep=None, prefix='jaas'):
    try:
        return 'ok', firewalld_plan.desired_state(list(rules), keep_open=keep, prefix=prefix)
    except firewalld_plan.PlanError as exc:
        return 'refused', str(exc)


def _rich_port(state):
    rules = [r for r in state['policies']['jaas-egress']['rich_rules'] if 'port port=' in r]
    return re.search(r'port port="([^"]+)"', rules[0]).group(1)


def _nftables(rules=(), keep=None):
    """The nftables module's path: keep-open entries through the skeleton's safety inputs,
    then the plan; restrictive policies so that keep-open rules are written."""
    try:
        safety = converge.safety_inputs({'keep_open': keep or [], 'state': 'present',
                                         'keep_connection': False, 'connection_port': None})
        return 'ok', nftables_plan.desired_model(list(rules), safety.keep_open,
                                                 default_incoming='drop', default_outgoing='reject')
    except converge.PlanError as exc:
        return 'refused', str(exc)


def _nft_rule(model):
    """(chain direction, rule text) of the one rule of ours besides the fixed ones."""
    found = [('out' if chain == 'output' else 'in', text)
             for chain, body in model['chains'].items() for text in body['rules']
             if ('@v' in text or 'daddr ' in text or 'saddr ' in text or 'dport ' in text)
             and 'established' not in text and ' nd-' not in text]
    assert len(found) == 1, found
    return found[0]


def _nft_port(text):
    found = re.search(r'dport ([0-9-]+)', text)
    return found.group(1) if found else None


def _windows(rules=(), keep=None, group='JaaS'):
    try:
        return 'ok', windows_rules(list(rules), group=group, keep_open=keep)
    except AnsibleFilterError as exc:
        return 'refused', str(exc)


def _windows_network(specs):
    return str(ipaddress.ip_network(specs[0]['remoteip']))


def network_entry_points(spelling):
    def catalog():
        outcome, result = _load({'cloudflare': _block(networks=[spelling])})
        if outcome == 'refused':
            return outcome, _after(result, 'lab.yml: blocks.cloudflare.networks[0]: ')
        return outcome, result['blocks']['cloudflare']['networks'][0]

    def keep_open_filter():
        try:
            entries = keep_open([{'direction': 'out', 'protocol': 'tcp', 'port': '443',
                                  'network': spelling}], name='jaas_firewall_keep_open')
        except AnsibleFilterError as exc:
            return 'refused', _after(str(exc), 'jaas.firewall.keep_open: '
                                     'jaas_firewall_keep_open[0].network: ')
        return 'ok', entries[0]['network']

    def live_list():
        family = 6 if ':' in spelling else 4
        try:
            return 'ok', parse_list(spelling, family, 1)[0]
        except ListRefused as exc:
            return 'refused', _after(str(exc), 'line 1: ')

    def ufw():
        outcome, result = _ufw(_rule(network=spelling))
        if outcome == 'refused':
            return outcome, _after(result, 'rules[0].network: ')
        return outcome, result['network']

    def firewalld():
        outcome, result = _firewalld([_rule(network=spelling)])
        if outcome == 'refused':
            return outcome, _after(result, 'rules[0].network: ')
        [entries] = [ipset['entries'] for ipset in result['ipsets'].values()]
        return outcome, entries[0]

    def firewalld_keep_open():
        outcome, result = _firewalld(keep=[{'direction': 'out', 'protocol': 'tcp', 'port': '53',
                                            'network': spelling}])
        if outcome == 'refused':
            return outcome, _after(result, 'keep_open[0].network: ')
        rule = result['policies']['jaas-egress']['rich_rules'][0]
        return outcome, re.search(r'address="([^"]+)"', rule).group(1)

    def nftables():
        outcome, result = _nftables([_rule(network=spelling)])
        if outcome == 'refused':
            return outcome, _after(result, 'rules[0].network: ')
        [elements] = [one['elements'] for one in result['sets'].values()]
        return outcome, str(ipaddress.ip_network(elements[0]))

    def nftables_keep_open():
        outcome, result = _nftables(keep=[{'direction': 'out', 'protocol': 'tcp', 'port': '53',
                                           'network': spelling}])
        if outcome == 'refused':
            return outcome, _after(result, 'keep_open[0].network: ')
        text = _nft_rule(result)[1]
        return outcome, str(ipaddress.ip_network(re.search(r'daddr (\S+)', text).group(1)))

    def windows():
        outcome, result = _windows([_rule(network=spelling)])
        if outcome == 'refused':
            return outcome, _after(result, 'jaas.firewall.windows_rules: rules[0].network: ')
        return outcome, _windows_network(result)

    def windows_keep_open():
        outcome, result = _windows(keep=[{'direction': 'out', 'protocol': 'tcp', 'port': '53',
                                          'network': spelling}])
        if outcome == 'refused':
            return outcome, _after(result, 'jaas.firewall.windows_rules: '
                                   'jaas_firewall_keep_open[0].network: ')
        return outcome, _windows_network(result)

    return {'catalog': catalog, 'keep_open filter': keep_open_filter, 'live list': live_list,
            'ufw': ufw, 'firewalld': firewalld, 'firewalld keep_open': firewalld_keep_open,
            'nftables': nftables, 'nftables keep_open': nftables_keep_open,
            'Windows': windows, 'Windows keep_open': windows_keep_open}


def port_entry_points(spelling):
    def catalog():
        outcome, result = _load({'cloudflare': _block(ports=spelling)})
        if outcome == 'refused':
            return outcome, _after(result, 'lab.yml: blocks.cloudflare.rules[0].ports: ')
        return outcome, result['blocks']['cloudflare']['rules'][0]['ports']

    def keep_open_filter():
        try:
            entries = keep_open([{'direction': 'out', 'protocol': 'tcp', 'port': spelling}],
                                name='jaas_firewall_keep_open')
        except AnsibleFilterError as exc:
            return 'refused', _after(str(exc), 'jaas.firewall.keep_open: '
                                     'jaas_firewall_keep_open[0].port: ')
        return 'ok', entries[0]['port']

    def ufw():
        outcome, result = _ufw(_rule(ports=spelling))
        if outcome == 'refused':
            return outcome, _after(result, 'rules[0].ports: ')
        return outcome, result['ports']

    def firewalld():
        outcome, result = _firewalld([_rule(ports=spelling)])
        if outcome == 'refused':
            return outcome, _after(result, 'rules[0].ports: ')
        return outcome, _rich_port(result)

    def firewalld_keep_open():
        outcome, result = _firewalld(keep=[{'direction': 'out', 'protocol': 'tcp',
                                            'port': spelling}])
        if outcome == 'refused':
            return outcome, _after(result, 'keep_open[0].port: ')
        return outcome, _rich_port(result)

    def nftables():
        outcome, result = _nftables([_rule(ports=spelling)])
        if outcome == 'refused':
            return outcome, _after(result, 'rules[0].ports: ')
        return outcome, _nft_port(_nft_rule(result)[1])

    def nftables_keep_open():
        outcome, result = _nftables(keep=[{'direction': 'out', 'protocol': 'tcp', 'port': spelling}])
        if outcome == 'refused':
            return outcome, _after(result, 'keep_open[0].port: ')
        return outcome, _nft_port(_nft_rule(result)[1])

    def windows():
        outcome, result = _windows([_rule(ports=spelling)])
        if outcome == 'refused':
            return outcome, _after(result, 'jaas.firewall.windows_rules: rules[0].ports: ')
        return outcome, result[0]['remoteport']

    def windows_keep_open():
        outcome, result = _windows(keep=[{'direction': 'out', 'protocol': 'tcp', 'port': spelling}])
        if outcome == 'refused':
            return outcome, _after(result, 'jaas.firewall.windows_rules: '
                                   'jaas_firewall_keep_open[0].port: ')
        return outcome, result[0]['remoteport']

    return {'catalog': catalog, 'keep_open filter': keep_open_filter, 'ufw': ufw,
            'firewalld': firewalld, 'firewalld keep_open': firewalld_keep_open,
            'nftables': nftables, 'nftables keep_open': nftables_keep_open,
            'Windows': windows, 'Windows keep_open': windows_keep_open}


def protocol_entry_points(spelling):
    def catalog():
        outcome, result = _load({'cloudflare': _block(protocol=spelling)})
        if outcome == 'refused':
            return outcome, _after(result, 'lab.yml: blocks.cloudflare.rules[0].protocol: ')
        return outcome, result['blocks']['cloudflare']['rules'][0]['protocol']

    def keep_open_filter():
        try:
            entries = keep_open([{'direction': 'out', 'protocol': spelling, 'port': '53'}],
                                name='v')
        except AnsibleFilterError as exc:
            return 'refused', _after(str(exc), 'jaas.firewall.keep_open: v[0].protocol: ')
        return 'ok', entries[0]['protocol']

    def ufw():
        outcome, result = _ufw(_rule(protocol=spelling))
        if outcome == 'refused':
            return outcome, _after(result, 'rules[0].protocol: ')
        return outcome, result['protocol']

    def firewalld():
        outcome, result = _firewalld([_rule(protocol=spelling)])
        if outcome == 'refused':
            return outcome, _after(result, 'rules[0].protocol: ')
        rule = result['policies']['jaas-egress']['rich_rules'][0]
        return outcome, re.search(r'protocol="([^"]+)"', rule).group(1)

    def nftables():
        outcome, result = _nftables([_rule(protocol=spelling)])
        if outcome == 'refused':
            return outcome, _after(result, 'rules[0].protocol: ')
        return outcome, re.search(r'\b(tcp|udp) dport', _nft_rule(result)[1]).group(1)

    def windows():
        outcome, result = _windows([_rule(protocol=spelling)])
        if outcome == 'refused':
            return outcome, _after(result, 'jaas.firewall.windows_rules: rules[0].protocol: ')
        return outcome, result[0]['protocol']

    return {'catalog': catalog, 'keep_open filter': keep_open_filter, 'ufw': ufw,
            'firewalld': firewalld, 'nftables': nftables, 'Windows': windows}


def direction_entry_points(spelling):
    def catalog():
        outcome, result = _load({'cloudflare': _block(direction=spelling)})
        if outcome == 'refused':
            return outcome, _after(result, 'lab.yml: blocks.cloudflare.direction: ')
        return outcome, result['blocks']['cloudflare']['direction']

    def keep_open_filter():
        try:
            entries = keep_open([{'direction': spelling, 'protocol': 'tcp', 'port': '53'}],
                                name='v')
        except AnsibleFilterError as exc:
            return 'refused', _after(str(exc), 'jaas.firewall.keep_open: v[0].direction: ')
        return 'ok', entries[0]['direction']

    def ufw():
        outcome, result = _ufw(_rule(direction=spelling))
        if outcome == 'refused':
            return outcome, _after(result, 'rules[0].direction: ')
        return outcome, result['direction']

    def firewalld():
        outcome, result = _firewalld([_rule(direction=spelling)])
        if outcome == 'refused':
            return outcome, _after(result, 'rules[0].direction: ')
        return outcome, 'out' if 'jaas-egress' in result['policies'] else 'in'

    def nftables():
        outcome, result = _nftables([_rule(direction=spelling)])
        if outcome == 'refused':
            return outcome, _after(result, 'rules[0].direction: ')
        return outcome, _nft_rule(result)[0]

    def windows():
        outcome, result = _windows([_rule(direction=spelling)])
        if outcome == 'refused':
            return outcome, _after(result, 'jaas.firewall.windows_rules: rules[0].direction: ')
        return outcome, result[0]['direction']

    return {'catalog': catalog, 'keep_open filter': keep_open_filter, 'ufw': ufw,
            'firewalld': firewalld, 'nftables': nftables, 'Windows': windows}


def block_key_entry_points(spelling):
    def catalog():
        outcome, result = _load({spelling: _block()})
        if outcome == 'refused':
            return outcome, _after(result, 'lab.yml: blocks.%s: ' % spelling.replace('\n', '\\n'))
        return outcome, list(result['blocks'])[0]

    def ufw():
        outcome, result = _ufw(_rule(block=spelling))
        if outcome == 'refused':
            return outcome, _after(result, 'rules[0].block: ')
        return outcome, spelling  # the block is in the hex comment; accepted is what counts

    def firewalld():
        outcome, result = _firewalld([_rule(block=spelling)], prefix='longest8')
        if outcome == 'refused':
            return outcome, _after(result, 'rules[0].block: ')
        [name] = result['ipsets']
        assert len(name) <= 31
        return outcome, name[len('longest8-'):-len('-v4')]

    def nftables():
        outcome, result = _nftables([_rule(block=spelling)])
        if outcome == 'refused':
            return outcome, _after(result, 'rules[0].block: ')
        [name] = result['sets']
        return outcome, name[len('v4_'):]

    def windows():
        outcome, result = _windows([_rule(block=spelling)])
        if outcome == 'refused':
            return outcome, _after(result, 'jaas.firewall.windows_rules: rules[0].block: ')
        return outcome, spelling

    return {'catalog': catalog, 'ufw': ufw, 'firewalld': firewalld, 'nftables': nftables,
            'Windows': windows}


def region_key_entry_points(spelling):
    def catalog():
        block = _block()
        block['regions'] = {spelling: {'name': 'Lab', 'networks': block.pop('networks')}}
        outcome, result = _load({'turn': block})
        if outcome == 'refused':
            return outcome, _after(result, 'lab.yml: blocks.turn.regions.%s: '
                                   % spelling.replace('\n', '\\n'))
        return outcome, list(result['blocks']['turn']['regions'])[0]

    def ufw():
        outcome, result = _ufw(_rule(region=spelling))
        if outcome == 'refused':
            return outcome, _after(result, 'rules[0].region: ')
        return outcome, spelling

    def firewalld():
        outcome, result = _firewalld([_rule(region=spelling)])
        if outcome == 'refused':
            return outcome, _after(result, 'rules[0].region: ')
        return outcome, spelling

    def nftables():
        outcome, result = _nftables([_rule(region=spelling)])
        if outcome == 'refused':
            return outcome, _after(result, 'rules[0].region: ')
        return outcome, spelling

    def windows():
        outcome, result = _windows([_rule(region=spelling)])
        if outcome == 'refused':
            return outcome, _after(result, 'jaas.firewall.windows_rules: rules[0].region: ')
        assert 'Regions: %s.' % spelling in result[0]['description']
        return outcome, spelling

    return {'catalog': catalog, 'ufw': ufw, 'firewalld': firewalld, 'nftables': nftables,
            'Windows': windows}


def name_entry_points(kind, spelling):
    def filter_call(function, prefix, *args, **kwargs):
        try:
            function(*args, **kwargs)
        except AnsibleFilterError as exc:
            return 'refused', _after(str(exc), prefix)
        return 'ok', spelling

    if kind == 'squid':
        return {'squid_acl filter': lambda: filter_call(
            squid_acl, 'jaas.firewall.squid_acl: acl_name: ', load_catalog(), acl_name=spelling)}
    if kind == 'windows group':
        domains = load_catalog()['domains']
        return {
            'windows_rules filter': lambda: filter_call(
                windows_rules, 'jaas.firewall.windows_rules: group: ', [], group=spelling),
            'windows_powershell filter': lambda: filter_call(
                windows_powershell, 'jaas.firewall.windows_powershell: group: ', [],
                group=spelling),
            'windows_domain_rules filter': lambda: filter_call(
                windows_domain_rules, 'jaas.firewall.windows_domain_rules: group: ', domains,
                group=spelling),
            'windows_domain_rules keyword_ids': lambda: filter_call(
                windows_domain_rules, 'jaas.firewall.windows_domain_rules: group: ', domains,
                group=spelling, keyword_ids=True),
        }

    if kind == 'ufw tag prefix':
        def ufw():
            outcome, result = _ufw(_rule(), tag_prefix=spelling)
            return (outcome, _after(result, 'tag_prefix: ')) if outcome == 'refused' \
                else (outcome, spelling)

        def ufw_without_rules():
            try:
                desired_blocks([], spelling)
            except UfwRulesError as exc:
                return 'refused', _after(str(exc), 'tag_prefix: ')
            return 'ok', spelling
        return {'ufw': ufw, 'ufw, no rules': ufw_without_rules}
    if kind == 'firewalld prefix':
        def firewalld(rules):
            outcome, result = _firewalld(rules, prefix=spelling)
            return (outcome, _after(result, 'prefix: ')) if outcome == 'refused' \
                else (outcome, spelling)
        return {'firewalld': lambda: firewalld([_rule()]),
                'firewalld, no rules': lambda: firewalld([])}
    raise AssertionError(kind)


# ----------------------------------------------------------------------------- the tests

def _cases(table, entry_points):
    for row in table:
        spelling, expected = row[0], row[1]
        exceptions = row[2] if len(row) > 2 else {}
        for name in entry_points(spelling if not isinstance(spelling, bool) else 'x'):
            want = exceptions.get(name, expected)
            if isinstance(want, str):  # not applicable, with the reason
                continue
            yield pytest.param(entry_points, spelling, name, want,
                               id='%s-%r' % (name, spelling))


def check(entry_points, spelling, name, expected):
    assert entry_points(spelling)[name]() == expected


@pytest.mark.parametrize('entry_points, spelling, name, expected',
                         list(_cases(NETWORKS, network_entry_points)))
def test_network(entry_points, spelling, name, expected):
    check(entry_points, spelling, name, expected)


@pytest.mark.parametrize('entry_points, spelling, name, expected',
                         list(_cases(PORTS, port_entry_points)))
def test_ports(entry_points, spelling, name, expected):
    check(entry_points, spelling, name, expected)


@pytest.mark.parametrize('entry_points, spelling, name, expected',
                         list(_cases(PROTOCOLS, protocol_entry_points)))
def test_protocol(entry_points, spelling, name, expected):
    check(entry_points, spelling, name, expected)


@pytest.mark.parametrize('entry_points, spelling, name, expected',
                         list(_cases(DIRECTIONS, direction_entry_points)))
def test_direction(entry_points, spelling, name, expected):
    check(entry_points, spelling, name, expected)


@pytest.mark.parametrize('entry_points, spelling, name, expected',
                         list(_cases(BLOCK_KEYS, block_key_entry_points)))
def test_block_key(entry_points, spelling, name, expected):
    check(entry_points, spelling, name, expected)


@pytest.mark.parametrize('entry_points, spelling, name, expected',
                         list(_cases(REGION_KEYS, region_key_entry_points)))
def test_region_key(entry_points, spelling, name, expected):
    check(entry_points, spelling, name, expected)


@pytest.mark.parametrize('kind, spelling, expected', NAMES,
                         ids=['%s-%r' % (kind, spelling) for kind, spelling, _e in NAMES])
def test_names(kind, spelling, expected):
    outcomes = dict((name, call()) for name, call in name_entry_points(kind, spelling).items())
    assert outcomes == dict((name, expected) for name in outcomes)


def test_every_entry_point_is_exercised():
    """A table row that no entry point takes would pass vacuously."""
    assert len(network_entry_points('x')) == 10
    assert len(port_entry_points('x')) == 9
    assert len(list(_cases(NETWORKS, network_entry_points))) == len(NETWORKS) * 10 - 1
