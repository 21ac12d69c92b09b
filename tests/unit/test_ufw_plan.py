"""Pure logic of jaas.firewall.ufw_rules: rendering, parsing and diffing ufw's user rules.

Every expected block below was copied from files written by ufw 0.36.2 itself (Debian 12),
for the same rule given on ufw's command line, e.g.
``ufw allow out proto tcp to 198.18.1.0/24 comment jaas:cloudflare``.
"""

import json
import os

import pytest

from ansible_collections.jaas.firewall.plugins.module_utils.ufw_plan import (
    UfwRulesError, UserRules, as_empty_rules_file, decode_comment, describe, describe_text,
    desired_blocks, encode_comment, is_package_template, owns, parse_defaults, plan_file, policy_defaults,
    remove_from_file, render_block, swap_log_prefixes, ufw_rules_file, with_conf_value)
from canned.ufw import (  # noqa: F401 (fixtures)
    rule, rules_file)

USER_SSH = """
### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in
-A ufw-user-input -p tcp --dport 22 -j ACCEPT
"""
USER_DNS = """
### tuple ### allow any 53 0.0.0.0/0 any 0.0.0.0/0 out comment=646e732062792075736572
-A ufw-user-output -p tcp --dport 53 -j ACCEPT
-A ufw-user-output -p udp --dport 53 -j ACCEPT
"""
# written by ufw for: ufw allow out proto tcp to 1.2.3.0/24 port 443 comment jaas:jvb:uk
JVB_TCP = """
### tuple ### allow tcp 443 1.2.3.0/24 any 0.0.0.0/0 out comment=6a6161733a6a76623a756b
-A ufw-user-output -p tcp -d 1.2.3.0/24 --dport 443 -j ACCEPT
"""
# ufw allow out proto udp to 1.2.3.4 port 49152:65535 comment jaas:turn:x
TURN_RANGE = """
### tuple ### allow udp 49152:65535 1.2.3.4 any 0.0.0.0/0 out comment=6a6161733a7475726e3a78
-A ufw-user-output -p udp -m multiport --dports 49152:65535 -d 1.2.3.4 -j ACCEPT
"""
# ufw allow out proto tcp to 198.18.1.0/24 comment jaas:cloudflare
CLOUDFLARE_ANY = """
### tuple ### allow tcp any 198.18.1.0/24 any 0.0.0.0/0 out comment=6a6161733a636c6f7564666c617265
-A ufw-user-output -p tcp -d 198.18.1.0/24 -j ACCEPT
"""
# ufw allow in proto tcp from 52.26.201.32 to any port 8443 comment jaas:webhook_origins
WEBHOOK_IN = """
### tuple ### allow tcp 8443 0.0.0.0/0 any 52.26.201.32 in comment=6a6161733a776562686f6f6b5f6f726967696e73
-A ufw-user-input -p tcp --dport 8443 -s 52.26.201.32 -j ACCEPT
"""
# ufw allow out proto udp to 2001:2:0:1::/64 port 49152:65535 comment jaas:turn:x
TURN_V6 = """
### tuple ### allow udp 49152:65535 2001:2:0:1::/64 any ::/0 out comment=6a6161733a7475726e3a78
-A ufw6-user-output -p udp -m multiport --dports 49152:65535 -d 2001:2:0:1::/64 -j ACCEPT
"""
# ufw allow out proto udp to any port 53 comment jaas:safety
SAFETY_DNS = """
### tuple ### allow udp 53 0.0.0.0/0 any 0.0.0.0/0 out comment=6a6161733a736166657479
-A ufw-user-output -p udp --dport 53 -j ACCEPT
"""


# ---------------------------------------------------------------- rendering

@pytest.mark.parametrize('given, family, block', [
    (rule('1.2.3.0/24'), 4, JVB_TCP),
    (rule('1.2.3.4/32', 'udp', '49152-65535', 'turn', 'x'), 4, TURN_RANGE),
    (rule('198.18.1.0/24', ports=None, block='cloudflare', region=None), 4, CLOUDFLARE_ANY),
    (rule('52.26.201.32/32', ports='8443', block='webhook_origins', region=None,
          direction='in'), 4, WEBHOOK_IN),
    (rule('2001:2:0:1::/64', 'udp', '49152-65535', 'turn', 'x', family=6), 6, TURN_V6),
    (rule('0.0.0.0/0', 'udp', '53', 'safety', None), 4, SAFETY_DNS),
])
def test_render_block_matches_what_ufw_writes(given, family, block):
    assert render_block(given, 'jaas') == (family, block)


