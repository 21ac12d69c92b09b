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
    for policy in $(firewall-cmd --get-policies); do
        case $policy in jaas-gateway) ;; jaas-*) firewall-cmd --info-policy="$policy" ;; esac
    done
    for ipset in $(firewall-cmd --get-ipsets); do
        case $ipset in jaas-*) firewall-cmd --info-ipset="$ipset" ;; esac
    done
    ;;
nftables)
    # the table without its forward chain (awk: skip from "chain forward {" to its "}")
    nft list table inet jaas 2>/dev/null \
        | awk '/^\tchain forward \{/ {skip = 1} !skip {print} skip && /^\t\}/ {skip = 0}' | grep -v '^$' || true
    ;;
*)
    echo "usage: $0 ufw|firewalld|nftables" >&2; exit 2
    ;;
esac
