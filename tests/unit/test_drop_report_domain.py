# -*- coding: utf-8 -*-
"""Issue 22: the drop report's ``domain`` verdict from the local resolver's own answers, and
one count per packet logged twice.

* ``log_drops`` with the domain half on: the resolver configuration gets ``log-queries``
  (answers go to the unit's journal through syslog) and ``log-async``; ``false`` takes them out
  again through the ordinary restart path;
* drop_report reads ``journalctl -u jaas-firewall-resolver.service`` when that unit is
  installed and the admin named no log; the admin's ``dns_log_path``/``dns_log_unit`` win;
* dnsmasq 2.90 (Debian 12) and 2.91 (Debian 13) ``log-queries`` lines, captured from the test
  images (log-facility file: ``<date> dnsmasq[pid]: <message>``; the journal with ``-o cat``
  prints the message alone), give the addresses answered for listed names;
* a packet logged as ``jaas-drop out`` and as ``[UFW BLOCK]`` (ufw's own logging) or a
  firewalld ``LogDenied`` prefix counts once, as ours; identical packets logged by one rule
  each count each.

Expectations are hand-written (the lines below, the dnsmasq manual's option names).
"""

from __future__ import annotations

import pytest

from ansible_collections.jaas.firewall.plugins.module_utils import drop_log
from ansible_collections.jaas.firewall.plugins.module_utils import resolver_files as files
from ansible_collections.jaas.firewall.plugins.modules import drop_report as module

from canned.nftables import result
from canned.nftables_domains import host, run_domains  # noqa: F401 (fixture)

# dnsmasq 2.90, jaas-firewall-test:bookworm, log-queries + log-facility (verbatim)
DNSMASQ_290 = '''\
Dec  5 18:07:39 dnsmasq[14]: started, version 2.90 cache disabled
Dec  5 18:07:39 dnsmasq[14]: using nameserver 127.0.0.77#53
Dec  5 18:07:39 dnsmasq[14]: query[A] meet.d22.test from 127.0.0.1
Dec  5 18:07:39 dnsmasq[14]: forwarded meet.d22.test to 127.0.0.77
Dec  5 18:07:39 dnsmasq[14]: reply meet.d22.test is 198.18.60.10
Dec  5 18:07:39 dnsmasq[14]: query[AAAA] meet.d22.test from 127.0.0.1
Dec  5 18:07:39 dnsmasq[14]: forwarded meet.d22.test to 127.0.0.77
Dec  5 18:07:39 dnsmasq[14]: reply meet.d22.test is 2001:2:60::10
Dec  5 18:07:39 dnsmasq[14]: query[A] alias.d22.test from 127.0.0.1
Dec  5 18:07:39 dnsmasq[14]: forwarded alias.d22.test to 127.0.0.77
Dec  5 18:07:39 dnsmasq[14]: reply alias.d22.test is <CNAME>
Dec  5 18:07:39 dnsmasq[14]: reply meet.d22.test is NODATA-IPv4
Dec  5 18:07:39 dnsmasq[14]: query[A] other.d22.test from 127.0.0.1
Dec  5 18:07:39 dnsmasq[14]: forwarded other.d22.test to 127.0.0.77
Dec  5 18:07:39 dnsmasq[14]: reply other.d22.test is NXDOMAIN
'''
# dnsmasq 2.91, jaas-firewall-test:trixie, the journal of the unit (journalctl -o cat)
DNSMASQ_291_JOURNAL = '''\
started, version 2.91 cache disabled
query[A] meet.d22.test from 127.0.0.1
forwarded meet.d22.test to 127.0.0.77
reply meet.d22.test is 198.18.61.10
query[A] cdn.d22.test from 127.0.0.1
forwarded cdn.d22.test to 127.0.0.77
reply cdn.d22.test is <CNAME>
reply edge.provider.test is 198.18.61.20
query[A] unlisted.test from 127.0.0.1
forwarded unlisted.test to 127.0.0.77
reply unlisted.test is 198.18.61.30
'''


def test_log_drops_makes_the_resolver_log_its_answers():
    plain = files.dnsmasq_config({'d22.test': ['4#inet#jaas#domains_core_v4']}, 'nftset',
                                 ['198.18.60.2'], None, 30)
    logged = files.dnsmasq_config({'d22.test': ['4#inet#jaas#domains_core_v4']}, 'nftset',
                                  ['198.18.60.2'], None, 30, log_answers=True)
    assert 'log-queries' not in plain.splitlines()
    lines = logged.splitlines()
    assert 'log-queries' in lines
    assert any(line.startswith('log-async=') for line in lines)
    # no file of ours to rotate: syslog, i.e. the unit's journal
    assert not any(line.startswith('log-facility') for line in lines)
    assert set(lines) - set(plain.splitlines()) <= {
        'log-queries', 'log-async=%d' % files.LOG_ASYNC_LINES,
        '# log_drops: answers go to the journal of %s (jaas.firewall.drop_report)' % files.SERVICE}