def test_host_route_is_written_without_prefix():
    _family, block = render_block(rule('2001:2:0:1::100/128', family=6), 'jaas')
    assert '### tuple ### allow tcp 443 2001:2:0:1::100 any ::/0 out ' in block
    assert '-A ufw6-user-output -p tcp -d 2001:2:0:1::100 --dport 443 -j ACCEPT\n' in block


@pytest.mark.parametrize('bad, message', [
    (rule('1.2.3.1/24'), 'host bits set'),
    (rule('1.2.3.0/24', family=6), 'not IPv6'),
    (rule('1.2.3.0/24', ports='0'), 'out of range'),
    (rule('1.2.3.0/24', ports='2000-1000'), 'reversed'),
    (rule('1.2.3.0/24', ports='443; reboot'), 'is not a port'),
    (rule('1.2.3.0/24', block='jvb ; rm'), 'is not a valid block key'),
    (rule('1.2.3.0/24', region='UK London'), 'is not a valid region key'),
    (rule('1.2.3.0/24', protocol='icmp'), 'expected tcp or udp'),
])
def test_render_refuses_unsafe_or_invalid_values(bad, message):
    with pytest.raises(UfwRulesError, match=message):
        render_block(bad, 'jaas')


def test_comment_hex_round_trip():
    assert encode_comment('jaas:jvb:uk') == '6a6161733a6a76623a756b'
    assert decode_comment('6a6161733a6a76623a756b') == 'jaas:jvb:uk'
    assert decode_comment('zz') is None


def test_desired_blocks_split_by_family_and_drop_duplicates():
    wanted = desired_blocks([rule('1.2.3.0/24'), rule('1.2.3.0/24'),
                             rule('2001:2:0:1::/64', 'udp', '49152-65535', 'turn', 'x', 6)],
                            'jaas')
    assert wanted == {4: [JVB_TCP], 6: [TURN_V6]}


def test_desired_blocks_name_the_bad_rule():
    with pytest.raises(UfwRulesError, match=r'rules\[1\]'):
        desired_blocks([rule('1.2.3.0/24'), {'direction': 'out'}], 'jaas')


# ---------------------------------------------------------------- parsing

@pytest.mark.parametrize('text', [
    rules_file(),
    rules_file(USER_SSH),
    rules_file(USER_SSH, JVB_TCP, USER_DNS),
    rules_file(USER_SSH).replace('\n', '\r\n'),
])
def test_parse_then_render_is_byte_identical(text):
    assert str(UserRules(text)) == text


def test_parse_finds_each_rule_block():
    parsed = UserRules(rules_file(USER_SSH, JVB_TCP, USER_DNS))
    assert parsed.blocks == [USER_SSH, JVB_TCP, USER_DNS]


def test_parse_refuses_a_file_without_markers():
    with pytest.raises(UfwRulesError, match='not a ufw user rules file'):
        UserRules('*filter\nCOMMIT\n')


def test_ownership_is_by_comment_prefix_only():
    assert owns('jaas:jvb:uk', 'jaas')
    assert owns('jaas', 'jaas')
    assert not owns('jaasx:jvb', 'jaas')
    assert not owns('dns by user', 'jaas')
    assert not owns(None, 'jaas')
    assert not owns('jaas:safety', 'jaas', exclude_blocks=['safety'])


def test_describe_reads_our_tuple_back():
    summary = describe(TURN_RANGE, 4)
    assert summary == {'family': 4, 'direction': 'out', 'action': 'allow', 'protocol': 'udp',
                       'network': '1.2.3.4', 'ports': '49152-65535', 'comment': 'jaas:turn:x'}
    assert describe_text(summary) == 'allow out udp to 1.2.3.4 port 49152-65535 (jaas:turn:x)'
    assert describe_text(describe(WEBHOOK_IN, 4)) == \
        'allow in tcp from 52.26.201.32 port 8443 (jaas:webhook_origins)'


# ---------------------------------------------------------------- planning

def test_first_apply_appends_after_foreign_rules():
    before = rules_file(USER_SSH, USER_DNS)
    after, added, removed = plan_file(before, [JVB_TCP, TURN_RANGE], 'jaas')
    assert after == rules_file(USER_SSH, USER_DNS, JVB_TCP, TURN_RANGE)
    assert (added, removed) == ([JVB_TCP, TURN_RANGE], [])


def test_no_change_when_converged():
    current = rules_file(USER_SSH, JVB_TCP, USER_DNS, TURN_RANGE)
    assert plan_file(current, [JVB_TCP, TURN_RANGE], 'jaas') == (current, [], [])


