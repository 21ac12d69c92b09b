# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: squid_acl
author: jaas.firewall contributors (@jaas-firewall)
version_added: "0.1.0"
short_description: Squid ACL lines for the JaaS domains
description:
  - Turns the catalog's domain names into Squid C(acl) lines.
  - Squid's C(dstdomain .8x8.vc) matches V(8x8.vc) and every subdomain, so it is used only
    when the catalog lists both the apex and its wildcard. A name listed alone stays exact
    (C(dstdomain www.gravatar.com)).
  - A wildcard listed without its apex (V(*.youtube.com)) must not admit the apex, so it
    goes into a second ACL, C(<acl_name>_subdomains), of type C(dstdom_regex) that matches
    subdomains only.
  - The ACLs only name destinations. Use them in C(http_access) together with the
    C(CONNECT) method, port 443 and your clients, as the role C(jaas.firewall.squid)
    does; C(http_access allow jaas_domains) alone would also let a plain HTTP request and a
    C(CONNECT) to any other port of those names through.
positional: _input
extends_documentation_fragment:
  - jaas.firewall.catalog_input
  - jaas.firewall.catalog_input.domains
options:
  acl_name:
    description:
      - Name of the ACL, 1-51 letters, digits, C(_) or C(-) (Squid 5.7 and 6.13 use ACL names
        of up to 62 characters, and C(_subdomains) is appended for the second ACL). Anything
        else, a trailing newline included, is refused before a line is rendered.
    type: str
    default: jaas_domains
"""

EXAMPLES = r"""
# The role jaas.firewall.squid writes such a file for you (and checks it with squid -k parse).
- name: Allow CONNECT to TCP 443 of the core names, from the office network only
  ansible.builtin.copy:
    dest: /etc/squid/conf.d/zz-jaas-firewall.conf
    content: |
      acl jaas_clients src 192.0.2.0/24
      acl jaas_connect method CONNECT
      acl jaas_https port 443
      {{ lookup('jaas.firewall.catalog') | jaas.firewall.squid_acl(categories=['core']) | join('\n') }}
      http_access allow jaas_clients jaas_connect jaas_https jaas_domains
    mode: "0644"
  # The filter renders, for the core category:
  # acl jaas_domains dstdomain .8x8.com
  # acl jaas_domains dstdomain .8x8.vc
  # acl jaas_domains dstdomain .jitsi.net
  # Not "http_access allow jaas_domains" alone: it would also pass a plain GET and a
  # CONNECT to any other port of these names. The role also adds "-n" after dstdomain and
  # dstdom_regex, so a CONNECT to a bare IP address is never matched through its PTR name.

- name: Auxiliary names have subdomain-only wildcards, so allow the second ACL too
  ansible.builtin.debug:
    msg: "{{ lookup('jaas.firewall.catalog') | jaas.firewall.squid_acl(categories=['auxiliary']) }}"
  # msg:
  # - acl jaas_domains dstdomain www.gravatar.com
  # - acl jaas_domains dstdomain dropboxcaptcha.com
  # - acl jaas_domains_subdomains dstdom_regex -i \.youtube\.com$
  # - ... one dstdom_regex line per *.name
  # then also: http_access allow jaas_clients jaas_connect jaas_https jaas_domains_subdomains
"""

RETURN = r"""
_value:
  description: Squid configuration lines, exact/apex names first, then subdomain-only regexes.
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.jaas.firewall.plugins.plugin_utils.catalog import CatalogError
from ansible_collections.jaas.firewall.plugins.plugin_utils.domains import (
    domain_names, squid_acl_lines)


def squid_acl(catalog, categories=None, acl_name='jaas_domains'):
    try:
        return squid_acl_lines(domain_names(catalog, categories), acl_name=acl_name)
    except CatalogError as exc:
        raise AnsibleFilterError('jaas.firewall.squid_acl: %s' % exc)


class FilterModule(object):

    def filters(self):
        return {'squid_acl': squid_acl}
