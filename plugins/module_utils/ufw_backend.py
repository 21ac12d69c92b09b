# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ufw backend of the converge skeleton (module_utils/converge.py), run by
plugins/modules/ufw_rules.py.

read: /etc/default/ufw, ``ufw status``, both user rules files, the reload marker, ufw.conf
(only for O(enabled)) and the domain half (module_utils/ufw_domains.py). plan (pure): the
new rules files (module_utils/ufw_plan.py), safety rules first, the guard, default
policies, enable/disable and the domain steps. apply, in this order: the files (one atomic
write each), one reload of ufw's user chains, the domain half, the policies, enabling - so
allow rules exist before traffic is restricted. Python stdlib only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile

from ansible.module_utils.common.text.converters import to_bytes, to_native

from ansible_collections.jaas.firewall.plugins.module_utils.connection import (
    kept_connection_ports)
from ansible_collections.jaas.firewall.plugins.module_utils.converge import (
    Backend, Plan, PlanError, Safety)
from ansible_collections.jaas.firewall.plugins.module_utils.domain_sets import (
    DOMAINS_ARGUMENT_SPEC, DomainError)
from ansible_collections.jaas.firewall.plugins.module_utils.gateway import (
    gateway_argument_spec, gateway_from_params)
from ansible_collections.jaas.firewall.plugins.module_utils.model import ModelError, normalise_keep_open
from ansible_collections.jaas.firewall.plugins.module_utils import ufw_domains
from ansible_collections.jaas.firewall.plugins.module_utils.rollback import (
    Recipe, ResolverPart, copy_files, listing, nft_table, q)
from ansible_collections.jaas.firewall.plugins.module_utils.ufw_domains import (
    DEFAULT_MARK, UfwDomains, check_params as check_domain_params)
from ansible_collections.jaas.firewall.plugins.module_utils.ufw_drop_log import UfwDropLog
from ansible_collections.jaas.firewall.plugins.module_utils.ufw_plan import (
    AFTER_RULES, DEFAULTS_FILE, LOGLEVELS, POLICY_DIRECTIONS, RULES_FILES, SLUG, TAG_PREFIX, UFW_DIR, UfwRulesError,
    conf_value, desired_blocks, describe_text, enable_change, guarded_blocks, lines_text,
    XT_RECENT, loglevel, parse_defaults, plan_files, planned_policies, policy_defaults, swap_log_prefixes,
    ufw_rules_file, with_conf_value, with_safety_rules)

RESTORE = {4: 'iptables-restore', 6: 'ip6tables-restore'}
RELOAD_PENDING = '/run/jaas-firewall-ufw.reload-pending'


# ---------------------------------------------------------------- host

def read_text(module, path):
    try:
        with open(path, 'rb') as handle:
            return handle.read().decode('utf-8')
    except (IOError, OSError, UnicodeDecodeError) as exc:
        module.fail_json(msg='cannot read %s (is ufw installed?): %s' % (path, to_native(exc)))


def write_atomic(module, path, text):
    """Write next to the target, then rename over it (keeps owner and mode)."""
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path),
                               dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, 'wb') as handle:
            handle.write(to_bytes(text))
            handle.flush()
            os.fsync(handle.fileno())
    except Exception:
        os.unlink(tmp)
        raise
    module.atomic_move(tmp, path)


def mark_reload_pending(pending):
    """Create or remove the marker; best effort (a host without /run just lacks it)."""
    try:
        if pending:
            with open(RELOAD_PENDING, 'w') as handle:
                handle.write('jaas.firewall.ufw_rules wrote the rules files; reload pending\n')
        elif os.path.exists(RELOAD_PENDING):
            os.unlink(RELOAD_PENDING)
    except (IOError, OSError):
        pass


# The chains whose presence `ufw status` takes for "active" (ufw's backend_iptables).
STATUS_CHAINS = {4: ('iptables', 'ufw-user-%s'), 6: ('ip6tables', 'ufw6-user-%s')}