def test_stale_rules_are_removed_foreign_ones_kept_in_place():
    current = rules_file(USER_SSH, JVB_TCP, USER_DNS, TURN_RANGE)
    after, added, removed = plan_file(current, [TURN_RANGE, CLOUDFLARE_ANY], 'jaas')
    assert after == rules_file(USER_SSH, USER_DNS, TURN_RANGE, CLOUDFLARE_ANY)
    assert (added, removed) == ([CLOUDFLARE_ANY], [JVB_TCP])


def test_a_hand_edited_rule_of_ours_is_replaced():
    edited = JVB_TCP.replace('-j ACCEPT', '-j DROP')
    after, added, removed = plan_file(rules_file(edited), [JVB_TCP], 'jaas')
    assert after == rules_file(JVB_TCP)
    assert (added, removed) == ([JVB_TCP], [edited])


def test_duplicates_of_our_rules_are_removed():
    after, added, removed = plan_file(rules_file(JVB_TCP, JVB_TCP), [JVB_TCP], 'jaas')
    assert after == rules_file(JVB_TCP)
    assert (added, removed) == ([], [JVB_TCP])


def test_absent_removes_all_ours_and_nothing_else():
    current = rules_file(USER_SSH, JVB_TCP, USER_DNS, TURN_RANGE, SAFETY_DNS)
    after, added, removed = plan_file(current, [], 'jaas')
    assert after == rules_file(USER_SSH, USER_DNS)
    assert removed == [JVB_TCP, TURN_RANGE, SAFETY_DNS]


def test_excluded_blocks_are_left_alone():
    current = rules_file(JVB_TCP, SAFETY_DNS)
    after, _added, removed = plan_file(current, [], 'jaas', exclude_blocks=['safety'])
    assert after == rules_file(SAFETY_DNS)
    assert removed == [JVB_TCP]


def test_absent_with_a_list_removes_only_the_listed_rules():
    current = rules_file(USER_SSH, JVB_TCP, TURN_RANGE)
    after, _added, removed = remove_from_file(current, [TURN_RANGE], 'jaas')
    assert after == rules_file(USER_SSH, JVB_TCP)
    assert removed == [TURN_RANGE]


def test_another_prefix_is_foreign():
    current = rules_file(JVB_TCP)
    after, _added, removed = plan_file(current, [], 'other')
    assert (after, removed) == (current, [])


def test_parse_defaults():
    text = 'IPV6=yes\nDEFAULT_INPUT_POLICY="DROP"\nDEFAULT_OUTPUT_POLICY="ACCEPT"\n# x=1\n'
    assert parse_defaults(text) == {'ipv6': True, 'incoming': 'deny', 'outgoing': 'allow',
                                    'routed': None}
    assert parse_defaults('DEFAULT_FORWARD_POLICY="REJECT"\n')['routed'] == 'reject'
    assert parse_defaults('IPV6=no\nDEFAULT_OUTPUT_POLICY="REJECT"')['outgoing'] == 'reject'
    assert parse_defaults('IPV6=no\n')['ipv6'] is False


# ufw 0.36.2's /usr/share/ufw/user.rules, as installed before ufw ever changed a rule
PACKAGE_TEMPLATE = """*filter
:ufw-user-input - [0:0]
:ufw-user-output - [0:0]
:ufw-user-forward - [0:0]
:ufw-user-limit - [0:0]
:ufw-user-limit-accept - [0:0]
### RULES ###
-A ufw-user-limit -m limit --limit 3/minute -j LOG --log-prefix "[UFW LIMIT BLOCK] "
-A ufw-user-limit -j REJECT
-A ufw-user-limit-accept -j ACCEPT
COMMIT
"""


def test_package_template_is_recognised_and_planned_as_empty():
    assert is_package_template(PACKAGE_TEMPLATE)
    assert not is_package_template(rules_file())
    assert not is_package_template(rules_file(USER_SSH))
    planned = as_empty_rules_file(PACKAGE_TEMPLATE)
    assert UserRules(planned).blocks == []
    _after, added, removed = plan_file(planned, [JVB_TCP], 'jaas')
    assert (added, removed) == ([JVB_TCP], [])


@pytest.mark.parametrize('field, value', [('region', 'uk-london\n'), ('block', 'jvb\n'),
                                          ('ports', '443\n')])
def test_trailing_newline_is_not_a_valid_key_or_port(field, value):
    given = rule('1.2.3.0/24')
    given[field] = value
    with pytest.raises(UfwRulesError):
        render_block(given, 'jaas')


