# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    """Options shared by the filters that read a catalog from the catalog lookup."""

    # The catalog as the filter's input: every catalog filter.
    DOCUMENTATION = r"""
options:
  _input:
    description: A catalog returned by P(jaas.firewall.catalog#lookup).
    type: dict
    required: true
"""

    # Domain category selection: the domains, squid_acl and pac filters.
    DOMAINS = r"""
options:
  categories:
    description:
      - Domain categories to include (V(core), V(auxiliary), V(analytics)); default all.
      - Unknown names fail.
    type: list
    elements: str
"""
