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
  - Networks, ports, protocols and keys are parsed by the collection's one rule model, so a
    spelling is accepted or refused here exactly as in C(jaas_firewall_keep_open), the live
    Cloudflare list and the backend modules (see docs/catalog-schema.md).
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
  allow_private_networks:
    description:
      - Accept networks in address space that cannot be a vendor's public service but
        can be yours (private RFC 1918, unique local IPv6, shared RFC 6598, link-local,
        documentation and benchmarking ranges (198.18.0.0/15, 2001:2::/48), and other
        non-global ranges listed in docs/catalog-schema.md). Needed for a catalog of a
        self-hosted deployment or a test lab.
      - They are refused by default so a mistaken or tampered catalog cannot open the
        local network. Loopback, unspecified, multicast, reserved and IPv4-mapped space
        is refused even with this option.
      - The roles set it from C(jaas_firewall_allow_private_networks).
    type: bool
    default: false
  drop_expired:
    description:
      - Drop network entries whose C(expires) date has passed instead of only warning.
    type: bool
    default: false
  cloudflare_source:
    description:
      - Where the C(cloudflare) block's ranges come from.
      - V(bundled) uses the catalog's copy as is.
      - V(live) fetches Cloudflare's published lists (O(cloudflare_url_ipv4),
        O(cloudflare_url_ipv6)) on the controller and, when an answer is accepted,
        B(replaces) the bundled ranges of that family with it, so a range Cloudflare
        has dropped is dropped here too.
      - An answer is refused, and the bundled ranges of that family are used with a
        warning, on any HTTP error, timeout, truncated body, non-address or HTML text,
        a control character (only a newline ends a line), a bare address or a range with host bits, a range of the wrong family, broader
        than /12 (IPv4) or /29 (IPv6) (broader than anything Cloudflare has published)
        or outside global unicast space, fewer distinct ranges than half the bundled list
        (rounded up), a family's total address space above 4 times the bundled list's,
        fewer than half of the bundled ranges still covered, or an https URL redirected to
        plain http. The C(cloudflare) block opens every port, so a list that would open
        far more than Cloudflare's network never replaces the bundled one. The result is
        never empty.
      - Only the families in O(families) are fetched, and nothing is fetched when
        O(blocks) leaves out C(cloudflare). The replacement happens before O(blocks),
        O(regions) and O(families) select from the catalog.
      - The outcome per family is returned in the catalog's C(cloudflare_live) key.
    type: str
    choices: [bundled, live]
    default: bundled
  cloudflare_url_ipv4:
    description:
      - Plain-text list of Cloudflare's IPv4 ranges, one CIDR per line
        (O(cloudflare_source=live) only). V(http) or V(https) only. The usual
        C(https_proxy)/C(no_proxy) environment variables apply.
    type: str
    default: https://www.cloudflare.com/ips-v4
  cloudflare_url_ipv6:
    description:
      - Plain-text list of Cloudflare's IPv6 ranges, one CIDR per line
        (O(cloudflare_source=live) only).
    type: str
    default: https://www.cloudflare.com/ips-v6
  cloudflare_timeout:
    description:
      - Seconds allowed for each list's whole answer (connect, headers and body).
    type: float
    default: 10
  cloudflare_cache_ttl:
    description:
      - Seconds an accepted live list is reused from the controller cache before it is
        fetched again. V(0) disables the cache (no read, no write).
      - Only accepted lists are cached, and a cache file is re-checked like an answer
        when read. A fetch failure falls back to the bundled ranges, not to a stale cache.
    type: int
    default: 86400
  cloudflare_cache_dir:
    description:
      - Directory of the controller cache (files C(cloudflare-v4.json),
        C(cloudflare-v6.json)). Defaults to C($XDG_CACHE_HOME/jaas.firewall), that is
        C(~/.cache/jaas.firewall).
    type: path
notes:
  - Runs on the controller and needs the Python library C(netaddr) there.
  - With O(cloudflare_source=live), the requests carry the User-Agent
    C(jaas.firewall/<collection version>). Evaluate the lookup once (for example in
    C(set_fact) with C(run_once)) rather than per host, so forks do not fetch in parallel
    before the cache exists.
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

- name: Cloudflare ranges as Cloudflare publishes them today (bundled ones if that fails)
  ansible.builtin.set_fact:
    jaas_catalog: "{{ lookup('jaas.firewall.catalog', cloudflare_source='live') }}"
  run_once: true
  # jaas_catalog.cloudflare_live.ipv4:
  #   source: live          # or cache, or bundled (then reason says why, and a warning is shown)
  #   url: https://www.cloudflare.com/ips-v4
  #   fetched: "2026-11-24T09:12:31Z"
  #   networks: [173.245.48.0/20, ...]
  #   added: []             # compared with the bundled list
  #   removed: []
  #   reason: null

- name: Live IPv4 list from an internal mirror, short timeout, no cache
  ansible.builtin.debug:
    msg: "{{ lookup('jaas.firewall.catalog', blocks=['cloudflare'], families=[4],
             cloudflare_source='live', cloudflare_url_ipv4='https://mirror.example.com/cf/ips-v4',
             cloudflare_timeout=3, cloudflare_cache_ttl=0) | jaas.firewall.rules }}"

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
    cloudflare_live:
      description:
        - Only with O(cloudflare_source=live) and the C(cloudflare) block selected.
          Per fetched family (C(ipv4), C(ipv6)) C(source) (V(live), V(cache) or
          V(bundled)), C(url), C(fetched), C(networks), C(reason) (why the bundled ranges
          were used) and C(added)/C(removed) compared with the bundled list.
      type: dict
"""

import os

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display

from ansible_collections.jaas.firewall.plugins.plugin_utils.catalog import (
    CatalogError, load_catalog, select)
from ansible_collections.jaas.firewall.plugins.plugin_utils.cloudflare import (
    BLOCK as CLOUDFLARE_BLOCK, apply_live_cloudflare)

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
                                   allow_private_networks=self.get_option('allow_private_networks'),
                                   drop_expired=self.get_option('drop_expired'),
                                   warn=display.warning)
            catalog = self._live_cloudflare(catalog)
            catalog = select(catalog, blocks=self.get_option('blocks'),
                             regions=self.get_option('regions'),
                             families=self.get_option('families'))
        except CatalogError as exc:
            raise AnsibleLookupError('invalid JaaS catalog:\n%s' % exc)
        return [catalog]

    def _live_cloudflare(self, catalog):
        """Replace the bundled Cloudflare ranges with the live ones (before selection)."""
        blocks = self.get_option('blocks')
        if self.get_option('cloudflare_source') != 'live' or (
                blocks is not None and CLOUDFLARE_BLOCK not in blocks):
            return catalog
        if not self.get_option('cloudflare_timeout') > 0:
            raise AnsibleLookupError('cloudflare_timeout must be more than 0 seconds')
        if self.get_option('cloudflare_cache_ttl') < 0:
            raise AnsibleLookupError('cloudflare_cache_ttl must be 0 (no cache) or more seconds')
        cache_dir = self.get_option('cloudflare_cache_dir')
        return apply_live_cloudflare(
            catalog,
            families=self.get_option('families'),
            urls={4: self.get_option('cloudflare_url_ipv4'),
                  6: self.get_option('cloudflare_url_ipv6')},
            timeout=self.get_option('cloudflare_timeout'),
            cache_ttl=self.get_option('cloudflare_cache_ttl'),
            cache_dir=os.path.abspath(os.path.expanduser(cache_dir)) if cache_dir else None,
            warn=lambda message: display.warning('jaas.firewall.catalog: ' + message))
