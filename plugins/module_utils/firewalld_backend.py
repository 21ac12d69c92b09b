# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewalld backend of the converge skeleton (module_utils/converge.py).

firewalld is driven over D-Bus through its own Python bindings (``firewall.client``).
This backend owns the ipsets and policies named ``<prefix>-*`` in both the permanent and
the runtime configuration (module_utils/firewalld_plan.py computes them and their diffs,
purely), and two things about the service: starting a stopped firewalld (``start``) and
enabling it at boot (``enable_at_boot``). Both are part of the plan, so check mode and the
result report them.

Desired state (``desired()``)::

    {'state': {'ipsets': {...}, 'policies': {...}},   # firewalld_plan's shape
     'gateway_policy': policy dict or None, 'interfaces': {option: [name]},
     'start': bool, 'enable': bool, 'keep_open': [entry], 'connection_ports': [int]}

Live state (``read()``)::

    {'running': bool, 'permanent': state, 'runtime': state, 'warnings': [str],
     'enabled': "systemctl is-enabled" answer or None, 'unit_problem': str or None}

A stopped firewalld cannot be read over D-Bus: its plan is "start it, then converge".
apply() then seeds the inbound keep-open rules offline, starts it, reads it and converges
with a second plan() on what it read. Python stdlib only (plus firewalld's bindings,
which exist wherever firewalld does).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tarfile
import time

from ansible_collections.jaas.firewall.plugins.module_utils.connection import kept_connection_ports
from ansible_collections.jaas.firewall.plugins.module_utils.converge import (
    ApplyError, Backend, Plan, PlanError, Safety)
from ansible_collections.jaas.firewall.plugins.module_utils import domain_marks
from ansible_collections.jaas.firewall.plugins.module_utils.domain_sets import (
    DOMAINS_ARGUMENT_SPEC, DomainError)
from ansible_collections.jaas.firewall.plugins.module_utils.firewalld_domains import (
    IPV6_LEFT_OUT, FirewalldDomains)
from ansible_collections.jaas.firewall.plugins.module_utils.firewalld_plan import (
    ANY_ZONE, EGRESS_TARGETS, GATEWAY_TARGETS, changed_items, desired_state, diff_layer,
    gateway_policy_name, has_changes, ingress_policy_name, keep_open_rules, needs_reload, owns,
    render_text)
from ansible_collections.jaas.firewall.plugins.module_utils.gateway import (
    gateway_argument_spec, gateway_from_params, resolver_interfaces)
from ansible_collections.jaas.firewall.plugins.module_utils.model import ModelError
from ansible_collections.jaas.firewall.plugins.module_utils.rollback import (
    Recipe, ResolverPart, listing, nft_table, q, unit_enablement)

DOMAIN_RESULT = dict(resolver={}, domain_steps=[], domains_broader_than_catalog=[])

try:
    import dbus
    import dbus.mainloop.glib
    from firewall import config as firewall_config
    from firewall.client import (FirewallClient, FirewallClientIPSetSettings,
                                 FirewallClientPolicySettings)
    from firewall.core.rich import Rich_Rule
    from firewall.dbus_utils import dbus_to_python
    HAS_FIREWALL = True
except ImportError:  # reported by FirewalldBackend.missing()
    HAS_FIREWALL = False

MARK_SHORT = 'jaas.firewall'
MARK_DESCRIPTION = 'Managed by the jaas.firewall collection (firewalld_rules); do not edit.'
SERVICE = 'firewalld.service'
START_TIMEOUT = 30
BINDINGS_MISSING = ('the firewalld Python bindings (firewall.client, package python3-firewall) '
                    'are missing on the managed host')
NOT_INSTALLED = 'firewalld or its Python bindings are not installed'
NOT_RUNNING = ('firewalld is not running, so nothing was read or changed. This module manages '
               'a running firewalld only (no firewall-offline-cmd fallback); start it first, '
               'e.g. with start=true (the role variable jaas_firewall_firewalld_enable=true).')