def _rule_lines(blocks):
    return [line for block in blocks for line in block.splitlines() if line.startswith('-A ')]


@pytest.mark.parametrize('gateway', [False, True])
def test_safety_rules_come_first_once_then_rules_then_routes(gateway):
    """with_safety_rules: the connection's and keep-open rules first, each rule once (a rule
    that repeats a safety rule is not written twice), then the rules, then (gateway mode)
    their routes. Expected lines written by hand in ufw's iptables syntax."""
    from ansible_collections.jaas.firewall.plugins.module_utils.gateway import Gateway
    from ansible_collections.jaas.firewall.plugins.module_utils.ufw_plan import with_safety_rules
    rules = [rule('198.18.1.0/24', 'udp', '10000'),
             dict(rule('0.0.0.0/0', 'tcp', '22', direction='in'), block='safety', region=None),
             rule('2001:2::/48', 'tcp', '443', family=6)]
    gw = Gateway(['eth1'], ['eth0']) if gateway else None
    desired = {'rules': rules, 'prefix': 'jaas', 'connection_ports': [22],
               'keep_open': [{'direction': 'out', 'protocol': 'udp', 'port': '53'}],
               'keep_open_families': [4, 6], 'gateway': gw,
               'wanted': desired_blocks(rules, 'jaas', gw)}
    all_rules, wanted = with_safety_rules(desired, ipv6=True)
    assert len(all_rules) == 4 + len(rules)     # 22 in, 53 out, per family; then the rules
    v4 = ['-A ufw-user-input -p tcp --dport 22 -j ACCEPT',
          '-A ufw-user-output -p udp --dport 53 -j ACCEPT',
          '-A ufw-user-output -p udp -d 198.18.1.0/24 --dport 10000 -j ACCEPT']
    v6 = ['-A ufw6-user-input -p tcp --dport 22 -j ACCEPT',
          '-A ufw6-user-output -p udp --dport 53 -j ACCEPT',
          '-A ufw6-user-output -p tcp -d 2001:2::/48 --dport 443 -j ACCEPT']
    if gateway:
        v4.append('-A ufw-user-forward -i eth1 -o eth0 -p udp -d 198.18.1.0/24 --dport 10000 -j ACCEPT')
        v6.append('-A ufw6-user-forward -i eth1 -o eth0 -p tcp -d 2001:2::/48 --dport 443 -j ACCEPT')
    assert _rule_lines(wanted[4]) == v4
    assert _rule_lines(wanted[6]) == v6


# /etc/default/ufw as Debian ships it (the lines that matter) and an admin's after.rules line
DEFAULTS = 'IPV6=yes\nDEFAULT_INPUT_POLICY="DROP"\nDEFAULT_OUTPUT_POLICY="ACCEPT"\n'
AFTER = '*filter\n-A ufw-after-input -j LOG --log-prefix "[UFW ALLOW] "\nCOMMIT\n'


@pytest.mark.parametrize('changes, defaults, prefix', [
    # what `ufw default deny outgoing` leaves on a disabled ufw 0.36.2 (Debian 12)
    ([('outgoing', 'deny')],
     'IPV6=yes\nDEFAULT_INPUT_POLICY="DROP"\nDEFAULT_OUTPUT_POLICY="DROP"\n', 'UFW BLOCK'),
    # `ufw default reject incoming`, then `ufw default allow routed` (no such line: appended)
    ([('incoming', 'reject'), ('routed', 'allow')],
     'IPV6=yes\nDEFAULT_INPUT_POLICY="REJECT"\nDEFAULT_OUTPUT_POLICY="ACCEPT"\n'
     'DEFAULT_FORWARD_POLICY="ACCEPT"\n', 'UFW ALLOW'),
    ([], DEFAULTS, 'UFW ALLOW'),
])
def test_policy_files_as_ufw_default_writes_them(changes, defaults, prefix):
    assert policy_defaults(DEFAULTS, changes) == defaults
    assert swap_log_prefixes(AFTER, changes) == AFTER.replace('UFW ALLOW', prefix)


def test_with_conf_value_sets_every_line_or_appends():
    assert with_conf_value('A=1\nENABLED=no\n# ENABLED=no\n', 'ENABLED', 'yes') == \
        'A=1\nENABLED=yes\n# ENABLED=no\n'
    assert with_conf_value('A=1', 'ENABLED', 'yes') == 'A=1\nENABLED=yes\n'


# ---------------------------------------------------------------- ufw logging, without ufw

