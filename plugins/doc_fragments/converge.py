# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    """Core options of every backend module that runs the converge skeleton
    (plugins/module_utils/converge.py, core_argument_spec()); keep the two in step.
    O(rules) and O(lock_timeout) have their own fragments; O(prefix) is documented by each
    module because what it names differs per backend. A module extending this fragment may
    give an option its own description (the module's wins); type, choices, default and
    suboptions come from here."""

    DOCUMENTATION = r"""
options:
  state:
    description:
      - V(present) makes what this module owns exactly what O(rules) and the safety inputs
        describe; V(absent) removes everything it owns, and nothing else.
    type: str
    choices: [present, absent]
    default: present
  keep_open:
    description:
      - Extra accept rules that must keep working while the firewall restricts traffic
        (DNS, a proxy, a monitoring port). Validated on the host again (the roles validate
        them on the controller first); an invalid entry fails the run before anything is read.
    type: list
    elements: dict
    default: []
    suboptions:
      direction:
        description: V(out) matches the destination, V(in) the source.
        type: str
        required: true
        choices: [in, out]
      protocol:
        description: Transport protocol.
        type: str
        required: true
        choices: [tcp, udp]
      port:
        description: Destination port V("53") or range V("1000-2000").
        type: str
        required: true
      network:
        description: Remote CIDR network; any address when omitted.
        type: str
  if_missing:
    description:
      - What to do when the firewall tool is not installed and O(state=present).
      - V(fail) fails and changes nothing.
      - V(report) changes nothing and returns RV(installed=false), so a caller can install the
        package and call the module again; this is how the roles touch the package manager
        only on hosts that lack the firewall.
    type: str
    choices: [fail, report]
    default: fail
"""
