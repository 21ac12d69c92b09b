# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Marked blocks of ufw's rules files and their rules in the running firewall.

The domain half (module_utils/ufw_domains.py) and drop logging (module_utils/ufw_drop_log.py)
each keep rules in a block of /etc/ufw/after.rules (after6.rules) between a BEGIN and an END
line of their own, and put the same rules into the running chains directly (no ufw reload).
Python stdlib only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def rule_line(rule):
    """One ``-A`` line of a rules file from iptables arguments (quoted where needed)."""
    return '-A %s' % ' '.join('"%s"' % part if ' ' in part or not part else part
                              for part in rule)


def filter_commit(lines):
    """Index in ``lines`` where a block goes last in the *filter section: its COMMIT line,
    or ufw's own comment right above it (kept next to it); None when there is none."""
    section = None
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith('*'):
            section = stripped
        elif stripped == 'COMMIT' and section == '*filter':
            return index - 1 if index and lines[index - 1].startswith(
                "# don't delete the 'COMMIT'") else index
    return None


def without_block(text, begin, end):
    """``text`` without the lines from ``begin`` to ``end`` (both included)."""
    lines, inside = [], False
    for line in text.splitlines(True):
        if line.rstrip('\n') == begin:
            inside = True
        elif inside and line.rstrip('\n') == end:
            inside = False
        elif not inside:
            lines.append(line)
    return ''.join(lines)


def replace_running(module, tool, ours, wanted):
    """Our rules (``ours``, iptables arguments) out of the running firewall, then the
    ``wanted`` ones appended, with ``tool`` (iptables or ip6tables); fail_json on an error."""
    path = module.get_bin_path(tool, required=True)
    for action, rules in (('-D', ours), ('-A', wanted)):
        for rule in rules:
            rc, out, err = module.run_command([path, '-w', action] + list(rule))
            if rc != 0:
                module.fail_json(msg='%s %s %s failed: %s' % (
                    tool, action, ' '.join(rule), (err or out).strip()))
