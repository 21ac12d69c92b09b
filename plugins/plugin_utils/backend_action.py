# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller half of every backend module (``jaas.firewall.<backend>_rules``).

One action plugin class, used by each backend module's action plugin file, so a role
costs one task per host on a converged host:

1. ``catalog``: the desired rules are computed here, on the controller, by the
   ``jaas.firewall.catalog`` lookup and the ``jaas.firewall.rules`` filter (the same code,
   the same validation and error messages as when a playbook calls them), and appended
   to ``rules``. No huge list goes through Jinja or into host facts. Its ``domains`` key
   (a list of catalog domain categories) becomes the module's ``domains`` option: per
   category its names and rules, from the same validated catalog.
2. The module runs on the host (``if_missing=report`` when ``install`` is given).
3. ``install``: only when the module reports the firewall missing, the host's package
   manager installs these packages and the module runs once more. A host that has the
   firewall never sees a package task (air-gapped hosts without python3-apt converge).
4. ``keep_connection``/``rollback_timeout``: honoured only on connections that reach the
   host through an SSH session (ssh, paramiko, libssh); on docker, local, winrm, ... there
   is no port of ours to keep and no connection to cut, so both are switched off here. On
   SSH, ``connection_port`` defaults to the port the connection plugin was configured with
   (``ansible_port``, ``remote_port``); the module also reads the port it really uses.
