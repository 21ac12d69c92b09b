"""Name options are checked on the controller by the backend action plugins, with the
role variable in the message (hand-written cases; limits from the backends' own docs:
firewalld policy names hold 17 characters, so the prefix of <prefix>-ingress 8)."""

import pytest
from ansible.errors import AnsibleError

from ansible_collections.jaas.firewall.plugins.action.firewalld_rules import ActionModule as Firewalld
from ansible_collections.jaas.firewall.plugins.action.nftables_rules import ActionModule as Nftables
from ansible_collections.jaas.firewall.plugins.action.ufw_rules import ActionModule as Ufw
from ansible_collections.jaas.firewall.plugins.plugin_utils.backend_action import check_names

CASES = [
    (Firewalld, {'prefix': 'jaas'}, None),
    (Firewalld, {'prefix': 'jaas2'}, None),
    (Firewalld, {}, None),
    (Firewalld, {'prefix': 'Jaas Prod'}, ['prefix (role variable jaas_firewall_firewalld_prefix)',
                                          "'Jaas Prod'"]),
    (Firewalld, {'prefix': 'jaasprod1'}, ['jaas_firewall_firewalld_prefix', 'longer than 8']),
    (Firewalld, {'prefix': 'ja-as'}, ['jaas_firewall_firewalld_prefix', "'ja-as'"]),
    (Firewalld, {'prefix': 'jaas\n'}, ['jaas_firewall_firewalld_prefix']),
    (Nftables, {'prefix': 'jaas_edge'}, None),
    (Nftables, {'prefix': 'ja-as'}, ['prefix (role variable jaas_firewall_nftables_table)',
                                     "'ja-as'"]),
    (Nftables, {'prefix': 'j' * 33}, ['jaas_firewall_nftables_table', 'longer than 32']),
    (Nftables, {'prefix': 'j' * 32}, None),
    (Nftables, {'prefix': "['jaas']"}, ['jaas_firewall_nftables_table']),
    (Ufw, {'prefix': 'jaas-prod_1'}, None),
    (Ufw, {'tag_prefix': 'jaas prod'}, ['tag_prefix: ', "'jaas prod'"]),
    (Ufw, {'prefix': 'jaas:prod'}, ['prefix: ', "'jaas:prod'"]),
]


@pytest.mark.parametrize('action, args, expected', CASES)
def test_names_checked_on_the_controller(action, args, expected):
    if expected is None:
        check_names(args, action.names)
        return
    with pytest.raises(AnsibleError) as raised:
        check_names(args, action.names)
    message = str(raised.value.message)
    assert '\n' not in message
    for part in expected:
        assert part in message
