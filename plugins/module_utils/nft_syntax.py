# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The few pieces of nft rule syntax that the nftables plan (module_utils/nftables_plan.py)
and the domain half's tables (module_utils/nft_domains.py, used by ufw and firewalld
too) both write. Here, not in the nftables plan, so that the ufw and firewalld modules do
not ship the nftables backend's code. Pure, Python stdlib only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# address family -> (nft payload keyword, set type)
ADDRESS = {4: ('ip', 'ipv4_addr'), 6: ('ip6', 'ipv6_addr')}
FORWARD_CHAIN = 'forward'
REJECT = 'reject with icmpx type admin-prohibited'


def interface_match(key, names):
    """'iifname "lan0" ', 'iifname { "a", "b" } ' (sorted, as nft lists a set) or ''."""
    if not names:
        return ''
    quoted = ['"%s"' % name for name in sorted(names)]
    return '%s %s ' % (key, quoted[0] if len(quoted) == 1 else '{ %s }' % ', '.join(quoted))


def insert_before_reject(chain, new_rules):
    """Append the rules a chain does not hold yet, ahead of its final reject."""
    rules = chain['rules']
    tail = [rules.pop()] if rules and rules[-1].startswith(REJECT) else []
    rules += [rule for rule in new_rules if rule not in rules] + tail
