#!/usr/bin/env python3
"""Capture real ``nft -j list ruleset`` dumps (and ``iptables-legacy-save``) for the verify
evaluator's unit tests (tests/unit/test_nft_eval.py), from harness containers of
jaas-firewall-test:bookworm (nft 1.0.6) and :trixie (nft 1.1.x), --network none.

    .venv/bin/python tests/golden/verify/capture.py     # writes tests/golden/verify/<scenario>_<suite>.json

Scenarios (addresses from 198.18.0.0/15 and 2001:2::/48 only; see SCENARIOS below):
  nftables   the nftables backend's fixture table in gateway mode (tests/golden/nftables_fixture.json,
             the same script the backend writes) plus a foreign table inet foreign whose output chain
             drops 198.18.2.101 and a table ip foreign4 on output at priority 10 with a jump/return chain
  firewalld  firewalld running, a policy HOST -> ANY with target REJECT that accepts
             198.18.2.0/25 tcp 443 by a rich rule (the egress shape of the firewalld backend)
  ufw        ufw default deny outgoing, allow out to 198.18.2.0/25 port 443 proto tcp
             (iptables-nft on Debian 12 and 13)
  docker     the nftables fixture table in gateway mode plus a Docker-like DOCKER-USER chain
             (iptables-nft filter FORWARD -> DOCKER-USER) dropping 198.18.2.160/27
  legacy     iptables-legacy: OUTPUT policy DROP, accept 198.18.2.128/27 tcp 443, a user chain
Each file holds {"suite", "nft_version", "ruleset" (nft -j), "legacy" {"4": text, "6": text}
(iptables-legacy-save), "nft_save" {"4": text, "6": text} (iptables-nft-save)}: what
jaas.firewall.verify_policy reads on a host.
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(ROOT, '.collections'))
sys.path.insert(0, os.path.join(ROOT, 'tests'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'golden'))

FOREIGN = r'''
nft -f - <<'NFT'
table inet foreign {
    chain out {
        type filter hook output priority 10; policy accept;
        ip daddr 198.18.2.101 udp dport 443 counter drop comment "foreign drop"
    }
}
table ip foreign4 {
    chain sub {
        ip daddr 198.18.2.160/27 return
        ip daddr { 198.18.2.102, 198.18.3.0/24 } tcp dport { 443, 8000-8100 } reject
    }
    chain out {
        type filter hook output priority 10; policy accept;
        meta l4proto tcp jump sub
    }
}
NFT
'''

FIREWALLD = r'''
set -e
systemctl start firewalld
firewall-cmd --permanent --new-policy=jaasout
firewall-cmd --permanent --policy=jaasout --add-ingress-zone=HOST
firewall-cmd --permanent --policy=jaasout --add-egress-zone=ANY
firewall-cmd --permanent --policy=jaasout --set-target=REJECT
firewall-cmd --permanent --policy=jaasout --add-rich-rule='rule family="ipv4" \
    destination address="198.18.2.0/25" port port="443" protocol="tcp" accept'
firewall-cmd --reload
'''

UFW = r'''
set -e
ufw default deny outgoing
ufw allow out to 198.18.2.0/25 port 443 proto tcp comment 'jaas test'
ufw allow 22/tcp
ufw --force enable
'''

DOCKER = r'''
set -e
iptables -N DOCKER-USER
iptables -A DOCKER-USER -d 198.18.2.160/27 -j DROP
iptables -A DOCKER-USER -j RETURN
iptables -A FORWARD -j DOCKER-USER
'''

LEGACY = r'''
set -e
iptables-legacy -P OUTPUT DROP
iptables-legacy -N jaas-out
iptables-legacy -A OUTPUT -o lo -j ACCEPT
iptables-legacy -A OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
iptables-legacy -A OUTPUT -j jaas-out
iptables-legacy -A jaas-out -d 198.18.2.100/32 -j RETURN
iptables-legacy -A jaas-out -p tcp -d 198.18.2.128/27 --dport 443 -j ACCEPT
iptables-legacy -A jaas-out -p udp -d 198.18.2.128/27 -m multiport --dports 10000,20000:20010 -j ACCEPT
ip6tables-legacy -A OUTPUT -d 2001:2:0:2::100/128 -p tcp --dport 443 -j REJECT
'''


def fixture_script(container):
    from nftables_capture import fixture_model
    from ansible_collections.jaas.firewall.plugins.module_utils import nftables_plan as nft
    data, model = fixture_model(gateway=True)
    subprocess.run(['docker', 'exec', '-i', container, 'nft', '-f', '-'],
                   input=nft.script(model, data['table']), text=True, check=True)


SCENARIOS = {
    'nftables': lambda host: (fixture_script(host.name), host.sh(FOREIGN)),
    'firewalld': lambda host: host.sh(FIREWALLD, timeout=180),
    'ufw': lambda host: host.sh(UFW),
    'docker': lambda host: (fixture_script(host.name), host.sh(DOCKER)),
    'legacy': lambda host: host.sh(LEGACY),
}


def capture(host, scenario):
    SCENARIOS[scenario](host)
    version = host.sh('nft --version').stdout.split()[1].lstrip('v')
    ruleset = json.loads(host.sh('nft -j list ruleset').stdout)
    legacy = {}
    for family, tool in (('4', 'iptables-legacy-save'), ('6', 'ip6tables-legacy-save')):
        out = host.sh('command -v %s >/dev/null && %s || true' % (tool, tool), check=False)
        legacy[family] = out.stdout
    nft_save = {}
    for family, tool in (('4', 'iptables-nft-save'), ('6', 'ip6tables-nft-save')):
        nft_save[family] = host.sh('command -v %s >/dev/null && %s || true' % (tool, tool),
                                   check=False).stdout
    path = os.path.join(HERE, '%s_%s.json' % (scenario, host.suite))
    with open(path, 'w') as handle:
        json.dump({'suite': host.suite, 'nft_version': version, 'scenario': scenario,
                   'ruleset': ruleset, 'legacy': legacy,
                   'nft_save': nft_save}, handle, indent=1, sort_keys=True)
        handle.write('\n')
    print('%s: nft %s -> %s' % (host.name, version, os.path.relpath(path, ROOT)))


def main(scenarios):
    from reliability import harness
    import concurrent.futures
    scenarios = scenarios or sorted(SCENARIOS)
    try:
        jobs = [(scenario, suite) for suite in ('bookworm', 'trixie') for scenario in scenarios]
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            hosts = list(pool.map(lambda job: harness.Host.start('cap-%s-%s' % job, job[1],
                                                                 prefix='v22-'), jobs))
        for (scenario, _suite), host in zip(jobs, hosts):
            capture(host, scenario)
    finally:
        harness.remove_all()


if __name__ == '__main__':
    main(sys.argv[1:])
