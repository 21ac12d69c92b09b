# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nftables backend of the converge skeleton (module_utils/converge.py): the host side.

Reads our table with ``nft -j``, checks the replacement with ``nft -c``, applies it in one
``nft -f`` transaction, and keeps the saved copy (file, include line in nftables.conf,
``nftables.service`` enabled) in step. Every decision is module_utils/nftables_plan.py's
(pure); the domain half is module_utils/nft_domains.py (added by ``with_domains``) plus the
local resolver (module_utils/domain_resolver.py). Other tables are never read for changes, modified or
flushed. Python stdlib only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import tempfile

from ansible_collections.jaas.firewall.plugins.module_utils.converge import Backend, Plan
from ansible_collections.jaas.firewall.plugins.module_utils.policy import PlanError
from ansible_collections.jaas.firewall.plugins.module_utils.gateway import (
    gateway_argument_spec, gateway_from_params, resolver_interfaces)
from ansible_collections.jaas.firewall.plugins.module_utils import nft_domains
from ansible_collections.jaas.firewall.plugins.module_utils.domain_resolver import Resolver
from ansible_collections.jaas.firewall.plugins.module_utils.domain_sets import (
    DOMAINS_ARGUMENT_SPEC, DomainError, broader_than_catalog, domain_options)
from ansible_collections.jaas.firewall.plugins.module_utils.rollback import (
    Recipe, ResolverPart, file_lines, nft_table, unit_enablement)
from ansible_collections.jaas.firewall.plugins.module_utils.model import ModelError, check_plain
from ansible_collections.jaas.firewall.plugins.module_utils.nftables_plan import (
    FAMILY, LOADS_AT_BOOT, PERSIST_CONFIG, PERSIST_CONFIG_REDHAT, PERSIST_DIR, PERSIST_SERVICE,
    POLICIES, carried_elements, check_table, desired_model, is_include_of, live_model,
    persist_actions, persisted_file, render_table, resolver_diff, script, table_changes,
    with_domains, with_drop_logging, with_include, without_include)


def default_persist_config(exists=os.path.exists):
    """The file this host's nftables.service loads: Red Hat's /etc/sysconfig/nftables.conf
    when it is there and Debian's /etc/nftables.conf is not, else /etc/nftables.conf."""
    if exists(PERSIST_CONFIG_REDHAT) and not exists(PERSIST_CONFIG):
        return PERSIST_CONFIG_REDHAT
    return PERSIST_CONFIG


