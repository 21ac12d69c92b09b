# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The files of the local resolver, rendered (pure; used by module_utils/domain_resolver.py).

The resolver is the distribution's dnsmasq, run as a service of its own
(``jaas-firewall-resolver.service``, own config file, listening only on 127.0.0.153:53 over
UDP and TCP), so a dnsmasq or systemd-resolved the host already runs is not touched and
nothing else listens on a new port. Its configuration:

* gateway mode (``lan_interfaces``): it also serves the LAN, on the addresses of the named
  LAN interfaces only: ``interface=<lan>`` lines with ``bind-dynamic`` (one socket per
  address of those interfaces, never a wildcard socket; an address or interface that appears
  later is picked up without a restart) and ``except-interface=lo`` (``interface=`` would
  otherwise add the loopback interface, i.e. 127.0.0.1 and ::1, where another resolver of
  the host may listen). In this mode dnsmasq also drops a question that arrives on another
  interface, even for a LAN address (measured, dnsmasq 2.90: a WAN host routing to the LAN
  address gets no answer), so the WAN is never served.

* ``cache-size=0``: dnsmasq adds an address to a set only when it forwards an answer, never
  for an answer from its cache; without a cache every answer passes the set.
* ``max-ttl``: answers are handed out with a TTL well below the set timeout, so clients ask
  again (and refill the sets) long before an idle address closes.
* ``nftset=``/``ipset=``: per domain, the sets of its categories. dnsmasq matches the domain
  and every name below it.
* ``local=/use-application-dns.net/``: answered NXDOMAIN locally, Mozilla's documented
  signal that makes Firefox keep its default DNS-over-HTTPS off (DoH would bypass us).
* a local check name (RFC 6761 ``.invalid``), so the module can test the new resolver
  before handing resolv.conf over, without asking any real name.
* with drop logging on (``log_drops``): ``log-queries`` and ``log-async``. dnsmasq logs to
  syslog, which journald files under the unit (``journalctl -u jaas-firewall-resolver.service``
  shows ``reply <name> is <address>``): jaas.firewall.drop_report reads it to tell a
  ``domain`` drop (answered for a listed name, not in the set). No file of ours: the journal
  is bounded and rotated by journald (SystemMaxUse, per-unit rate limit), and ``log-async``
  keeps a slow syslog from ever delaying an answer (lines are dropped instead).

The unit restarts the resolver whatever made it stop (``Restart=always``, no start limit):
after the hand-over, a dead resolver would leave the host without DNS.

Every file on this path is written by ``durable.write_durable`` (module_utils/durable.py).

Python stdlib only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

LISTEN = '127.0.0.153'
SERVICE = 'jaas-firewall-resolver.service'
CONFIG_FILE = '/etc/jaas-firewall/resolver.conf'
UNIT_FILE = '/etc/systemd/system/jaas-firewall-resolver.service'
STATE_FILE = '/var/lib/jaas-firewall/resolver-handover.json'
PID_FILE = '/run/jaas-firewall-resolver.pid'
RESOLV_CONF = '/etc/resolv.conf'
NSSWITCH = '/etc/nsswitch.conf'
# systemd-resolved: its stub listeners, and the file listing the servers it really uses
RESOLVED_STUBS = ('127.0.0.53', '127.0.0.54')
RESOLVED_UPLINKS = '/run/systemd/resolve/resolv.conf'
# NetworkManager: the servers of its active connections, without any local stub
NM_SERVERS = '/run/NetworkManager/no-stub-resolv.conf'
CHECK_NAME = 'resolver-check.jaas-firewall.invalid'
DOH_CANARY = 'use-application-dns.net'
# dnsmasq reads lines up to about 1 KiB; a few domains per set line stays far below.
DOMAINS_PER_LINE = 8
# log_drops: lines dnsmasq queues for syslog before it drops some (never delays an answer)
LOG_ASYNC_LINES = 25

HEADER = '# Managed by the jaas.firewall collection (jaas_firewall_domains); do not edit.\n'
RESOLV_HEADER = (HEADER +
                 '# Names resolve through %s (%s), which opens the firewall for the\n'
                 '# JaaS domains. The previous file comes back when the domains are turned off.\n'
                 % (LISTEN, SERVICE))


def nameservers(text):
    """The ``nameserver`` addresses of resolv.conf text, in order."""
    found = []
    for line in (text or '').splitlines():
        fields = line.split('#', 1)[0].split(';', 1)[0].split()
        if len(fields) >= 2 and fields[0] == 'nameserver' and fields[1] not in found:
            found.append(fields[1])
    return found


def resolv_conf(previous):
    """Our resolv.conf: only our nameserver; the previous search/domain/options lines kept."""
    kept = []
    for line in (previous or '').splitlines():
        fields = line.split()
        if fields and fields[0] in ('search', 'domain', 'options', 'sortlist'):
            kept.append(line.rstrip())
    return RESOLV_HEADER + 'nameserver %s\n' % LISTEN + ''.join(line + '\n' for line in kept)


def is_ours(text):
    return (text or '').startswith(HEADER)


def control_free(text):
    return not any(ord(char) < 32 or 127 <= ord(char) < 160 for char in text)