# Result keys of a run that read no firewalld configuration (stopped or not installed).
NOTHING_READ = dict(reloaded=False, ipsets=[], policies=[], rich_rules=0, permanent_changes={},
                    runtime_changes={}, started=False, seeded=[], **DOMAIN_RESULT)


def _dbus_message(exc):
    getter = getattr(exc, 'get_dbus_message', None)
    return (getter() if getter else None) or str(exc)


class Firewalld(object):
    """The few firewalld D-Bus calls the backend needs, for one layer at a time.

    Reads (every run) call firewalld's D-Bus methods directly, on proxies made without
    introspection, and wrap the answers in firewall.client's own settings classes as its
    getters do. firewall.client's FirewallClient (used to change things) introspects
    firewalld's large interfaces and subscribes to its signals when it is made: measured on
    Debian 12, a converged read cost the daemon 48-56 ms of CPU through it and 5 ms this way.
    It is made only when something is changed or a gateway's zones are looked up.
    """

    def __init__(self, prefix):
        self.prefix = prefix
        dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)   # as FirewallClient does
        self.bus = dbus.SystemBus()
        self._client = None
        try:
            # what FirewallClient takes for "connected": both objects can be had
            self.main = self._proxy(firewall_config.dbus.DBUS_PATH)
            self.settings = self._proxy(firewall_config.dbus.DBUS_PATH_CONFIG)
            self.running = True
        except Exception:  # as FirewallClient: any failure here means not connected
            self.main = self.settings = None
            self.running = False

    def _proxy(self, path):
        return self.bus.get_object(firewall_config.dbus.DBUS_INTERFACE, path, introspect=False)

    @property
    def client(self):
        if self._client is None:
            self._client = FirewallClient(bus=self.bus)
        return self._client

    @property
    def config(self):
        return self.client.config()

    def _call(self, proxy, interface, method, *args):
        return dbus_to_python(getattr(proxy, method)(*args, dbus_interface=interface))

    @staticmethod
    def _ipset_view(settings):
        return {'type': settings.getType(),
                'family': settings.getOptions().get('family', 'inet'),
                'entries': list(settings.getEntries())}

    @staticmethod
    def _policy_view(settings):
        values = settings.getSettingsDict()
        return {'target': values['target'], 'ingress_zones': list(values['ingress_zones']),
                'egress_zones': list(values['egress_zones']),
                'rich_rules': list(values['rich_rules'])}

    def _permanent_settings(self, kind, name):
        """The permanent settings of ipset or policy ``name`` (firewall.client's
        FirewallClientConfig.get<Kind>ByName(name).getSettings())."""
        names = firewall_config.dbus
        path = self._call(self.settings, names.DBUS_INTERFACE_CONFIG, 'get%sByName' % kind, name)
        interface = (names.DBUS_INTERFACE_CONFIG_IPSET if kind == 'IPSet'
                     else names.DBUS_INTERFACE_CONFIG_POLICY)
        return self._call(self._proxy(path), interface, 'getSettings')

    def read_permanent(self):
        names = firewall_config.dbus
        ipsets, policies = {}, {}
        for name in self._call(self.settings, names.DBUS_INTERFACE_CONFIG, 'getIPSetNames'):
            if owns(self.prefix, name):
                settings = list(self._permanent_settings('IPSet', name))
                ipsets[name] = self._ipset_view(FirewallClientIPSetSettings(settings))
        for name in self._call(self.settings, names.DBUS_INTERFACE_CONFIG, 'getPolicyNames'):
            if owns(self.prefix, name):
                settings = self._permanent_settings('Policy', name)
                policies[name] = self._policy_view(FirewallClientPolicySettings(settings))
        return {'ipsets': ipsets, 'policies': policies}

    def read_runtime(self):
        names = firewall_config.dbus
        ipsets, policies = {}, {}
        for name in self._call(self.main, names.DBUS_INTERFACE_IPSET, 'getIPSets'):
            if owns(self.prefix, name):
                settings = list(self._call(self.main, names.DBUS_INTERFACE_IPSET,
                                           'getIPSetSettings', name))
                view = self._ipset_view(FirewallClientIPSetSettings(settings))
                view['entries'] = [str(e) for e in self._call(
                    self.main, names.DBUS_INTERFACE_IPSET, 'getEntries', name)]
                ipsets[name] = view
        for name in self._call(self.main, names.DBUS_INTERFACE_POLICY, 'getPolicies'):
            if owns(self.prefix, name):
                settings = self._call(self.main, names.DBUS_INTERFACE_POLICY,
                                      'getPolicySettings', name)
                policies[name] = self._policy_view(FirewallClientPolicySettings(settings))
        return {'ipsets': ipsets, 'policies': policies}

    # permanent configuration ------------------------------------------------------------
    def _add_ipset(self, name, want):
        settings = FirewallClientIPSetSettings()
        settings.setShort(MARK_SHORT)
        settings.setDescription(MARK_DESCRIPTION)
        settings.setType(want['type'])
        settings.setOptions({'family': want['family']})
        settings.setEntries(list(want['entries']))
        self.config.addIPSet(name, settings)

    def _add_policy(self, name, want):
        settings = FirewallClientPolicySettings()
        settings.setSettingsDict({
            'short': MARK_SHORT, 'description': MARK_DESCRIPTION, 'target': want['target'],
            'ingress_zones': list(want['ingress_zones']),
            'egress_zones': list(want['egress_zones']),
            'rich_rules': list(want['rich_rules'])})
        self.config.addPolicy(name, settings)

    def apply_permanent(self, desired, changes):
        # Order matters for references: sets first, then the policies that use them, and
        # stale sets only once no rule of ours references them any more.
        for name, change in sorted(changes['ipsets'].items()):
            if change['action'] == 'create':
                self._add_ipset(name, desired['ipsets'][name])
            elif change['action'] == 'update':
                self.config.getIPSetByName(name).setEntries(list(desired['ipsets'][name]['entries']))
        for name, change in sorted(changes['policies'].items()):
            if change['action'] == 'create':
                self._add_policy(name, desired['policies'][name])
            elif change['action'] in ('remove', 'replace'):
                self.config.getPolicyByName(name).remove()
                if change['action'] == 'replace':
                    self._add_policy(name, desired['policies'][name])
            else:
                policy = self.config.getPolicyByName(name)
                settings = policy.getSettings()
                # rules before target: restrictions never land before their exceptions
                settings.setSettingsDict({'rich_rules': list(desired['policies'][name]['rich_rules'])})
                policy.update(settings)
                if 'target' in change:
                    settings.setSettingsDict({'target': change['target']})
                    policy.update(settings)
        for name, change in sorted(changes['ipsets'].items()):
            if change['action'] in ('remove', 'replace'):
                self.config.getIPSetByName(name).remove()
                if change['action'] == 'replace':
                    self._add_ipset(name, desired['ipsets'][name])

    # runtime configuration (only called when no reload is needed) ----------------------
    def apply_runtime(self, desired, changes):
        for name, change in sorted(changes['ipsets'].items()):
            if len(change['added']) + len(change['removed']) > 64:
                self.client.setEntries(name, list(desired['ipsets'][name]['entries']))
                continue
            for entry in change['added']:
                self.client.addEntry(name, entry)
            for entry in change['removed']:
                self.client.removeEntry(name, entry)
        for name in sorted(changes['policies']):
            settings = self.client.getPolicySettings(name)
            settings.setSettingsDict({'rich_rules': list(desired['policies'][name]['rich_rules'])})
            # firewalld computes the delta itself and adds/removes only those rich rules
            self.client.setPolicySettings(name, settings)

    def reload(self):
        self.client.reload()

    def zone_names(self):
        return list(self.config.getZoneNames())

    def zone_of_interface(self, interface):
        return self.client.getZoneOfInterface(interface) or None


