# -*- coding: utf-8 -*-
"""Gateway mode of ufw_rules: route rules in ufw's user rules files.

Every expected block below was written by real ufw 0.36.2 (Debian 12, inactive ufw in a
throw-away container) for the command line in the comment above it, and copied here by
hand; the renderer must produce the same bytes, and the ufw-user-forward chain is where
ufw puts them.
"""

import pytest

from ansible_collections.jaas.firewall.plugins.module_utils.gateway import Gateway
from ansible_collections.jaas.firewall.plugins.module_utils.ufw_plan import (
    UfwRulesError, describe, describe_text, desired_blocks, plan_file, render_block,
    render_route_block)

from canned.ufw import rule, rules_file

# ufw route allow in on eth1 out on eth0 to 198.18.7.0/24 port 443 proto tcp comment 'jaas:jvb:lab-a'
ROUTE_BOTH = """
### tuple ### route:allow tcp 443 198.18.7.0/24 any 0.0.0.0/0 in_eth1!out_eth0 comment=6a6161733a6a76623a6c61622d61
-A ufw-user-forward -i eth1 -o eth0 -p tcp -d 198.18.7.0/24 --dport 443 -j ACCEPT
"""
# ufw route allow in on eth1 to 198.18.7.100 port 49152:65535 proto udp comment 'jaas:turn'
ROUTE_IN_RANGE = """
### tuple ### route:allow udp 49152:65535 198.18.7.100 any 0.0.0.0/0 in_eth1 comment=6a6161733a7475726e
-A ufw-user-forward -i eth1 -p udp -m multiport --dports 49152:65535 -d 198.18.7.100 -j ACCEPT
"""
# ufw route allow out on eth0 to 198.18.7.0/24 proto udp comment 'jaas:cloudflare'
ROUTE_OUT_ALL_PORTS = """
### tuple ### route:allow udp any 198.18.7.0/24 any 0.0.0.0/0 out_eth0 comment=6a6161733a636c6f7564666c617265
-A ufw-user-forward -o eth0 -p udp -d 198.18.7.0/24 -j ACCEPT
"""
# ufw route allow to 198.18.7.0/24 port 10000 proto udp comment 'jaas:jvb'
ROUTE_ANY = """
### tuple ### route:allow udp 10000 198.18.7.0/24 any 0.0.0.0/0 in comment=6a6161733a6a7662
-A ufw-user-forward -p udp -d 198.18.7.0/24 --dport 10000 -j ACCEPT
"""
# ufw route allow in on eth1 out on eth0 to 2001:2:0:7::/64 port 443 proto tcp comment 'jaas:jvb'
ROUTE_V6 = """
### tuple ### route:allow tcp 443 2001:2:0:7::/64 any ::/0 in_eth1!out_eth0 comment=6a6161733a6a7662
-A ufw6-user-forward -i eth1 -o eth0 -p tcp -d 2001:2:0:7::/64 --dport 443 -j ACCEPT
"""
# ufw route allow in on lan0.100 out on wan_1 to 2001:2:0:7::100 proto tcp comment 'jaas:x'
ROUTE_V6_HOST = """
### tuple ### route:allow tcp any 2001:2:0:7::100 any ::/0 in_lan0.100!out_wan_1 comment=6a6161733a78
-A ufw6-user-forward -i lan0.100 -o wan_1 -p tcp -d 2001:2:0:7::100 -j ACCEPT
"""


@pytest.mark.parametrize('given, in_if, out_if, family, block', [
    (rule('198.18.7.0/24', region='lab-a'), 'eth1', 'eth0', 4, ROUTE_BOTH),
    (rule('198.18.7.100/32', 'udp', '49152-65535', 'turn', None), 'eth1', None, 4, ROUTE_IN_RANGE),
    (rule('198.18.7.0/24', 'udp', None, 'cloudflare', None), None, 'eth0', 4, ROUTE_OUT_ALL_PORTS),
    (rule('198.18.7.0/24', 'udp', '10000', 'jvb', None), None, None, 4, ROUTE_ANY),
    (rule('2001:2:0:7::/64', region=None, family=6), 'eth1', 'eth0', 6, ROUTE_V6),
    (rule('2001:2:0:7::100/128', ports=None, block='x', region=None, family=6),
     'lan0.100', 'wan_1', 6, ROUTE_V6_HOST),
])
def test_route_block_matches_what_ufw_writes(given, in_if, out_if, family, block):
    assert render_route_block(given, 'jaas', in_if, out_if) == (family, block)


def test_inbound_rules_are_never_routed():
    with pytest.raises(UfwRulesError, match=r"rules\[3\]: only outbound rules are routed"):
        render_route_block(rule('198.18.7.1/32', direction='in'), 'jaas', where='rules[3]')


@pytest.mark.parametrize('name', ['eth+', 'eth0 ', 'a' * 16, 'eth0:1', 'x!y'])
def test_bad_interface_refused(name):
    with pytest.raises(UfwRulesError, match='gateway_in_interfaces: .* is not a valid interface name'):
        render_route_block(rule('198.18.7.0/24'), 'jaas', name, None)


