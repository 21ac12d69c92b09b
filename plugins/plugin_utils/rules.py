# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Flatten a normalised catalog into firewall rules, the one interface every backend reads.

A rule is a dict with exactly these keys::

    direction  'out' | 'in'
    family     4 | 6
    network    CIDR string, e.g. '129.148.18.0/25' or '168.138.110.244/32'
    protocol   'tcp' | 'udp'
    ports      '443' | '49152-65535' | None (every port)
    block      catalog block key, e.g. 'turn'
    region     catalog region key, e.g. 'uk-london', or None for blocks without regions
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

try:
    import netaddr  # CIDR compaction (cidr_merge) only
except ImportError:  # reported as a clear error by catalog_rules()
    netaddr = None

from ansible_collections.jaas.firewall.plugins.module_utils import model
from ansible_collections.jaas.firewall.plugins.module_utils.model import ModelError
from ansible_collections.jaas.firewall.plugins.module_utils.policy import rule_order
from ansible_collections.jaas.firewall.plugins.plugin_utils.catalog import (
    RECEIVER_PORT, CatalogError, parse_network)


def _check_catalog_shape(catalog):
    if not isinstance(catalog, dict) or not isinstance(catalog.get('blocks'), dict):
        raise CatalogError(['input is not a jaas.firewall catalog (a mapping with "blocks"); '
                            "use lookup('jaas.firewall.catalog')"])
    return catalog.get('source', '<catalog>')


def catalog_rules(catalog, webhooks=False, webhook_port=443, compact=True):
    """Return the sorted, de-duplicated list of rules for a normalised catalog."""
    source = _check_catalog_shape(catalog)
    if netaddr is None:
        raise CatalogError(['the Python library netaddr is required on the controller '
                            '(pip install netaddr)'])
    try:
        receiver = '%d' % model.single_port(webhook_port)
    except ModelError as exc:
        raise CatalogError([str(exc.at('webhook_port'))])

    problems = []
    groups = {}  # (direction, block, region, family, protocol, ports) -> [IPNetwork]
    for block_name, block in catalog['blocks'].items():
        if block['direction'] == 'in' and not webhooks:
            continue
        if block.get('regions') is not None:
            located = [(key, region['networks']) for key, region in block['regions'].items()]
        else:
            located = [(None, block.get('networks') or [])]
        for region, networks in located:
            for text in networks:
                try:
                    network = parse_network(text)
                except ModelError as exc:
                    problems.append(model.one_line('%s: blocks.%s%s: %s' % (
                        source, block_name, '.regions.%s' % region if region else '',
                        exc.reason)))
                    continue
                for rule in block['rules']:
                    ports = receiver if rule['ports'] == RECEIVER_PORT else rule['ports']
                    key = (block['direction'], block_name, region, network.version,
                           rule['protocol'], ports)
                    groups.setdefault(key, []).append(network)
    if problems:
        raise CatalogError(problems)

    rules = []
    for (direction, block_name, region, family, protocol, ports), networks in groups.items():
        # cidr_merge only joins adjacent/overlapping networks into their exact union:
        # it never allows an address that was not allowed before.
        networks = [netaddr.IPNetwork(str(network)) for network in networks]
        merged = netaddr.cidr_merge(networks) if compact else sorted(set(networks))
        for network in merged:
            rules.append({
                'direction': direction,
                'family': family,
                'network': str(network.cidr),
                'protocol': protocol,
                'ports': ports,
                'block': block_name,
                'region': region,
            })
    rules.sort(key=rule_order)
    return rules


def filter_rules(catalog, webhooks=False, webhook_port=443, compact=True):
    """``catalog_rules`` as the ``jaas.firewall.rules`` filter and the backend action plugins
    call it: booleans as Ansible reads them ("false" from -e is False), any problem an
    AnsibleFilterError saying ``jaas.firewall.rules: ...``."""
    try:
        return catalog_rules(catalog, webhooks=boolean(webhooks, strict=True),
                             webhook_port=webhook_port, compact=boolean(compact, strict=True))
    except (CatalogError, TypeError) as exc:
        raise AnsibleFilterError('jaas.firewall.rules: %s' % exc)
