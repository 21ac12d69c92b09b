#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: firewalld_rules
author: jaas.firewall contributors (@jaas-firewall)
version_added: "0.1.0"
short_description: Converge firewalld to the JaaS rules with ipsets and policies
description:
  - Applies the rule list produced by the P(jaas.firewall.rules#filter) filter to a running
    firewalld, using firewalld's own D-Bus Python bindings (C(firewall.client)).
  - Every block and family becomes one C(hash:net) ipset, named C(<prefix>-<block>-v4) or
    C(<prefix>-<block>-v6), and every (block, family, protocol, ports) one accept rich rule
    that references the set. The number of rich rules does not grow with the catalog.
  - Outbound rules go into the policy C(<prefix>-egress) (ingress zone C(HOST), egress zone
    C(ANY)), because firewalld zones only filter inbound traffic. Inbound rules (webhook origins,
    O(keep_open) entries with C(direction=in)) go into the policy C(<prefix>-ingress)
    (ingress zone C(ANY), egress zone C(HOST)), so no zone is ever modified and the rules
    apply whichever zone the interface is in.
  - With O(keep_connection), the connection's port is kept as a TCP rich rule in the ingress
    policy, seeded offline too when O(start) starts firewalld.
  - Converges both the permanent and the runtime configuration. Missing entries and rich
    rules are added and stale ones removed live, without a reload. A (non-complete)
    C(firewall-cmd --reload) equivalent happens only when firewalld cannot change the
    runtime otherwise, that is when one of our ipsets or policies must be created or
    removed, or a policy target changes.
  - Only objects whose name starts with C(<prefix>-) are read or changed. Zones, the default
    zone, services and other ipsets or policies are never touched.
  - All networks of one block and family in O(rules) must carry the same protocols and
    ports (as the catalog guarantees); otherwise the module fails instead of widening access.
  - With O(gateway), the outbound rules also go into the policy C(<prefix>-gateway), from
    O(gateway_ingress_zones) (the LAN side) to O(gateway_egress_zones) (the WAN side), for
    forwarded traffic, on the same ipsets. firewalld accepts replies of allowed flows itself.
    Zones, their interfaces and their masquerading (NAT) are the user's and never changed.
extends_documentation_fragment:
  - jaas.firewall.rules
  - jaas.firewall.host_lock
  - jaas.firewall.controller
  - jaas.firewall.connection
  - jaas.firewall.rollback
options:
  keep_open:
    description:
      - Extra accept rules that must keep working, typically while O(egress_target)
        restricts egress (DNS, the Ansible connection, a proxy). One plain rich rule each.
    type: list
    elements: dict
    default: []
    suboptions:
      direction:
        description: V(out) goes into the egress policy, V(in) into the ingress policy.
        type: str
        required: true
        choices: [in, out]
      protocol:
        description: Transport protocol.
        type: str
        required: true
        choices: [tcp, udp]
      port:
        description: V("53") or V("1000-2000").
        type: str
        required: true
      network:
        description: Peer network (destination for V(out), source for V(in)); any if omitted.
        type: str
  gateway:
    description:
      - Gateway mode. Also allow the outbound rules of O(rules) for traffic forwarded from
        O(gateway_ingress_zones) to O(gateway_egress_zones), in the policy
        C(<prefix>-gateway). V(false) removes that policy; the host's own policies are the
        same either way.
    type: bool
    default: false
    version_added: "0.2.0"
  gateway_ingress_zones:
    description:
      - Zones forwarded traffic comes from (the LAN side). Each must exist (checked before
        anything changes); V(ANY) alone means every zone. V(HOST) is refused (that is the
        host's own traffic).
    type: list
    elements: str
    default: [internal]
    version_added: "0.2.0"
  gateway_egress_zones:
    description: Zones forwarded traffic goes to (the WAN side), as O(gateway_ingress_zones).
    type: list
    elements: str
    default: [external]
    version_added: "0.2.0"
  gateway_target:
    description:
      - Target of the gateway policy for forwarded traffic no rule accepted. V(CONTINUE) leaves
        it to the zones and other policies; V(REJECT) or V(DROP) restrict forwarding between
        those zones to the JaaS rules (replies of allowed flows still pass).
    type: str
    choices: [CONTINUE, REJECT, DROP]
    default: CONTINUE
    version_added: "0.2.0"
  gateway_in_interfaces:
    description:
      - Only checked, never changed. firewalld selects forwarded traffic by zone, so these
        interfaces must be bound to one of O(gateway_ingress_zones); the module warns when
        one is not (C(firewall-cmd --zone=internal --change-interface=IF) binds it).
    type: list
    elements: str
    default: []
    version_added: "0.2.0"
  gateway_out_interfaces:
    description: As O(gateway_in_interfaces), for O(gateway_egress_zones).
    type: list
    elements: str
    default: []
    version_added: "0.2.0"
  egress_target:
    description:
      - Target of the egress policy, applied to traffic no rule accepted.
      - V(CONTINUE) leaves egress open (the rules document intent, nothing is blocked).
        V(REJECT) or V(DROP) restrict egress to the rules and O(keep_open); outgoing
        ICMPv6 neighbour discovery is then allowed too, or IPv6 would stop working.
    type: str
    choices: [CONTINUE, REJECT, DROP]
    default: CONTINUE
  prefix:
    description:
      - Name prefix marking the objects this module owns (C(<prefix>-...)).
      - 1-8 lowercase letters or digits; policy names are limited to 17 characters.
    type: str
    default: jaas
  state:
    description: V(absent) removes every ipset and policy named C(<prefix>-*) and nothing else.
    type: str
    choices: [present, absent]
    default: present
  enable_at_boot:
    description:
      - Enable C(firewalld.service) at boot (C(systemctl enable)) when it is not, with
        O(state=present). The module never disables it.
    type: bool
    default: false
  if_missing:
    description:
      - What to do when firewalld or its Python bindings are not installed and O(state=present).
      - V(fail) fails and changes nothing. V(report) changes nothing and returns
        RV(installed=false), so a caller can install the packages and call the module again;
        this is how the role touches the package manager only on hosts without firewalld.
    type: str
    choices: [fail, report]
    default: fail
  start:
    description:
      - When firewalld is not running, start it (C(systemctl start firewalld)) and then
        converge, instead of failing. With O(state=present) only.
      - Before anything is changed, the unit must be loadable and not masked; otherwise the
        module fails and has changed nothing.
      - Inbound O(keep_open) entries (such as the Ansible connection's port) are first
        written with C(firewall-offline-cmd) into the ingress policy of the permanent
        configuration, so the freshly started firewalld never blocks them. Every value has
        been validated and rebuilt by then; the policy is adopted by the converge that follows.
      - The module never stops, enables or disables firewalld.
    type: bool
    default: false
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: Lists our ipset entries and rich rules before and after, permanent and runtime.
requirements:
  - firewalld >= 0.9 (policy objects), running.
  - Its Python bindings on the managed host (Debian/Ubuntu C(python3-firewall), Fedora/RHEL
    C(python3-firewall)).
notes:
  - When firewalld is not running the module fails and changes nothing, also in check mode,
    unless O(start) is set. It does not fall back to C(firewall-offline-cmd) for the rules,
    because a permanent-only change would report success while nothing is enforced (the
    role sets O(start) with C(jaas_firewall_firewalld_enable=true)).
  - A reload re-applies the permanent configuration, so runtime-only changes made by others
    are lost at that moment, exactly as with C(firewall-cmd --reload). It only happens when
    an object of ours is created or removed or a target changes (see RV(reloaded)).
seealso:
  - plugin: jaas.firewall.rules
    plugin_type: filter
  - module: ansible.posix.firewalld
"""

EXAMPLES = r"""
- name: Allow the JaaS egress through firewalld (rules computed on the controller)
  jaas.firewall.firewalld_rules:
    rules: "{{ lookup('jaas.firewall.catalog') | jaas.firewall.rules }}"

- name: Restrict egress to JaaS, DNS and an HTTP proxy; webhooks to port 8443
  jaas.firewall.firewalld_rules:
    rules: "{{ lookup('jaas.firewall.catalog') | jaas.firewall.rules(webhooks=true, webhook_port=8443) }}"
    egress_target: REJECT
    keep_open:
      - {direction: out, protocol: udp, port: "53"}
      - {direction: out, protocol: tcp, port: "53"}
      - {direction: out, protocol: tcp, port: "3128", network: 10.0.0.8/32}
      - {direction: in, protocol: tcp, port: "22"}

- name: A gateway - internal zone to external zone, only JaaS is forwarded
  jaas.firewall.firewalld_rules:
    rules: "{{ lookup('jaas.firewall.catalog') | jaas.firewall.rules }}"
    gateway: true
    gateway_ingress_zones: [internal]
    gateway_egress_zones: [external]
    gateway_target: REJECT

- name: Remove everything this module created
  jaas.firewall.firewalld_rules:
    state: absent
"""

RETURN = r"""
rollback:
  description:
    - The revert armed because of O(rollback_timeout), and (added by the action plugin) what
      became of it. Its C(id) is what M(jaas.firewall.rollback_confirm) takes.
  returned: when a revert was armed
  type: dict
  sample: {armed: false, confirmed: true, id: 20261126T101500-3fa2c1, backend: ufw, timeout: 60,
           mechanism: systemd, expires_in: 57.9, armed_over: 198.18.40.1 50514 198.18.40.11 22,
           confirmed_over: 198.18.40.1 50530 198.18.40.11 22}
ipsets:
  description: Names of our ipsets after the run.
  returned: always
  type: list
  elements: str
  sample: [jaas-cloudflare-v4, jaas-cloudflare-v6, jaas-jvb-v4, jaas-turn-v4]
policies:
  description: Names of our policies after the run.
  returned: always
  type: list
  elements: str
  sample: [jaas-egress, jaas-gateway]
rich_rules:
  description: Number of rich rules in our policies after the run.
  returned: always
  type: int
  sample: 7
added:
  description:
    - One line per ipset entry or rich rule of ours added (would be, in check mode), in the
      permanent or the runtime configuration; the key every backend module returns.
  returned: always
  type: list
  elements: str
  sample: ["ipset jaas-turn-v4: 198.18.2.10", "policy jaas-egress: rule family=\"ipv4\" ..."]
removed:
  description: The same for entries and rich rules of ours removed.
  returned: always
  type: list
  elements: str
permanent_changes:
  description:
    - Per changed object of the permanent configuration, its C(action) (C(create),
      C(update), C(replace), C(remove)) and the C(added) and C(removed) entries or rich rules.
  returned: always
  type: dict
  sample: {ipsets: {jaas-turn-v4: {action: update, added: [198.18.2.10/32], removed: []}}, policies: {}}
runtime_changes:
  description: The same for the runtime configuration.
  returned: always
  type: dict
reloaded:
  description: Whether firewalld was reloaded (would be, in check mode).
  returned: always
  type: bool
started:
  description: Whether firewalld was started by this run (would be, in check mode); see O(start).
  returned: always
  type: bool
seeded:
  description: Inbound keep-open rich rules written offline before the start.
  returned: always
  type: list
  elements: str
enabled_at_boot:
  description: Whether this run enabled firewalld at boot (would, in check mode); see O(enable_at_boot).
  returned: always
  type: bool
installed:
  description: Whether firewalld and its Python bindings are installed (V(false) only with O(if_missing=report)).
  returned: always
  type: bool
msg:
  description: One line summing up the run.
  returned: always
  type: str
connection_ports:
  description: TCP ports kept open for the Ansible connection (O(keep_connection)).
  returned: always
  type: list
  elements: int
  sample: [2222]
lock_wait:
  description: Seconds this run waited for the host lock (see O(lock_timeout)).
  returned: when firewalld was read
  type: float
  sample: 0.0
"""

from ansible.module_utils.basic import AnsibleModule

import time

from ansible_collections.jaas.firewall.plugins.module_utils.connection import (
    CONNECTION_ARGUMENT_SPEC, kept_connection_ports)
from ansible_collections.jaas.firewall.plugins.module_utils.firewalld_plan import (
    ANY_ZONE, PlanError, desired_state, diff_layer, has_changes, ingress_policy_name,
    keep_open_rules, needs_reload, owns, render_text)
from ansible_collections.jaas.firewall.plugins.module_utils.model import (
    ModelError, normalise_names)
from ansible_collections.jaas.firewall.plugins.module_utils.host_lock import (
    LOCK_ARGUMENT_SPEC, acquire)
from ansible_collections.jaas.firewall.plugins.module_utils.rollback import (
    ROLLBACK_ARGUMENT_SPEC, FirewalldRecipe, arm, timeout_problem)
from ansible_collections.jaas.firewall.plugins.module_utils.rule_spec import (
    controller_argument_spec, keep_open_argument_spec, rules_argument_spec)

try:
    from firewall.client import (FirewallClient, FirewallClientIPSetSettings,
                                 FirewallClientPolicySettings)
    from firewall.core.rich import Rich_Rule
    HAS_FIREWALL = True
except ImportError:  # reported by main()
    HAS_FIREWALL = False

MARK_SHORT = 'jaas.firewall'
MARK_DESCRIPTION = 'Managed by the jaas.firewall collection (firewalld_rules); do not edit.'


def _dbus_message(exc):
    getter = getattr(exc, 'get_dbus_message', None)
    return (getter() if getter else None) or str(exc)


class Firewalld(object):
    """The few firewalld D-Bus calls the module needs, for one layer at a time."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.client = FirewallClient()
        self.config = self.client.config() if self.client.connected else None

    @property
    def running(self):
        return bool(self.client.connected)

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

    def read_permanent(self):
        ipsets = {name: self._ipset_view(self.config.getIPSetByName(name).getSettings())
                  for name in self.config.getIPSetNames() if owns(self.prefix, name)}
        policies = {name: self._policy_view(self.config.getPolicyByName(name).getSettings())
                    for name in self.config.getPolicyNames() if owns(self.prefix, name)}
        return {'ipsets': ipsets, 'policies': policies}

    def read_runtime(self):
        ipsets = {}
        for name in self.client.getIPSets():
            if owns(self.prefix, name):
                view = self._ipset_view(self.client.getIPSetSettings(name))
                view['entries'] = [str(e) for e in self.client.getEntries(name)]
                ipsets[name] = view
        policies = {name: self._policy_view(self.client.getPolicySettings(name))
                    for name in self.client.getPolicies() if owns(self.prefix, name)}
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
    rc, out, err = module.run_command([systemctl, 'show', 'firewalld.service',
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


def start_firewalld(module, prefix):
    """Start firewalld (O(start)): check the unit, seed offline, start, connect."""
    problem = unit_problem(module)
    if problem:
        module.fail_json(msg='%s; nothing was changed.' % problem, started=False)
    if module.check_mode:
        module.exit_json(changed=True, started=True, added=[], removed=[], seeded=[], reloaded=False,
                         ipsets=[],
                         policies=[], rich_rules=0, permanent_changes={}, runtime_changes={},
                         msg='firewalld is not running: it would be started and converged')
    seeded = seed_offline(module, prefix, module.params['keep_open'])
    systemctl = module.get_bin_path('systemctl', required=True)
    rc, out, err = module.run_command([systemctl, 'start', 'firewalld.service'])
    if rc != 0:
        module.fail_json(msg='systemctl start firewalld failed%s: %s'
                             % (' (the inbound keep-open rules were already written offline)'
                                if seeded else '', (err or out).strip()), seeded=seeded)
    deadline = time.monotonic() + 30
    while True:
        firewalld = Firewalld(prefix)
        if firewalld.running or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if not firewalld.running:
        module.fail_json(msg='firewalld was started but is not answering on D-Bus after 30 s',
                         seeded=seeded)
    return firewalld, seeded


def changed_items(*layers):
    """One readable line per ipset entry or rich rule added / removed in any layer (the
    result keys every backend module returns)."""
    added, removed = set(), set()
    for changes in layers:
        for kind, label in (('ipsets', 'ipset'), ('policies', 'policy')):
            for name, change in changes.get(kind, {}).items():
                added.update('%s %s: %s' % (label, name, item) for item in change.get('added', []))
                removed.update('%s %s: %s' % (label, name, item)
                               for item in change.get('removed', []))
    return sorted(added), sorted(removed)


def enable_at_boot(module):
    """systemctl enable firewalld when it is not enabled; True when it had to be."""
    systemctl = module.get_bin_path('systemctl')
    if systemctl is None:
        module.fail_json(msg='systemctl not found: enable_at_boot works through systemd only')
    rc, out, _err = module.run_command([systemctl, 'is-enabled', 'firewalld.service'])
    if out.strip() == 'enabled':
        return False
    if not module.check_mode:
        rc, out, err = module.run_command([systemctl, 'enable', 'firewalld.service'])
        if rc != 0:
            module.fail_json(msg='systemctl enable firewalld failed: %s' % (err or out).strip())
    return True


def will_enable(module):
    """Will enable_at_boot() change anything? Read-only."""
    if not (module.params['enable_at_boot'] and module.params['state'] == 'present'):
        return False
    systemctl = module.get_bin_path('systemctl')
    if systemctl is None:
        return False
    _rc, out, _err = module.run_command([systemctl, 'is-enabled', 'firewalld.service'])
    return out.strip() != 'enabled'


def main():
    argument_spec = rules_argument_spec()
    argument_spec.update(LOCK_ARGUMENT_SPEC)
    argument_spec.update(
        egress_target=dict(type='str', default='CONTINUE', choices=['CONTINUE', 'REJECT', 'DROP']),
        prefix=dict(type='str', default='jaas'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        start=dict(type='bool', default=False),
        if_missing=dict(type='str', choices=['fail', 'report'], default='fail'),
        enable_at_boot=dict(type='bool', default=False),
        gateway=dict(type='bool', default=False),
        gateway_ingress_zones=dict(type='list', elements='str', default=['internal']),
        gateway_egress_zones=dict(type='list', elements='str', default=['external']),
        gateway_target=dict(type='str', default='CONTINUE', choices=['CONTINUE', 'REJECT', 'DROP']),
        gateway_in_interfaces=dict(type='list', elements='str', default=[]),
        gateway_out_interfaces=dict(type='list', elements='str', default=[]),
    )
    argument_spec.update(CONNECTION_ARGUMENT_SPEC)
    argument_spec.update(ROLLBACK_ARGUMENT_SPEC)
    argument_spec.update(controller_argument_spec())
    argument_spec.update(keep_open_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    prefix = module.params['prefix']
    try:
        kept_ports = kept_connection_ports(
            module.params['keep_connection'] and module.params['state'] == 'present',
            module.params['connection_port'])
    except ValueError as exc:
        module.fail_json(msg='nothing changed: %s' % exc)
    if timeout_problem(module.params['rollback_timeout']):
        module.fail_json(msg='nothing changed: %s' % timeout_problem(module.params['rollback_timeout']))
    # First, so the connection's rule is also the first one seeded before a start.
    module.params['keep_open'] = [dict(direction='in', protocol='tcp', port=str(port), network=None)
                                  for port in kept_ports] + list(module.params['keep_open'])
    gateway = None
    try:
        interfaces = dict((option, normalise_names('interface name', module.params[option], option))
                          for option in ('gateway_in_interfaces', 'gateway_out_interfaces'))
    except ModelError as exc:
        module.fail_json(msg='nothing changed: %s' % exc)
    if module.params['gateway'] and module.params['state'] == 'present':
        gateway = dict(ingress_zones=module.params['gateway_ingress_zones'],
                       egress_zones=module.params['gateway_egress_zones'],
                       target=module.params['gateway_target'])
    try:
        if module.params['state'] == 'present':
            desired = desired_state(module.params['rules'], module.params['keep_open'],
                                    prefix=prefix, egress_target=module.params['egress_target'],
                                    gateway=gateway)
        else:
            desired_state([], prefix=prefix)  # validates the prefix
            desired = {'ipsets': {}, 'policies': {}}
    except PlanError as exc:
        module.fail_json(msg='nothing changed: %s' % exc)

    installed = HAS_FIREWALL and module.get_bin_path('firewall-cmd') is not None
    if not installed and module.params['state'] == 'absent':
        module.exit_json(changed=False, installed=False, added=[], removed=[], reloaded=False,
                         ipsets=[], policies=[],
                         rich_rules=0, permanent_changes={}, runtime_changes={}, started=False,
                         seeded=[], connection_ports=[],
                         msg='firewalld or its Python bindings are not installed: nothing to remove')
    if not installed and module.params['if_missing'] == 'report':
        module.exit_json(changed=False, installed=False, added=[], removed=[], reloaded=False,
                         ipsets=[], policies=[],
                         rich_rules=0, permanent_changes={}, runtime_changes={}, started=False,
                         seeded=[], connection_ports=[],
                         msg='firewalld or its Python bindings are not installed: nothing was done')
    if not HAS_FIREWALL:
        module.fail_json(msg='the firewalld Python bindings (firewall.client, package '
                             'python3-firewall) are missing on the managed host; nothing changed')
    desired = canonical_rules(desired)

    # From the first read to the last change (the offline seeding and the start included):
    # a concurrent run waits, then diffs against this run's result.
    lock_wait = acquire(module, module.params['lock_timeout'])
    try:
        firewalld = Firewalld(prefix)
    except Exception as exc:  # no system bus at all
        module.fail_json(msg='cannot reach D-Bus: %s; nothing changed' % _dbus_message(exc))
    started, seeded = False, []
    if not firewalld.running:
        if not (module.params['start'] and module.params['state'] == 'present'):
            module.fail_json(msg='firewalld is not running, so nothing was read or changed. This '
                                 'module manages a running firewalld only (no firewall-offline-cmd '
                                 'fallback); start it first, e.g. with start=true (the role '
                                 'variable jaas_firewall_firewalld_enable=true).')
        # Before the offline seeding: the host stops firewalld again unless the run confirms.
        arm(module, FirewalldRecipe(running=False), module.params['rollback_timeout'])
        firewalld, seeded = start_firewalld(module, prefix)
        started = True

    try:
        permanent = firewalld.read_permanent()
        runtime = firewalld.read_runtime()
        errors, warnings = gateway_problems(firewalld, desired['policies'][
            '%s-gateway' % prefix], interfaces) if gateway is not None else ([], [])
    except Exception as exc:
        module.fail_json(msg='reading firewalld state failed: %s' % _dbus_message(exc))
    if errors:
        module.fail_json(msg='%s: %s' % ('firewalld was started, nothing else changed' if started
                                         else 'nothing changed', '; '.join(errors)))
    for warning in warnings:
        module.warn(warning)
    permanent_changes = diff_layer(desired, permanent, prefix)
    runtime_changes = diff_layer(desired, runtime, prefix)
    reload_needed = needs_reload(runtime_changes)
    changed = started or has_changes(permanent_changes) or has_changes(runtime_changes)
    if not started and module.params['rollback_timeout'] and (changed or will_enable(module)):
        # Before the first change: the host reverts by itself unless the run confirms.
        arm(module, FirewalldRecipe(running=True), module.params['rollback_timeout'])
    enabled_now = bool(module.params['enable_at_boot'] and module.params['state'] == 'present'
                       and enable_at_boot(module))

    added, removed = changed_items(permanent_changes, runtime_changes)
    result = dict(
        changed=changed or enabled_now,
        added=added,
        removed=removed,
        enabled_at_boot=enabled_now,
        reloaded=bool(changed and reload_needed),
        ipsets=sorted(desired['ipsets']),
        policies=sorted(desired['policies']),
        rich_rules=sum(len(p['rich_rules']) for p in desired['policies'].values()),
        permanent_changes=permanent_changes,
        runtime_changes=runtime_changes,
        started=started,
        seeded=seeded,
        lock_wait=lock_wait,
        connection_ports=kept_ports,
        installed=True,
        msg='firewalld: %d ipsets, %d rich rules in %s; reloaded %s; connection ports kept %s'
            % (len(desired['ipsets']), sum(len(p['rich_rules']) for p in desired['policies'].values()),
               ', '.join(sorted(desired['policies'])) or 'no policy',
               'yes' if changed and reload_needed else 'no', kept_ports or 'none'),
    )
    if module._diff:
        after = render_text(desired, prefix)
        result['diff'] = [
            dict(before_header='firewalld permanent', after_header='firewalld permanent',
                 before=render_text(permanent, prefix), after=after),
            dict(before_header='firewalld runtime', after_header='firewalld runtime',
                 before=render_text(runtime, prefix), after=after),
        ]
    if module.check_mode or not changed:
        module.exit_json(**result)

    step = 'permanent configuration'
    try:
        firewalld.apply_permanent(desired, permanent_changes)
        if reload_needed:
            step = 'reload'
            firewalld.reload()
        else:
            step = 'runtime configuration'
            firewalld.apply_runtime(desired, runtime_changes)
    except Exception as exc:
        result['msg'] = 'firewalld refused the change (%s): %s' % (step, _dbus_message(exc))
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