def _config(host):
    with open(host.paths['config']) as handle:
        return handle.read().splitlines()


def test_nftables_rules_log_drops_reaches_the_resolver_and_false_takes_it_out(host, capsys):
    host.table = False
    host.with_domains = False
    run_domains(host, log_drops=True)
    out = result(capsys)
    assert out['changed'] is True and 'log-queries' in _config(host)
    host.commands = []
    run_domains(host, log_drops=False)
    out = result(capsys)
    assert 'log-queries' not in _config(host)
    assert 'config' in out['resolver']['steps'] and 'restart' in out['resolver']['steps']
    assert 'restart %s' % files.SERVICE in host.commands


@pytest.mark.parametrize('text', [DNSMASQ_290, DNSMASQ_290.replace('2.90', '2.91')])
def test_answers_from_real_dnsmasq_lines(text):
    found = drop_log.answers(text.splitlines(), ['d22.test', '*.d22.test'])
    assert found == {'198.18.60.10': ['meet.d22.test'], '2001:2:60::10': ['meet.d22.test']}


def test_answers_through_a_cname_count_for_the_listed_name_asked():
    found = drop_log.answers(DNSMASQ_291_JOURNAL.splitlines(), ['*.d22.test'])
    assert found == {'198.18.61.10': ['meet.d22.test'], '198.18.61.20': ['cdn.d22.test']}


def _params(**overrides):
    params = {'dns_log_path': None, 'dns_log_unit': None}
    params.update(overrides)
    return params


def test_the_local_resolvers_journal_is_read_by_default(tmp_path):
    unit = tmp_path / 'jaas-firewall-resolver.service'
    assert module.dns_log_sources(_params(), str(unit)) == (None, None)
    unit.write_text('[Unit]\n')
    assert module.dns_log_sources(_params(), str(unit)) == (None, files.SERVICE)
    assert module.dns_log_sources(_params(dns_log_path='/var/log/dnsmasq.log'), str(unit)) == \
        ('/var/log/dnsmasq.log', None)
    assert module.dns_log_sources(_params(dns_log_unit='dnsmasq.service'), str(unit)) == \
        (None, 'dnsmasq.service')


class FakeModule(object):
    def __init__(self, journal_text):
        self.journal_text = journal_text
        self.argv = []

    def get_bin_path(self, name):
        return '/usr/bin/' + name if name == 'journalctl' else None

    def run_command(self, argv, **kwargs):
        self.argv.append(argv)
        return 0, self.journal_text, ''

    def fail_json(self, **kwargs):
        raise AssertionError(kwargs)


def test_read_answers_asks_the_resolver_unit_bounded(monkeypatch, tmp_path):
    unit = tmp_path / 'unit.service'
    unit.write_text('[Unit]\n')
    monkeypatch.setattr(files, 'UNIT_FILE', str(unit))
    fake = FakeModule(DNSMASQ_291_JOURNAL)
    params = _params(domain_names=['*.d22.test'], max_lines=5000, timeout=7)
    found, read = module.read_answers(fake, params, 1764928000)
    assert found['198.18.61.10'] == ['meet.d22.test']
    assert read == 'journalctl -u %s' % files.SERVICE
    argv = fake.argv[0]
    assert argv[:3] == ['/usr/bin/journalctl', '-u', files.SERVICE]
    assert argv[argv.index('--since') + 1] == '@1764928000'
    assert argv[argv.index('-n') + 1] == '5000'


# One TCP SYN to an unlisted address, logged by our rule at the end of ufw-after-output and by
# ufw's own logging (ufw-after-logging-output) - same packet fields, same time. Shape from the
# kernel's nf_log_syslog output for an OUTPUT packet (journalctl -k -o short-unix).
FIELDS4 = ('IN= OUT=v0 SRC=198.18.60.1 DST=198.18.60.99 LEN=60 TOS=0x00 PREC=0x00 TTL=64 '
           'ID=40123 DF PROTO=TCP SPT=43120 DPT=443 WINDOW=64240 RES=0x00 SYN URGP=0 ')
