"""The shared role variables cannot drift apart: one source (tools/role_options.yml),
copied into every role by tools/role_options.py. Checked here on the parsed YAML of the
roles, not on the generator's text."""

import os
import sys

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, 'tools'))
import role_options  # noqa: E402

SOURCE = role_options.load_source()
ROLES = SOURCE['roles']
# Written out by hand: the variables a user may set for every backend alike.
SHARED = ['jaas_firewall_state', 'jaas_firewall_catalog_file', 'jaas_firewall_blocks',
          'jaas_firewall_regions', 'jaas_firewall_families', 'jaas_firewall_webhooks',
          'jaas_firewall_webhook_port', 'jaas_firewall_compact',
          'jaas_firewall_allow_private_networks', 'jaas_firewall_keep_open',
          'jaas_firewall_allow_dns', 'jaas_firewall_allow_ansible_connection',
          'jaas_firewall_rollback_timeout', 'jaas_firewall_gateway',
          'jaas_firewall_gateway_in_interfaces', 'jaas_firewall_gateway_out_interfaces',
          'jaas_firewall_domains', 'jaas_firewall_domain_ttl', 'jaas_firewall_dns_upstreams',
          'jaas_firewall_log_drops', 'jaas_firewall_domain_answer_exclude']


def _load(*parts):
    with open(os.path.join(REPO, 'roles', *parts)) as handle:
        return yaml.safe_load(handle)


def _without_descriptions(spec):
    if isinstance(spec, dict):
        return dict((key, _without_descriptions(value)) for key, value in spec.items()
                    if key != 'description')
    return spec


def test_the_source_lists_exactly_the_shared_variables():
    assert list(SOURCE['options']) == SHARED
    assert set(ROLES) == {'ufw', 'firewalld', 'nftables', 'windows_firewall'}


def test_no_role_copy_is_stale():
    assert role_options.stale_files(SOURCE) == []


# The Linux backend roles document their variables under "converge" (their one task
# validates them: plugins/plugin_utils/role_vars.py); the Windows role under "main".
ENTRY_POINTS = {'ufw': 'converge', 'firewalld': 'converge', 'nftables': 'converge',
                'windows_firewall': 'main'}


def _spec_options(role):
    specs = _load(role, 'meta', 'argument_specs.yml')['argument_specs']
    assert list(specs) == [ENTRY_POINTS[role]]
    return specs[ENTRY_POINTS[role]]['options']


@pytest.mark.parametrize('role', ROLES)
def test_role_specs_and_defaults_match_the_source(role):
    specs = _spec_options(role)
    defaults = _load(role, 'defaults', 'main.yml')
    for name in SHARED:
        source_spec = SOURCE['options'][name]['spec']
        assert _without_descriptions(specs[name]) == _without_descriptions(source_spec), name
        assert specs[name].get('description'), name
        assert defaults[name] == source_spec.get('default'), name


def test_specs_agree_across_roles():
    seen = {}
    for role in ROLES:
        specs = _spec_options(role)
        for name in SHARED:
            seen.setdefault(name, []).append(_without_descriptions(specs[name]))
    for name, copies in seen.items():
        assert all(copy == copies[0] for copy in copies), name