def test_desired_blocks_add_one_route_per_outbound_rule_and_interface_pair():
    rules = [rule('198.18.7.0/24', region='lab-a'),
             rule('198.18.7.99/32', ports='8443', block='webhook_origins', region=None,
                  direction='in')]
    host = desired_blocks(rules, 'jaas')
    gateway = desired_blocks(rules, 'jaas', Gateway(('lan0', 'lan1'), ('wan0',)))
    assert gateway[4][:2] == host[4]                  # host rules first, unchanged
    routes = gateway[4][2:]
    assert len(routes) == 2                           # 1 outbound rule x 2 LAN x 1 WAN
    assert [describe(b, 4)['in_interface'] for b in routes] == ['lan0', 'lan1']
    assert all(describe(b, 4)['out_interface'] == 'wan0' for b in routes)
    assert gateway[6] == host[6] == []


def test_any_interface_on_both_sides_is_one_route():
    rules = [rule('198.18.7.0/24', 'udp', '10000', 'jvb', None)]
    assert desired_blocks(rules, 'jaas', Gateway((), ()))[4][1:] == [ROUTE_ANY]


def test_describe_reads_a_route_back():
    summary = describe(ROUTE_BOTH, 4)
    assert summary == {'family': 4, 'direction': 'routed', 'action': 'allow', 'protocol': 'tcp',
                       'network': '198.18.7.0/24', 'ports': '443', 'comment': 'jaas:jvb:lab-a',
                       'in_interface': 'eth1', 'out_interface': 'eth0'}
    assert describe_text(summary) == \
        'route allow in on eth1 out on eth0 tcp to 198.18.7.0/24 port 443 (jaas:jvb:lab-a)'
    assert describe(ROUTE_ANY, 4)['in_interface'] is None


def test_host_and_route_rules_prune_independently():
    jvb = rule('198.18.7.0/24', region='lab-a')
    _family, host_block = render_block(jvb, 'jaas')
    on = desired_blocks([jvb], 'jaas', Gateway(('eth1',), ('eth0',)))[4]
    assert on == [host_block, ROUTE_BOTH]
    current = rules_file(host_block, ROUTE_BOTH)
    # gateway mode off: the route goes, the host rule stays where it is
    after, added, removed = plan_file(current, desired_blocks([jvb], 'jaas')[4], 'jaas')
    assert (added, removed) == ([], [ROUTE_BOTH]) and after == rules_file(host_block)
    # converged: nothing to do
    assert plan_file(current, on, 'jaas')[1:] == ([], [])
    # absent: both go
    assert plan_file(current, [], 'jaas')[2] == [host_block, ROUTE_BOTH]


# ---------------------------------------------------------------- the module's main()
from canned.ufw import JVB, make_host, run  # noqa: E402,F401 (make_host is a fixture)

# ufw route allow in on lan0 out on wan0 to 198.18.1.0/24 port 10000 proto udp comment 'jaas:jvb:lab-a'
JVB_ROUTE = """
### tuple ### route:allow udp 10000 198.18.1.0/24 any 0.0.0.0/0 in_lan0!out_wan0 comment=6a6161733a6a76623a6c61622d61
-A ufw-user-forward -i lan0 -o wan0 -p udp -d 198.18.1.0/24 --dport 10000 -j ACCEPT
"""


def test_module_writes_host_rule_and_route_then_the_routed_policy(make_host, capsys):
    host = make_host()
    out = run(capsys, gateway=True, gateway_in_interfaces=['lan0'],
              gateway_out_interfaces=['wan0'], default_routed='deny')
    assert out['changed'] is True
    assert [a['direction'] for a in out['added']] == ['out', 'routed']
    assert JVB_ROUTE in host.text(4)
    assert out['policies']['routed'] == 'deny'
    reload_at = max(i for i, c in enumerate(host.commands) if 'restore -n' in c)
    assert host.commands.index('/usr/sbin/ufw default deny routed') > reload_at
    assert 'route allow in on lan0 out on wan0 udp to 198.18.1.0/24 port 10000' in out['diff']['after']


def test_module_gateway_off_removes_only_the_route(make_host, capsys):
    host = make_host()
    run(capsys, gateway=True, gateway_in_interfaces=['lan0'], gateway_out_interfaces=['wan0'])
    with_route = host.text(4)
    out = run(capsys)
    assert [r['direction'] for r in out['removed']] == ['routed'] and out['added'] == []
    assert host.text(4) == with_route.replace(JVB_ROUTE, '')


def test_module_absent_removes_host_rules_and_routes(make_host, capsys):
    host = make_host()
    run(capsys, gateway=True)
    out = run(capsys, state='absent', rules=[])
    assert sorted(r['direction'] for r in out['removed']) == ['out', 'routed']
    assert '### tuple ###' not in host.text(4).replace(
        '### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in', '')   # only the user's SSH rule is left
    assert out['owned'] == {'4': 0, '6': 0}


def test_module_bad_interface_changes_nothing(make_host, capsys):
    host = make_host()
    before = host.text(4)
    out = run(capsys, gateway=True, gateway_out_interfaces=['wan0', 'eth*'])
    assert out['failed'] is True
    assert out['msg'].startswith("nothing changed: gateway_out_interfaces[1]: 'eth*' is not a valid interface name")
    assert host.text(4) == before and host.commands == []


def test_module_keep_open_rules_are_never_routed(make_host, capsys):
    host = make_host()
    out = run(capsys, gateway=True, keep_open=[{'direction': 'out', 'protocol': 'udp', 'port': '53'}])
    routes = [a for a in out['added'] if a['direction'] == 'routed']
    assert [r['comment'] for r in routes] == ['jaas:jvb:lab-a']
    assert '-A ufw-user-forward' in host.text(4)
