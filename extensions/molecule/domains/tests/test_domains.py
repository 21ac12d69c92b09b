"""Verify molecule/domains with real DNS answers and real packets between the test hosts.

Expectations are hand-written from the test catalog (files/catalog.yml: domains core =
8x8.vc, *.8x8.vc - TCP 443), the test DNS (files/test_dns.conf.j2) and what the roles
document: the nftables role allows the sets in its table ``inet jaas``; the ufw role keeps
them in ``inet jaas_domains``, whose output chain only marks, and ufw accepts the mark
(a rule in ufw-after-output / ufw6-after-output, after the operator's own rules); the
firewalld role uses the same marking table and firewalld accepts the mark (an ipset
``jaas-domains-v4`` of type hash:ip,mark holding ``0.0.0.0/0,0x1000000`` and a rich rule in
the policy ``jaas-egress``) - IPv4 only, as its README says: AAAA answers stay refused. The
answer guard keeps answers in private space closed (the scenario's guard, molecule.yml,
leaves out benchmarking space, which stands in for public addresses here). Nothing here imports
or runs the collection's code: the kernel's sets are read with ``nft -j``, names are
resolved the way programs do (getaddrinfo through /etc/resolv.conf, or a question over
TCP), and TCP connections go to the peer. Nothing real is ever resolved: the only DNS
server the hosts can reach is the test DNS on the peer, which forwards nothing.

Figures (time from answer to open, set sizes, what expired when) are printed with a
``FIGURE`` prefix; no timing is asserted.
"""
import json
import os
import time

import pytest
import testinfra

PEER_V4, PEER_V6 = '198.18.8.100', '2001:2:0:8::100'
NEW_V4, NEW_V6 = '198.18.8.102', '2001:2:0:8::102'
OTHER_V4, TCP_ONLY_V4, LOOKALIKE_V4 = '198.18.8.101', '198.18.8.103', '198.18.8.104'
TTL = 10                   # jaas_firewall_domain_ttl in converge.yml
LISTEN = '127.0.0.153'     # the resolver's address, from the role's documentation
SERVICE = 'jaas-firewall-resolver.service'
PHASES = ('converge', 'domains_off', 'absent')
# The sets and rules the nftables role documents for jaas_firewall_domains: [core]
DOMAIN_SETS = {'domains_core_v4': 'ipv4_addr', 'domains_core_v6': 'ipv6_addr'}
DOMAIN_RULES = {('ip', 'domains_core_v4', 443), ('ip6', 'domains_core_v6', 443)}
TABLE = {'nft': 'jaas', 'ufw': 'jaas_domains', 'fwd': 'jaas_domains'}
# The families whose answers open (firewalld: IPv4 only, documented in its role README).
FAMILIES = {'nft': (4, 6), 'ufw': (4, 6), 'fwd': (4,)}
FWD_IPSET = 'jaas-domains-v4'
FWD_ENTRY = '0.0.0.0/0,0x1000000'
FWD_RULE = 'rule family="ipv4" destination ipset="jaas-domains-v4" port port="443" protocol="tcp" accept'
UFW_MARK_RULE = {4: '-A ufw-after-output -m mark --mark 0x1000000/0x1000000',
                 6: '-A ufw6-after-output -m mark --mark 0x1000000/0x1000000'}
# Hostile answers of the test DNS for listed names (files/test_dns.conf.j2), and the
# address the operator's own rule denies (prepare.yml).
GUARDED = {'rebind.8x8.vc': ['10.77.0.10', 'fd77::10'], 'cgnat.8x8.vc': ['100.64.77.10'],
           'linklocal.8x8.vc': ['169.254.77.10'], 'alias.8x8.vc': ['10.77.0.11']}
DENIED_V4 = '198.18.8.105'


def docker(host):
    """A direct docker connection to the same container (fast host.run)."""
    return testinfra.get_host('docker://%s' % host.backend.get_hostname())


