# -*- coding: utf-8 -*-
"""jaas.firewall.drop_report: kernel log lines captured from the test containers
(tests/fixtures/drop_log/dmesg_iso.log, 'dmesg --time-format iso'), parsed, aggregated and
classified. Every expectation below is written by hand from the lines themselves and from the
setup that produced them (the nft rules named in the fixture's header), never computed.
"""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.jaas.firewall.plugins.module_utils import drop_log
from ansible_collections.jaas.firewall.plugins.plugin_utils import drop_report

HERE = os.path.dirname(os.path.abspath(__file__))
CAPTURED = os.path.join(HERE, '..', 'fixtures', 'drop_log', 'dmesg_iso.log')

UDP_V4 = ('2026-12-05T17:19:52,295005+00:00 jaas-drop out IN= OUT=v0 SRC=198.18.52.1 '
          'DST=198.18.52.99 LEN=29 TOS=0x00 PREC=0x00 TTL=64 ID=55771 DF PROTO=UDP SPT=55788 '
          'DPT=10000 LEN=9 ')
TCP_V6 = ('2026-12-05T17:19:52,295254+00:00 jaas-drop out IN= OUT=v0 '
          'SRC=2001:0002:0052:0000:0000:0000:0000:0001 DST=2001:0002:0052:0000:0000:0000:0000:0099 '
          'LEN=80 TC=0 HOPLIMIT=64 FLOWLBL=892098 PROTO=TCP SPT=54292 DPT=443 WINDOW=64800 '
          'RES=0x00 SYN URGP=0 ')
FOREIGN = ('2026-12-05T17:19:52,796798+00:00 old-vpn-block IN= OUT=v0 SRC=198.18.52.1 '
           'DST=198.18.52.20 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=48431 DF PROTO=TCP SPT=39786 '
           'DPT=443 WINDOW=64240 RES=0x00 SYN URGP=0 ')
# 2026-12-05T17:19:52Z = 1796491192 (date -u -d '2026-12-05 17:19:52 UTC' +%s)
T_UDP = 1796491192.295005


def lines():
    with open(CAPTURED) as handle:
        return [line for line in handle if not line.startswith('#')]


def test_parse_our_ipv4_udp_drop():
    drop = drop_log.parse(UDP_V4)
    assert drop == {'tag': 'jaas', 'direction': 'out', 'family': 4, 'proto': 'udp',
                    'address': '198.18.52.99', 'port': 10000, 'src': '198.18.52.1',
                    'dst': '198.18.52.99', 'iif': '', 'oif': 'v0', 'time': pytest.approx(T_UDP, abs=1e-3)}


def test_parse_ipv6_address_is_compressed():
    drop = drop_log.parse(TCP_V6)
    assert (drop['family'], drop['proto'], drop['address'], drop['port']) == \
        (6, 'tcp', '2001:2:52::99', 443)


def test_parse_foreign_prefix_and_direction_from_interfaces():
    drop = drop_log.parse(FOREIGN)
    assert (drop['tag'], drop['direction'], drop['address'], drop['port']) == \
        ('old-vpn-block', 'out', '198.18.52.20', 443)


@pytest.mark.parametrize('header,when', [
    ('1796491192.295005 r22-nft13 kernel: ', T_UDP),                    # journalctl -o short-unix
    ('2026-12-05T17:19:52.295005+00:00 r22-nft13 kernel: ', T_UDP),     # rsyslog kern.log
    ('2026-12-05T18:19:52.295005+01:00 r22-nft13 kernel: [17711.024481] ', T_UDP),
])
def test_headers_of_each_reader(header, when):
    body = UDP_V4.split(' ', 1)[1]
    drop = drop_log.parse(header + body)
    assert drop['tag'] == 'jaas' and drop['direction'] == 'out'
    assert drop['time'] == pytest.approx(when, abs=1e-3)


def test_plain_dmesg_uses_boot_time():
    drop = drop_log.parse('[  100.500000] ' + UDP_V4.split(' ', 1)[1], boot_time=1000.0)
    assert drop['time'] == pytest.approx(1100.5, abs=1e-3) and drop['tag'] == 'jaas'


def test_not_a_drop_line():
    assert drop_log.parse('2026-12-05T17:19:52,1+00:00 eth0: link up') is None
    assert drop_log.parse('IN=eth0 something without addresses') is None


def test_aggregate_the_captured_lines():
    agg = drop_log.Aggregate()
    for line in lines():
        agg.add_line(line)
    got = {(r['tag'], r['direction'], r['proto'], r['address'], r['port']): r['count']
           for r in agg.result()}
    # the fixture: firewalld 1.3.3 and 2.3.1 each rejected one tcp 444 to .10 (see header)
    assert got == {
        ('jaas', 'out', 'tcp', '198.18.52.10', 444): 2,
        ('jaas', 'out', 'udp', '198.18.52.99', 10000): 1,
        ('jaas', 'out', 'tcp', '198.18.52.99', 443): 1,
        ('jaas', 'out', 'tcp', '2001:2:52::99', 443): 1,
        ('jaas', 'out', 'udp', '2001:2:52::99', 50000): 1,
        ('old-vpn-block', 'out', 'tcp', '198.18.52.20', 443): 1,
    }
    assert agg.result()[0]['address'] == '198.18.52.10'        # largest first


def test_since_and_foreign_filters():
    agg = drop_log.Aggregate(since=T_UDP + 0.0001, include_foreign=False)
    for line in (UDP_V4, TCP_V6, FOREIGN):
        agg.add_line(line)
    assert [(r['address'], r['count']) for r in agg.result()] == [('2001:2:52::99', 1)]
    assert agg.too_old == 1