class NftablesBackend(Backend):
    """Hooks for converge.run(): reads with ``nft -j``, applies with one ``nft -f``."""

    prefix_default = 'jaas'
    argument_spec = dict(
        default_incoming=dict(type='str', default='accept', choices=list(POLICIES)),
        default_outgoing=dict(type='str', default='accept', choices=list(POLICIES)),
        default_forward=dict(type='str', default='accept', choices=list(POLICIES)),
        persist=dict(type='bool', default=True),
        persist_config=dict(type='path'),
        persist_file=dict(type='path'),
        log_drops=dict(type='bool', default=False),
    )
    argument_spec.update(gateway_argument_spec())
    argument_spec.update(DOMAINS_ARGUMENT_SPEC)

    def __init__(self, module):
        super(NftablesBackend, self).__init__(module)
        self.table = module.params['prefix']
        self.nft = None
        self.diff_header = 'nftables table %s %s' % (FAMILY, self.table)
        self.resolver = Resolver(module)
        self.desired_resolver = None

    # -- pure -------------------------------------------------------------------------
    def desired(self, params, safety):
        check_table(self.table)
        self.connection_ports = list(safety.connection_ports)
        try:
            gateway = gateway_from_params(params)
        except ModelError as exc:
            raise PlanError(str(exc))
        model = None
        if params['state'] == 'present':
            model = desired_model(params['rules'], safety.keep_open, safety.connection_ports,
                                  params['default_incoming'], params['default_outgoing'],
                                  gateway, params['default_forward'])
        try:
            domains, ttl, exclude = domain_options(params, model is not None)
            lan = resolver_interfaces(gateway, domains)
            resolver = self.resolver.desired(
                domains, lambda category, family: nft_domains.nft_target(
                    self.table, category, family), 'nftset', ttl, params['dns_upstreams'],
                lan_interfaces=lan, log_answers=params['log_drops'])
        except (DomainError, ModelError) as exc:
            raise PlanError(str(exc))
        model = with_domains(model, domains, ttl, exclude, gateway)
        model = with_drop_logging(model, params['log_drops'])
        self.desired_resolver = resolver
        for option in ('persist_file', 'persist_config'):
            if params[option] is not None:
                try:
                    check_plain(params[option], option)
                except ModelError as exc:
                    raise PlanError(str(exc))
        self.persist_file = params['persist_file'] or os.path.join(PERSIST_DIR, self.table + '.nft')
        self.persist_config = params['persist_config'] or default_persist_config()
        keep = params['persist'] and model is not None
        persist = {'file': persisted_file(model, self.table, self.persist_config) if keep else None,
                   'include': keep, 'enable': keep}
        return {'table': model, 'persist': persist, 'resolver': resolver,
                'broader': broader_than_catalog(domains)}

    def plan(self, desired, live):
        added, removed = table_changes(desired['table'], live['table'], self.table)
        table_changed = desired['table'] != live['table']
        actions = persist_actions(desired['persist'], live['persist'])
        model = desired['table'] or {'sets': {}, 'chains': {}}
        extras = dict(
            table='%s %s' % (FAMILY, self.table) if desired['table'] is not None else None,
            sets=len(model['sets']),
            elements=sum(len(s['elements']) for s in model['sets'].values()),
            rules=sum(len(c['rules']) for c in model['chains'].values()),
            policies={name: c['policy'] for name, c in model['chains'].items()},
            persist_changes=['%s %s' % (a, self._persist_target(a)) for a in actions],
            persist_file=self.persist_file,
            transaction=table_changed,
            # only a restrictive input chain holds the connection's rule
            connection_ports=self.connection_ports if model['chains'].get(
                'input', {}).get('policy', 'accept') != 'accept' else [])
        extras['msg'] = ('table %s %s: %d sets, %d elements, %d rules; policies %s; %d added, '
                         '%d removed; %s' % (
                             FAMILY, self.table, extras['sets'], extras['elements'],
                             extras['rules'], ', '.join('%s %s' % i for i in
                                                        sorted(extras['policies'].items())) or
                             'none', len(added), len(removed),
                             'saved copy: ' + ', '.join(extras['persist_changes'])
                             if actions else 'saved copy unchanged'))
        if desired['table'] is None:
            extras['msg'] = 'table %s %s absent; %d removed; %s' % (
                FAMILY, self.table, len(removed), ', '.join(extras['persist_changes']) or
                'nothing saved')
        warnings = []
        if desired['persist']['enable'] and live['persist']['enabled'] not in LOADS_AT_BOOT + (
                'disabled', 'indirect'):
            warnings.append('%s is %s: the table is saved in %s, but nothing loads it at boot'
                            % (PERSIST_SERVICE, live['persist']['enabled'], self.persist_file))
        carried = carried_elements(
            (desired['table'] or {}).get('sets', {}), (live['table'] or {}).get('sets', {}),
            live['dynamic'])
        return self._with_resolver(desired, live, Plan(
            changed=table_changed or bool(actions), added=added, removed=removed,
            warnings=warnings,
            before=self._persist_summary(live['persist']) + render_table(live['table'], self.table),
            after=self._persist_summary(desired['persist']) + render_table(desired['table'], self.table),
            extras=extras,
            work={'script': script(desired['table'], self.table, carried) if table_changed else None,
                  'actions': actions, 'persist': desired['persist']}))

    def _with_resolver(self, desired, live, plan):
        """The table's plan and the resolver's (module_utils/domain_resolver.py) as one."""
        try:
            resolver = self.resolver.plan(desired['resolver'], live['resolver'])
        except DomainError as exc:
            self.module.fail_json(msg='nothing changed: %s' % exc)
        extras = dict(plan.extras, resolver=resolver.extras,
                      domain_elements=dict((name, len(elements)) for name, elements
                                           in sorted(live['dynamic'].items())),
                      domains_broader_than_catalog=desired['broader'])
        if resolver.changed:
            extras['msg'] += '; resolver: %s' % ', '.join(resolver.steps)
        return plan._replace(
            changed=plan.changed or resolver.changed, added=plan.added + resolver.added,
            removed=plan.removed + resolver.removed, warnings=list(plan.warnings) + resolver.warnings,
            before=plan.before + resolver_diff(resolver.before),
            after=plan.after + resolver_diff(resolver.after), extras=extras,
            work=dict(plan.work, resolver=resolver))

    def _persist_target(self, action):
        if action in ('write', 'delete'):
            return self.persist_file
        if action in ('include', 'uninclude'):
            return '%s (include "%s")' % (self.persist_config, self.persist_file)
        return PERSIST_SERVICE

    def _persist_summary(self, persist):
        return ('# saved to %s: %s; included from %s: %s\n'
                % (self.persist_file, 'yes' if persist['file'] is not None else 'no',
                   self.persist_config, 'yes' if persist['include'] else 'no'))

    # -- host -------------------------------------------------------------------------
    def _run(self, args, **kwargs):
        return self.module.run_command([self.nft] + args, environ_update={'LC_ALL': 'C'},
                                       **kwargs)

    def missing(self):
        self.nft = self.module.get_bin_path('nft')
        if not self.nft:
            return 'nftables is not installed (no nft command)'
        return self.resolver.missing(self.desired_resolver)

    def read(self):
        rc, out, err = self._run(['-j', 'list', 'tables', FAMILY])
        if rc != 0:
            self.module.fail_json(msg='nft -j list tables failed: %s; nothing changed'
                                      % (err or out).strip())
        try:
            names = [item['table']['name'] for item in json.loads(out or '{}').get('nftables', [])
                     if 'table' in item]
        except (ValueError, KeyError, TypeError) as exc:
            self.module.fail_json(msg='cannot parse nft -j output (%s); nothing changed' % exc)
        table, dynamic = None, {}
        if self.table in names:
            rc, out, err = self._run(['-j', 'list', 'table', FAMILY, self.table])
            if rc != 0:
                self.module.fail_json(msg='nft -j list table %s %s failed: %s; nothing changed'
                                          % (FAMILY, self.table, (err or out).strip()))
            try:
                table = live_model(json.loads(out), self.table, dynamic)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                self.module.fail_json(msg='cannot parse nft -j list table output (%s); '
                                          'nothing changed' % exc)
        return {'table': table, 'persist': self._read_persist(), 'dynamic': dynamic,
                'resolver': self.resolver.read(self.desired_resolver)}

    def _read_persist(self):
        try:
            with open(self.persist_file) as handle:
                saved = handle.read()
        except (IOError, OSError):
            saved = None
        try:
            with open(self.persist_config) as handle:
                included = any(is_include_of(line, self.persist_file) for line in handle)
        except (IOError, OSError):
            included = False
        enabled = 'unknown'
        systemctl = self.module.get_bin_path('systemctl')
        if systemctl:
            _rc, out, _err = self.module.run_command([systemctl, 'is-enabled', PERSIST_SERVICE],
                                                     environ_update={'LC_ALL': 'C'})
            enabled = (out.strip().splitlines() or ['unknown'])[0]
        return {'file': saved, 'include': included, 'enabled': enabled}

    def _write_temp(self, text):
        fd, path = tempfile.mkstemp(prefix='jaas-nft-', suffix='.nft',
                                    dir=getattr(self.module, 'tmpdir', None))
        with os.fdopen(fd, 'w') as handle:
            handle.write(text)
        return path

    def check(self, plan):
        """``nft -c``: the kernel validates the whole transaction without committing it;
        the resolver's configuration and upstreams are checked before anything changes."""
        self.resolver.preflight(plan.work['resolver'])
        if plan.work['script'] is None:
            return
        path = self._write_temp(plan.work['script'])
        try:
            rc, out, err = self._run(['-c', '-f', path])
        finally:
            os.unlink(path)
        if rc != 0:
            self.module.fail_json(msg='nft -c refused the generated table (nothing changed): %s'
                                      % (err or out).strip(), script=plan.work['script'])

    def apply(self, plan):
        # The sets exist before the resolver fills them, and the resolver hands resolv.conf
        # back before they go.
        resolver = plan.work['resolver']
        if resolver.changed and self.desired_resolver is None:
            self.resolver.apply(resolver)
        self._apply_table(plan)
        if resolver.changed and self.desired_resolver is not None:
            self.resolver.apply(resolver)
        return {}

    def _apply_table(self, plan):
        if plan.work['script'] is not None:
            path = self._write_temp(plan.work['script'])
            try:
                rc, out, err = self._run(['-f', path])
            finally:
                os.unlink(path)
            if rc != 0:
                # One transaction: unless nft died after the kernel committed it, nothing
                # changed; either way the next run sees which and converges.
                self.module.fail_json(msg='nft -f failed (rc %s); the table is either unchanged '
                                          'or fully replaced, never partly: %s'
                                          % (rc, (err or out).strip()))
        warnings = []
        for action in plan.work['actions']:
            getattr(self, '_persist_' + action)(plan.work['persist'], warnings)
        for warning in warnings:
            self.module.warn(warning)
        return {}

    def rollback_recipe(self):
        return NftablesRecipe(FAMILY, self.table, [self.persist_file, self.persist_config],
                              PERSIST_SERVICE)

    # persistence steps: each one atomic (rename) and idempotent
    def _replace_file(self, path, text, mode):
        directory = os.path.dirname(path)
        fd, temp = tempfile.mkstemp(prefix='.jaas-', dir=directory)
        with os.fdopen(fd, 'w') as handle:
            handle.write(text)
        os.chmod(temp, mode)
        self.module.atomic_move(temp, path)

    def _persist_write(self, persist, warnings):
        directory = os.path.dirname(self.persist_file)
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        self._replace_file(self.persist_file, persist['file'], 0o644)

    def _persist_include(self, persist, warnings):
        try:
            with open(self.persist_config) as handle:
                text = handle.read()
            mode = os.stat(self.persist_config).st_mode & 0o7777
        except (IOError, OSError):
            text, mode = '#!/usr/sbin/nft -f\n', 0o755
        self._replace_file(self.persist_config, with_include(text, self.persist_file, self.table),
                           mode)

    def _persist_uninclude(self, persist, warnings):
        with open(self.persist_config) as handle:
            text = handle.read()
        mode = os.stat(self.persist_config).st_mode & 0o7777
        self._replace_file(self.persist_config, without_include(text, self.persist_file), mode)

    def _persist_delete(self, persist, warnings):
        os.unlink(self.persist_file)

    def _persist_enable(self, persist, warnings):
        systemctl = self.module.get_bin_path('systemctl')
        rc, out, err = self.module.run_command([systemctl, 'enable', PERSIST_SERVICE])
        if rc != 0:
            warnings.append('systemctl enable %s failed (%s): the table is saved in %s but '
                            'may not be loaded at boot' % (PERSIST_SERVICE, (err or out).strip(),
                                                           self.persist_file))


# ---------------------------------------------------------------- rollback recipe
# (module_utils/rollback.py)


class NftablesRecipe(Recipe):
    """nftables: our table (put back as listed, or removed if there was none), the files
    that load it at boot and the enabled state of the service that does."""

    backend = 'nftables'

    def __init__(self, family, table, files, service='nftables.service'):
        self.family = family
        self.table = table
        self.files = list(files)
        self.service = service
        self.resolver = ResolverPart()

    def snapshot(self, module, directory):
        lines = file_lines(self.files, directory, remove_missing=True)
        lines.extend(nft_table(module, directory, self.family, self.table))
        lines.extend(unit_enablement(module, self.service))
        return lines