@pytest.fixture
def instance(host):
    name = host.backend.get_hostname()
    if name == 'domains-peer':
        pytest.skip('peer container')
    box = docker(host)
    phase = box.file('/var/lib/jaas-test/phase').content_string.strip()
    assert phase in PHASES
    return name, box, phase


def kind(name):
    if name.startswith('domains-fwd'):
        return 'fwd'
    return 'ufw' if name.startswith('domains-ufw') else 'nft'


def v6(name):
    """Whether AAAA answers open on this host's backend."""
    return 6 in FAMILIES[kind(name)]


def expected_sets(name):
    return dict((n, t) for n, t in DOMAIN_SETS.items() if v6(name) or n.endswith('_v4'))


def expected_rules(name):
    return set(r for r in DOMAIN_RULES if v6(name) or r[0] == 'ip')


def v6_elements(live):
    return set(live['sets'].get('domains_core_v6', {}).get('elements', {}))


def only(phase, wanted):
    if phase != wanted:
        pytest.skip('phase %s' % phase)


def client(box, *steps):
    out = box.check_output('/usr/local/bin/domain_client.py %s' % ' '.join(steps))
    return dict((item['step'], item) for item in json.loads(out))


def table(box, name='jaas'):
    """{'sets': {name: {'type', 'flags', 'timeout', 'elements': {address: expires}}},
    'rules': [(family, set, port)], 'verdicts': {set: statement kinds},
    'guarded': {set: [sets matched with !=]}} of table inet <name>, None when absent."""
    result = box.run('nft -j list table inet %s' % name)
    if result.rc != 0:
        return None
    sets, rules, verdicts, guarded = {}, [], {}, {}
    for item in json.loads(result.stdout)['nftables']:
        if 'set' in item:
            body = item['set']
            elements = {}
            for elem in body.get('elem', []):
                inner = elem['elem'] if isinstance(elem, dict) and 'elem' in elem else {'val': elem}
                elements[inner['val'] if isinstance(inner['val'], str) else json.dumps(inner['val'])] = \
                    inner.get('expires')
            sets[body['name']] = {'type': body['type'], 'flags': body.get('flags'),
                                  'timeout': body.get('timeout'), 'elements': elements}
        elif 'rule' in item and item['rule']['chain'] == 'output':
            # (equality matches only: the answer guard's `!= @answer_guard_v4` is checked apart)
            matches = dict((m['match']['left'].get('payload', {}).get('protocol'),
                            m['match']['right']) for m in item['rule']['expr']
                           if 'match' in m and m['match']['op'] in ('==', 'in'))
            guards = [m['match']['right'] for m in item['rule']['expr']
                      if 'match' in m and m['match']['op'] == '!=']
            updates = [(s['set']['op'], s['set']['set']) for s in item['rule']['expr'] if 'set' in s]
            for family in ('ip', 'ip6'):
                target = matches.get(family)
                if isinstance(target, str) and target.startswith('@domains_'):
                    assert updates == [('update', target)], 'a new connection must refresh its address'
                    rules.append((family, target[1:], matches.get('tcp')))
                    guarded[target[1:]] = guards
                    verdicts[target[1:]] = sorted(
                        k for s in item['rule']['expr'] for k in s if k not in ('match', 'set'))
    return {'sets': sets, 'rules': rules, 'verdicts': verdicts, 'guarded': guarded}


def figure(name, text):
    print('\nFIGURE %s: %s' % (name, text))