CATALOG = [
    {'direction': 'out', 'family': 4, 'network': '198.18.52.16/28', 'protocol': 'tcp',
     'ports': '443', 'block': 'turn', 'region': 'lab'},
    {'direction': 'out', 'family': 4, 'network': '198.18.52.0/28', 'protocol': 'udp',
     'ports': '10000', 'block': 'jvb', 'region': 'lab'},
    {'direction': 'out', 'family': 6, 'network': '2001:2:53::/48', 'protocol': 'tcp',
     'ports': None, 'block': 'cloudflare', 'region': None},
]
FOREIGN_DROP = {'family': 'inet', 'table': 'foreign', 'chain': 'out', 'handle': 2,
                'rule': 'old vpn block', 'verdict': 'drop'}
OUR_DROP = {'family': 'inet', 'table': 'jaas', 'chain': 'output', 'handle': None,
            'rule': 'reject', 'verdict': 'reject'}


def host_rows():
    agg = drop_log.Aggregate()
    for line in lines():
        agg.add_line(line)
    rows = agg.result()
    for row in rows:
        row['dropped_by'] = FOREIGN_DROP if row['address'] == '198.18.52.20' else OUR_DROP
    return rows


def test_classify_catalog_names_the_foreign_table():
    rows = drop_report.aggregate({'h1': {'rows': host_rows()}}, CATALOG)
    by = {(r['proto'], r['address'], r['port']): r for r in rows}
    foreign = by[('tcp', '198.18.52.20', 443)]
    assert (foreign['verdict'], foreign['block']) == ('catalog', 'turn lab')
    assert foreign['detail'] == 'dropped by inet foreign out (handle 2: old vpn block)'


def test_classify_unknown_and_outside_the_port():
    rows = drop_report.aggregate({'h1': {'rows': host_rows()}}, CATALOG)
    by = {(r['proto'], r['address'], r['port']): r['verdict'] for r in rows}
    assert by[('udp', '198.18.52.99', 10000)] == 'unknown'      # .99 outside 198.18.52.0/28
    assert by[('tcp', '198.18.52.10', 444)] == 'unknown'        # .10 in no tcp rule
    assert by[('tcp', '2001:2:52::99', 443)] == 'unknown'       # 2001:2:52:: not 2001:2:53::


def test_our_drop_of_a_catalog_address_says_rules_outdated():
    row = dict(host_rows()[0], address='198.18.52.5', proto='udp', port=10000)
    rows = drop_report.aggregate({'h1': {'rows': [row]}}, CATALOG)
    assert rows[0]['verdict'] == 'catalog' and rows[0]['block'] == 'jvb lab'
    assert 'older than the catalog' in rows[0]['detail']


def test_domain_when_answered_for_a_listed_name():
    resolver_log = [
        'Dec  5 17:19:50 dnsmasq[412]: query[A] meet.example.test from 127.0.0.1',
        'Dec  5 17:19:50 dnsmasq[412]: reply meet.example.test is 198.18.52.99',
        'Dec  5 17:19:50 dnsmasq[412]: reply other.test is 198.18.52.98',
    ]
    found = drop_log.answers(resolver_log, ['*.example.test'])
    assert found == {'198.18.52.99': ['meet.example.test']}
    rows = host_rows()
    for row in rows:
        if row['address'] in found:
            row['answered_for'] = found[row['address']]
    merged = drop_report.aggregate({'h1': {'rows': rows}}, CATALOG)
    verdicts = {(r['proto'], r['address'], r['port']): r['verdict'] for r in merged}
    assert verdicts[('udp', '198.18.52.99', 10000)] == 'domain'
    assert verdicts[('tcp', '198.18.52.99', 443)] == 'domain'


def test_across_hosts_counts_and_hosts_add_up():
    rows = drop_report.aggregate({'h1': {'rows': host_rows()}, 'h2': {'rows': host_rows()}},
                                 CATALOG)
    top = rows[0]
    assert (top['address'], top['port'], top['count'], top['hosts']) == \
        ('198.18.52.10', 444, 4, ['h1', 'h2'])
    assert top['first'] == '2026-12-05T17:15:46Z'
    assert set(top) >= {'hosts', 'direction', 'proto', 'address', 'port', 'count', 'verdict',
                        'block', 'detail'}


def test_fragment_only_for_unknown_rows_on_the_vendor_ports():
    text = drop_report.fragment(drop_report.aggregate({'h1': {'rows': host_rows()}}, CATALOG))
    # unknown: udp 10000 .99, tcp 443 .99, tcp 443 v6 ::99, udp 50000 v6 ::99 (49152-65535);
    # tcp 444 to .10 is not a vendor port; .20 is catalog
    assert '198.18.52.99/32' in text and '2001:2:52::99/128' in text
    assert 'seen_udp_10000' in text and 'seen_tcp_443' in text and 'seen_udp_50000' in text
    assert '198.18.52.10' not in text and '198.18.52.20' not in text
    assert text.startswith('# Proposed by jaas.firewall.drop_report')
    import yaml
    blocks = yaml.safe_load(text)['blocks']
    assert blocks['seen_udp_10000']['rules'] == [{'protocol': 'udp', 'ports': '10000'}]


def test_json_report(tmp_path):
    rows = drop_report.aggregate({'h1': {'rows': host_rows()}}, CATALOG)
    path = drop_report.write_json(str(tmp_path), {'rows': rows})
    assert json.load(open(path))['rows'][0]['count'] == 2
