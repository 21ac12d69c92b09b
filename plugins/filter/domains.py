# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: domains
author: jaas.firewall contributors (@jaas-firewall)
version_added: "0.1.0"
short_description: The JaaS domain names as a plain list
description:
  - Returns the domain names of the chosen categories of a catalog from
    P(jaas.firewall.catalog#lookup), in catalog order, without duplicates.
  - Wildcards are kept as written, so V(*.8x8.vc) means every subdomain of V(8x8.vc) and does
    not include V(8x8.vc) itself, which the vendor lists separately.
  - The vendor asks for HTTPS (TCP 443) to every name; IP firewalls cannot enforce names,
    so use these with a proxy (see P(jaas.firewall.squid_acl#filter),
    P(jaas.firewall.pac#filter)) or a DNS/FQDN-aware firewall.
positional: _input
extends_documentation_fragment:
  - jaas.firewall.catalog_input
  - jaas.firewall.catalog_input.domains
"""

EXAMPLES = r"""
- name: Core domains only
  ansible.builtin.debug:
    msg: "{{ lookup('jaas.firewall.catalog') | jaas.firewall.domains(categories=['core']) }}"
  # msg: ['8x8.com', '*.8x8.com', '8x8.vc', '*.8x8.vc', 'jitsi.net', '*.jitsi.net']
"""

RETURN = r"""
_value:
  description: Domain names, wildcards written as C(*.example.com).
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.jaas.firewall.plugins.plugin_utils.catalog import CatalogError
from ansible_collections.jaas.firewall.plugins.plugin_utils.domains import domain_names


def domains(catalog, categories=None):
    try:
        return domain_names(catalog, categories)
    except CatalogError as exc:
        raise AnsibleFilterError('jaas.firewall.domains: %s' % exc)


class FilterModule(object):

    def filters(self):
        return {'domains': domains}