# ---------------------------------------------------------------- converge
def test_sets_and_rules_are_there_and_empty_before_any_lookup(instance):
    name, box, phase = instance
    only(phase, 'converge')
    live = table(box, TABLE[kind(name)])
    assert dict((n, s['type']) for n, s in live['sets'].items() if n.startswith('domains_')) \
        == expected_sets(name)
    for set_name in expected_sets(name):
        assert live['sets'][set_name]['timeout'] == TTL
        assert 'timeout' in live['sets'][set_name]['flags']
        assert live['sets'][set_name]['elements'] == {}, 'nothing resolved yet'
    assert set(live['rules']) == expected_rules(name)
    # the answer guard is checked in the same rule, right after the domain set
    assert live['guarded'] == dict((n, ['@answer_guard_%s' % n.rsplit('_', 1)[1]])
                                   for n in expected_sets(name))
    if kind(name) == 'nft':
        assert all(v == ['accept'] for v in live['verdicts'].values()), live['verdicts']
    elif kind(name) == 'fwd':
        # our table only marks; firewalld's own permanent ipset and rich rule accept the mark
        assert all(v == ['mangle'] for v in live['verdicts'].values()), live['verdicts']
        for layer in ('--permanent ', ''):
            assert box.check_output('firewall-cmd %s--ipset=%s --get-entries'
                                    % (layer, FWD_IPSET)).split() == [FWD_ENTRY]
            assert FWD_RULE in box.check_output('firewall-cmd %s--policy=jaas-egress '
                                                '--list-rich-rules' % layer).splitlines()
        assert 'hash:ip,mark' in box.check_output('firewall-cmd --permanent --info-ipset=%s'
                                                  % FWD_IPSET)
    else:
        # our table only marks; ufw's own chains accept the mark
        assert all(v == ['mangle'] for v in live['verdicts'].values()), live['verdicts']
        assert UFW_MARK_RULE[4] in box.check_output('iptables-save -t filter')
        assert UFW_MARK_RULE[6] in box.check_output('ip6tables-save -t filter')
        assert UFW_MARK_RULE[4] in box.file('/etc/ufw/after.rules').content_string
        assert UFW_MARK_RULE[6] in box.file('/etc/ufw/after6.rules').content_string
        assert 'jaas.firewall' not in box.check_output('cat /etc/ufw/before.rules /etc/ufw/before6.rules')


def test_resolver_took_over_resolv_conf(instance):
    name, box, phase = instance
    only(phase, 'converge')
    text = box.file('/etc/resolv.conf').content_string
    assert [line.split()[1] for line in text.splitlines()
            if line.startswith('nameserver')] == [LISTEN]
    assert box.service(SERVICE).is_running and box.service(SERVICE).is_enabled
    # kept from the host's own file
    expect = 'search test.invalid' if name.endswith('12') else 'options timeout:1 attempts:1'
    assert expect in text
    config = box.file('/etc/jaas-firewall/resolver.conf').content_string
    # *12 forward to what they used before; *13 to jaas_firewall_dns_upstreams only
    servers = [line for line in config.splitlines() if line.startswith('server=')]
    assert servers == ['server=%s' % PEER_V4]
    assert 'cache-size=0' in config.splitlines()


def _rewrite_answer(name, v4, v6):
    """The test DNS answers ``name`` with new addresses from now on (restarted)."""
    peer = testinfra.get_host('docker://domains-peer')
    peer.check_output("sed -i -e 's/^host-record=%s,.*/host-record=%s,%s,%s/' "
                      "/etc/jaas-test-dns.conf" % (name, name, v4, v6))
    peer.check_output('kill $(cat /run/jaas-test-dns.pid); sleep 0.3; '
                      'dnsmasq --conf-file=/etc/jaas-test-dns.conf')