def gateway_problems(firewalld, gateway, interfaces):
    """(errors, warnings) of the gateway policy against this firewalld (read-only).

    errors: zones that do not exist (the policy could not be created; nothing changes).
    warnings: interfaces named by the user that are bound to none of the policy's zones.
    """
    errors, warnings = [], []
    known = set(firewalld.zone_names())
    for side in ('ingress_zones', 'egress_zones'):
        missing = [z for z in gateway[side] if z != ANY_ZONE and z not in known]
        if missing:
            errors.append('gateway_%s: no such firewalld zone: %s (zones: %s)'
                          % (side, ', '.join(missing), ', '.join(sorted(known))))
    for side, option in (('ingress_zones', 'gateway_in_interfaces'),
                         ('egress_zones', 'gateway_out_interfaces')):
        if ANY_ZONE in gateway[side]:
            continue
        for interface in interfaces[option]:
            zone = firewalld.zone_of_interface(interface)
            if zone not in gateway[side]:
                warnings.append('%s: interface %s is in %s, not in %s, so the gateway policy does '
                                'not cover it (firewall-cmd --permanent --zone=%s '
                                '--change-interface=%s, then reload)'
                                % (option, interface, 'zone %s' % zone if zone else 'no zone',
                                   ' or '.join(gateway[side]), gateway[side][0], interface))
    return errors, warnings


