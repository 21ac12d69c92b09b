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
    restarting the address's timeout); an address in the answer guard's space
    (O(domain_answer_exclude)) is never marked. ufw accepts marked packets with one rule at
    the end of C(ufw-after-output)/C(ufw6-after-output) - after the user's rules, so an
    operator's deny of an address wins over a DNS answer for it - kept in a marked block of
    C(/etc/ufw/after.rules)/C(after6.rules) and added to the running firewall without a
    ufw reload (a block an earlier release kept in C(before.rules) is removed). The table is
    loaded from C(/etc/jaas-firewall/domains.nft) by the resolver service before it starts."
  - "O(domains) with O(gateway): the resolver also serves the LAN, on the addresses of
    O(gateway_in_interfaces) only (required; never a WAN interface, never a wildcard
    address); the table gets a forward chain marking new connections from those interfaces
    the same way, and the block in C(after.rules)/C(after6.rules) accepts marked packets at
    the end of C(ufw-after-forward) (C(-i LAN -o WAN)) and DNS (UDP and TCP 53) from each LAN
    interface at the end of C(ufw-after-input). A LAN client that asks another resolver gets
    no domain accept."
extends_documentation_fragment:
  - jaas.firewall.rules
  - jaas.firewall.converge
  - jaas.firewall.host_lock
  - jaas.firewall.controller
  - jaas.firewall.connection
  - jaas.firewall.rollback
  - jaas.firewall.gateway
  - jaas.firewall.domains
  - jaas.firewall.answer_guard
options:
  log_drops:
    description:
      - Log what ufw's default deny/reject policies drop - what no rule accepted - for
        M(jaas.firewall.drop_report), with the kernel log prefix C(jaas-drop out ),
        C(jaas-drop in ) or C(jaas-drop fwd ) (gateway mode) that no other rule uses, IPv4 and
        IPv6, rate-limited (10 per second, burst 20).
      - One rule at the end of C(ufw-after-output) (C(ufw-after-input), C(ufw-after-forward) in
        gateway mode; C(ufw6-after-*) for IPv6) per direction whose default policy is V(deny)
        or V(reject) - C(-m limit --limit 10/sec --limit-burst 20 -j LOG --log-prefix
        "jaas-drop out ") - kept in a marked block of /etc/ufw/after.rules (after6.rules), after
        the domain half's block, and added to the running firewall directly (no ufw reload).
        ufw's after chains run after the user chains and before the policy.
      - ufw's own logging (C(ufw logging), prefix C([UFW BLOCK])) is separate and unchanged.
      - With the domain half on (O(domains)), the local resolver also logs its answers
        (dnsmasq C(log-queries), C(log-async)) to the journal of
        C(jaas-firewall-resolver.service), where M(jaas.firewall.drop_report) finds them to
        classify a drop V(domain); V(false) takes that out again (a resolver restart).
      - V(false) removes the block and the rules.
    type: bool
    default: false
    version_added: "0.3.0"
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
      - A ufw that is not running is started as at boot, C(ENABLED=yes) in C(ufw.conf) and
        ufw's C(ufw-init start), after the policies are written to C(/etc/default/ufw) (and
        ufw's log prefixes in C(after.rules)) as C(ufw default) writes them on a disabled ufw
        and the rules files have ufw's logging section for them, as C(ufw logging) writes it
        (written by the module, or by C(ufw logging) when the kernel's C(recent) match is not
        loaded, a policy is unset or a file is not in ufw's layout). The kernel gets
        the rules C(ufw enable) would load, without its one C(iptables) call per logging
        rule. C(ufw --force enable) runs when there is no init script, no valid
        C(LOGLEVEL), or C(ENABLED=yes) already.
    type: bool
  if_missing:
    description:
      - What to do when ufw is not installed and O(state=present).
      - V(fail) fails (check mode reports every rule as to be added).
      - V(report) changes nothing and returns RV(installed=false), so a caller can install
        ufw and call the module again; this is how the role touches the package manager
        only on hosts without ufw.
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
    C(### END RULES ###) line) is first rewritten into ufw's full format as C(ufw logging
    <current level>) writes it, which changes neither rules nor settings: by the module while
    ufw is not running (the same bytes), else by C(ufw logging) itself. So the module only
    ever splices ufw's own full format. Check mode plans such a file as an empty rule list and writes nothing."
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
    - C(confirmed_by) says how the confirmation ran over the new connection. V(script) is the
      stdlib-only confirmation piped into the host's Python without AnsiballZ (with
      pipelining); V(module) is M(jaas.firewall.rollback_confirm) (without pipelining, or
      under C(su)).
  returned: when a revert was armed
  type: dict
  sample: {armed: false, confirmed: true, id: 20261126T101500-3fa2c1, backend: ufw, timeout: 60,
           mechanism: systemd, expires_in: 57.9, armed_over: 198.18.40.1 50514 198.18.40.11 22,
           confirmed_over: 198.18.40.1 50530 198.18.40.11 22,
           confirmed_by: script}
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
diff:
  description:
    - Owned rules removed (C(before)) and added (C(after)), one readable line per rule, then
      the default policies and the enabled state this run changes; returned also without
      diff mode, as by every module on the converge skeleton.
  returned: when the rules files were read
  type: dict
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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.jaas.firewall.plugins.module_utils.converge import argument_spec, run
from ansible_collections.jaas.firewall.plugins.module_utils.ufw_backend import UfwBackend


def main():
    module = AnsibleModule(argument_spec=argument_spec(UfwBackend), supports_check_mode=True)
    run(module, UfwBackend(module))


if __name__ == '__main__':
    main()
