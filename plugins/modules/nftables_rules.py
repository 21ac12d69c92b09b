#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: nftables_rules
author: jaas.firewall contributors (@jaas-firewall)
version_added: "0.2.0"
short_description: Converge one nftables table of its own to the JaaS rules, atomically
description:
  - Applies the rule list produced by the P(jaas.firewall.rules#filter) filter to nftables,
    in one table of its own, C(inet <prefix>) (C(inet jaas) by default). No other table is
    read for changes, modified or flushed; the module never runs C(flush ruleset).
  - Every (block, family) becomes one named interval set (C(v4_<block>), C(v6_<block>)) holding
    its networks, and every (block, family, protocol, ports) one accept rule referencing the
    set, so the number of rules does not grow with the catalog, only the set elements do.
    Outbound rules go into the base chain C(output), inbound ones (webhook origins) into C(input).
  - With O(gateway) the outbound rules also go into a base chain C(forward), for traffic
    forwarded from O(gateway_in_interfaces) to O(gateway_out_interfaces) (C(iifname),
    C(oifname)), referencing the same sets. Its policy is O(default_forward); with V(drop)
    or V(reject) it first accepts replies (C(ct state established,related)). The input and
    output chains are the same with or without gateway mode.
  - Reads the table once (C(nft -j list table)), compares it with the desired table, and when
    they differ writes one script that deletes and recreates the table; C(nft -c) checks it,
    then C(nft -f) applies it as a single transaction, so the kernel holds the old table or
    the new one, never a mix. A converged host gets no transaction and reports no change.
  - With O(default_outgoing) or O(default_incoming) V(drop) or V(reject), that chain also gets,
    before everything else, accept rules for established and related traffic, the loopback
    interface, ICMPv6 neighbour discovery, the Ansible connection (O(keep_connection), input
    only) and O(keep_open) entries. In an accepting chain these would change nothing, so they
    are left out.
  - "nftables semantics: every table's base chains see every packet. An accept here does
    not override a drop in another table, and a drop here drops what other tables accept."
  - "With O(domains), each (category, family) gets a timed set C(domains_<category>_v4) /
    C(domains_<category>_v6) (C(flags dynamic,timeout), C(timeout) O(domain_ttl)) and the
    output chain one rule per (category, family, protocol, ports), ahead of its final
    reject - C(ip daddr @domains_core_v4 tcp dport 443 update @domains_core_v4 { ip daddr }
    accept). The local resolver fills the sets (C(nftset=)); a new connection restarts
    its address's timeout. The elements are the resolver's - they never count as a change,
    and when the table is replaced anyway they are carried over with their time left.
    The saved copy has the sets empty."
  - "O(domains) with O(gateway): the resolver also serves the LAN, on the addresses of
    O(gateway_in_interfaces) only (required; never a WAN interface, never a wildcard
    address), the forward chain gets the same domain rules LAN to WAN (C(iifname ... oifname
    ... ip daddr @domains_core_v4 ip daddr != @answer_guard_v4 tcp dport 443 ct state new
    update @domains_core_v4 { ip daddr } accept)), and an input chain that drops accepts DNS
    (UDP and TCP 53) from the LAN interfaces (C(comment \"gateway dns\")). A LAN client that
    asks another resolver gets no domain accept."
  - With O(persist) the same script is saved to O(persist_file), and one C(include) line for it
    is added to O(persist_config), the file the distribution's C(nftables.service) loads at
    boot; the service is enabled. The rest of that file (your own rules) is never rewritten.
extends_documentation_fragment:
  - jaas.firewall.rules
  - jaas.firewall.converge
  - jaas.firewall.host_lock
  - jaas.firewall.controller
  - jaas.firewall.connection
  - jaas.firewall.rollback
  - jaas.firewall.domains
  - jaas.firewall.answer_guard
  - jaas.firewall.gateway
options:
  prefix:
    description:
      - Name of our table (family C(inet)), the ownership mark. 1-32 lowercase letters,
        digits or C(_), starting with a letter.
    type: str
    default: jaas
  default_outgoing:
    description:
      - Policy of our C(output) chain for traffic no rule accepted. V(reject) drops with an
        immediate ICMP administratively-prohibited error to the local sender.
    type: str
    choices: [accept, drop, reject]
    default: accept
  default_incoming:
    description: Policy of our C(input) chain, as O(default_outgoing).
    type: str
    choices: [accept, drop, reject]
    default: accept
  default_forward:
    description:
      - Policy of our C(forward) chain (only with O(gateway)). V(accept) blocks nothing
        that other tables accept; V(drop) and V(reject) restrict every forwarded packet -
        also of containers or VMs this host routes - to the gateway rules and replies.
    type: str
    choices: [accept, drop, reject]
    default: accept
    version_added: "0.2.0"
  persist:
    description:
      - Save the table so C(nftables.service) restores it at boot (see the description).
        V(false) removes our saved file and include line if an earlier run added them.
      - The service is enabled, never disabled, started or restarted by this module.
    type: bool
    default: true
  persist_config:
    description:
      - The file C(nftables.service) loads; one include line for O(persist_file) is added to
        it or removed from it. Created (with only that line) when missing.
      - Default C(/etc/nftables.conf) (Debian, Ubuntu), or C(/etc/sysconfig/nftables.conf)
        when only that one exists (Red Hat family).
    type: path
  persist_file:
    description: Where our saved table goes; default C(/etc/nftables.d/<prefix>.nft).
    type: path
  log_drops:
    description:
      - Log what our chains drop or reject - what no rule of ours accepted - for
        M(jaas.firewall.drop_report). Each chain whose policy is V(drop) or V(reject) (C(input),
        C(output), C(forward) in gateway mode) gets one last rule (before the final reject),
        C(limit rate 10/second burst 20 packets log prefix "jaas-drop out " level info comment
        "log drops") (C(jaas-drop in ), C(jaas-drop fwd )), IPv4 and IPv6 alike (table C(inet)).
        The prefix is used by no other rule. Accepting chains drop nothing of ours and get none.
      - V(false) leaves no logging rule in our table (a run removes them).
      - With the domain half on (O(domains)), the local resolver also logs its answers
        (dnsmasq C(log-queries), C(log-async)) to the journal of
        C(jaas-firewall-resolver.service), where M(jaas.firewall.drop_report) finds them to
        classify a drop V(domain); V(false) takes that out again (a resolver restart).
      - The kernel logs packets of other network namespaces (containers) only with the sysctl
        C(net.netfilter.nf_log_all_netns=1) on the host.
    type: bool
    default: false
    version_added: "0.3.0"
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
    details: The script is still checked with C(nft -c), which changes nothing.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: Our table before and after in nft syntax, set elements one per line.
requirements:
  - nftables (the C(nft) command with JSON output), Linux with nf_tables, root.
notes:
  - The whole table is replaced in one transaction when anything differs (a set element, a
    rule, a policy, or an object someone else added to our table). Established connections
    are unaffected.
  - A restrictive input policy also blocks what conntrack cannot relate, for example DHCPv6
    replies; add such ports to O(keep_open).
seealso:
  - plugin: jaas.firewall.rules
    plugin_type: filter
  - module: jaas.firewall.ufw_rules
  - module: jaas.firewall.firewalld_rules
"""

EXAMPLES = r"""
- name: Allow the JaaS egress in table inet jaas (rules computed on the controller)
  jaas.firewall.nftables_rules:
    rules: "{{ lookup('jaas.firewall.catalog') | jaas.firewall.rules }}"

- name: Restrict egress to JaaS and DNS; webhooks to port 8443; keep the SSH connection
  jaas.firewall.nftables_rules:
    rules: "{{ lookup('jaas.firewall.catalog') | jaas.firewall.rules(webhooks=true, webhook_port=8443) }}"
    default_outgoing: reject
    keep_connection: true
    keep_open:
      - {direction: out, protocol: udp, port: "53"}
      - {direction: out, protocol: tcp, port: "53"}
      - {direction: out, protocol: tcp, port: "3128", network: 10.0.0.8/32}

- name: A gateway - LAN clients on lan0 may reach JaaS through wan0, nothing else is forwarded
  jaas.firewall.nftables_rules:
    rules: "{{ lookup('jaas.firewall.catalog') | jaas.firewall.rules }}"
    gateway: true
    gateway_in_interfaces: [lan0]
    gateway_out_interfaces: [wan0]
    default_forward: reject

- name: Also allow TCP 443 to whatever the core domains resolve to (local resolver, 1 h timeout)
  jaas.firewall.nftables_rules:
    rules: "{{ lookup('jaas.firewall.catalog') | jaas.firewall.rules }}"
    domains:
      - category: core
        names: "{{ lookup('jaas.firewall.catalog').domains.core.names }}"
        rules: [{protocol: tcp, ports: "443"}]
    domain_ttl: 3600

- name: Remove the table, the saved file and the include line
  jaas.firewall.nftables_rules:
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
  sample: {armed: false, confirmed: true, id: 20261126T101500-3fa2c1, backend: nftables, timeout: 60,
           mechanism: systemd, expires_in: 58.2, armed_over: 198.18.40.1 50514 198.18.40.11 22,
           confirmed_over: 198.18.40.1 50530 198.18.40.11 22,
           confirmed_by: script}
added:
  description: What the run adds (would add, in check mode), one line per table, set, element, chain or rule.
  returned: always
  type: list
  elements: str
  sample: ["element v4_turn 198.18.2.100/32", "rule output: ip daddr @v4_jvb tcp dport 443 accept comment \"jvb\""]
removed:
  description: What the run removes, in the same form.
  returned: always
  type: list
  elements: str
  sample: ["element v4_turn 198.18.2.101/32"]
diff:
  description: Our table before and after in nft syntax, with where it is saved.
  returned: always
  type: dict
installed:
  description:
    - Whether C(nft) exists - and, with O(domains), C(dnsmasq) (V(false) only with
      O(if_missing=report) or O(state=absent)).
  returned: always
  type: bool
table:
  description: Our table after the run, V(null) when absent.
  returned: when nft is installed
  type: str
  sample: inet jaas
sets:
  description: Number of named sets in our table after the run.
  returned: when nft is installed
  type: int
  sample: 7
elements:
  description: Number of set elements (networks, adjacent ones merged) after the run.
  returned: when nft is installed
  type: int
  sample: 186
rules:
  description: Number of rules in our chains after the run.
  returned: when nft is installed
  type: int
  sample: 13
policies:
  description: Policy of each of our chains after the run.
  returned: when nft is installed
  type: dict
  sample: {input: accept, output: drop, forward: drop}
transaction:
  description: Whether the table was (would be) replaced by an C(nft -f) transaction.
  returned: when nft is installed
  type: bool
persist_changes:
  description: Persistence steps done (to do, in check mode) - C(write), C(include), C(uninclude), C(delete), C(enable).
  returned: when nft is installed
  type: list
  elements: str
  sample: ["write /etc/nftables.d/jaas.nft", "include /etc/nftables.conf (include \"/etc/nftables.d/jaas.nft\")"]
persist_file:
  description: Path of the saved table.
  returned: when nft is installed
  type: str
  sample: /etc/nftables.d/jaas.nft
connection_ports:
  description: TCP ports kept open for the Ansible connection (O(keep_connection)).
  returned: always
  type: list
  elements: int
  sample: [22]
resolver:
  description:
    - The local resolver of O(domains) - its service, listening address, the servers it
      forwards to and where they came from, the TTL it hands out, whether /etc/resolv.conf
      is handed over to it, and the steps this run did (would do, in check mode).
  returned: when nft is installed
  type: dict
  sample: {service: jaas-firewall-resolver.service, listen: 127.0.0.153, upstreams: [198.18.8.53],
           upstreams_from: previous resolv.conf, answer_ttl: 60, handed_over: true,
           steps: [config, unit, daemon-reload, enable, restart, record, handover]}
domain_elements:
  description: Addresses in each domain set when the run read the table (what DNS answers put there).
  returned: when nft is installed
  type: dict
  sample: {domains_core_v4: 3, domains_core_v6: 1}
domains_broader_than_catalog:
  description: Catalog names the resolver matches more widely than the catalog says (see O(domains)).
  returned: when nft is installed
  type: list
  elements: str
  sample: ["auxiliary: *.youtube.com also matches the apex youtube.com"]
lock_wait:
  description: Seconds this run waited for the host lock (see O(lock_timeout)).
  returned: when nft is installed
  type: float
  sample: 0.0
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.jaas.firewall.plugins.module_utils.converge import argument_spec, run
from ansible_collections.jaas.firewall.plugins.module_utils.nftables_backend import NftablesBackend


def main():
    module = AnsibleModule(argument_spec=argument_spec(NftablesBackend), supports_check_mode=True)
    run(module, NftablesBackend(module))


if __name__ == '__main__':
    main()