def config_servers(config):
    """The ``server=`` addresses of our resolver configuration, in order."""
    found = []
    for line in (config or '').splitlines():
        if line.startswith('server='):
            found.append(line[len('server='):].split('#', 1)[0])
    return found


def config_resolv_file(config):
    for line in (config or '').splitlines():
        if line.startswith('resolv-file='):
            return line[len('resolv-file='):]
    return None


REBUILT_HEADER = ('# Rebuilt by the jaas.firewall collection: the record of the file that was here\n'
                  '# before the local resolver took over was lost or damaged; these are the servers\n'
                  '# the resolver forwarded to.\n')


def rebuilt_resolv_conf(current, servers):
    """A resolv.conf for ``servers``, keeping the search/options lines of ``current``."""
    kept = [line.rstrip() for line in (current or '').splitlines()
            if line.split()[:1] and line.split()[0] in ('search', 'domain', 'options', 'sortlist')]
    return REBUILT_HEADER + ''.join('nameserver %s\n' % server for server in servers) + \
        ''.join(line + '\n' for line in kept)


def _server(address):
    # dnsmasq takes IPv6 servers bare (a link-local one with its %interface); a port
    # would follow a '#'
    return 'server=%s' % address


def dnsmasq_config(targets, kind, upstreams, resolv_file, answer_ttl, user=None,
                   lan_interfaces=(), log_answers=False):
    """The dnsmasq configuration.

    targets:    {domain: [set target, ...]} (nftset: ``4#inet#jaas#domains_core_v4``;
                ipset: the set name)
    kind:       ``nftset`` or ``ipset``
    upstreams:  forward to these servers, or, when empty, to the ones ``resolv_file``
                lists (dnsmasq re-reads it when it changes: systemd-resolved's uplinks)
    lan_interfaces: gateway mode: also serve these interfaces' addresses (names checked by
                the caller, never empty there); () = the host only
    log_answers: log every query and answer to syslog (the unit's journal) for the drop report
    """
    lines = [HEADER.rstrip('\n'),
             '# Local resolver for %s: answers for the JaaS domains go into the firewall\'s sets.'
             % SERVICE,
             'listen-address=%s' % LISTEN]
    if lan_interfaces:
        lines += ['# gateway mode: also the LAN interfaces\' addresses (never the WAN, never a wildcard)',
                  'bind-dynamic', 'except-interface=lo']
        lines += ['interface=%s' % name for name in lan_interfaces]
    else:
        lines.append('bind-interfaces')
    lines += ['port=53',
              'pid-file=%s' % PID_FILE,
              'no-hosts',
              'cache-size=0',
              'max-ttl=%d' % answer_ttl]
    if user:
        lines.append('user=%s' % user)
    if log_answers:
        lines += ['# log_drops: answers go to the journal of %s (jaas.firewall.drop_report)'
                  % SERVICE, 'log-queries', 'log-async=%d' % LOG_ASYNC_LINES]
    if upstreams:
        lines.append('no-resolv')
        lines += [_server(address) for address in upstreams]
    else:
        lines.append('resolv-file=%s' % resolv_file)
    lines += ['local=/%s/' % DOH_CANARY,
              'host-record=%s,%s' % (CHECK_NAME, LISTEN)]
    by_targets = {}
    for domain, sets in sorted(targets.items()):
        by_targets.setdefault(tuple(sets), []).append(domain)
    for sets, domains in sorted(by_targets.items()):
        for start in range(0, len(domains), DOMAINS_PER_LINE):
            chunk = domains[start:start + DOMAINS_PER_LINE]
            lines.append('%s=/%s/%s' % (kind, '/'.join(chunk), ','.join(sets)))
    return '\n'.join(lines) + '\n'


def unit_file(dnsmasq, config=CONFIG_FILE, pre=()):
    """The systemd unit. Type=forking: dnsmasq's parent exits only once it listens (or with
    an error), so ``systemctl start`` tells whether the resolver is up. ``pre``: commands run
    before it starts (a backend whose sets live outside the firewall's own tables loads them)."""
    before = ''.join('ExecStartPre=%s\n' % command for command in pre)
    return ('# Managed by the jaas.firewall collection (jaas_firewall_domains); do not edit.\n'
            '[Unit]\n'
            'Description=jaas.firewall local DNS resolver (fills the JaaS domain sets)\n'
            'After=network.target nftables.service firewalld.service ufw.service\n'
            'Before=nss-lookup.target\n'
            'Wants=nss-lookup.target\n'
            'StartLimitIntervalSec=0\n'
            '\n'
            '[Service]\n'
            'Type=forking\n'
            'PIDFile=%(pid)s\n'
            '%(before)s'
            'ExecStartPre=%(dnsmasq)s --test --conf-file=%(config)s\n'
            'ExecStart=%(dnsmasq)s --conf-file=%(config)s\n'
            '# supervised: back by itself after a crash or a kill, never given up on\n'
            'Restart=always\n'
            'RestartSec=1\n'
            '\n'
            '[Install]\n'
            'WantedBy=multi-user.target\n'
            % {'pid': PID_FILE, 'dnsmasq': dnsmasq, 'config': config, 'before': before})