def canonical_rules(desired):
    """Spell every rich rule exactly as this firewalld prints it (its own parser)."""
    for policy in desired['policies'].values():
        policy['rich_rules'] = sorted({str(Rich_Rule(rule_str=rule)) for rule in policy['rich_rules']})
    return desired


def unit_problem(module):
    """Why systemd cannot start firewalld (masked, not installed), or None. Read-only."""
    systemctl = module.get_bin_path('systemctl')
    if systemctl is None:
        return 'systemctl not found: this module starts firewalld through systemd only'
    rc, out, err = module.run_command([systemctl, 'show', SERVICE,
                                       '--property=LoadState', '--property=UnitFileState'])
    if rc != 0:
        return 'systemctl show firewalld.service failed: %s' % (err or out).strip()
    props = dict(line.split('=', 1) for line in out.splitlines() if '=' in line)
    load_state = props.get('LoadState', '')
    if load_state == 'masked' or props.get('UnitFileState') == 'masked':
        return 'firewalld.service is masked, so it cannot be started (systemctl unmask firewalld)'
    if load_state != 'loaded':
        return 'firewalld.service cannot be loaded (LoadState=%s; is firewalld installed?)' % load_state
    return None


def seed_offline(module, prefix, keep_open):
    """Write the inbound keep-open rules into our ingress policy, permanent configuration.

    Every rule comes from keep_open_rules() (validated, rebuilt from parsed values) and is
    re-spelt by firewalld's own parser, then passed as one argv element: never a shell.
    """
    inbound = sorted({str(Rich_Rule(rule_str=rule))
                      for direction, rule in keep_open_rules(keep_open) if direction == 'in'})
    if not inbound:
        return []
    offline = module.get_bin_path('firewall-offline-cmd', required=True)
    policy = ingress_policy_name(prefix)

    def run(*args):
        rc, out, err = module.run_command([offline] + list(args))
        if rc != 0:
            module.fail_json(msg='firewall-offline-cmd %s failed: %s' % (' '.join(args), (err or out).strip()))
        return out

    if policy not in run('--get-policies').split():
        run('--new-policy=%s' % policy)
        run('--policy=%s' % policy, '--add-ingress-zone=ANY')
        run('--policy=%s' % policy, '--add-egress-zone=HOST')
    present = set(run('--policy=%s' % policy, '--list-rich-rules').splitlines())
    for rule in inbound:
        if rule not in present:
            run('--policy=%s' % policy, '--add-rich-rule=%s' % rule)
    return inbound