GOLDEN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'golden',
                      'ufw_logging_0.36.2.json')
with open(GOLDEN) as _handle:
    UFW_LOGGING = json.load(_handle)   # written by ufw itself (tests/golden/ufw_logging_capture.py)
POLICY_LETTERS = {'b': 'deny', 'a': 'allow', 'r': 'reject'}


def golden_case(key):
    v6, level, letters = key.split()
    policies = dict(zip(('incoming', 'outgoing', 'routed'), (POLICY_LETTERS[x] for x in letters)))
    files = dict(zip((4, 6), (UFW_LOGGING['texts'][index] for index in UFW_LOGGING['cases'][key])))
    return v6 == 'yes', level, policies, files


@pytest.mark.parametrize('key', sorted(UFW_LOGGING['cases']))
def test_the_package_templates_become_what_ufw_logging_writes(key):
    ipv6, level, policies, files = golden_case(key)
    for family in (4, 6):
        template = UFW_LOGGING['templates'][0 if family == 4 else 1]
        assert ufw_rules_file(template, family, level, policies, ipv6, recent=True) == files[family]


@pytest.mark.parametrize('key', sorted(UFW_LOGGING['cases']))
def test_a_full_file_gets_the_logging_section_ufw_writes(key):
    """From ufw's file for another level and other policies (as a run that changes both)."""
    ipv6, level, policies, files = golden_case(key)
    keys = sorted(other for other in UFW_LOGGING['cases'] if other.split()[0] == key.split()[0])
    before = golden_case(keys[(keys.index(key) + 7) % len(keys)])[3]
    for family in (4, 6):
        assert ufw_rules_file(before[family], family, level, policies, ipv6, recent=True) == files[family]


def test_the_rules_between_the_markers_are_kept():
    _ipv6, _level, _policies, files = golden_case('yes low bba')
    with_rules = files[4].replace('### RULES ###\n', '### RULES ###\n' + USER_SSH + JVB_TCP, 1)
    _ipv6, level, policies, wanted = golden_case('yes full aab')
    assert ufw_rules_file(with_rules, 4, level, policies, True, recent=True) == \
        wanted[4].replace('### RULES ###\n', '### RULES ###\n' + USER_SSH + JVB_TCP, 1)


@pytest.mark.parametrize('change', [
    lambda text: text.replace(':ufw-logging-allow - [0:0]\n', ''),          # another header
    lambda text: text.replace('### RATE LIMITING ###', '### RATE LIMIT ###'),  # another section
    lambda text: text.replace('COMMIT\n', 'COMMIT\n# admin note\n'),
    lambda text: text.replace('\n### END RULES ###', '### END RULES ###'),
    lambda text: text.replace('*filter\n', '*filter\n:ufw-user-extra - [0:0]\n'),
    lambda text: text + text,
])
def test_a_file_not_in_ufws_layout_is_left_to_ufw(change):
    _ipv6, level, policies, files = golden_case('yes low bba')
    assert ufw_rules_file(files[4], 4, level, policies, True, recent=True) == files[4]
    assert ufw_rules_file(change(files[4]), 4, level, policies, True, recent=True) is None


def test_without_knowing_the_recent_match_or_a_policy_ufw_runs():
    ipv6, level, policies, _files = golden_case('yes low bba')
    template = UFW_LOGGING['templates'][0]
    assert ufw_rules_file(template, 4, level, policies, ipv6, recent=False) is None
    assert ufw_rules_file(template, 4, level, dict(policies, routed=None), ipv6, recent=True) is None
    assert ufw_rules_file(template, 4, 'verbose', policies, ipv6, recent=True) is None


@pytest.mark.parametrize('hostile', [
    ('### LOGGING ###\n', '### LOGGING ###\n-A ufw-after-logging-input -j ACCEPT\n'),
    ('-A ufw-user-limit -j REJECT\n',
     '-A ufw-user-limit -j ACCEPT -m comment --comment "[UFW LIMIT BLOCK] "\n-A ufw-user-limit -j REJECT\n'),
])
def test_lines_a_host_slipped_into_ufws_own_sections_never_survive(hostile):
    """Everything outside the rules section is written from the level and the policies
    alone, as ufw does: an ACCEPT hidden in the logging or rate limiting section is gone."""
    _ipv6, level, policies, files = golden_case('yes low bba')
    crafted = files[4].replace(hostile[0], hostile[1], 1)
    assert crafted != files[4]
    assert ufw_rules_file(crafted, 4, level, policies, True, recent=True) == files[4]
