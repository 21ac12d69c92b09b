# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: windows_domain_rules
author: jaas.firewall contributors (@jaas-firewall)
version_added: "0.1.0"
short_description: JaaS domain rules for Windows Firewall dynamic keywords
description:
  - Turns the C(domains) of a catalog from P(jaas.firewall.catalog#lookup) into one
    outbound rule per (category, protocol, ports), each referring to one AutoResolve
    dynamic keyword address per domain name.
  - Each keyword address gets a stable ID (a name-based UUID of the group and the name,
    in braces as Windows requires), so re-runs find the same objects and the role can
    delete exactly the ones it created.
  - Used by the role M(jaas.firewall.windows_firewall) when
    C(jaas_firewall_domains) lists categories. community.windows.win_firewall_rule
    cannot express dynamic keywords, so these specs are applied by a PowerShell script.
positional: _input
options:
  _input:
    description: The C(domains) mapping of a catalog.
    type: dict
    required: true
  categories:
    description: "Categories to render; default all (V(core), V(auxiliary), V(analytics))."
    type: list
    elements: str
  group:
    description: Firewall group (and name prefix) of the rules.
    type: str
    default: JaaS
  catalog:
    description: The catalog, for the provenance written into descriptions.
    type: dict
  profiles:
    description: Firewall profiles.
    type: list
    elements: str
    choices: [domain, private, public]
    default: [domain, private, public]
  keyword_ids:
    description:
      - Return instead the sorted list of every keyword ID the input can produce
        (all categories), which is what the role is allowed to delete.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Core domains as a dynamic keyword rule
  ansible.builtin.debug:
    msg: "{{ lookup('jaas.firewall.catalog').domains | jaas.firewall.windows_domain_rules(categories=['core']) }}"
  # msg:
  # - name: JaaS - Domains core - TCP 443
  #   group: JaaS
  #   direction: out
  #   protocol: tcp
  #   remoteport: '443'
  #   profiles: [domain, private, public]
  #   description: 'Domains, Core Operation: outbound TCP port 443 (dynamic keywords, ...'
  #   keywords:
  #   - {id: '{...}', keyword: 8x8.com}
  #   - {id: '{...}', keyword: '*.8x8.com'}
  #   - ... 6 names
"""

RETURN = r"""
_value:
  description:
    - Rule specs (C(name), C(group), C(description), C(direction), C(protocol),
      C(remoteport), C(profiles), C(keywords) = list of C(id)/C(keyword)), or with
      O(keyword_ids) a sorted list of ID strings.
  type: list
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.jaas.firewall.plugins.plugin_utils.render_windows import (
    DEFAULT_GROUP, RenderError, all_keyword_ids, domain_rule_specs)


def windows_domain_rules(domains, categories=None, group=DEFAULT_GROUP, catalog=None,
                         profiles=None, keyword_ids=False):
    """Render catalog domains as dynamic keyword rule specs (see DOCUMENTATION)."""
    if not isinstance(domains, dict):
        raise AnsibleFilterError('jaas.firewall.windows_domain_rules: input must be the '
                                 "catalog's domains mapping")
    try:
        if keyword_ids:
            return all_keyword_ids(domains, group=group)
        provenance = catalog.get('provenance') if isinstance(catalog, dict) else None
        return domain_rule_specs(domains, categories=categories, group=group,
                                 provenance=provenance, profiles=profiles)
    except RenderError as exc:
        raise AnsibleFilterError('jaas.firewall.windows_domain_rules: %s' % exc)


class FilterModule(object):

    def filters(self):
        return {'windows_domain_rules': windows_domain_rules}
