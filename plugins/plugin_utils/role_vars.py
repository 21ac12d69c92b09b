# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Linux backend roles' variables, validated and turned into module options on the
controller, inside the role's one task (``role_variables: true``).

Why not Ansible's own role validation: when a role's ``meta/argument_specs.yml`` has a
``main`` entry point, Ansible runs a ``validate_argument_spec`` task per host before the
role's tasks, a whole task (a worker process, the spec templated again) for every host.
Our roles document their variables under the ``converge`` entry point instead, so
``roles: [jaas.firewall.nftables]`` runs one task per host, and that task validates the same
spec with the same validator and the same error text (``Validation of arguments failed:``,
then Ansible's own lines). Then each backend's ``module_args`` makes the module options
from the validated values: the mapping the roles' ``tasks/main.yml`` once wrote in Jinja,
here once, in Python, without a template compiled per host.

``include_role``/``import_role`` with ``tasks_from: converge`` runs the same task after
Ansible's own validation of the same spec.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import yaml

from ansible.errors import AnsibleError, AnsibleFilterError

from ansible_collections.jaas.firewall.plugins.module_utils.model import (
    ModelError, normalise_keep_open, normalise_names)

_COLLECTION = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
#: The argument spec entry point the roles document their variables under.
ENTRY_POINT = 'converge'
_DNS = [{'direction': 'out', 'protocol': 'udp', 'port': '53'},
        {'direction': 'out', 'protocol': 'tcp', 'port': '53'}]


def spec_path(role):
    return os.path.join(_COLLECTION, 'roles', role, 'meta', 'argument_specs.yml')


def role_spec(role):
    """The options of role ``role``'s ``converge`` entry point (our own shipped file)."""
    loader = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)
    with open(spec_path(role)) as handle:
        data = yaml.load(handle, Loader=loader)  # noqa: S506 - a safe loader
    return data['argument_specs'][ENTRY_POINT]['options']