def ufw_active(module, ipv6):
    """Whether ufw is active, decided as `ufw status` decides it, without starting ufw's
    Python (about 0.15 s per run): ufw-user-{input,output,forward} listed by iptables (exit
    1, no such chain: inactive), and ufw6-user-* by ip6tables when IPV6=yes (any failure
    there is an error, as in ufw)."""
    families = (4, 6) if ipv6 else (4,)
    tools = dict((family, module.get_bin_path(STATUS_CHAINS[family][0], required=True))
                 for family in families)
    for direction in ('input', 'output', 'forward'):
        for family in families:
            chain = STATUS_CHAINS[family][1] % direction
            rc, out, err = module.run_command([tools[family], '-w', '-n', '-L', chain])
            if rc == 1 and family == 4:
                return False
            if rc != 0:
                module.fail_json(msg='reading ufw\'s state failed: %s -L %s: %s'
                                     % (tools[family], chain, (err or out).strip()))
    return True


def reload_user_chains(module, families):
    """Load user rules into the running firewall, as ufw's _reload_user_rules does."""
    for family in families:
        tool = module.get_bin_path(RESTORE[family], required=True)
        path = os.path.join(UFW_DIR, RULES_FILES[family])
        rc, out, err = module.run_command([tool, '-n', path])
        if rc != 0:
            return '%s -n %s failed: %s' % (tool, path, (err or out).strip())
    return None


# ufw's init script, run by ufw's systemd unit at boot (``ufw-init start``). ``ufw enable``
# runs it too, then re-adds the logging rules of the rules files one iptables call at a time
# (about 100 calls, 0.3 s); the kernel's rules end up the same either way (checked against
# ``ufw --force enable`` by tests/reliability/test_ufw_start.py).
UFW_INIT = ('/lib/ufw/ufw-init', '/usr/lib/ufw/ufw-init')


def ufw_conf():
    return os.path.join(UFW_DIR, 'ufw.conf')


def boot_start(module):
    """ufw's init script when an inactive ufw can be started the way the host starts it at
    boot, else None (``ufw --force enable`` runs instead): no init script, ENABLED=yes
    already (then ``ufw default`` and ``ufw logging`` would touch the running firewall), or
    no valid LOGLEVEL (``ufw enable`` writes one)."""
    init = next((path for path in UFW_INIT if os.access(path, os.X_OK)), None)
    conf = read_text(module, ufw_conf())
    if init is None or conf_value(conf, 'ENABLED') == 'yes' or \
            conf_value(conf, 'LOGLEVEL') not in LOGLEVELS:
        return None
    return init


def start_as_at_boot(module, init):
    """ENABLED=yes in ufw.conf (one atomic write), then ``ufw-init start``. None when done,
    else the error, with ufw.conf put back (as ``ufw enable`` does when its start fails)."""
    conf = read_text(module, ufw_conf())    # as ``ufw logging`` left it
    write_atomic(module, ufw_conf(), with_conf_value(conf, 'ENABLED', 'yes'))
    rc, out, err = module.run_command([init, 'start'])
    if rc == 0:
        return None
    write_atomic(module, ufw_conf(), conf)
    return '%s start failed: %s' % (init, (err or out).strip())


def logging_files(module, texts, policies, ipv6):
    """{family: text} of both user rules files as ``ufw logging`` (same level) rewrites them
    on a ufw that is not running, for ``policies`` (the plan's: the defaults once this run's
    changes are made), written; None when only ufw can tell (ufw_plan.ufw_rules_file: no
    LOGLEVEL set, a policy unset, the kernel's ``recent`` match not loaded, a file not in
    ufw's layout), and then nothing was written.

    The policies this run sets count even where ``ufw default`` sets them later (ufw left
    disabled): ufw does not rewrite the logging section then, so the files end up as after
    ``ufw default`` followed by ``ufw logging``, what the host loads at its next start."""
    level = conf_value(read_text(module, ufw_conf()), 'LOGLEVEL')
    recent = os.path.isdir(XT_RECENT)
    rendered = dict((family, ufw_rules_file(text, family, level, policies, ipv6, recent))
                    for family, text in texts.items())
    if any(text is None for text in rendered.values()):
        return None
    for family, text in sorted(rendered.items()):
        if text != texts[family]:
            write_atomic(module, os.path.join(UFW_DIR, RULES_FILES[family]), text)
    return rendered