def test_names_open_their_addresses_and_follow_dns(instance):
    """One host's story, in order: before/after the answer, other ports and names, DNS over
    TCP, a changed answer (no Ansible run); the next test goes on with expiry and reloads."""
    name, box, phase = instance
    only(phase, 'converge')
    meet = 'meet-%s.8x8.vc' % name.rsplit('-', 1)[-1]

    # 1. refused before the name is resolved
    before = client(box, 'connect:%s:443' % PEER_V4, 'connect:%s:443' % PEER_V6,
                    'connect:%s:443' % TCP_ONLY_V4)
    assert [r['open'] for r in before.values()] == [False, False, False]

    # 2. allowed after (A and AAAA); other ports, other names, look-alikes stay refused
    after = client(box, 'resolve:' + meet, 'connect:%s:80' % PEER_V4, 'connect:%s:80' % PEER_V6,
                   'resolve:notjaas.example', 'resolve:x8x8.vc', 'tcpdns:tcp.8x8.vc:A')
    answer = after['resolve:' + meet]
    assert answer['addresses'] == sorted([PEER_V4, PEER_V6])
    assert dict(answer['open']) == {PEER_V4: True, PEER_V6: v6(name)}
    assert after['connect:%s:80' % PEER_V4]['open'] is False
    assert after['connect:%s:80' % PEER_V6]['open'] is False
    assert dict(after['resolve:notjaas.example']['open']) == {OTHER_V4: False}
    assert dict(after['resolve:x8x8.vc']['open']) == {LOOKALIKE_V4: False}
    # 3. an answer over TCP fills the set too
    tcp = after['tcpdns:tcp.8x8.vc:A']
    assert dict(tcp['open']) == {TCP_ONLY_V4: True}
    live = table(box, TABLE[kind(name)])
    assert set(live['sets']['domains_core_v4']['elements']) == {PEER_V4, TCP_ONLY_V4}
    assert v6_elements(live) == ({PEER_V6} if v6(name) else set())
    figure('%s answer to open' % name, '%s %ss after its answer (the lookup took %ss); '
           'tcp.8x8.vc over TCP %ss' % (meet, answer['answer_to_open'], answer['seconds'],
                                        tcp['answer_to_open']))
    figure('%s set sizes' % name, 'domains_core_v4 %d (seconds left %s), domains_core_v6 %d'
           % (len(live['sets']['domains_core_v4']['elements']),
              live['sets']['domains_core_v4']['elements'], len(v6_elements(live))))

    # 4. the answer changes: the new address opens at the next lookup, no Ansible run
    _rewrite_answer(meet, NEW_V4, NEW_V6)
    changed = client(box, 'resolve:' + meet)['resolve:' + meet]
    assert changed['addresses'] == sorted([NEW_V4, NEW_V6])
    assert dict(changed['open']) == {NEW_V4: True, NEW_V6: v6(name)}

    # the old address is still allowed: it closes only when its timeout runs out
    old_left = table(box, TABLE[kind(name)])['sets']['domains_core_v4']['elements'].get(PEER_V4)
    assert old_left is not None, '%s left the set before its timeout' % PEER_V4
    box.check_output('date +%s.%N > /var/lib/jaas-test/answer-changed')
    figure('%s old address' % name, '%s had %ss of its %d s left when its name moved'
           % (PEER_V4, old_left, TTL))


