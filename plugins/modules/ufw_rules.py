#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ufw_rules
author: jaas.firewall contributors (@jaas-firewall)
version_added: "0.1.0"
short_description: Converge ufw to the JaaS rules in one bulk apply
description:
  - Applies the rule list produced by the P(jaas.firewall.rules#filter) filter to ufw.
  - Reads ufw's user rules files (C(/etc/ufw/user.rules) and C(/etc/ufw/user6.rules)) once,
    computes the difference between the rules it owns and the desired list, and changes only
    that difference, in one write per file and at most one reload of ufw's user chains.
  - "Ownership: every rule this module writes carries the ufw comment
    C(<prefix>:<block>[:<region>]), for example C(jaas:turn:uk-london). Only rules whose
    comment is O(prefix) or starts with C(<prefix>:) are ever changed or deleted;
    every other rule (a user's C(ufw allow 22/tcp), a DNS rule, rules of other tools) is left
    byte for byte as it was, in its position."
  - With O(keep_connection), the connection's port is kept as an inbound TCP rule of block
    C(safety), for IPv4 and, when ufw has IPv6 on, IPv6.
  - Optionally sets ufw's default incoming/outgoing/routed policies and enables ufw, always
    B(after) the rules are in place, so allow rules exist before traffic is restricted.
  - "With O(gateway), every outbound rule also becomes a route rule (C(ufw route allow [in on
    LAN] [out on WAN] to NETWORK [port PORTS] proto PROTOCOL)), one per pair of
    O(gateway_in_interfaces) and O(gateway_out_interfaces), in ufw's C(ufw-user-forward)
    chain, with the same ownership comment. ufw answers replies of allowed flows in its own
    C(ufw-before-forward) chain. Strict forwarding is O(default_routed)."
  - "With O(domains): ufw cannot match a set that DNS answers fill, so a small nftables table
    of ours, C(inet jaas_domains), holds the timed sets C(domains_<category>_v4)/C(_v6) (filled
    by the local resolver) and an output chain that runs before ufw's and only marks a new
    connection to a listed address and port (C(meta mark set meta mark | O(domain_mark)),
    restarting the address's timeout). ufw accepts marked packets with one rule at the end
    of C(ufw-before-output)/C(ufw6-before-output), kept in a marked block of
    C(/etc/ufw/before.rules)/C(before6.rules) and added to the running firewall without a
    ufw reload. The table is loaded from C(/etc/jaas-firewall/domains.nft) by the resolver
    service before it starts."
extends_documentation_fragment:
  - jaas.firewall.rules
  - jaas.firewall.host_lock
  - jaas.firewall.controller
  - jaas.firewall.connection
  - jaas.firewall.rollback
  - jaas.firewall.gateway
  - jaas.firewall.domains
options:
  domain_mark:
    description:
      - The packet mark bit that carries "allowed by a domain set" from our nftables table to
        ufw (O(domains)); one bit of the 32-bit mark, other bits are kept. Change it when
        another tool on the host uses this bit.
    type: int
    default: 16777216
  keep_open:
    description:
      - Rules that must keep working when ufw restricts traffic (DNS, a proxy, your own
        ports), written as rules of block C(safety) before any policy changes. Guarded like
        the other C(safety) rules (see O(guard_blocks)).
      - Each entry is C({direction, protocol, port, network?}); without C(network), one rule
        per family of O(keep_open_families) to any address.
    type: list
    elements: dict
    default: []
    suboptions:
      direction:
        description: Traffic direction.
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
  keep_open_families:
    description: Address families of the O(keep_open) entries that name no network.
    type: list
    elements: int
    choices: [4, 6]
    default: [4, 6]
  state:
    description:
      - With V(present), O(rules) is the complete set of rules owned by this module (minus
        O(exclude_blocks)); owned rules not in the list are removed.
      - With V(absent), the listed O(rules) are removed; when the list is empty every rule
        owned by this module (minus O(exclude_blocks)) is removed.
      - The block and region of each rule become the ufw comment C(<prefix>:<block>[:<region>]);
        a network of V(0.0.0.0/0) or V(::/0) means any address.
    type: str
    choices: [present, absent]
    default: present
  prefix:
    description:
      - The ownership mark, named C(prefix) in every backend module - here the first part of
        the ufw comment that marks a rule as owned by this module.
      - A slug of at most 31 characters.
    type: str
    default: jaas
    aliases: [tag_prefix]
  exclude_blocks:
    description:
      - Blocks whose owned rules this call must leave alone even though they carry
        O(prefix), for example the C(safety) rules the role keeps while traffic is
        restricted.
    type: list
    elements: str
    default: []
  guard_blocks:
    description:
      - Lock-out guard. Owned rules of these blocks (the role passes V([safety]), its SSH, DNS
        and C(jaas_firewall_keep_open) rules) are not removed while ufw, after this run, is active
        with a V(deny) or V(reject) default policy, unless O(rules) contains rules of that
        block (then they converge like any other block).
      - So O(state=absent), or a run that no longer restricts traffic, cannot delete the rule
        that keeps the operator's connection open while the firewall is still closed.
    type: list
    elements: str
    default: []
  default_incoming:
    description: Set ufw's default incoming policy after the rules are applied. Unchanged when omitted.
    type: str
    choices: [allow, deny, reject]
  default_outgoing:
    description: Set ufw's default outgoing policy after the rules are applied. Unchanged when omitted.
    type: str
    choices: [allow, deny, reject]
  default_routed:
    description:
      - Set ufw's default routed (forwarded) policy after the rules are applied
        (C(ufw default deny routed)). Unchanged when omitted. V(deny) or V(reject) restricts
        forwarding to the route rules of O(gateway) (and any route rules of your own).
      - Debian's ufw package starts with C(DEFAULT_FORWARD_POLICY="DROP").
    type: str
    choices: [allow, deny, reject]
    version_added: "0.2.0"
  enabled:
    description:
      - V(true) enables ufw (now and at boot) after rules and policies are in place;
        V(false) disables it. Unchanged when omitted.
    type: bool
  if_missing:
    description:
      - What to do when ufw is not installed and O(state=present).
      - V(fail) fails (check mode reports every rule as to be added).
      - V(report) changes nothing and returns RV(installed=false), so a caller can install
        ufw and call the module again; this is how the role touches the package manager
        only on hosts without ufw.
    type: str
    choices: [fail, report]
    default: fail
  backup:
    description:
      - Keep a timestamped copy of each rules file before changing it (next to the file, as
        Ansible's other file modules do). The module always keeps the original text in
        memory and restores it when the running firewall refuses the new rules.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Reports the rules that would be added or removed and changes nothing.
  diff_mode:
    support: full
    description: Shows owned rules before and after, one readable line per rule.
notes:
  - "Why files and not one ufw call per rule: 190 C(ufw allow ...) calls take about 25 s
    here (each call starts Python, re-reads and rewrites both files and runs several
    iptables commands), and C(community.general.ufw) in a loop 155-215 s. Driving ufw's
    Python API in one process (C(UFWBackendIptables.set_rule)) takes about 3.3 s with ufw
    active but depends on private, undocumented behaviour (gettext set-up, per-rule
    rewrites of both files, a reload per deletion). ufw's on-disk format is its stable
    interface, so this module edits that format directly and lets ufw's own loader apply it."
  - "How a change is applied: the new file text is built in memory (foreign lines are copied
    verbatim; our blocks are rendered exactly as ufw 0.36 renders them, so C(ufw show
    added), C(ufw delete) and later ufw runs read them as their own), written to a
    temporary file in C(/etc/ufw) and renamed over the original (atomic). When ufw is
    active the user chains are then reloaded with C(iptables-restore -n) / C(ip6tables-restore -n)
    on those files, which is exactly what ufw itself does when it reloads user rules. Unlike
    C(ufw reload) (a full disable + enable) this never opens the firewall, not even briefly.
    If the reload fails the original files are put back and reloaded, and the task fails."
  - "A rules file still in the form the ufw package installs it (no rule ever added, no
    C(### END RULES ###) line) is first rewritten by ufw itself with C(ufw logging <current
    level>), which changes neither rules nor settings, so the module only ever splices ufw's
    own full format. Check mode plans such a file as an empty rule list and writes nothing."
  - "If a run dies after writing the files but before the reload, a marker left in C(/run)
    makes the next run reload the user chains (reported as a change) even though the files
    are already as desired."
  - Default policies and enabling use the ufw command line (C(ufw default ...),
    C(ufw --force enable)), with fixed argument lists and never through a shell.
  - IPv6 rules require C(IPV6=yes) in C(/etc/default/ufw) (Debian's default); otherwise the
    module fails instead of writing rules ufw would ignore.
  - The module does not install ufw; the P(jaas.firewall.ufw#role) role does.
seealso:
  - plugin: jaas.firewall.rules
    plugin_type: filter
  - module: community.general.ufw
"""

EXAMPLES = r"""
- name: Allow egress to the JaaS video bridges in London (IPv4 and IPv6)
  jaas.firewall.ufw_rules:
    rules: "{{ lookup('jaas.firewall.catalog', blocks=['jvb'], regions=['uk-london']) | jaas.firewall.rules }}"
  become: true

- name: The same, one rule written by hand in the rule interface
  jaas.firewall.ufw_rules:
    rules:
      - {direction: out, family: 4, network: 152.67.144.0/24, protocol: udp, ports: "10000",
         block: jvb, region: uk-london}
  # ufw show added:
  #   ufw allow out to 152.67.144.0/24 port 10000 proto udp comment 'jaas:jvb:uk-london'

- name: Restrict egress once the allow rules are in place
  jaas.firewall.ufw_rules:
    rules: "{{ jaas_rules }}"
    default_outgoing: deny
    enabled: true

- name: A gateway - LAN clients on lan0 may reach JaaS through wan0, nothing else is routed
  jaas.firewall.ufw_rules:
    rules: "{{ jaas_rules }}"
    gateway: true
    gateway_in_interfaces: [lan0]
    gateway_out_interfaces: [wan0]
    default_routed: deny
  # ufw show added: ... ufw route allow in on lan0 out on wan0 to 152.67.144.0/24 port 10000 proto udp comment 'jaas:jvb:uk-london'

- name: Remove every rule tagged jaas, leave all other rules and the policies alone
  jaas.firewall.ufw_rules:
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
added:
  description: Rules added (or that would be added in check mode).
  returned: always
  type: list
  elements: dict
  sample:
    - {family: 4, direction: out, action: allow, protocol: tcp, network: 152.67.144.0/24,
       ports: "443", comment: "jaas:jvb:uk-london"}
removed:
  description:
    - Owned rules removed (or that would be removed in check mode), same shape as RV(added).
    - Route rules (O(gateway)) have C(direction=routed), C(in_interface) and C(out_interface)
      (V(null) = any).
  returned: always
  type: list
  elements: dict
owned:
  description: Number of rules owned by this module after the run (per family).
  returned: always
  type: dict
  sample: {"4": 176, "6": 14}
guarded:
  description: Blocks left alone by O(guard_blocks) in this run.
  returned: always
  type: list
  elements: str
active:
  description: Whether ufw's firewall was running when the module started.
  returned: always
  type: bool
reload_pending:
  description: A previous run wrote the rules files but did not reload them; this run reloads.
  returned: when true
  type: bool
reloaded:
  description: Whether the running user chains were reloaded.
  returned: always
  type: bool
policies:
  description: Default policies after the run.
  returned: always
  type: dict
  sample: {incoming: deny, outgoing: allow, routed: deny}
msg:
  description: One line summing up the run (rules added and removed, policies, kept ports).
  returned: always
  type: str
installed:
  description: Whether ufw is installed (V(false) only with O(if_missing=report)).
  returned: always
  type: bool
connection_ports:
  description: TCP ports kept open for the Ansible connection (O(keep_connection)).
  returned: always
  type: list
  elements: int
  sample: [2222]
resolver:
  description:
    - The local resolver of O(domains) - its service, listening address, the servers it
      forwards to and where they came from, the TTL it hands out, whether /etc/resolv.conf
      is handed over to it, and the steps this run did (would do, in check mode).
  returned: when the rules files were read
  type: dict
domain_steps:
  description: Changes to the domain half this run did (would do) - C(table), C(before IPv4), C(runtime IPv6), ...
  returned: when the rules files were read
  type: list
  elements: str
domains_broader_than_catalog:
  description: Catalog names the resolver matches more widely than the catalog says (see O(domains)).
  returned: when the rules files were read
  type: list
  elements: str
lock_wait:
  description: Seconds this run waited for the host lock (see O(lock_timeout)).
  returned: when the rules files were read
  type: float
  sample: 0.0
backup_files:
  description: Backup copies made of the rules files.
  returned: when a rules file changed and O(backup=true)
  type: list
  elements: str
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native

from ansible_collections.jaas.firewall.plugins.module_utils.domain_sets import (
    DOMAINS_ARGUMENT_SPEC, DomainError)
from ansible_collections.jaas.firewall.plugins.module_utils.ufw_domains import (
    DEFAULT_MARK, UfwDomains, check_params as check_domain_params)
from ansible_collections.jaas.firewall.plugins.module_utils.connection import (
    CONNECTION_ARGUMENT_SPEC, kept_connection_ports)
from ansible_collections.jaas.firewall.plugins.module_utils.gateway import (
    gateway_argument_spec, gateway_from_params)
from ansible_collections.jaas.firewall.plugins.module_utils.host_lock import (
    LOCK_ARGUMENT_SPEC, acquire)
from ansible_collections.jaas.firewall.plugins.module_utils.keep_open import (
    KeepOpenError, validate_keep_open)
from ansible_collections.jaas.firewall.plugins.module_utils.model import ModelError
from ansible_collections.jaas.firewall.plugins.module_utils.rollback import (
    ROLLBACK_ARGUMENT_SPEC, UfwRecipe, arm, timeout_problem)
from ansible_collections.jaas.firewall.plugins.module_utils.rule_spec import (
    controller_argument_spec, keep_open_argument_spec, rules_argument_spec)
from ansible_collections.jaas.firewall.plugins.module_utils.ufw_user_rules import (
    SLUG, TAG_PREFIX, UfwRulesError, UserRules, as_empty_rules_file, block_comment,
    desired_blocks, describe, describe_text, is_package_template, owns, parse_defaults, plan_file, remove_from_file)

UFW_DIR = '/etc/ufw'
RULES_FILES = {4: 'user.rules', 6: 'user6.rules'}
DEFAULTS_FILE = '/etc/default/ufw'
RESTORE = {4: 'iptables-restore', 6: 'ip6tables-restore'}
RELOAD_PENDING = '/run/jaas-firewall-ufw.reload-pending'
POLICY_DIRECTIONS = ('incoming', 'outgoing', 'routed')


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


def ufw_active(module, ufw):
    rc, out, err = module.run_command([ufw, 'status'])
    if rc != 0:
        module.fail_json(msg='ufw status failed: %s' % (err or out).strip())
    return out.splitlines()[0].strip().lower() == 'status: active' if out else False


def reload_user_chains(module, families):
    """Load user rules into the running firewall, as ufw's _reload_user_rules does."""
    for family in families:
        tool = module.get_bin_path(RESTORE[family], required=True)
        path = os.path.join(UFW_DIR, RULES_FILES[family])
        rc, out, err = module.run_command([tool, '-n', path])
        if rc != 0:
            return '%s -n %s failed: %s' % (tool, path, (err or out).strip())
    return None


def not_installed(module, wanted):
    """ufw missing: absent has nothing to do, report says so, check mode reports all,
    present fails."""
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
                 for family in (4, 6) for block in wanted[family]]
        module.exit_json(changed=True, installed=False, added=added, removed=[], owned={},
                         active=False,
                         reloaded=False, guarded=[], policies={},
                         msg='ufw is not installed yet (check mode): every rule would be added')
    module.fail_json(msg='ufw is not installed (no ufw command or %s); install it first '
                         '(the jaas.firewall.ufw role does unless jaas_firewall_ufw_install '
                         'is false)' % os.path.join(UFW_DIR, RULES_FILES[4]))


def restricted_after(params, active, defaults):
    """Will ufw be running with a deny/reject default policy once this run is done?"""
    running = active if params['enabled'] is None else params['enabled']
    policies = [params['default_' + name] or defaults[name] for name in ('incoming', 'outgoing')]
    return bool(running) and any(policy in ('deny', 'reject') for policy in policies)


def plan_files(module, wanted, tag_prefix, exclude):
    """Read both rules files once and plan them.

    Returns (originals, updated, added, removed, owned, templates): texts per family, new
    texts of the files that change, summaries of added/removed rules, owned rule counts, and
    the families whose file is still the package template (planned as an empty rules file).
    """
    params = module.params
    originals, updated, added, removed, owned, templates = {}, {}, [], [], {}, []
    for family, name in sorted(RULES_FILES.items()):
        path = os.path.join(UFW_DIR, name)
        text = read_text(module, path)
        planned = text
        if is_package_template(text):
            templates.append(family)
            planned = as_empty_rules_file(text)
        try:
            if params['state'] == 'present':
                new_text, plus, minus = plan_file(planned, wanted[family], tag_prefix,
                                                  exclude, path=path)
            elif params['rules']:
                new_text, plus, minus = remove_from_file(planned, wanted[family], tag_prefix,
                                                         exclude, path=path)
            else:
                new_text, plus, minus = plan_file(planned, [], tag_prefix, exclude, path=path)
        except UfwRulesError as exc:
            module.fail_json(msg=str(exc))
        originals[family] = text
        if new_text != planned:
            updated[family] = new_text
        added += summarise(plus, family)
        removed += summarise(minus, family)
        owned[str(family)] = sum(1 for block in UserRules(new_text, path).blocks
                                 if owns(block_comment(block), tag_prefix))
    return originals, updated, added, removed, owned, templates


def ufw_loglevel(module):
    """The LOGLEVEL of ufw.conf (ufw's default 'low' when unset)."""
    text = read_text(module, os.path.join(UFW_DIR, 'ufw.conf'))
    for line in text.splitlines():
        if line.strip().startswith('LOGLEVEL='):
            level = line.split('=', 1)[1].strip().strip('"\'').lower()
            if level in ('off', 'low', 'medium', 'high', 'full'):
                return level
    return 'low'


def summarise(blocks, family):
    return [describe(block, family) for block in blocks]


def keep_open_rules(entries, families):
    """Rules of block safety for validated keep-open entries."""
    rules = []
    for entry in entries:
        network = entry.get('network')
        for family in ([6 if ':' in network else 4] if network else families):
            rules.append(dict(direction=entry['direction'], family=family,
                              network=network or ('::/0' if family == 6 else '0.0.0.0/0'),
                              protocol=entry['protocol'], ports=entry['port'], block='safety',
                              region=None))
    return rules


def connection_rules(ports, families):
    """Rules of block safety that keep the connection's ports open inbound."""
    return [dict(direction='in', family=family, network='::/0' if family == 6 else '0.0.0.0/0',
                 protocol='tcp', ports=str(port), block='safety', region=None)
            for port in ports for family in families]


def will_change(module, params, updated, active, defaults):
    """Does this run change files, the running rules, a policy or the enabled state?"""
    if updated or (active and os.path.exists(RELOAD_PENDING)):
        return True
    if any(params['default_' + name] and params['default_' + name] != defaults[name]
           for name in POLICY_DIRECTIONS):
        return True
    if params['enabled'] is None:
        return False
    at_boot = _enabled_at_boot(module)
    return params['enabled'] != (active and at_boot) and (params['enabled'] or active or at_boot)


def main():
    argument_spec = rules_argument_spec()
    argument_spec.update(LOCK_ARGUMENT_SPEC)
    argument_spec.update(
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        prefix=dict(type='str', default='jaas', aliases=['tag_prefix']),
        exclude_blocks=dict(type='list', elements='str', default=[]),
        guard_blocks=dict(type='list', elements='str', default=[]),
        default_incoming=dict(type='str', choices=['allow', 'deny', 'reject']),
        default_outgoing=dict(type='str', choices=['allow', 'deny', 'reject']),
        default_routed=dict(type='str', choices=['allow', 'deny', 'reject']),
        enabled=dict(type='bool'),
        backup=dict(type='bool', default=True),
        if_missing=dict(type='str', choices=['fail', 'report'], default='fail'),
    )
    argument_spec.update(CONNECTION_ARGUMENT_SPEC)
    argument_spec.update(ROLLBACK_ARGUMENT_SPEC)
    argument_spec.update(controller_argument_spec())
    argument_spec.update(keep_open_argument_spec())
    argument_spec.update(gateway_argument_spec())
    argument_spec.update(DOMAINS_ARGUMENT_SPEC)
    argument_spec.update(domain_mark=dict(type='int', default=DEFAULT_MARK))
    argument_spec.update(
        keep_open_families=dict(type='list', elements='int', choices=[4, 6], default=[4, 6]),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    tag_prefix = params['prefix']
    if not TAG_PREFIX.match(tag_prefix):
        module.fail_json(msg='prefix %r must be a slug of at most 31 characters' % tag_prefix)
    for option in ('exclude_blocks', 'guard_blocks'):
        bad = [name for name in params[option] if not SLUG.match(name)]
        if bad:
            module.fail_json(msg='%s: not slugs: %s' % (option, ', '.join(bad)))

    try:
        kept_ports = kept_connection_ports(params['keep_connection'] and params['state'] == 'present',
                                           params['connection_port'])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    if timeout_problem(params['rollback_timeout']):
        module.fail_json(msg='nothing changed: %s' % timeout_problem(params['rollback_timeout']))
    # Everything is rendered and validated before anything is read or written.
    try:
        keep_open = validate_keep_open(params['keep_open'], 'keep_open') \
            if params['state'] == 'present' else []
    except KeepOpenError as exc:
        module.fail_json(msg='nothing changed: %s' % exc)
    try:
        # absent with a rule list also removes those rules' routes when gateway is set
        gateway = gateway_from_params(dict(params, state='present') if params['rules']
                                      else params)
    except ModelError as exc:
        module.fail_json(msg='nothing changed: %s' % exc)
    try:
        wanted = desired_blocks(params['rules'], tag_prefix, gateway)
    except UfwRulesError as exc:
        module.fail_json(msg=str(exc))
    try:
        check_domain_params(params)
    except DomainError as exc:
        module.fail_json(msg='nothing changed: %s' % exc)

    # From the first read to the last change: a concurrent run waits, then diffs
    # against this run's result.
    lock_wait = acquire(module, params['lock_timeout'])
    ufw = module.get_bin_path('ufw')
    if ufw is None or not os.path.exists(os.path.join(UFW_DIR, RULES_FILES[4])):
        not_installed(module, wanted)
    defaults = parse_defaults(read_text(module, DEFAULTS_FILE))
    active = ufw_active(module, ufw)
    # The domain half (module_utils/ufw_domains.py): its tools are checked with ufw's.
    domains = UfwDomains(module, active, defaults['ipv6'])
    domain_desired = domains.desired(params)
    missing = domains.missing(domain_desired)
    if missing:
        if params['if_missing'] == 'report':
            module.exit_json(changed=False, installed=False, added=[], removed=[], owned={},
                             active=active, reloaded=False, guarded=[], policies={},
                             connection_ports=[], msg='%s: nothing was done' % missing)
        module.fail_json(msg='%s; nothing changed' % missing)
    if kept_ports or keep_open:
        # First, so the connection's rule precedes anything that could restrict it. Rules
        # without a network go to the families ufw filters (IPv6 only with IPV6=yes).
        families = [4, 6] if defaults['ipv6'] else [4]
        extra = connection_rules(kept_ports, families) + keep_open_rules(
            keep_open, [family for family in params['keep_open_families'] if family in families])
        params['rules'] = extra + list(params['rules'])
        # keep-open and connection rules are the host's own: never routed
        wanted = desired_blocks(params['rules'], tag_prefix)
        if gateway is not None:
            routes = desired_blocks(params['rules'][len(extra):], tag_prefix, gateway)
            for family in wanted:
                wanted[family] += [block for block in routes[family] if block not in wanted[family]]
    exclude = list(params['exclude_blocks'])
    guarded = []
    if params['guard_blocks'] and restricted_after(params, active, defaults):
        present_blocks = set(rule['block'] for rule in params['rules']) \
            if params['state'] == 'present' else set()
        guarded = [name for name in params['guard_blocks'] if name not in present_blocks]
        exclude += guarded
    if wanted[6] and params['state'] == 'present' and not defaults['ipv6']:
        module.fail_json(msg='IPv6 rules requested but IPV6 is not "yes" in %s; set it or '
                             'select families [4]' % DEFAULTS_FILE)

    plan = plan_files(module, wanted, tag_prefix, exclude)
    if params['rollback_timeout'] and will_change(module, params, plan[1], active, defaults):
        # Before the first write: the host reverts by itself unless the run confirms.
        arm(module, UfwRecipe([os.path.join(UFW_DIR, name) for name in
                               (RULES_FILES[4], RULES_FILES[6], 'ufw.conf')] + [DEFAULTS_FILE],
                              active), params['rollback_timeout'])
    if plan[1] and not module.check_mode and plan[5]:
        # Files as the package ships them: let ufw write its own full format first (same
        # rules, same log level), then plan again on what ufw wrote.
        rc, out, err = module.run_command([ufw, 'logging', ufw_loglevel(module)])
        if rc != 0:
            module.fail_json(msg='ufw logging failed: %s' % (err or out).strip())
        plan = plan_files(module, wanted, tag_prefix, exclude)
        if plan[5]:
            module.fail_json(msg='ufw did not rewrite its package template rules files')
    originals, updated, added, removed, owned, _templates = plan

    result = dict(changed=bool(updated), added=added, removed=removed, owned=owned,
                  active=active, reloaded=False, guarded=guarded, lock_wait=lock_wait,
                  connection_ports=kept_ports, installed=True)
    if module._diff:
        before = sorted(describe_text(item) for item in removed)
        after = sorted(describe_text(item) for item in added)
        result['diff'] = dict(before_header='ufw rules removed', after_header='ufw rules added',
                              before=''.join(line + '\n' for line in before),
                              after=''.join(line + '\n' for line in after))

    # A run killed between writing the files and reloading leaves this marker behind, so
    # the next run reloads even though the files are already as desired. /run is emptied
    # at boot, when ufw loads the files anyway.
    pending = os.path.exists(RELOAD_PENDING)
    families = [family for family in (4, 6) if family == 4 or defaults['ipv6']]
    if active and pending and not updated:
        result['changed'] = True
        result['reload_pending'] = True
    if updated and not module.check_mode:
        backups = []
        mark_reload_pending(True)
        for family, text in sorted(updated.items()):
            path = os.path.join(UFW_DIR, RULES_FILES[family])
            if params['backup']:
                backups.append(module.backup_local(path))
            write_atomic(module, path, text)
        if backups:
            result['backup_files'] = backups
    if (updated or pending) and not module.check_mode:
        if active:
            problem = reload_user_chains(module, families)
            if problem:
                for family in sorted(updated):
                    write_atomic(module, os.path.join(UFW_DIR, RULES_FILES[family]),
                                 originals[family])
                again = reload_user_chains(module, families)
                if again is None:
                    mark_reload_pending(False)
                module.fail_json(msg='the running firewall refused the new rules; the original '
                                     'rules files were restored%s: %s'
                                     % ('' if again is None else ' (reloading them also '
                                        'failed: %s)' % again, problem), **result)
            result['reloaded'] = True
        mark_reload_pending(False)

    # Before policies and enabling: ufw started in this run loads before.rules with our block.
    result = domains.converge(domain_desired, result)

    policies = dict((direction, defaults[direction]) for direction in POLICY_DIRECTIONS)
    for direction in POLICY_DIRECTIONS:
        wanted_policy = params['default_' + direction]
        if wanted_policy and wanted_policy != defaults[direction]:
            result['changed'] = True
            policies[direction] = wanted_policy
            if module._diff:
                result['diff']['before'] += 'default %s: %s\n' % (direction, defaults[direction])
                result['diff']['after'] += 'default %s: %s\n' % (direction, wanted_policy)
            if not module.check_mode:
                rc, out, err = module.run_command([ufw, 'default', wanted_policy, direction])
                if rc != 0:
                    module.fail_json(msg='ufw default %s %s failed: %s'
                                     % (wanted_policy, direction, (err or out).strip()),
                                     **result)
    result['policies'] = policies

    if params['enabled'] is not None:
        enabled_at_boot = _enabled_at_boot(module)
        if params['enabled'] != (active and enabled_at_boot):
            if params['enabled'] or active or enabled_at_boot:
                result['changed'] = True
                if module._diff:
                    result['diff']['before'] += 'active: %s\n' % active
                    result['diff']['after'] += 'active: %s\n' % params['enabled']
                if not module.check_mode:
                    command = [ufw, '--force', 'enable'] if params['enabled'] else [ufw, 'disable']
                    rc, out, err = module.run_command(command)
                    if rc != 0:
                        module.fail_json(msg='%s failed: %s' % (' '.join(command[1:]),
                                                                (err or out).strip()), **result)
    result['msg'] = ('ufw: %d rules added, %d removed, %d jaas rules now; policies %s; '
                     'connection ports kept %s; guarded %s'
                     % (len(added), len(removed), sum(owned.values()),
                        ', '.join('%s %s' % item for item in sorted(policies.items())),
                        kept_ports or 'none', guarded or 'none'))
    module.exit_json(**result)


def _enabled_at_boot(module):
    text = read_text(module, os.path.join(UFW_DIR, 'ufw.conf'))
    for line in text.splitlines():
        if line.strip().startswith('ENABLED='):
            return line.split('=', 1)[1].strip().strip('"\'').lower() == 'yes'
    return False


if __name__ == '__main__':
    main()