class FirewalldBackend(Backend):
    """Hooks for converge.run(): reads and writes over D-Bus, starts and enables through systemd."""

    prefix_default = 'jaas'
    argument_spec = dict(
        egress_target=dict(type='str', default='CONTINUE', choices=list(EGRESS_TARGETS)),
        start=dict(type='bool', default=False),
        enable_at_boot=dict(type='bool', default=False),
        gateway_ingress_zones=dict(type='list', elements='str', default=['internal']),
        gateway_egress_zones=dict(type='list', elements='str', default=['external']),
        gateway_target=dict(type='str', default='CONTINUE', choices=list(GATEWAY_TARGETS)),
        domain_mark=dict(type='int', default=domain_marks.DEFAULT_MARK),
        log_drops=dict(type='bool', default=False),
    )
    argument_spec.update(gateway_argument_spec())
    argument_spec.update(DOMAINS_ARGUMENT_SPEC)

    def __init__(self, module):
        super(FirewalldBackend, self).__init__(module)
        self.prefix = module.params['prefix']
        self.wanted = None      # desired(), for read(): what to check and which reads to make
        self.firewalld = None   # the D-Bus connection read() made
        self.running = None     # whether firewalld ran when read() looked (for the rollback)
        self.domains = FirewalldDomains(module)  # the domain half (firewalld_domains.py)

    # -- pure -------------------------------------------------------------------------
    def safety(self, params):
        """firewalld's checks in its own order: the connection's ports (rollback_timeout:
        converge.run). Keep-open entries are checked by desired(), after the rules, and
        only with state=present (they are not used otherwise)."""
        try:
            ports = kept_connection_ports(params['keep_connection'] and params['state'] == 'present',
                                          params['connection_port'])
        except ValueError as exc:
            raise PlanError(str(exc))
        return Safety(keep_open=None, connection_ports=ports)  # keep_open: see above

    def desired(self, params, safety):
        present = params['state'] == 'present'
        # First, so the connection's rule is also the first one seeded before a start.
        keep_open = [dict(direction='in', protocol='tcp', port=str(port), network=None)
                     for port in safety.connection_ports] + list(params['keep_open'])
        try:
            # the interface names are checked whether gateway mode is on or not
            sides = gateway_from_params(params)
        except ModelError as exc:
            raise PlanError(str(exc))
        interfaces, gateway = {}, None
        if sides is not None:
            interfaces = dict(gateway_in_interfaces=list(sides.in_interfaces),
                              gateway_out_interfaces=list(sides.out_interfaces))
            gateway = dict(ingress_zones=params['gateway_ingress_zones'],
                           egress_zones=params['gateway_egress_zones'],
                           target=params['gateway_target'])
        try:
            # gateway mode with domains: the LAN interfaces (named, none a WAN one)
            lan = resolver_interfaces(sides, params['domains'] if present else [])
            domains = self.domains.desired(params, forward_interfaces=lan)
        except (DomainError, ModelError) as exc:
            raise PlanError(str(exc))
        accept = None if domains['script'] is None else dict(
            mark=domains['mark'], services=domains['services'])
        if present:   # PlanError (module_utils/policy.py) goes straight to converge.run
            state = desired_state(params['rules'], keep_open, prefix=self.prefix,
                                  egress_target=params['egress_target'], gateway=gateway,
                                  domains=accept, log_drops=bool(params.get('log_drops')))
        else:
            desired_state([], prefix=self.prefix)  # validates the prefix
            state = {'ipsets': {}, 'policies': {}}
        if HAS_FIREWALL:  # without the bindings missing() ends the run before any read
            state = canonical_rules(state)
        self.wanted = dict(
            state=state, interfaces=interfaces,
            gateway_policy=state['policies'][gateway_policy_name(self.prefix)] if gateway else None,
            start=bool(params['start'] and present),
            enable=bool(params['enable_at_boot'] and present),
            keep_open=keep_open, connection_ports=list(safety.connection_ports),
            domains=domains)
        return self.wanted

    def plan(self, desired, live):
        enable = desired['enable'] and live['enabled'] != 'enabled'
        if not live['running']:
            # Nothing can be read before the start: the rules are planned after it (apply()).
            return Plan(changed=True, added=[], removed=[], before='', after='',
                        extras=dict(NOTHING_READ, started=True, enabled_at_boot=enable,
                                    msg='firewalld is not running: it would be started and converged'),
                        work=dict(start=True, desired=desired, unit_problem=live['unit_problem']))
        try:
            domain_changed, domain_steps, resolver = self.domains.plan(desired['domains'],
                                                                       live['domains'])
        except DomainError as exc:
            self.module.fail_json(msg='nothing changed: %s' % exc)
        state = desired['state']
        permanent_changes = diff_layer(state, live['permanent'], self.prefix)
        runtime_changes = diff_layer(state, live['runtime'], self.prefix)
        reload_needed = needs_reload(runtime_changes)
        rules_changed = has_changes(permanent_changes) or has_changes(runtime_changes)
        added, removed = changed_items(permanent_changes, runtime_changes)
        if domain_changed:
            added += resolver.added
            removed += resolver.removed
        warnings = list(live['warnings']) + list(resolver.warnings)
        if desired['domains']['ipv6_left_out'] and desired['domains']['script'] is not None:
            warnings.append(IPV6_LEFT_OUT % ', '.join(desired['domains']['ipv6_left_out']))
        rich_rules = sum(len(p['rich_rules']) for p in state['policies'].values())
        reloaded = bool(rules_changed and reload_needed)
        before = render_text(live['permanent'], self.prefix)
        after = render_text(state, self.prefix)
        extras = dict(
            enabled_at_boot=enable, reloaded=reloaded, ipsets=sorted(state['ipsets']),
            policies=sorted(state['policies']), rich_rules=rich_rules,
            permanent_changes=permanent_changes, runtime_changes=runtime_changes,
            started=False, seeded=[], resolver=resolver.extras,
            domain_steps=['table' if script else 'table removed' for _kind, script in domain_steps],
            domains_broader_than_catalog=desired['domains']['broader'],
            msg='firewalld: %d ipsets, %d rich rules in %s; reloaded %s; connection ports kept %s'
                % (len(state['ipsets']), rich_rules, ', '.join(sorted(state['policies'])) or 'no policy',
                   'yes' if reloaded else 'no', desired['connection_ports'] or 'none'))
        diff = [
            dict(before_header='firewalld permanent', after_header='firewalld permanent',
                 before=before, after=after),
            dict(before_header='firewalld runtime', after_header='firewalld runtime',
                 before=render_text(live['runtime'], self.prefix), after=after),
        ]
        return Plan(changed=rules_changed or enable or domain_changed, added=added,
                    removed=removed, before=before, after=after, extras=extras,
                    warnings=tuple(warnings),
                    work=dict(start=False, enable=enable, rules_changed=rules_changed,
                              domain_changed=domain_changed, domain_steps=domain_steps,
                              resolver=resolver,
                              domains_present=desired['domains']['script'] is not None,
                              reload=reload_needed, state=state, diff=diff,
                              permanent_changes=permanent_changes, runtime_changes=runtime_changes))

    def diff(self, plan):
        # Both layers, in diff mode only; none before a start (nothing could be read).
        return plan.work.get('diff') if self.module._diff else None

    # -- host -------------------------------------------------------------------------
    def missing(self):
        params = self.module.params
        if HAS_FIREWALL and self.module.get_bin_path('firewall-cmd') is not None:
            # the domain half's tools (nft, dnsmasq), installed with firewalld's by the role
            return self.domains.missing(self.wanted['domains'])
        if params['state'] == 'absent' or params['if_missing'] == 'report':
            return NOT_INSTALLED
        # Without firewall-cmd but with the bindings, D-Bus still works: carry on.
        return None if HAS_FIREWALL else BINDINGS_MISSING

    def report_missing(self, reason):
        params = self.module.params
        if params['state'] == 'present' and params['if_missing'] == 'fail':
            self.module.fail_json(msg='%s; nothing changed' % reason)
        self.module.exit_json(changed=False, installed=False, added=[], removed=[],
                              connection_ports=[],
                              msg='%s: %s' % (reason, 'nothing to remove'
                                              if params['state'] == 'absent' else 'nothing was done'),
                              **NOTHING_READ)

    def read(self):
        try:
            firewalld = Firewalld(self.prefix)
        except Exception as exc:  # no system bus at all
            self.module.fail_json(msg='cannot reach D-Bus: %s; nothing changed' % _dbus_message(exc))
        self.firewalld, self.running = firewalld, firewalld.running
        if firewalld.running:
            return self._read_running(firewalld, 'nothing changed')
        if not self.wanted['start']:
            self.module.fail_json(msg=NOT_RUNNING)
        problem = unit_problem(self.module)
        return dict(running=False, permanent=None, runtime=None, warnings=[], unit_problem=problem,
                    enabled=None if problem else self._boot_state())

    def _read_running(self, firewalld, unchanged):
        """Both layers, the gateway's zones and interfaces, the boot state; ``unchanged``
        opens the message of a gateway error (what this run has changed so far)."""
        try:
            permanent = firewalld.read_permanent()
            runtime = firewalld.read_runtime()
            errors, warnings = ([], []) if self.wanted['gateway_policy'] is None else \
                gateway_problems(firewalld, self.wanted['gateway_policy'], self.wanted['interfaces'])
        except Exception as exc:
            self.module.fail_json(msg='reading firewalld state failed: %s' % _dbus_message(exc))
        if errors:
            self.module.fail_json(msg='%s: %s' % (unchanged, '; '.join(errors)))
        return dict(running=True, permanent=permanent, runtime=runtime, warnings=warnings,
                    unit_problem=None, enabled=self._boot_state(), domains=self._read_domains())

    def _read_domains(self):
        refusal = self.domains.refusal(self.wanted['domains'])
        if refusal:
            self.module.fail_json(msg='nothing changed: %s' % refusal)
        return self.domains.read(self.wanted['domains'])

    def _boot_state(self):
        """``systemctl is-enabled firewalld`` when enable_at_boot asks, else None."""
        if not self.wanted['enable']:
            return None
        systemctl = self.module.get_bin_path('systemctl')
        if systemctl is None:
            self.module.fail_json(msg='systemctl not found: enable_at_boot works through systemd only')
        _rc, out, _err = self.module.run_command([systemctl, 'is-enabled', SERVICE])
        return out.strip()

    def check(self, plan):
        # Before anything is armed or changed (check mode too): can systemd start it?
        if plan.work['start'] and plan.work['unit_problem']:
            self.module.fail_json(msg='%s; nothing was changed.' % plan.work['unit_problem'],
                                  started=False)
        self._preflight(plan.work)

    def _preflight(self, work):
        """The domain half's resolver configuration and upstreams, before any change."""
        if work.get('domain_changed'):
            self.domains.resolver.preflight(work['resolver'])

    def apply(self, plan):
        if plan.work['start']:
            return self._start_and_converge(plan.work['desired'])
        self._converge(plan.work)
        return {}

    def rollback_recipe(self):
        return FirewalldRecipe(running=self.running)

    def _converge(self, work, started=False, result=None):
        """Enable at boot, then the permanent configuration, then a reload or the runtime
        one (a run that started firewalld always goes through both layers)."""
        if work['enable']:
            self._enable()
        if not (work['rules_changed'] or work['domain_changed'] or started):
            return
        step = 'permanent configuration'
        try:
            self.firewalld.apply_permanent(work['state'], work['permanent_changes'])
            if work['reload']:
                step = 'reload'
                self.firewalld.reload()
            else:
                step = 'runtime configuration'
                self.firewalld.apply_runtime(work['state'], work['runtime_changes'])
        except Exception as exc:
            raise ApplyError('firewalld refused the change (%s): %s' % (step, _dbus_message(exc)),
                             result)
        # after firewalld: its accept for the mark is in place before any address is marked
        if work['domain_changed']:
            self.domains.apply(work['domain_steps'], work['resolver'], work['domains_present'])

    def _enable(self):
        systemctl = self.module.get_bin_path('systemctl')  # _boot_state() found it
        rc, out, err = self.module.run_command([systemctl, 'enable', SERVICE])
        if rc != 0:
            self.module.fail_json(msg='systemctl enable firewalld failed: %s' % (err or out).strip())

    def _start_and_converge(self, desired):
        """O(start): seed offline, start, connect, read, then converge what was read."""
        seeded = seed_offline(self.module, self.prefix, desired['keep_open'])
        systemctl = self.module.get_bin_path('systemctl', required=True)
        rc, out, err = self.module.run_command([systemctl, 'start', SERVICE])
        if rc != 0:
            self.module.fail_json(msg='systemctl start firewalld failed%s: %s'
                                      % (' (the inbound keep-open rules were already written offline)'
                                         if seeded else '', (err or out).strip()), seeded=seeded)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            firewalld = Firewalld(self.prefix)
            if firewalld.running or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        if not firewalld.running:
            self.module.fail_json(msg='firewalld was started but is not answering on D-Bus after '
                                      '%d s' % START_TIMEOUT, seeded=seeded)
        self.firewalld = firewalld
        live = self._read_running(firewalld, 'firewalld was started, nothing else changed')
        for warning in live['warnings']:
            self.module.warn(warning)
        after = self.plan(desired, live)
        self._preflight(after.work)
        result = dict(after.extras, changed=True, added=after.added, removed=after.removed,
                      started=True, seeded=seeded)
        if self.module._diff:
            result['diff'] = after.work['diff']
        self._converge(after.work, started=True, result=result)
        return result


