"""plugins/plugin_utils/role_vars.py: the roles' variables become module options on the
controller. Expected options are written out by hand from the role READMEs, not computed."""

import os

import pytest
import yaml

from ansible.errors import AnsibleError

from ansible_collections.jaas.firewall.plugins.plugin_utils import role_vars

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DNS = [{'direction': 'out', 'protocol': 'udp', 'port': '53'},
       {'direction': 'out', 'protocol': 'tcp', 'port': '53'}]
CATALOG = {'catalog_file': None, 'blocks': ['cloudflare', 'jvb', 'turn'], 'regions': None,
           'families': [4, 6], 'allow_private_networks': False, 'webhooks': False,
           'webhook_port': 443, 'compact': True, 'domains': []}
SHARED = {'catalog': CATALOG, 'state': 'present', 'gateway': False,
          'gateway_in_interfaces': [], 'gateway_out_interfaces': [], 'domain_ttl': 3600,
          'dns_upstreams': [], 'log_drops': False}


class Templar(object):
    def template(self, value):
        return value


def options(role, **variables):
    with open(os.path.join(REPO, 'roles', role, 'defaults', 'main.yml')) as handle:
        task_vars = yaml.safe_load(handle)
    task_vars.update(variables, unrelated_variable='{{ never templated }}')
    return role_vars.module_args(role, role_vars.role_spec(role), task_vars, Templar())


def test_nftables_defaults():
    assert options('nftables') == dict(
        SHARED, prefix='jaas', default_outgoing='accept', default_incoming='accept',
        default_forward='accept', persist=True, keep_open=DNS, keep_connection=True,
        rollback_timeout=0, install=['nftables'])


def test_nftables_restricted_with_domains_and_a_host_path():
    got = options('nftables', jaas_firewall_nftables_default_incoming='drop',
                  jaas_firewall_domains=['core'], jaas_firewall_rollback_timeout='90',
                  jaas_firewall_keep_open=[{'direction': 'in', 'protocol': 'tcp', 'port': 8443}],
                  jaas_firewall_nftables_persist_config='~/nftables.conf',
                  jaas_firewall_allow_dns=False, jaas_firewall_webhooks='yes')
    assert got['rollback_timeout'] == 90
    assert got['install'] == ['nftables', 'dnsmasq-base']
    assert got['keep_open'] == [{'direction': 'in', 'protocol': 'tcp', 'port': '8443'}]
    assert got['persist_config'] == '~/nftables.conf'       # expanded on the host, not here
    assert got['catalog']['blocks'] == ['cloudflare', 'jvb', 'turn', 'webhook_origins']
    assert got['catalog']['webhooks'] is True and got['catalog']['domains'] == ['core']


def test_ufw_defaults_touch_no_policy():
    assert options('ufw') == dict(
        SHARED, prefix='jaas', guard_blocks=['safety'], keep_open=[], keep_open_families=[4, 6],
        keep_connection=False, rollback_timeout=0, install=['ufw'])


def test_ufw_enabled_and_restricted():
    got = options('ufw', jaas_firewall_ufw_enable=True, jaas_firewall_ufw_default_outgoing='deny',
                  jaas_firewall_domains=['core'], jaas_firewall_domain_answer_exclude=[])
    assert got['enabled'] is True and got['default_outgoing'] == 'deny'
    assert 'default_incoming' not in got and 'default_routed' not in got
    assert got['keep_open'] == DNS and got['keep_connection'] is True
    assert got['rollback_timeout'] == 60
    assert got['install'] == ['ufw', 'nftables', 'dnsmasq-base']
    assert got['domain_answer_exclude'] == []


def test_ufw_absent_arms_no_rollback():
    assert options('ufw', jaas_firewall_ufw_enable=True, jaas_firewall_state='absent')[
        'rollback_timeout'] == 0


def test_firewalld_defaults():
    assert options('firewalld') == dict(
        SHARED, prefix='jaas', keep_open=[], egress_target='CONTINUE',
        gateway_ingress_zones=['internal'], gateway_egress_zones=['external'],
        gateway_target='CONTINUE', start=False, enable_at_boot=False, keep_connection=False,
        rollback_timeout=0, install=[])


def test_firewalld_rejecting_egress():
    got = options('firewalld', jaas_firewall_firewalld_egress_target='REJECT',
                  jaas_firewall_firewalld_enable=True, jaas_firewall_firewalld_install=True)
    assert got['keep_open'] == DNS and got['egress_target'] == 'REJECT'
    assert got['start'] is True and got['enable_at_boot'] is True
    assert got['keep_connection'] is True and got['rollback_timeout'] == 60
    assert got['install'] == ['firewalld', 'python3-firewall']


@pytest.mark.parametrize('role', ['ufw', 'firewalld', 'nftables'])
@pytest.mark.parametrize('variables, message', [
    ({'jaas_firewall_state': 'gone'},
     'Validation of arguments failed:\nvalue of jaas_firewall_state must be one of: present, absent, got: gone'),
    ({'jaas_firewall_keep_open': [{'direction': 'out', 'protocol': 'tcp', 'port': '0'}]},
     "jaas.firewall.keep_open: jaas_firewall_keep_open[0].port: '0': port 0 is out of range 1-65535"),
    ({'jaas_firewall_gateway_out_interfaces': ['eth0', 'a b']},
     'jaas.firewall.names: jaas_firewall_gateway_out_interfaces[1]: '),
])
def test_refused_with_one_message(role, variables, message):
    with pytest.raises(AnsibleError) as caught:
        options(role, **variables)
    assert str(caught.value.message).startswith(message)