FIELDS6 = ('IN= OUT=v0 SRC=2001:0002:0060:0000:0000:0000:0000:0001 '
           'DST=2001:0002:0060:0000:0000:0000:0000:0099 LEN=49 TC=0 HOPLIMIT=64 FLOWLBL=0 '
           'PROTO=UDP SPT=50000 DPT=10000 LEN=9 ')


def _line(seconds, prefix, fields):
    return '%.6f d22-host kernel: %s%s' % (seconds, prefix, fields)


@pytest.mark.parametrize('foreign', ['[UFW BLOCK] ', 'filter_OUT_policy_jaas-egress_REJECT: '])
@pytest.mark.parametrize('ours_first', [True, False])
def test_a_packet_logged_by_us_and_by_ufw_or_firewalld_counts_once_as_ours(foreign, ours_first):
    ours, theirs = _line(1764928000.100001, 'jaas-drop out ', FIELDS4), \
        _line(1764928000.100009, foreign, FIELDS4)
    agg = drop_log.Aggregate()
    for line in ([ours, theirs] if ours_first else [theirs, ours]):
        agg.add_line(line)
    rows = agg.result()
    assert [(r['tag'], r['address'], r['port'], r['count']) for r in rows] == \
        [('jaas', '198.18.60.99', 443, 1)]
    assert agg.drops == 1 and agg.paired == 1


def test_identical_ipv6_datagrams_each_logged_twice_count_per_datagram():
    agg = drop_log.Aggregate()
    for second in (0, 1, 2):
        agg.add_line(_line(1764928000.5 + second, 'jaas-drop out ', FIELDS6))
        agg.add_line(_line(1764928000.5 + second, '[UFW BLOCK] ', FIELDS6))
    assert [(r['tag'], r['address'], r['count']) for r in agg.result()] == \
        [('jaas', '2001:2:60::99', 3)]


def test_a_foreign_drop_of_another_packet_still_counts():
    agg = drop_log.Aggregate()
    agg.add_line(_line(1764928000.1, 'jaas-drop out ', FIELDS4))
    # same destination, another packet (another IP ID): a foreign rule's own drop
    agg.add_line(_line(1764928000.2, '[UFW BLOCK] ', FIELDS4.replace('ID=40123', 'ID=40124')))
    # the same fields again much later: a packet of its own
    agg.add_line(_line(1764928090.0, '[UFW BLOCK] ', FIELDS4))
    counts = sorted((r['tag'], r['count']) for r in agg.result())
    assert counts == [('[UFW BLOCK]', 2), ('jaas', 1)]


# Verbatim from the machine's dmesg: the ufw role with log_drops on Debian 13, `ufw logging low`,
# one TCP SYN to 198.18.62.99:443 and one UDP datagram to 2001:2:62::99:10000 (four lines, two
# packets).
UFW_TRIXIE_CAPTURE = '''\
2026-12-05T18:13:19,453564+00:00 jaas-drop out IN= OUT=v0 SRC=198.18.62.1 DST=198.18.62.99 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=18110 DF PROTO=TCP SPT=55480 DPT=443 WINDOW=64240 RES=0x00 SYN URGP=0 
2026-12-05T18:13:19,453573+00:00 [UFW BLOCK] IN= OUT=v0 SRC=198.18.62.1 DST=198.18.62.99 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=18110 DF PROTO=TCP SPT=55480 DPT=443 WINDOW=64240 RES=0x00 SYN URGP=0 
2026-12-05T18:13:20,454270+00:00 jaas-drop out IN= OUT=v0 SRC=2001:0002:0062:0000:0000:0000:0000:0001 DST=2001:0002:0062:0000:0000:0000:0000:0099 LEN=49 TC=0 HOPLIMIT=64 FLOWLBL=161708 PROTO=UDP SPT=39092 DPT=10000 LEN=9 
2026-12-05T18:13:20,454279+00:00 [UFW BLOCK] IN= OUT=v0 SRC=2001:0002:0062:0000:0000:0000:0000:0001 DST=2001:0002:0062:0000:0000:0000:0000:0099 LEN=49 TC=0 HOPLIMIT=64 FLOWLBL=161708 PROTO=UDP SPT=39092 DPT=10000 LEN=9 
'''


def test_real_ufw_capture_counts_each_packet_once_as_ours():
    agg = drop_log.Aggregate()
    for line in UFW_TRIXIE_CAPTURE.splitlines():
        agg.add_line(line)
    assert sorted((r['tag'], r['proto'], r['address'], r['port'], r['count'])
                  for r in agg.result()) == [('jaas', 'tcp', '198.18.62.99', 443, 1),
                                             ('jaas', 'udp', '2001:2:62::99', 10000, 1)]
    assert agg.drops == 2 and agg.paired == 2