# ---------------------------------------------------------------- the backend

class UfwBackend(Backend):
    """Hooks for converge.run(): ufw's own files, one reload of its user chains."""

    prefix_default = 'jaas'
    argument_spec = dict(
        prefix=dict(type='str', default='jaas', aliases=['tag_prefix']),
        exclude_blocks=dict(type='list', elements='str', default=[]),
        guard_blocks=dict(type='list', elements='str', default=[]),
        default_incoming=dict(type='str', choices=['allow', 'deny', 'reject']),
        default_outgoing=dict(type='str', choices=['allow', 'deny', 'reject']),
        default_routed=dict(type='str', choices=['allow', 'deny', 'reject']),
        enabled=dict(type='bool'),
        backup=dict(type='bool', default=True),
        domain_mark=dict(type='int', default=DEFAULT_MARK),
        keep_open_families=dict(type='list', elements='int', choices=[4, 6], default=[4, 6]),
        log_drops=dict(type='bool', default=False),
    )
    argument_spec.update(gateway_argument_spec())
    argument_spec.update(DOMAINS_ARGUMENT_SPEC)

    def __init__(self, module):
        super(UfwBackend, self).__init__(module)
        self.ufw = None
        self.wanted = None
        self.active = False
        self.domains = None
        self.drop_log = None

    # -- pure -------------------------------------------------------------------------
    def safety(self, params):
        """ufw's checks in its own order; keep-open entries only matter with state=present.
        (rollback_timeout: converge.run.)"""
        module = self.module
        if not TAG_PREFIX.match(params['prefix']):
            module.fail_json(msg='prefix %r must be a slug of at most 31 characters'
                             % params['prefix'])
        for option in ('exclude_blocks', 'guard_blocks'):
            bad = [name for name in params[option] if not SLUG.match(name)]
            if bad:
                module.fail_json(msg='%s: not slugs: %s' % (option, ', '.join(bad)))
        present = params['state'] == 'present'
        try:
            ports = kept_connection_ports(params['keep_connection'] and present,
                                          params['connection_port'])
        except ValueError as exc:
            module.fail_json(msg=str(exc))
        try:
            keep_open = normalise_keep_open(params['keep_open'], 'keep_open') if present else []
        except ModelError as exc:
            raise PlanError(str(exc))
        return Safety(keep_open, ports)

    def desired(self, params, safety):
        tag_prefix = params['prefix']
        try:
            # absent with a rule list also removes those rules' routes when gateway is set
            gateway = gateway_from_params(dict(params, state='present') if params['rules']
                                          else params)
        except ModelError as exc:
            raise PlanError(str(exc))
        try:
            self.wanted = desired_blocks(params['rules'], tag_prefix, gateway)
        except UfwRulesError as exc:
            self.module.fail_json(msg=str(exc))
        try:
            check_domain_params(params)
        except DomainError as exc:
            raise PlanError(str(exc))
        return {'state': params['state'], 'prefix': tag_prefix, 'rules': list(params['rules']),
                'gateway': gateway, 'wanted': self.wanted,
                'exclude': list(params['exclude_blocks']),
                'guard_blocks': list(params['guard_blocks']),
                'keep_open': list(safety.keep_open),
                'keep_open_families': list(params['keep_open_families']),
                'connection_ports': list(safety.connection_ports),
                'policies': dict((name, params['default_' + name]) for name in POLICY_DIRECTIONS),
                'enabled': params['enabled'], 'log_drops': params['log_drops']}

    def plan(self, desired, live):
        module = self.module
        defaults, active = live['defaults'], live['active']
        state, tag_prefix = desired['state'], desired['prefix']
        kept_ports = desired['connection_ports']
        rules, wanted = with_safety_rules(desired, defaults['ipv6'])
        guarded = guarded_blocks(desired, rules, active, defaults)
        exclude = list(desired['exclude']) + guarded
        if wanted[6] and state == 'present' and not defaults['ipv6']:
            module.fail_json(msg='IPv6 rules requested but IPV6 is not "yes" in %s; set it or '
                                 'select families [4]' % DEFAULTS_FILE)
        try:
            files = plan_files(live['texts'], wanted, tag_prefix, exclude, state,
                               bool(desired['rules']), UFW_DIR)
        except UfwRulesError as exc:
            module.fail_json(msg=str(exc))

        # A run killed between writing the files and reloading leaves the marker behind, so
        # the next run reloads even though the files are already as desired.
        reload_pending = bool(active and live['pending'] and not files.updated)
        policies, policy_changes = planned_policies(desired['policies'], defaults)
        enable = enable_change(desired['enabled'], active, live['enabled_at_boot'])
        # what the rollback snapshot covers: rules files, policies, enabled state
        host_changes = bool(files.updated or (active and live['pending']) or policy_changes
                            or enable is not None)

        # Drop logging (module_utils/ufw_drop_log.py): after the policies this run sets.
        log_policies = policies if desired['log_drops'] and state == 'present' else {}
        log_steps = self.drop_log.plan(live['drop_log'], log_policies,
                                       desired['gateway'] is not None, active)
        try:
            domain_changed, domain_steps, resolver = self.domains.plan(
                live['domains']['wanted'], live['domains']['live'])
        except DomainError as exc:
            module.fail_json(msg='nothing changed: %s' % exc)

        before = sorted(describe_text(item) for item in files.removed)
        after = sorted(describe_text(item) for item in files.added)
        for name, wanted_policy in policy_changes:
            before.append('default %s: %s' % (name, defaults[name]))
            after.append('default %s: %s' % (name, wanted_policy))
        if enable is not None:
            before.append('active: %s' % active)
            after.append('active: %s' % enable)
        added, removed = list(files.added), list(files.removed)
        if domain_changed:
            added += resolver.added
            removed += resolver.removed
        extras = dict(
            owned=files.owned, active=active, reloaded=False, guarded=guarded,
            policies=policies,
            # ufw names the two sides of its diff (the skeleton's is one header)
            diff=dict(before_header='ufw rules removed', after_header='ufw rules added',
                      before=lines_text(before), after=lines_text(after)),
            resolver=resolver.extras,
            domain_steps=['%s%s' % (kind, '' if family is None else ' IPv%d' % family)
                          for kind, family, _value in domain_steps],
            domains_broader_than_catalog=live['domains']['wanted']['broader'],
            log_drop_steps=['%s IPv%d' % (kind, family) for kind, family, _value in log_steps],
            msg=('ufw: %d rules added, %d removed, %d jaas rules now; policies %s; '
                 'connection ports kept %s; guarded %s'
                 % (len(files.added), len(files.removed), sum(files.owned.values()),
                    ', '.join('%s %s' % item for item in sorted(policies.items())),
                    kept_ports or 'none', guarded or 'none')))
        if reload_pending:
            extras['reload_pending'] = True
        return Plan(
            changed=bool(files.updated) or reload_pending or bool(policy_changes)
            or enable is not None or domain_changed or bool(log_steps),
            added=added, removed=removed, before=lines_text(before), after=lines_text(after),
            extras=extras, warnings=list(resolver.warnings),
            work={'desired': desired, 'live': live, 'files': files,
                  'policy_changes': policy_changes, 'enable': enable,
                  'host_changes': host_changes, 'domain_changed': domain_changed,
                  'domain_steps': domain_steps, 'resolver': resolver,
                  'log_steps': log_steps, 'log_policies': log_policies})

    # -- host -------------------------------------------------------------------------
    def missing(self):
        self.ufw = self.module.get_bin_path('ufw')
        if self.ufw is None or not os.path.exists(os.path.join(UFW_DIR, RULES_FILES[4])):
            return 'ufw is not installed'
        return None

    def report_missing(self, reason):
        """ufw missing: absent has nothing to do, report says so, check mode reports all,
        present fails."""
        module = self.module
        if module.params['if_missing'] == 'report' and module.params['state'] == 'present':
            module.exit_json(changed=False, installed=False, added=[], removed=[], owned={},
                             active=False, reloaded=False, guarded=[], policies={},
                             connection_ports=[], msg='ufw is not installed: nothing was done')
        if module.params['state'] == 'absent':
            module.exit_json(changed=False, installed=False, added=[], removed=[],
                             owned={"4": 0, "6": 0},
                             active=False, reloaded=False, guarded=[], policies={},
                             msg='ufw is not installed: nothing to remove')
        if module.check_mode:
            added = [dict(family=family, tuple=block.strip().splitlines()[0])
                     for family in (4, 6) for block in self.wanted[family]]
            module.exit_json(changed=True, installed=False, added=added, removed=[], owned={},
                             active=False, reloaded=False, guarded=[], policies={},
                             msg='ufw is not installed yet (check mode): every rule would be '
                                 'added')
        module.fail_json(msg='ufw is not installed (no ufw command or %s); install it first '
                             '(the jaas.firewall.ufw role does unless jaas_firewall_ufw_install '
                             'is false)' % os.path.join(UFW_DIR, RULES_FILES[4]))

    def read(self):
        module = self.module
        defaults = parse_defaults(read_text(module, DEFAULTS_FILE))
        self.active = active = ufw_active(module, defaults['ipv6'])
        # The domain half (module_utils/ufw_domains.py): its tools are checked with ufw's,
        # and what it wants depends on the host's IPv6 setting.
        self.domains = UfwDomains(module, active, defaults['ipv6'])
        domains_wanted = self.domains.desired(module.params)
        missing = self.domains.missing(domains_wanted)
        if missing:
            if module.params['if_missing'] == 'report':
                module.exit_json(changed=False, installed=False, added=[], removed=[], owned={},
                                 active=active, reloaded=False, guarded=[], policies={},
                                 connection_ports=[], msg='%s: nothing was done' % missing)
            module.fail_json(msg='%s; nothing changed' % missing)
        texts = dict((family, read_text(module, os.path.join(UFW_DIR, name)))
                     for family, name in RULES_FILES.items())
        at_boot = None
        if module.params['enabled'] is not None:
            at_boot = conf_value(read_text(module, ufw_conf()),
                                 'ENABLED') == 'yes'
        self.drop_log = UfwDropLog(module, [4, 6] if defaults['ipv6'] else [4])
        return {'defaults': defaults, 'active': active, 'texts': texts,
                'pending': os.path.exists(RELOAD_PENDING), 'enabled_at_boot': at_boot,
                'drop_log': self.drop_log.read(active, module.params['log_drops']
                                               and module.params['state'] == 'present'),
                'domains': {'wanted': domains_wanted,
                            'live': self.domains.read(domains_wanted)}}

    def arms_rollback(self, plan):
        # the snapshot covers ufw's files and the domain half (rollback.ResolverPart)
        return plan.work['host_changes'] or plan.work['domain_changed']

    def check(self, plan):
        """Before anything changes: the domain half's resolver configuration and upstreams."""
        resolver = plan.work.get('resolver')
        if resolver is not None and plan.work.get('domain_changed'):
            self.domains.resolver.preflight(resolver)

    def rollback_recipe(self):
        return UfwRecipe([os.path.join(UFW_DIR, name) for name in
                          (RULES_FILES[4], RULES_FILES[6], 'ufw.conf')] + [DEFAULTS_FILE],
                         self.active)

    def apply(self, plan):
        module = self.module
        work = plan.work
        files = work['files']
        live = work['live']
        result = {}
        # Enabling an inactive ufw: it is started as at boot (start_as_at_boot), which loads
        # the logging section of the rules files as it is. So the policies are set first,
        # in the files, as ``ufw default`` sets them while ufw is not enabled, then that
        # section is written for them as ``ufw logging`` writes it (which also turns package
        # templates into ufw's full format): by logging_files, or by ufw when only it can tell.
        boot = boot_start(module) if work['enable'] and not live['active'] else None
        if boot is not None and work['policy_changes']:
            # ufw not enabled: `ufw default` edits only files; the after rules' log prefixes
            # below, where it would run
            defaults = policy_defaults(read_text(module, DEFAULTS_FILE), work['policy_changes'])
            write_atomic(module, DEFAULTS_FILE, defaults)
        if boot is not None or (files.updated and files.templates):
            # ufw's own full format (package templates) and logging section first (same rules,
            # same log level), then the plan is made again on those files. ufw is not running:
            # written here as ``ufw logging`` writes them (logging_files), else by ufw itself.
            texts = None if live['active'] else logging_files(
                module, live['texts'], plan.extras['policies'], live['defaults']['ipv6'])
            if texts is None:
                rc, out, err = module.run_command([self.ufw, 'logging', loglevel(read_text(module, ufw_conf()))])
                if rc != 0:
                    module.fail_json(msg='ufw logging failed: %s' % (err or out).strip())
                texts = dict((family, read_text(module, os.path.join(UFW_DIR, name)))
                             for family, name in RULES_FILES.items())
            # (live's defaults stay those read before: the policy changes are still reported)
            live = dict(live, texts=texts)
            plan = self.plan(work['desired'], live)
            work, files = plan.work, plan.work['files']
            if files.templates:
                module.fail_json(msg='ufw did not rewrite its package template rules files')
            result.update(plan.extras, changed=plan.changed, added=plan.added,
                          removed=plan.removed)
        # what a failure reports besides its message
        failed = dict(plan.extras, changed=plan.changed, added=plan.added, removed=plan.removed,
                      installed=True, connection_ports=work['desired']['connection_ports'])
        del failed['msg']

        active = live['active']
        families = [family for family in (4, 6) if family == 4 or live['defaults']['ipv6']]
        if files.updated:
            backups = []
            mark_reload_pending(True)
            for family, text in sorted(files.updated.items()):
                path = os.path.join(UFW_DIR, RULES_FILES[family])
                if module.params['backup']:
                    backups.append(module.backup_local(path))
                write_atomic(module, path, text)
            if backups:
                result['backup_files'] = failed['backup_files'] = backups
        if files.updated or live['pending']:
            if active:
                problem = reload_user_chains(module, families)
                if problem:
                    for family in sorted(files.updated):
                        write_atomic(module, os.path.join(UFW_DIR, RULES_FILES[family]),
                                     live['texts'][family])
                    again = reload_user_chains(module, families)
                    if again is None:
                        mark_reload_pending(False)
                    module.fail_json(msg='the running firewall refused the new rules; the '
                                         'original rules files were restored%s: %s'
                                         % ('' if again is None else ' (reloading them also '
                                            'failed: %s)' % again, problem), **failed)
                result['reloaded'] = failed['reloaded'] = True
            mark_reload_pending(False)

        # Before policies and enabling: ufw started in this run loads after.rules with our block.
        if work['domain_changed']:
            self.domains.apply(work['domain_steps'], work['resolver'],
                               live['domains']['wanted']['script'] is not None,
                               live['domains']['wanted']['mark'])
        # After the domain half's block (its accepts come first), before a reload.
        self.drop_log.apply_files(work['log_steps'])

        for family, name in sorted(AFTER_RULES.items()) if boot is not None else ():
            path = os.path.join(UFW_DIR, name)
            text = read_text(module, path)
            swapped = swap_log_prefixes(text, work['policy_changes'])
            if swapped != text:
                write_atomic(module, path, swapped)
        for direction, wanted_policy in work['policy_changes'] if boot is None else ():
            rc, out, err = module.run_command([self.ufw, 'default', wanted_policy, direction])
            if rc != 0:
                module.fail_json(msg='ufw default %s %s failed: %s'
                                 % (wanted_policy, direction, (err or out).strip()), **failed)

        if work['enable'] is not None:
            if boot is not None:
                problem = start_as_at_boot(module, boot)
                if problem:
                    module.fail_json(msg='enabling ufw failed: %s' % problem, **failed)
            else:
                command = [self.ufw, '--force', 'enable'] if work['enable'] else [self.ufw, 'disable']
                rc, out, err = module.run_command(command)
                if rc != 0:
                    module.fail_json(msg='%s failed: %s' % (' '.join(command[1:]),
                                                            (err or out).strip()), **failed)
        # The running firewall: whatever reloaded above, the log rules last in their chains.
        if work['enable'] is True or (active and work['enable'] is not False):
            self.drop_log.apply_runtime(work['log_policies'],
                                        work['desired']['gateway'] is not None)
        return result