5. ``rollback``: when the module armed a revert (``rollback_timeout``), the change is
   confirmed over a brand-new connection at once, or the task fails saying that the host
   rolled it back (plugins/plugin_utils/confirm_change.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

from ansible_collections.jaas.firewall.plugins.plugin_utils import registry, role_vars, rules_cache

from ansible_collections.jaas.firewall.plugins.module_utils import answer_guard, model, policy

from ansible_collections.jaas.firewall.plugins.module_utils.domain_resolver import check_upstreams
from ansible_collections.jaas.firewall.plugins.module_utils.domain_sets import (
    DomainError, check_ttl, normalise_domains)
from ansible_collections.jaas.firewall.plugins.plugin_utils import confirm_change

# Options of the rules filter; every other key of ``catalog`` is a lookup option, except
# DOMAINS_KEY, the domain categories to enforce.
RULES_FILTER_OPTIONS = ('webhooks', 'webhook_port', 'compact')
DOMAINS_KEY = 'domains'
# Connection plugins whose sessions have an SSH port on the host (names without collection).
SSH_TRANSPORTS = ('ssh', 'smart', 'paramiko', 'paramiko_ssh', 'libssh')


def ssh_like(transport):
    """True when a connection plugin's ``transport`` reaches the host over SSH."""
    name = to_text(transport or '')
    for namespace in ('ansible.builtin.', 'ansible.legacy.', 'ansible.netcommon.'):
        if name.startswith(namespace):
            name = name[len(namespace):]
    return name in SSH_TRANSPORTS


# Backend modules that enforce domains (the others refuse them here, before any host).
DOMAIN_MODULES = registry.supporting('domains')


def check_gateway_domains(args):
    """Gateway mode with domains: the local resolver serves the LAN, so the LAN interfaces
    must be named (it never listens on every interface) and none of them may be a WAN one."""
    if not boolean(args.get('gateway') or False, strict=False) \
            or args.get('state', 'present') != 'present':
        return
    lan = list(args.get('gateway_in_interfaces') or [])
    wan = list(args.get('gateway_out_interfaces') or [])
    if not lan:
        raise AnsibleError('jaas_firewall_domains in gateway mode needs jaas_firewall_gateway_in_interfaces: '
                           'the LAN interfaces the local resolver serves (it never listens on every '
                           'interface); name them, or set jaas_firewall_domains to []')
    both = [name for name in lan if name in wan]
    if both:
        raise AnsibleError('jaas_firewall_gateway_in_interfaces: %s is also in '
                           'jaas_firewall_gateway_out_interfaces; with jaas_firewall_domains the '
                           'resolver would answer on the WAN side' % ', '.join(both))


def check_domain_options(module, args):
    """The domain options checked on the controller, with the role variable's name."""
    try:
        # checked with or without domains: a role variable is refused before any host
        answer_guard.normalise_exclude(args.get('domain_answer_exclude'),
                                       'jaas_firewall_domain_answer_exclude')
    except model.ModelError as exc:
        raise AnsibleError(str(exc))
    if not args.get('domains'):
        return
    if module not in DOMAIN_MODULES:
        raise AnsibleError('jaas_firewall_domains: %s cannot enforce domains (supported by %s); '
                           'set it to []' % (module, ', '.join(DOMAIN_MODULES)))
    try:
        normalise_domains(args['domains'])
        if args.get('domain_ttl') is not None:
            check_ttl(int(args['domain_ttl']) if str(args['domain_ttl']).isdigit()
                      else args['domain_ttl'], 'jaas_firewall_domain_ttl')
        check_upstreams(args.get('dns_upstreams'), 'jaas_firewall_dns_upstreams')
    except DomainError as exc:
        raise AnsibleError(str(exc))
    check_gateway_domains(args)


# Backend modules that log their own drops (jaas_firewall_log_drops); the others refuse
# ``log_drops: true`` here, before any host, and never receive the option.
LOG_DROP_MODULES = registry.supporting('log_drops')


def check_log_drops(module, args):
    """``log_drops`` kept for the backends that log, refused when true by the others."""
    if module in LOG_DROP_MODULES or 'log_drops' not in args:
        return
    value = args.pop('log_drops')
    try:
        wanted = boolean(value if value is not None else False, strict=True)
    except TypeError:
        raise AnsibleError('jaas_firewall_log_drops must be true or false, got %r' % (value,))
    if wanted and args.get('state', 'present') == 'present':
        raise AnsibleError('jaas_firewall_log_drops: %s does not log drops yet (supported by %s); '
                           'set it to false' % (module, ', '.join(LOG_DROP_MODULES)))


def domain_entries(catalog, categories, families):
    """The module's ``domains`` option: per chosen category its names and rules."""
    if categories is None:
        return []
    if isinstance(categories, str) or not isinstance(categories, (list, tuple)):
        raise AnsibleError('catalog.domains (jaas_firewall_domains) must be a list of domain '
                           'categories, got %r' % (categories,))
    known = catalog.get('domains') or {}
    unknown = [c for c in categories if c not in known]
    if unknown:
        raise AnsibleError('jaas_firewall_domains: unknown domain categories %s; the catalog has %s'
                           % (', '.join(map(repr, unknown)), ', '.join(sorted(known)) or 'none'))
    entries = []
    for category in categories:
        if category in [e['category'] for e in entries]:
            continue
        entries.append({'category': category, 'families': list(families or [4, 6]),
                        'names': list(known[category]['names']),
                        'rules': [dict(rule) for rule in known[category]['rules']]})
    return entries


# Module options whose role variable is not ``jaas_firewall_<option>`` (for messages).
ROLE_VARIABLES = {
    'persist_config': 'jaas_firewall_nftables_persist_config',
    'prefix': None, 'persist_file': None, 'rules': None, 'domains': 'jaas_firewall_domains',
}


def _role_variable(path):
    top = path.split('[', 1)[0]
    if top in ROLE_VARIABLES or path.split('[', 1)[0] in ROLE_VARIABLES:
        return ROLE_VARIABLES.get(top)
    return 'jaas_firewall_' + top.split('.', 1)[-1]


def check_control_characters(value, path=''):
    """Refuse a control character in any string that reaches the host (paths, upstreams,
    names, comments, networks): one line naming the option and its role variable."""
    if isinstance(value, dict):
        for key in sorted(value, key=str):
            check_control_characters(value[key], '%s.%s' % (path, key) if path else str(key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            check_control_characters(item, '%s[%d]' % (path, index))
    elif isinstance(value, str):
        bad = model.control_character(value)
        if bad is not None:
            variable = _role_variable(path)
            raise AnsibleError('%s%s: %r holds the control character %s; refused (it could '
                               'forge a second line in a file or command)'
                               % (path, ' (role variable %s)' % variable if variable else '',
                                  value, bad))


def check_names(args, names):
    """Each (option, model name kind, role variable) of ``names`` checked by the rule
    model, so a name the backend cannot hold fails here instead of on the host."""
    for option, kind, variable in names:
        value = args.get(option)
        if value is None:
            continue
        try:
            model.check_name(kind, value)
        except model.ModelError as exc:
            raise AnsibleError('%s%s: %s' % (option, ' (role variable %s)' % variable
                                             if variable else '', exc))


class BackendAction(ActionBase):
    """A backend's action plugin sets ``backend`` to its registry name
    (plugins/plugin_utils/registry.py); ``module`` (the module's FQCN) and ``names`` (the
    name options checked on the controller: option, model NAME_RULES kind, role variable)
    come from its registry entry. The read-only modules set ``module`` themselves."""

    backend = None
    module = None
    names = ()
    TRANSFERS_FILES = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get('backend'):
            entry = registry.get(cls.backend)
            cls.module = entry.module
            cls.names = entry.names

    def desired_rules(self, selection, task_vars):
        """(rules, domains) of the catalog for ``selection`` (lookup options, rules filter
        options and the domain categories); cached across hosts (plugin_utils/rules_cache.py)."""
        if not isinstance(selection, dict):
            raise AnsibleError('catalog must be a dict of jaas.firewall.catalog lookup options '
                               'and webhooks/webhook_port/compact, got %s'
                               % type(selection).__name__)
        rules, domains = rules_cache.cached(
            selection, lambda: list(self._compute_rules(selection, task_vars)))
        return rules, domains

    def _compute_rules(self, selection, task_vars):
        # Imported here: the rules module pulls in netaddr, needed only on a cache miss.
        from ansible_collections.jaas.firewall.plugins.plugin_utils.rules import filter_rules

        lookup_options = dict((key, value) for key, value in selection.items()
                              if key not in RULES_FILTER_OPTIONS + (DOMAINS_KEY,)
                              and value is not None)
        filter_options = dict((key, selection[key]) for key in RULES_FILTER_OPTIONS
                              if selection.get(key) is not None)
        lookup = self._shared_loader_obj.lookup_loader.get(
            'jaas.firewall.catalog', loader=self._loader, templar=self._templar)
        catalog = lookup.run([], variables=task_vars, **lookup_options)[0]
        return (filter_rules(catalog, **filter_options),
                domain_entries(catalog, selection.get(DOMAINS_KEY), lookup_options.get('families')))

    def package_manager_install(self, packages, task_vars):
        """Install ``packages`` with the host's package manager (as ``package`` does)."""
        facts = task_vars.get('ansible_facts', {})
        manager = task_vars.get('ansible_package_use') or facts.get('pkg_mgr')
        if not manager:
            found = self._execute_module(module_name='ansible.legacy.setup',
                                         module_args=dict(filter='ansible_pkg_mgr',
                                                          gather_subset='!all'),
                                         task_vars=task_vars)
            manager = found.get('ansible_facts', {}).get('ansible_pkg_mgr')
        if not manager or manager == 'unknown':
            return dict(failed=True, msg='the firewall is missing and no package manager was '
                                         'found to install %s' % ', '.join(packages))
        return self._execute_module(module_name='ansible.legacy.' + manager,
                                    module_args=dict(name=list(packages), state='present'),
                                    task_vars=task_vars)

    def connection_safety(self, args, task_vars):
        """keep_connection, connection_port and rollback_timeout for this connection."""
        if not ssh_like(getattr(self._connection, 'transport', None)):
            args['keep_connection'] = False
            args['rollback_timeout'] = 0
            args.pop('connection_port', None)
            return
        if args.get('keep_connection') and args.get('connection_port') is None:
            port = task_vars.get('ansible_port')
            try:
                port = self._connection.get_option('port') or port
            except (AnsibleError, KeyError):
                pass
            if port is not None:
                args['connection_port'] = port

    def role_args(self, args, task_vars):
        """The module options from the role's variables (plugin_utils/role_vars.py)."""
        if args:
            raise AnsibleError('role_variables: true takes every option from the role variables; '
                               'remove %s' % ', '.join(sorted(args)))
        if self.backend not in role_vars.MODULE_ARGS:
            raise AnsibleError('role_variables: %s has no role of ours' % self.module)
        return role_vars.module_args(self.backend, role_vars.role_spec(self.backend),
                                     task_vars, self._templar)

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(BackendAction, self).run(tmp, task_vars)
        args = dict(self._task.args)
        try:
            if boolean(args.pop('role_variables', False), strict=False):
                args = self.role_args(args, task_vars)
            selection = args.pop('catalog', None)
            install = args.pop('install', None) or []
            if args.get('state', 'present') == 'absent':
                selection = None
            # names first (their own message names the role variable); the catalog
            # selection is validated by the catalog lookup, entry by entry
            check_names(args, self.names)
            check_control_characters(args)
            check_log_drops(self.module, args)
            if selection is not None:
                rules, domains = self.desired_rules(selection, task_vars)
                # grouped for transport (module_utils/policy.py); the module expands it
                args['policy'] = list(args.get('policy') or []) + policy.to_policy(rules)
                if domains:
                    args['domains'] = list(args.get('domains') or []) + domains
                check_domain_options(self.module, args)
        except AnsibleError as exc:
            # Nothing has reached the host: one message naming the entry, and stop.
            result.update(failed=True, changed=False, msg=to_text(exc.message))
            return result
        problem = confirm_change.timeout_problem(args.get('rollback_timeout'))
        if problem:
            result.update(failed=True, changed=False, msg=problem)
            return result
        if install:
            args['if_missing'] = 'report'
        self.connection_safety(args, task_vars)

        module_result = self._execute_module(module_name=self.module, module_args=args,
                                             task_vars=task_vars)
        if install and module_result.get('installed') is False \
                and args.get('state', 'present') == 'present' and not module_result.get('failed'):
            installed = self.package_manager_install(install, task_vars)
            if installed.get('failed'):
                installed['msg'] = 'installing %s failed: %s' % (', '.join(install),
                                                                 installed.get('msg', ''))
                result.update(installed)
                return result
            args['if_missing'] = 'fail'
            module_result = self._execute_module(module_name=self.module, module_args=args,
                                                 task_vars=task_vars)
            module_result['changed'] = True
            module_result['packages_installed'] = list(install)
        result.update(module_result)
        # rollback_timeout: confirm over a new connection now, or report the host's revert
        if (module_result.get('rollback') or {}).get('armed') and not module_result.get('failed'):
            result.update(confirm_change.confirm(self, module_result['rollback'], task_vars))
        return result


class ReadOnlyAction(BackendAction):
    """Controller half of the read-only modules (verify_policy, drop_report): the catalog's
    rules and domains computed as for the backends, nothing installed, nothing confirmed."""
    _supports_check_mode = True

    def selected(self, tmp, task_vars):
        """(result, args, rules, domains) for the task's ``catalog`` option; ``args`` is None
        (and ``result`` failed, naming the entry) when the input is refused."""
        result = ActionBase.run(self, tmp, task_vars)
        args = dict(self._task.args)
        selection = args.pop('catalog', None)
        try:
            check_control_characters(args)
            rules, domains = self.desired_rules(selection, task_vars) \
                if selection is not None else ([], [])
        except AnsibleError as exc:
            result.update(failed=True, changed=False, msg=to_text(exc.message))
            return result, None, None, None
        return result, args, rules, domains

    def execute(self, result, args, task_vars):
        result.update(self._execute_module(module_name=self.module, module_args=args,
                                           task_vars=task_vars))
        return result
