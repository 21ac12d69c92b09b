#!/bin/bash
# Print the gateway's OWN (host) rules of one backend, in the firewall's own words, leaving
# out everything that belongs to gateway mode. prepare.yml saves this before gateway mode is
# ever on; the tests compare it in every later phase. Usage: host_rules.sh ufw|firewalld|nftables
set -euo pipefail
case $1 in
ufw)
    ufw show added | grep -v '^ufw route ' || true
    grep -E '^DEFAULT_(INPUT|OUTPUT)_POLICY=' /etc/default/ufw
    { iptables-save -t filter; ip6tables-save -t filter; } | grep -E '^-A ufw6?-user-(input|output) ' || true
    ;;
firewalld)
    # firewalld's runtime through its own D-Bus client: one process, not a firewall-cmd per object
    python3 - <<'PY'
from firewall.client import FirewallClient
client = FirewallClient()
for name in sorted(client.getPolicies()):
    # gateway mode's policies, and the domain half (the phases turn it on and off): the
    # jaas-gateway-dns policy, the mark ipset and the rich rules that use it
    if name.startswith('jaas-') and name not in ('jaas-gateway', 'jaas-gateway-dns'):
        policy = client.getPolicySettings(name).getSettingsDict()
        print('policy %s: target %s, %s -> %s' % (name, policy['target'], ','.join(sorted(policy['ingress_zones'])),
                                                   ','.join(sorted(policy['egress_zones']))))
        for rule in sorted(policy['rich_rules']):
            if 'ipset="jaas-domains-' not in rule:
                print('  ' + rule)
for name in sorted(client.getIPSets()):
    if name.startswith('jaas-') and not name.startswith('jaas-domains-'):
        ipset = client.getIPSetSettings(name)
        print('ipset %s: %s %s' % (name, ipset.getType(), sorted(ipset.getOptions().items())))
        for entry in sorted(client.getEntries(name)):
            print('  ' + entry)
PY
    ;;
nftables)
    # the table without its forward chain (awk: skip from "chain forward {" to its "}") and
    # without the domain half, which the phases turn on and off (its timed sets, the answer
    # guard's sets, the rules that use them, gateway mode's DNS accepts)
    nft list table inet jaas 2>/dev/null \
        | awk '/^\t(chain forward|set domains_|set answer_guard_)/ {skip = 1} !skip {print} skip && /^\t\}/ {skip = 0}' \
        | grep -v -e '^$' -e '@domains_' -e 'comment "gateway dns"' || true
    ;;
*)
    echo "usage: $0 ufw|firewalld|nftables" >&2; exit 2
    ;;
esac
