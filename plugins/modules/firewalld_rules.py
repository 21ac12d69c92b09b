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
    firewalld, using firewalld's own D-Bus Python bindings (C(firewall.client)). A run reads
    firewalld's state with plain D-Bus calls and uses the bindings' client only when it changes
    something, so a run that changes nothing costs the firewalld daemon little CPU.
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
  - "With O(domains): firewalld cannot match a set that DNS answers fill, so a small nftables
    table of ours, C(inet jaas_domains) (the one the ufw backend uses), holds the timed sets
    C(domains_<category>_v4) (filled by the local resolver) and an output chain that runs
    before firewalld's and only marks a new connection to a listed address and port
    (C(meta mark set meta mark | O(domain_mark)), restarting the address's timeout); an
    address in the answer guard's space (O(domain_answer_exclude)) is never marked.
    firewalld accepts marked packets through its own permanent configuration: the ipset
    C(<prefix>-domains-v4) of type C(hash:ip,mark) with the one entry C(0.0.0.0/0,<mark>)
    and one rich rule per service in C(<prefix>-egress), such as C(rule family=\"ipv4\"
    destination ipset=\"jaas-domains-v4\" port port=\"443\" protocol=\"tcp\" accept). So
    C(firewall-cmd --reload) keeps the domain access, and the operator's own policies with
    a higher precedence (a lower priority) that reject an address still win over a DNS answer
    for it. The table is loaded from C(/etc/jaas-firewall/domains.nft) by the resolver
    service before it starts."
  - "The domain half is IPv4 only on firewalld: firewalld takes no IPv6 network in a
    C(hash:ip,mark) entry, so AAAA answers open nothing (clients fall back to the IPv4
    answer) and the module warns. The mark is matched exactly: a packet that another tool
    also marks (other mark bits set) is not accepted by the domain rule (fails closed).
    C(FirewallBackend=iptables) is refused with O(domains) (one line naming the nftables
    and squid roles)."
  - "With O(domains) and O(gateway): the marking table also has a forward chain for packets
    arriving on O(gateway_in_interfaces) (required), the policy C(<prefix>-gateway) gets the
    same mark rules, and the policy C(<prefix>-gateway-dns) (O(gateway_ingress_zones) to
    C(HOST); V(ANY) refused) lets LAN clients ask the gateway's resolver over UDP and TCP 53."
extends_documentation_fragment:
  - jaas.firewall.rules
  - jaas.firewall.converge
  - jaas.firewall.host_lock
  - jaas.firewall.controller
  - jaas.firewall.connection
  - jaas.firewall.rollback
  - jaas.firewall.domains
  - jaas.firewall.answer_guard
options:
  domain_mark:
    description:
      - The packet mark bit that carries "allowed by a domain set" from our nftables table to
        firewalld (O(domains)); one bit of the 32-bit mark. firewalld's ipset matches the
        whole mark, so no other bit may be set on those packets.
    type: int
    default: 16777216
  log_drops:
    description:
      - Log what our policies reject or drop, rate-limited (10 per second), with the kernel
        log prefix C(jaas-drop out ) (egress policy) or C(jaas-drop fwd ) (gateway policy),
        IPv4 and IPv6, for M(jaas.firewall.drop_report).
      - One log-only rich rule with priority 32767 per policy whose target is V(REJECT) or
        V(DROP), such as C(rule priority=\"32767\" log prefix=\"jaas-drop out \" level=\"info\"
        limit value=\"10/s\"). firewalld puts a rule with a positive priority in the policy's
        C(_post) chain, after every accept of ours, so only packets our target is about to
        reject are logged. A V(CONTINUE) policy drops nothing and logs nothing.
      - Inbound drops on firewalld are the zones' (ours is a CONTINUE policy), so they are
        not logged by this option (firewalld's own C(LogDenied) logs them, with its prefixes).
      - V(false) removes the log rules again (live, without a reload).
      - With the domain half on (O(domains)), the local resolver also logs its answers
        (dnsmasq C(log-queries), C(log-async)) to the journal of
        C(jaas-firewall-resolver.service), where M(jaas.firewall.drop_report) finds them to
        classify a drop V(domain); V(false) takes that out again (a resolver restart).
    type: bool
    default: false
    version_added: "0.3.0"
  keep_open:
    description:
      - Extra accept rules that must keep working, typically while O(egress_target)
        restricts egress (DNS, the Ansible connection, a proxy). One plain rich rule each;
        a V(out) entry goes into the egress policy, a V(in) entry into the ingress policy.
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
      - With O(domains), also the LAN interfaces whose forwarded packets the marking table
        marks (required then).
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
    details:
      - Starting a stopped firewalld (O(start)) and enabling it at boot (O(enable_at_boot)) are
        predicted like the rules (RV(started), RV(enabled_at_boot)); the rules of a stopped
        firewalld cannot be read, so they are planned only once it runs.
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
resolver:
  description:
    - The local resolver of O(domains) - its service, listening address, the servers it
      forwards to and where they came from, the TTL it hands out, whether /etc/resolv.conf
      is handed over to it, and the steps this run did (would do, in check mode).
  returned: always
  type: dict
domain_steps:
  description: Changes to the marking table of the domain half this run did (would do) - C(table) or C(table removed).
  returned: always
  type: list
  elements: str
domains_broader_than_catalog:
  description: Catalog names the resolver matches more widely than the catalog says (see O(domains)).
  returned: always
  type: list
  elements: str
lock_wait:
  description: Seconds this run waited for the host lock (see O(lock_timeout)).
  returned: when firewalld is installed
  type: float
  sample: 0.0
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.jaas.firewall.plugins.module_utils.converge import argument_spec, run
from ansible_collections.jaas.firewall.plugins.module_utils.firewalld_backend import FirewalldBackend


def main():
    module = AnsibleModule(argument_spec=argument_spec(FirewalldBackend), supports_check_mode=True)
    run(module, FirewalldBackend(module))


if __name__ == '__main__':
    main()