def test_the_old_address_expires_and_reloads_are_survived(instance):
    """Continued from the previous test for the same host (run after every host's first
    part, so the hosts' timeouts run out in parallel)."""
    name, box, phase = instance
    only(phase, 'converge')
    meet = 'meet-%s.8x8.vc' % name.rsplit('-', 1)[-1]
    changed_at = float(box.file('/var/lib/jaas-test/answer-changed').content_string)

    # 5. a client in steady use (asking again as the answer TTL says) keeps the new
    #    address open, while the old one - no longer answered, not used - expires
    gone = None
    deadline = time.monotonic() + TTL + 15
    while time.monotonic() < deadline:
        client(box, 'resolve:' + meet)
        if PEER_V4 not in table(box, TABLE[kind(name)])['sets']['domains_core_v4']['elements']:
            gone = round(float(box.check_output('date +%s.%N')) - changed_at, 1)
            break
        time.sleep(1)
    assert gone is not None, '%s still allowed %d s after the answer changed' % (PEER_V4, TTL + 15)
    final = client(box, 'connect:%s:443' % PEER_V4, 'connect:%s:443' % NEW_V4,
                   'connect:%s:443' % NEW_V6)
    assert [r['open'] for r in final.values()] == [False, True, v6(name)]
    figure('%s expiry' % name, '%s was seen gone from the set %ss after its name moved '
           '(ttl %d s; polled about once a second) while %s stayed open'
           % (PEER_V4, gone, TTL, NEW_V4))

    # 6. firewall reloads. nftables: a service restart reloads our table with empty sets
    #    (documented) - refused until the next lookup. ufw: `ufw reload` leaves our table
    #    alone and brings the mark rule back from after.rules (names keep opening); a
    #    resolver restart reloads the table empty - refused until the next lookup.
    if kind(name) == 'nft':
        box.check_output('systemctl restart nftables')
    elif kind(name) == 'fwd':
        # firewalld's reload rebuilds its own tables from the permanent configuration (the
        # mark's ipset and rule are there); our table and its timed entries are not its own:
        # the address answered before the reload stays open without a new lookup
        box.check_output('firewall-cmd --reload')
        assert box.check_output('firewall-cmd --ipset=%s --get-entries' % FWD_IPSET).split() \
            == [FWD_ENTRY]
        assert NEW_V4 in table(box, TABLE['fwd'])['sets']['domains_core_v4']['elements']
        kept = client(box, 'connect:%s:443' % NEW_V4)['connect:%s:443' % NEW_V4]
        assert kept['open'] is True, 'firewall-cmd --reload closed a domain address'
        box.check_output('systemctl restart %s' % SERVICE)
    else:
        box.check_output('ufw reload')
        assert UFW_MARK_RULE[4] in box.check_output('iptables-save -t filter')
        assert UFW_MARK_RULE[6] in box.check_output('ip6tables-save -t filter')
        assert table(box, TABLE['ufw']) is not None
        reloaded = client(box, 'resolve:' + meet)['resolve:' + meet]
        assert dict(reloaded['open']) == {NEW_V4: True, NEW_V6: True}
        box.check_output('systemctl restart %s' % SERVICE)
    assert table(box, TABLE[kind(name)])['sets']['domains_core_v4']['elements'] == {}
    assert client(box, 'connect:%s:443' % NEW_V4)['connect:%s:443' % NEW_V4]['open'] is False
    again = client(box, 'resolve:' + meet)['resolve:' + meet]
    assert dict(again['open']) == {NEW_V4: True, NEW_V6: v6(name)}


def _path_works(box, kind_, address):
    """Positive control: with an accept for this one address inserted first, TCP 443 to
    it connects (so only the firewall refuses it otherwise); the accept is removed again."""
    if kind_ == 'nft':
        family = 'ip6' if ':' in address else 'ip'
        box.check_output('nft insert rule inet jaas output %s daddr %s tcp dport 443 accept '
                         'comment control' % (family, address))
        try:
            return client(box, 'connect:%s:443' % address)['connect:%s:443' % address]['open']
        finally:
            handle = [r['rule']['handle'] for r in json.loads(box.check_output(
                'nft -j list chain inet jaas output'))['nftables']
                if 'rule' in r and r['rule'].get('comment') == 'control']
            for number in handle:
                box.check_output('nft delete rule inet jaas output handle %d' % number)
    if kind_ == 'fwd':
        rich = ('rule family="%s" destination address="%s" port port="443" protocol="tcp" accept'
                % ('ipv6' if ':' in address else 'ipv4', address))
        box.check_output("firewall-cmd --policy=jaas-egress --add-rich-rule='%s'" % rich)
        try:
            return client(box, 'connect:%s:443' % address)['connect:%s:443' % address]['open']
        finally:
            box.check_output("firewall-cmd --policy=jaas-egress --remove-rich-rule='%s'" % rich)
    tool = 'ip6tables' if ':' in address else 'iptables'
    rule = '-d %s -p tcp --dport 443 -j ACCEPT' % address
    box.check_output('%s -I OUTPUT 1 %s' % (tool, rule))
    try:
        return client(box, 'connect:%s:443' % address)['connect:%s:443' % address]['open']
    finally:
        box.check_output('%s -D OUTPUT %s' % (tool, rule))


