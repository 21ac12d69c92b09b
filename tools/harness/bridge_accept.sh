#!/bin/bash
# Let a test route between Docker networks on this machine, and nothing else.
#
#   bridge_accept.sh add TAG NETWORK...   accept packets that stay on each network's bridge
#   bridge_accept.sh remove TAG           delete every rule tagged TAG (and only those)
#
# Why: with bridge netfilter (bridge-nf-call-iptables=1) a packet a gateway container routes
# from one --internal network to another crosses the machine's iptables FORWARD chain twice
# (in and out of the same bridge, each time with an address outside that network), and
# Docker 20.10's isolation rules for internal networks drop it. One ACCEPT per bridge in
# DOCKER-USER (jumped to before Docker's own rules) lets packets that stay on that bridge
# pass; packets between a test bridge and anything else are still Docker's business.
# Rules carry the comment TAG so they can be found and removed; IPv4 only (dockerd here
# programs no ip6tables rules, see README "IPv6 on internal networks").
set -euo pipefail

usage() { echo "usage: $0 add TAG NETWORK... | remove TAG" >&2; exit 2; }
[ $# -ge 2 ] || usage
action=$1 tag=$2
shift 2
[[ $tag =~ ^[a-z0-9][a-z0-9-]{0,40}$ ]] || { echo "$0: TAG must be lowercase letters, digits or -" >&2; exit 2; }

bridge_of() {
    local name id
    name=$(docker network inspect -f '{{index .Options "com.docker.network.bridge.name"}}' "$1")
    if [ -z "$name" ] || [ "$name" = "<no value>" ]; then
        id=$(docker network inspect -f '{{.Id}}' "$1")
        name="br-${id:0:12}"
    fi
    echo "$name"
}

case $action in
add)
    [ $# -ge 1 ] || usage
    for network in "$@"; do
        bridge=$(bridge_of "$network")
        rule=(DOCKER-USER -i "$bridge" -o "$bridge" -m comment --comment "$tag" -j ACCEPT)
        iptables -C "${rule[@]}" 2>/dev/null || iptables -I "${rule[0]}" 1 "${rule[@]:1}"
        echo "DOCKER-USER: accept $bridge -> $bridge ($network, tag $tag)"
    done
    ;;
remove)
    [ $# -eq 0 ] || usage
    removed=0
    # iptables -S prints each rule as the arguments that created it; the tag has no spaces.
    while read -r -a words; do
        for ((i = 0; i < ${#words[@]} - 1; i++)); do
            if [ "${words[i]}" = "--comment" ] && [ "${words[i+1]}" = "$tag" ]; then
                words[0]=-D
                iptables "${words[@]}"
                removed=$((removed + 1))
                break
            fi
        done
    done < <(iptables -S DOCKER-USER 2>/dev/null || true)
    echo "DOCKER-USER: removed $removed rule(s) tagged $tag"
    ;;
*)
    usage
    ;;
esac
