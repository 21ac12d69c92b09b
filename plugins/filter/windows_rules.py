# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: windows_rules
author: jaas.firewall contributors (@jaas-firewall)
version_added: "0.1.0"
short_description: Render jaas.firewall rules as Windows Defender Firewall rules
description:
  - Takes the flat rule list of P(jaas.firewall.rules#filter) and returns one Windows
    firewall rule per (direction, block, protocol, ports), the block's addresses of both
    families aggregated in C(remoteip). The bundled catalog gives 7 outbound rules
    (8 with webhooks) instead of 190 per-address rules, and the count does not grow with
    the catalog.
  - Each element is a dict whose keys are exactly options of
    M(community.windows.win_firewall_rule) (C(name), C(group), C(description),
    C(direction), C(action), C(enabled), C(profiles), C(protocol), C(localip),
    C(localport), C(remoteip), C(remoteport), C(program), C(service)), so it can be
    passed to the module as is.
  - Names are stable and readable, for example V(JaaS - TURN - UDP 49152-65535). When a
    block has more than O(max_addresses) addresses for one protocol and port, the sorted
    list is cut into chunks; the first chunk keeps the name, the others are named
    V(... (2)), V(... (3)) and so on. The same input always gives the same output.
  - Host addresses are written without prefix (V(168.138.110.244)), networks as CIDR.
    Windows reads them back in its own form (V(168.138.110.244/255.255.255.255)); the
    module compares address lists through the firewall API, as sets, so this does not
    cause changes on re-runs.
  - The description names the block, the regions, and the catalog's provenance (title,
    URL, retrieval date).
positional: _input
options:
  _input:
    description: Rules from P(jaas.firewall.rules#filter).
    type: list
    elements: dict
    required: true
  catalog:
    description:
      - The catalog from P(jaas.firewall.catalog#lookup). Supplies the provenance and the
        block descriptions written into each rule's description.
    type: dict
  provenance:
    description:
      - Provenance mapping (C(title), C(url), C(retrieved)); overrides the catalog's.
    type: dict
  group:
    description:
      - Windows firewall rule group. Everything in this group belongs to jaas.firewall;
        it is also the prefix of every rule name.
      - 1-64 letters, digits, spaces, C(.), C(_) or C(-), starting with a letter or digit and
        not ending in a space; anything else (a trailing newline included) is refused.
    type: str
    default: JaaS
  max_addresses:
    description: Most addresses in one rule's C(remoteip) (1-1000).
    type: int
    default: 200
  profiles:
    description: Firewall profiles the rules apply to.
    type: list
    elements: str
    choices: [domain, private, public]
    default: [domain, private, public]
  keep_open:
    description:
      - Extra allow rules, in the format of the shared role variable
        C(jaas_firewall_keep_open) (C(direction), C(protocol), C(port), optional C(network)).
        Rendered as V(<group> - Keep open - ...).
    type: list
    elements: dict
    default: []
seealso:
  - plugin: jaas.firewall.rules
    plugin_type: filter
  - plugin: jaas.firewall.windows_powershell
    plugin_type: filter
  - module: community.windows.win_firewall_rule
"""

EXAMPLES = r"""
- name: Windows rules for the TURN relays in London
  vars:
    jaas_catalog: "{{ lookup('jaas.firewall.catalog', blocks=['turn'], regions=['uk-london']) }}"
  ansible.builtin.debug:
    msg: "{{ jaas_catalog | jaas.firewall.rules | jaas.firewall.windows_rules(catalog=jaas_catalog) | map(attribute='name') }}"
  # msg:
  # - JaaS - TURN - TCP 443
  # - JaaS - TURN - UDP 443
  # - JaaS - TURN - UDP 49152-65535

- name: One rendered rule
  vars:
    jaas_catalog: "{{ lookup('jaas.firewall.catalog', blocks=['turn'], regions=['uk-london']) }}"
  ansible.builtin.debug:
    msg: "{{ (jaas_catalog | jaas.firewall.rules | jaas.firewall.windows_rules(catalog=jaas_catalog))[2] }}"
  # msg:
  #   name: JaaS - TURN - UDP 49152-65535
  #   group: JaaS
  #   description: >-
  #     TURN relay servers: outbound UDP port 49152-65535. Regions: uk-london.
  #     Source: Meetings domains and IP's — Whitelisting JaaS: IP ranges and domains,
  #     https://developer.8x8.com/jaas/docs/technical-requirements-whitelists, retrieved
  #     2026-11-24. Managed by Ansible (jaas.firewall); local edits are overwritten.
  #   direction: out
  #   action: allow
  #   enabled: true
  #   profiles: [domain, private, public]
  #   protocol: udp
  #   localip: any
  #   localport: any
  #   remoteip: 130.162.185.237,132.226.213.225,140.238.95.196,152.67.128.56
  #   remoteport: 49152-65535
  #   program: any
  #   service: any

- name: Apply them
  community.windows.win_firewall_rule: "{{ item }}"
  loop: "{{ jaas_catalog | jaas.firewall.rules | jaas.firewall.windows_rules(catalog=jaas_catalog) }}"
  loop_control:
    label: "{{ item.name }}"
"""

RETURN = r"""
_value:
  description:
    - Windows rule specs sorted by name; keys are win_firewall_rule options.
    - C(remoteip) is a comma-separated list, IPv4 before IPv6, each in address order.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.jaas.firewall.plugins.plugin_utils.render_windows import (
    DEFAULT_GROUP, DEFAULT_MAX_ADDRESSES, RenderError, windows_rule_specs)


def windows_rules(rules, catalog=None, provenance=None, group=DEFAULT_GROUP,
                  max_addresses=DEFAULT_MAX_ADDRESSES, profiles=None, keep_open=None):
    """Render flat rules as win_firewall_rule specs (see DOCUMENTATION)."""
    if catalog is not None and not (isinstance(catalog, dict) and 'blocks' in catalog):
        raise AnsibleFilterError("jaas.firewall.windows_rules: catalog must be the result of "
                                 "lookup('jaas.firewall.catalog')")
    if provenance is None and catalog is not None:
        provenance = catalog.get('provenance')
    descriptions = {}
    if catalog is not None:
        descriptions = dict((key, block.get('description'))
                            for key, block in catalog['blocks'].items() if block)
    try:
        return windows_rule_specs(rules,
                                  provenance=provenance, group=group,
                                  max_addresses=max_addresses, profiles=profiles,
                                  block_descriptions=descriptions, keep_open=keep_open)
    except (RenderError, TypeError) as exc:
        raise AnsibleFilterError('jaas.firewall.windows_rules: %s' % exc)


class FilterModule(object):

    def filters(self):
        return {'windows_rules': windows_rules}
