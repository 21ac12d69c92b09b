# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: windows_powershell
author: jaas.firewall contributors (@jaas-firewall)
version_added: "0.1.0"
short_description: The JaaS Windows firewall rules as a standalone PowerShell script
description:
  - Turns the rule specs of P(jaas.firewall.windows_rules#filter) into one PowerShell
    script for admins who deploy through Group Policy, Intune or by hand instead of Ansible.
  - The script creates the rules with C(New-NetFirewallRule ... -Group JaaS). It is
    idempotent; every rule in the group that is not in the script, or that differs from it
    (direction, protocol, ports, profiles, description, or remote addresses compared as sets
    after normalising Windows' mask form), is removed, and missing rules are created.
    Rules outside the group are never touched.
  - Parameters of the script are C(-Remove) (delete every rule of the group), C(-PolicyStore)
    (default V(PersistentStore); a GPO name such as V(contoso.com\\JaaS) writes into that
    GPO), and the common C(-WhatIf) / C(-Confirm).
  - Every string is a PowerShell single-quoted literal; single quotes, including the
    typographic ones PowerShell also accepts as quotes, are doubled.
positional: _input
options:
  _input:
    description: Rule specs from P(jaas.firewall.windows_rules#filter).
    type: list
    elements: dict
    required: true
  catalog:
    description: The catalog from P(jaas.firewall.catalog#lookup), for the provenance header.
    type: dict
  provenance:
    description: Provenance mapping (C(title), C(url), C(retrieved)); overrides the catalog's.
    type: dict
  group:
    description: The firewall group; must be the group the specs were rendered for.
    type: str
    default: JaaS
  bom:
    description:
      - Start the text with a UTF-8 byte order mark. Windows PowerShell 5.1 reads a
        script without one as ANSI and would garble non-ASCII text (the catalog's titles
        contain an em dash and C(São Paulo)).
    type: bool
    default: true
notes:
  - Nothing here has been run on Windows by this project's CI; the script is pinned by a
    golden file (C(tests/golden/windows_rules.ps1)) and reviewed by diff.
seealso:
  - plugin: jaas.firewall.windows_rules
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Write the script for GPO / Intune
  vars:
    jaas_catalog: "{{ lookup('jaas.firewall.catalog') }}"
  ansible.builtin.copy:
    dest: ./jaas-firewall.ps1
    mode: "0644"
    content: "{{ jaas_catalog | jaas.firewall.rules | jaas.firewall.windows_rules(catalog=jaas_catalog)
                 | jaas.firewall.windows_powershell(catalog=jaas_catalog) }}"
  # The start of the file (after the byte order mark):
  # #Requires -Version 5.1
  # #Requires -RunAsAdministrator
  # <#
  # .SYNOPSIS
  #     Windows Defender Firewall rules for 8x8 Meet / Jitsi as a Service (JaaS).
  # ...
  # $Group = 'JaaS'
  #
  # # 7 rules.
  # $DesiredRules = @(
  #     @{
  #         DisplayName   = 'JaaS - Cloudflare - TCP all ports'
  # ...
  # Run on Windows:  powershell -ExecutionPolicy Bypass -File .\jaas-firewall.ps1 [-WhatIf] [-Remove]
"""

RETURN = r"""
_value:
  description: The script text (UTF-8, with a leading byte order mark unless O(bom=false)).
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.jaas.firewall.plugins.plugin_utils.render_windows import (
    DEFAULT_GROUP, RenderError, powershell_script)


def windows_powershell(specs, catalog=None, provenance=None, group=DEFAULT_GROUP, bom=True):
    """Render the Windows rule specs as a PowerShell script (see DOCUMENTATION)."""
    if provenance is None and isinstance(catalog, dict):
        provenance = catalog.get('provenance')
    if not isinstance(specs, list):
        raise AnsibleFilterError('jaas.firewall.windows_powershell: input must be the list '
                                 'returned by jaas.firewall.windows_rules')
    try:
        return powershell_script(specs, group=group, provenance=provenance, bom=bool(bom))
    except RenderError as exc:
        raise AnsibleFilterError('jaas.firewall.windows_powershell: %s' % exc)


class FilterModule(object):

    def filters(self):
        return {'windows_powershell': windows_powershell}