# ---------------------------------------------------------------- rollback recipe
# (module_utils/rollback.py)


class FirewalldRecipe(Recipe):
    """firewalld: /etc/firewalld, running and enabled-at-boot state.

    A running firewalld is reloaded from the restored configuration (runtime-only changes
    made outside firewalld's permanent configuration are not kept: the module's own reload
    drops them too). One that was stopped is stopped again, and the iptables tables
    firewalld 1.x flushed when it started are loaded back from the snapshot.
    """

    backend = 'firewalld'

    def __init__(self, running, config_dir='/etc/firewalld'):
        self.running = running
        self.config_dir = config_dir
        # the domain half's marking table and its file (module_utils/firewalld_domains.py)
        self.resolver = ResolverPart(extra_files=(domain_marks.TABLE_FILE,))

    def snapshot(self, module, directory):
        archive = os.path.join(directory, 'config.tar')
        parent, name = os.path.split(self.config_dir.rstrip('/'))
        with tarfile.open(archive, 'w') as handle:
            handle.add(self.config_dir, arcname=name)
        staging = os.path.join(parent, '.%s.jaas-rollback' % name)
        lines = ['rm -rf %s && mkdir -m 700 %s && tar -C %s -xpf %s && rm -rf %s && '
                 'mv %s %s && rmdir %s || failed=1'
                 % (q(staging), q(staging), q(staging), q(archive), q(self.config_dir),
                    q(os.path.join(staging, name)), q(self.config_dir), q(staging))]
        lines.extend(unit_enablement(module, 'firewalld.service'))
        table = nft_table(module, directory, 'inet', domain_marks.TABLE, required=False)
        if self.running:
            lines.append('if systemctl is-active -q firewalld.service; then firewall-cmd --reload; '
                         'else systemctl start firewalld.service; fi || failed=1')
            return lines + table
        lines.append('systemctl stop firewalld.service || failed=1')
        for command in ('iptables', 'ip6tables'):
            saved = os.path.join(directory, 'saved-%s' % command)
            if listing(module, [command + '-save'], saved):
                strip = "sed -e '/^#/d' -e 's/\\[[0-9]*:[0-9]*\\]/[0:0]/'"
                lines.append('if [ "$(%s-save | %s)" != "$(%s < %s)" ]; then %s-restore < %s; '
                             'fi || failed=1' % (command, strip, strip, q(saved), command, q(saved)))
        return lines + table