# ---------------------------------------------------------------- rollback recipe
# (module_utils/rollback.py)

# The ufw domain half's files (module_utils/ufw_domains.py: TABLE_FILE, AFTER_RULES and the
# OLD_RULES of earlier releases) and its marking table (module_utils/domain_marks.py).
UFW_DOMAIN_FILES = (ufw_domains.TABLE_FILE,) + tuple(
    os.path.join(UFW_DIR, rules[family]) for rules in (ufw_domains.AFTER_RULES, ufw_domains.OLD_RULES)
    for family in (4, 6))
UFW_DOMAIN_TABLE = ('inet', ufw_domains.TABLE)

# Removes what `ufw disable` leaves behind when ufw had never been active: its chains,
# the jumps to them, the built-in policies it reset, and a filter table that only ufw
# created (iptables-nft). Chains of others (Docker...) are not touched.
UFW_LEFTOVERS = r'''
jaas_ufw_leftovers() {  # $1 iptables|ip6tables  $2 nft family  $3 saved iptables-save output
  command -v "$1" >/dev/null 2>&1 || return 0
  sed -n '/^\*filter/,/^COMMIT/p' "$3" > "$3.filter"
  grep -q '^:ufw' "$3.filter" && return 0
  "$1-save" -t filter | sed -n 's/^-A \(INPUT\|OUTPUT\|FORWARD\) -j \(ufw6\{0,1\}-[a-z-]*\)$/\1 \2/p' |
    while read -r chain target; do "$1" -t filter -D "$chain" -j "$target"; done
  for chain in $("$1-save" -t filter | sed -n 's/^:\(ufw6\{0,1\}-[a-z-]*\) .*/\1/p'); do
    "$1" -t filter -F "$chain"
  done
  for chain in $("$1-save" -t filter | sed -n 's/^:\(ufw6\{0,1\}-[a-z-]*\) .*/\1/p'); do
    "$1" -t filter -X "$chain"
  done
  sed -n 's/^:\(INPUT\|OUTPUT\|FORWARD\) \([A-Z]*\) .*/\1 \2/p' "$3.filter" |
    while read -r chain policy; do "$1" -t filter -P "$chain" "$policy"; done
  # (iptables-save -t filter prints an empty filter table even when there is none)
  if ! grep -q '^\*filter' "$3" && ! "$1-save" -t filter | grep -q '^-A ' \
      && "$1" -V 2>/dev/null | grep -q nf_tables; then
    nft delete table "$2" filter
  fi
}
'''