def validated(spec, task_vars, templar):
    """The role variables of ``spec`` from ``task_vars``, templated and validated as Ansible's
    ``validate_argument_spec`` does (same validator, same message); AnsibleError if not."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
    provided = dict((name, task_vars[name]) for name in spec if name in task_vars)
    provided = templar.template(provided)
    result = ArgumentSpecValidator(spec).validate(provided, validate_role_argument_spec=True)
    if result.error_messages:
        raise AnsibleError('Validation of arguments failed:\n%s' % '\n'.join(result.error_messages))
    values = result.validated_parameters
    # A ``path`` is expanded (~, $VAR) by the validator, here on the controller; a host path
    # must reach the module as written, to be expanded there (as before, by the module).
    for name, option in spec.items():
        if option.get('type') == 'path' and provided.get(name) is not None:
            values[name] = provided[name]
    return values


#: The ``jaas.firewall.names`` filter's kinds: model NAME_RULES kind of each.
NAME_KINDS = {'interface': 'interface name', 'firewalld_zone': 'firewalld zone name'}


def checked_names(values, kind='interface', name='names'):
    """The ``jaas.firewall.names`` filter (and the roles' name variables): ``values``
    validated by the rule model, one error naming ``name`` and the entry."""
    if kind not in NAME_KINDS:
        raise AnsibleFilterError('jaas.firewall.names: kind must be one of %s, got %r'
                                 % (', '.join(sorted(NAME_KINDS)), kind))
    try:
        return normalise_names(NAME_KINDS[kind], values, str(name))
    except ModelError as exc:
        raise AnsibleFilterError('jaas.firewall.names: %s' % exc)


def checked_keep_open(entries, name='keep_open'):
    """The ``jaas.firewall.keep_open`` filter (and the roles' jaas_firewall_keep_open)."""
    try:
        return normalise_keep_open(entries, str(name))
    except ModelError as exc:
        raise AnsibleFilterError('jaas.firewall.keep_open: %s' % exc)


def _names(values, kind, variable):
    return checked_names(values[variable], kind, variable)


def _keep_open(values):
    return checked_keep_open(values['jaas_firewall_keep_open'], 'jaas_firewall_keep_open')


def _dns(values):
    return [dict(entry) for entry in _DNS] if values['jaas_firewall_allow_dns'] else []


def _set(args, key, value):
    """``args[key] = value`` unless value is empty or None (Jinja's ``default(omit, true)``)."""
    if value not in (None, '', [], {}):
        args[key] = value


def _shared(values, prefix):
    """The options every Linux backend module takes from the shared variables."""
    domains = list(values['jaas_firewall_domains'] or [])
    args = dict(
        catalog=dict(
            catalog_file=values['jaas_firewall_catalog_file'],
            blocks=list(values['jaas_firewall_blocks'])
            + (['webhook_origins'] if values['jaas_firewall_webhooks'] else []),
            regions=values['jaas_firewall_regions'],
            families=values['jaas_firewall_families'],
            allow_private_networks=values['jaas_firewall_allow_private_networks'],
            webhooks=values['jaas_firewall_webhooks'],
            webhook_port=values['jaas_firewall_webhook_port'],
            compact=values['jaas_firewall_compact'],
            domains=domains),
        state=values['jaas_firewall_state'],
        gateway=values['jaas_firewall_gateway'],
        gateway_in_interfaces=_names(values, 'interface', 'jaas_firewall_gateway_in_interfaces'),
        gateway_out_interfaces=_names(values, 'interface', 'jaas_firewall_gateway_out_interfaces'),
        domain_ttl=values['jaas_firewall_domain_ttl'],
        dns_upstreams=values['jaas_firewall_dns_upstreams'],
        log_drops=values['jaas_firewall_log_drops'],
    )
    if values['jaas_firewall_domain_answer_exclude'] is not None:
        args['domain_answer_exclude'] = values['jaas_firewall_domain_answer_exclude']
    if prefix is not None:
        args['prefix'] = prefix
    return args, domains


def _rollback(values, armed):
    return int(values['jaas_firewall_rollback_timeout']) \
        if armed and values['jaas_firewall_state'] == 'present' else 0


def nftables_args(values):
    args, domains = _shared(values, values['jaas_firewall_nftables_table'])
    restricting = values['jaas_firewall_nftables_default_incoming'] != 'accept' \
        or values['jaas_firewall_nftables_default_outgoing'] != 'accept'
    args.update(
        default_outgoing=values['jaas_firewall_nftables_default_outgoing'],
        default_incoming=values['jaas_firewall_nftables_default_incoming'],
        default_forward=values['jaas_firewall_nftables_default_forward'],
        persist=values['jaas_firewall_nftables_persist'],
        keep_open=_keep_open(values) + _dns(values),
        keep_connection=values['jaas_firewall_allow_ansible_connection'],
        rollback_timeout=_rollback(values, restricting),
        install=(['nftables'] + (['dnsmasq-base'] if domains else []))
        if values['jaas_firewall_nftables_install'] else [])
    _set(args, 'persist_config', values['jaas_firewall_nftables_persist_config'])
    return args


def ufw_args(values):
    args, domains = _shared(values, 'jaas')
    restricting = bool(values['jaas_firewall_ufw_enable']) \
        or values['jaas_firewall_ufw_default_outgoing'] in ('deny', 'reject') \
        or values['jaas_firewall_ufw_default_incoming'] in ('deny', 'reject')
    keep_open = _keep_open(values)      # validated whether or not it is written
    args.update(
        guard_blocks=['safety'],
        keep_open=keep_open + _dns(values) if restricting else [],
        keep_open_families=values['jaas_firewall_families'],
        keep_connection=bool(values['jaas_firewall_allow_ansible_connection']) and restricting,
        rollback_timeout=_rollback(values, restricting),
        install=(['ufw'] + (['nftables', 'dnsmasq-base'] if domains else []))
        if values['jaas_firewall_ufw_install'] else [])
    for option in ('incoming', 'outgoing', 'routed'):
        _set(args, 'default_' + option, values['jaas_firewall_ufw_default_' + option])
    if values['jaas_firewall_ufw_enable']:
        args['enabled'] = True
    return args


def firewalld_args(values):
    args, domains = _shared(values, values['jaas_firewall_firewalld_prefix'])
    enable = bool(values['jaas_firewall_firewalld_enable'])
    restricting = values['jaas_firewall_firewalld_egress_target'] in ('REJECT', 'DROP')
    present = values['jaas_firewall_state'] == 'present'
    args.update(
        keep_open=_keep_open(values) + (_dns(values) if restricting else []),
        egress_target=values['jaas_firewall_firewalld_egress_target'] or 'CONTINUE',
        gateway_ingress_zones=_names(values, 'firewalld_zone',
                                     'jaas_firewall_firewalld_gateway_ingress_zones'),
        gateway_egress_zones=_names(values, 'firewalld_zone',
                                    'jaas_firewall_firewalld_gateway_egress_zones'),
        gateway_target=values['jaas_firewall_firewalld_gateway_target'] or 'CONTINUE',
        start=enable and present,
        enable_at_boot=enable and present,
        keep_connection=bool(values['jaas_firewall_allow_ansible_connection'])
        and (restricting or enable),
        rollback_timeout=_rollback(values, restricting or enable),
        install=(['firewalld', 'python3-firewall'] + (['nftables', 'dnsmasq-base'] if domains else []))
        if values['jaas_firewall_firewalld_install'] else [])
    return args


MODULE_ARGS = {'nftables': nftables_args, 'ufw': ufw_args, 'firewalld': firewalld_args}


def module_args(backend, spec, task_vars, templar):
    """The module options of backend ``backend`` from the role's variables in ``task_vars``."""
    return MODULE_ARGS[backend](validated(spec, task_vars, templar))
