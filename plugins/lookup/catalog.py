# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: catalog
author: jaas.firewall contributors (@jaas-firewall)
version_added: "0.1.0"
short_description: The validated JaaS network catalog (domains, IP blocks, ports)
description:
  - Reads the catalog of 8x8 Meet / Jitsi as a Service network requirements
    (by default the one bundled with the collection, C(vars/jaas_catalog.yml)),
    validates all of it strictly and returns it normalised.
  - Any problem fails the task with one line per problem naming the file, the entry and the
    offending value, so nothing downstream (and no firewall) is touched with bad data.
  - Duplicate networks or domain names are reported as warnings and removed.
  - Feed the result to the P(jaas.firewall.rules#filter) filter to get firewall rules.
options:
  catalog_file:
    description:
      - Path to a catalog with the same schema, used instead of the bundled one.
      - Relative paths are resolved against the current working directory.
    type: path
  blocks:
    description:
      - Keep only these blocks (for example V(jvb), V(turn), V(cloudflare)).
      - Unknown names fail, so a typo cannot silently open nothing.
    type: list
    elements: str
  regions:
    description:
      - Keep only these regions (for example V(uk-london)) in blocks that have regions.
        Blocks without regions (Cloudflare, webhook origins) are not affected.
    type: list
    elements: str
  families:
    description: Keep only these address families.
    type: list
    elements: int
    choices: [4, 6]
    default: [4, 6]
  allow_broad_networks:
    description:
      - Accept networks broader than /8 (IPv4) or /16 (IPv6). They are refused by
        default because they almost always are a typo.
    type: bool
    default: false
  drop_expired:
    description:
      - Drop network entries whose C(expires) date has passed instead of only warning.
    type: bool
    default: false
notes:
  - Runs on the controller and needs the Python library C(netaddr) there.
seealso:
  - plugin: jaas.firewall.rules
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Show the catalog's provenance
  ansible.builtin.debug:
    msg: "{{ lookup('jaas.firewall.catalog').provenance }}"
  # msg:
  #   title: "Meetings domains and IP's — Whitelisting JaaS: IP ranges and domains"
  #   publisher: 8x8 Inc.
  #   url: https://developer.8x8.com/jaas/docs/technical-requirements-whitelists
  #   retrieved: "2026-11-24"

- name: TURN relays in London only, IPv4
  ansible.builtin.debug:
    msg: "{{ lookup('jaas.firewall.catalog', blocks=['turn'], regions=['uk-london'], families=[4]) | jaas.firewall.rules }}"
  # msg:
  # - {block: turn, direction: out, family: 4, network: 130.162.185.237/32, ports: '443', protocol: tcp, region: uk-london}
  # - ... 12 rules: 4 relays x (tcp 443, udp 443, udp 49152-65535)

- name: Use your own copy of the catalog
  ansible.builtin.set_fact:
    jaas_catalog: "{{ lookup('jaas.firewall.catalog', catalog_file=playbook_dir ~ '/files/jaas_catalog.yml') }}"
"""

RETURN = r"""
_raw:
  description: The normalised catalog (one element).
  type: list
  elements: dict
  contains:
    schema_version:
      description: Catalog schema version.
      type: int
      sample: 1
    source:
      description: Path of the catalog file that was read.
      type: str
    provenance:
      description: Where the data came from (title, publisher, url, retrieved, note).
      type: dict
    domains:
      description: Domain categories (core, auxiliary, analytics) with C(names) and C(rules).
      type: dict
    blocks:
      description:
        - IP blocks. Each has C(description), C(direction), C(rules) (list of
          C(protocol)/C(ports), C(ports=null) meaning every port) and either C(networks)
          or C(regions) (region key to C(name) and C(networks)).
      type: dict
    warnings:
      description: Warnings raised while validating (duplicates, expired entries).
      type: list
      elements: str
"""

import os

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display

from ansible_collections.jaas.firewall.plugins.plugin_utils.catalog import (
    CatalogError, load_catalog, select)

display = Display()


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        if terms:
            raise AnsibleLookupError('jaas.firewall.catalog takes no terms, only options '
                                     '(catalog_file, blocks, regions, families, ...)')
        path = self.get_option('catalog_file')
        if path:
            path = os.path.abspath(os.path.expanduser(path))
        try:
            catalog = load_catalog(path,
                                   allow_broad_networks=self.get_option('allow_broad_networks'),
                                   drop_expired=self.get_option('drop_expired'),
                                   warn=display.warning)
            catalog = select(catalog, blocks=self.get_option('blocks'),
                             regions=self.get_option('regions'),
                             families=self.get_option('families'))
        except CatalogError as exc:
            raise AnsibleLookupError('invalid JaaS catalog:\n%s' % exc)
        return [catalog]