class UfwRecipe(Recipe):
    """ufw: its rules and settings files; ``ufw reload``/``disable`` puts the kernel back.
    The domain half: its files (before/after rules, the marking table's file) and the
    marking table ``inet jaas_domains`` itself."""

    backend = 'ufw'

    def __init__(self, files, active):
        self.files = list(files)
        self.active = active
        self.resolver = ResolverPart(extra_files=UFW_DOMAIN_FILES)

    def snapshot(self, module, directory):
        lines = copy_files(self.files, directory)
        table = nft_table(module, directory, UFW_DOMAIN_TABLE[0], UFW_DOMAIN_TABLE[1],
                          required=False)
        if self.active:
            lines.append('if ufw status | grep -q "^Status: active"; then ufw reload; '
                         'else ufw --force enable; fi || failed=1')
            return lines + table
        lines.append('if ufw status | grep -q "^Status: active"; then ufw --force disable; '
                     'fi || failed=1')
        lines.append(UFW_LEFTOVERS)
        for command, family in (('iptables', 'ip'), ('ip6tables', 'ip6')):
            saved = os.path.join(directory, 'saved-%s' % command)
            if listing(module, [command + '-save'], saved):
                lines.append('jaas_ufw_leftovers %s %s %s || failed=1' % (command, family, q(saved)))
        return lines + table