def test_answers_in_private_space_open_nothing(instance):
    """The answer guard: listed names (one through a CNAME) answered with private, CGNAT,
    link-local and ULA addresses. The resolver still puts them into the set; the rule
    judging the packet refuses them anyway. And the operator's own deny of a listed name's
    address wins over the answer."""
    name, box, phase = instance
    only(phase, 'converge')
    steps = ['resolve:%s' % n for n in sorted(GUARDED)] + ['resolve:denied.8x8.vc']
    found = client(box, *steps)
    live = table(box, TABLE[kind(name)])
    in_sets = set(live['sets']['domains_core_v4']['elements']) | v6_elements(live)
    for hostname, addresses in sorted(GUARDED.items()):
        answer = found['resolve:' + hostname]
        assert answer['addresses'] == sorted(addresses), hostname
        assert dict(answer['open']) == dict((a, False) for a in addresses), hostname
        filled = [a for a in addresses if v6(name) or ':' not in a]
        assert set(filled) <= in_sets, 'the resolver did add %s (the kernel refuses it)' % hostname
    denied = found['resolve:denied.8x8.vc']
    assert denied['addresses'] == [DENIED_V4] and DENIED_V4 in in_sets
    assert dict(denied['open']) == {DENIED_V4: False}, "the operator's deny must win"
    # the paths themselves work: only the firewall refuses them
    for address in ('10.77.0.10', 'fd77::10', '100.64.77.10', '169.254.77.10'):
        assert _path_works(box, kind(name), address) is True, address
    figure('%s answer guard' % name, '%d private answers in the sets, 0 opened; operator deny '
           'of %s kept' % (sum(1 for addresses in GUARDED.values() for a in addresses
                               if v6(name) or ':' not in a), DENIED_V4))


# ---------------------------------------------------------------- domains off / absent
def _handed_back(name, box):
    assert box.run('cmp /etc/resolv.conf /var/lib/jaas-test/resolv.conf.prepare').rc == 0
    if kind(name) == 'ufw':
        for rules in ('before.rules', 'before6.rules', 'after.rules', 'after6.rules'):
            assert box.run('cmp /etc/ufw/%s /var/lib/jaas-test/%s.prepare' % (rules, rules)).rc == 0
        assert 'mark' not in box.check_output('iptables-save -t filter; ip6tables-save -t filter')
        assert table(box, TABLE['ufw']) is None
    if kind(name) == 'fwd':
        assert table(box, TABLE['fwd']) is None
        assert FWD_IPSET not in box.check_output('firewall-cmd --permanent --get-ipsets').split()
        assert FWD_IPSET not in box.check_output('nft list ruleset')
    assert not box.service(SERVICE).is_running
    for path in ('/etc/systemd/system/%s' % SERVICE, '/etc/jaas-firewall',
                 '/var/lib/jaas-firewall/resolver-handover.json'):
        assert not box.file(path).exists, path
    assert LISTEN + ':53' not in box.check_output('ss -lnu; ss -lnt')


def test_domains_off_hands_resolv_conf_back_and_keeps_the_table(instance):
    name, box, phase = instance
    only(phase, 'domains_off')
    _handed_back(name, box)
    if kind(name) == 'nft':
        live = table(box)
        assert live is not None and not [n for n in live['sets'] if n.startswith('domains_')]
        assert live['rules'] == []
    elif kind(name) == 'fwd':
        assert 'jaas-jvb-v4' in box.check_output('firewall-cmd --get-ipsets').split(), \
            'the firewalld rules stay'
        assert 'jaas-domains' not in box.check_output('firewall-cmd --policy=jaas-egress '
                                                      '--list-rich-rules')
    else:
        assert 'jaas:jvb' in box.check_output('ufw show added'), 'the ufw rules stay'
    # names still resolve (the test DNS directly), but open nothing any more
    meet = 'meet-%s.8x8.vc' % name.rsplit('-', 1)[-1]
    result = client(box, 'resolve:' + meet)['resolve:' + meet]
    assert dict(result['open']) == {NEW_V4: False, NEW_V6: False}


def test_absent_removes_table_and_resolver(instance):
    name, box, phase = instance
    only(phase, 'absent')
    _handed_back(name, box)
    assert table(box) is None
    if kind(name) == 'fwd':
        # ours gone, the operator's own policy kept
        policies = box.check_output('firewall-cmd --permanent --get-policies').split()
        assert not [p for p in policies if p.startswith('jaas-')], policies
        assert 'operator-deny' in policies
