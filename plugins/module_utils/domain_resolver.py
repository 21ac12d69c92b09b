# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local resolver on the host, and the hand-over of /etc/resolv.conf to it.

A backend module composes this part with its own (read -> plan -> apply): the backend
keeps the timed sets and the rules that allow them; this part runs dnsmasq so that every
answer for a listed name lands in those sets (files in module_utils/resolver_files.py).

Hand-over, done once and undone exactly:

1. The previous /etc/resolv.conf is recorded in STATE_FILE before anything changes it: a
   regular file (text, mode, owner), a symlink (its target, e.g. systemd-resolved's
   ``stub-resolv.conf``) or nothing.
2. The resolver forwards to the servers the host used before, followed where a tool keeps
   a file of them (dnsmasq's ``resolv-file=``, re-read when it changes): systemd-resolved's
   ``/run/systemd/resolve/resolv.conf`` when resolv.conf is only its stub, the target of a
   resolv.conf symlink (resolvconf's ``/run/resolvconf/resolv.conf``...), NetworkManager's
   no-stub file when NetworkManager wrote resolv.conf; else the ``nameserver`` lines of
   that file, frozen. ``upstreams`` overrides all of these.
   In gateway mode (``lan_interfaces``) it also serves the LAN: on the addresses of the
   named LAN interfaces only (module_utils/resolver_files.py), never on the WAN, never on
   a wildcard address; a change of that set is a configuration change like any other
   (restart, checked, rolled back with the rest).
3. The service is started and asked a local check name; only when it answers does
   /etc/resolv.conf become ours (``nameserver 127.0.0.153``, the old search/options kept),
   replaced atomically, or written in place where it is a mount point (containers).
4. When the domains are turned off (or ``state=absent``): the recorded file comes back
   (only if resolv.conf is still ours; otherwise someone changed it since, and it is left
   as it is with a warning), then the service, its files and the record are removed.

Never dark (issue: the hand-over must not leave a host without DNS):

* before anything changes (``preflight``, run by the backend's check step, so also in
  check mode and before a revert is armed), the new configuration passes
  ``dnsmasq --test`` and every upstream answers a real question (the root zone's NS,
  over UDP, then TCP; NOERROR or NXDOMAIN count, REFUSED/SERVFAIL/silence do not);
  otherwise the run fails naming the upstream, with the host unchanged;
* after a restart the resolver must answer its check name *and* a question it has to
  forward; if not, the previous configuration and unit come back, the previous resolver
  is restarted (or removed again when there was none), and /etc/resolv.conf is not
  touched - a resolver that resolv.conf names is never removed (without a previous
  configuration, the recorded file is given back first); a hand-over without a restart
  first asks the running resolver a forwarded question;
* the record of the previous file is validated when read; an empty, damaged or lost
  record is never "restored": while resolv.conf is ours, the file to come back is
  rebuilt from the servers the resolver forwards to, with a warning;
* when something rewrote resolv.conf since the hand-over (a DHCP client,
  NetworkManager, resolvconf), the next run (and check mode) reports who, takes the
  rewritten file as the one to give back, follows its servers (unless
  ``dns_upstreams`` is set) and hands over again. Not handled: no DHCP client hook is
  installed, so NetworkManager (which replaces a regular resolv.conf) and dhclient without
  resolvconf undo the hand-over until that next run (a warning names NetworkManager's
  ``rc-manager=unmanaged``).

Python stdlib only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import errno
import ipaddress
import json
import os
import pwd
import random
import socket
import struct
import tempfile
import time

from ansible_collections.jaas.firewall.plugins.module_utils import durable
from ansible_collections.jaas.firewall.plugins.module_utils import resolver_files as files
from ansible_collections.jaas.firewall.plugins.module_utils.domain_sets import (
    DomainError, answer_ttl, resolver_domains)
from ansible_collections.jaas.firewall.plugins.module_utils.model import (
    ModelError, check_name, check_plain)

PATHS = dict(config=files.CONFIG_FILE, unit=files.UNIT_FILE, state=files.STATE_FILE,
             resolv=files.RESOLV_CONF, nsswitch=files.NSSWITCH, uplinks=files.RESOLVED_UPLINKS,
             nm_servers=files.NM_SERVERS)
CHECK_SECONDS = 5.0
PROBE_SECONDS = 3.0
# DNS answer codes that show a server serves us (a root NS question: NOERROR from a
# recursive resolver, NXDOMAIN from one that answers only its own zones).
SERVING_RCODES = (0, 3)
RCODE_NAMES = {1: 'FORMERR', 2: 'SERVFAIL', 4: 'NOTIMP', 5: 'REFUSED'}
# Who writes resolv.conf behind our back, by the marks they leave in it.
REWRITERS = (('Generated by NetworkManager', 'NetworkManager'),
             ('resolvconf(8)', 'resolvconf'),
             ('systemd-resolved', 'systemd-resolved'),
             ('dhclient', 'a DHCP client (dhclient)'),
             ('Generated by dhcpcd', 'dhcpcd'))

# changed, steps (ordered), added/removed lines, diff texts, result extras, warnings
ResolverPlan = collections.namedtuple(
    'ResolverPlan', 'changed steps added removed before after extras warnings work')


def check_upstreams(upstreams, name='dns_upstreams'):
    """Checked upstream addresses; an IPv6 link-local one may carry ``%<interface>``.

    Control characters are refused before anything else (a newline would be a second
    dnsmasq directive), and a scope must be a plain interface name."""
    result = []
    for index, value in enumerate(upstreams or []):
        where = '%s[%d]' % (name, index)
        try:
            check_plain(value, where)
        except ModelError as exc:
            raise DomainError(str(exc))
        text, _sep, scope = value.partition('%')
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            raise DomainError('%s: %r is not an IP address' % (where, value))
        if _sep:
            if address.version != 6 or not address.is_link_local:
                raise DomainError('%s: %r: only an IPv6 link-local address takes a %%interface'
                                  % (where, value))
            try:
                check_name('interface name', scope)
            except ModelError as exc:
                raise DomainError('%s: %r: %s' % (where, value, exc.reason))
        if str(address) == files.LISTEN:
            raise DomainError('%s: %s is the local resolver itself' % (where, files.LISTEN))
        spelled = str(address) + ('%' + scope if _sep else '')
        if spelled not in result:
            result.append(spelled)
    return result


def check_lan_interfaces(names):
    """The LAN interfaces the resolver serves in gateway mode: None (host only) or a
    non-empty list of plain interface names other than the loopback one (DomainError)."""
    if names is None:
        return None
    where = 'jaas_firewall_gateway_in_interfaces'
    if not names:
        raise DomainError('jaas_firewall_domains in gateway mode needs %s: the LAN interfaces '
                          'the local resolver serves (it never listens on every interface); '
                          'name them, or set jaas_firewall_domains to []' % where)
    result = []
    for index, name in enumerate(names):
        try:
            check_plain(name, '%s[%d]' % (where, index))
            check_name('interface name', name)
        except ModelError as exc:
            raise DomainError('%s[%d]: %s' % (where, index, getattr(exc, 'reason', exc)))
        if name == 'lo':
            raise DomainError('%s[%d]: %r is the loopback interface, not a LAN one (the '
                              'resolver already serves the host on %s)'
                              % (where, index, name, files.LISTEN))
        if name not in result:
            result.append(name)
    return result


def detect_upstreams(resolv_text, uplinks_text, managed=None):
    """(servers, resolv_file) the host used before the hand-over, or DomainError.

    ``managed``: (path, text) of the servers file a tool keeps updating for this host (the
    target of a resolv.conf symlink, e.g. resolvconf's; NetworkManager's no-stub file when
    it wrote resolv.conf), or None. When it lists real servers the resolver follows that
    file (``resolv-file=``: dnsmasq re-reads it when it changes), so a lease renewal reaches
    the resolver instead of a list frozen at hand-over."""
    servers = [s for s in files.nameservers(resolv_text) if s != files.LISTEN]
    if servers and all(s in files.RESOLVED_STUBS for s in servers):
        if files.nameservers(uplinks_text):
            return [], files.RESOLVED_UPLINKS
        raise DomainError('/etc/resolv.conf points at systemd-resolved, which lists no DNS '
                          'servers in %s; set jaas_firewall_dns_upstreams'
                          % files.RESOLVED_UPLINKS)
    if managed is not None:
        followed = files.nameservers(managed[1])
        if followed and not any(s in files.RESOLVED_STUBS or s == files.LISTEN
                                for s in followed):
            return [], managed[0]
    if not servers:
        raise DomainError('/etc/resolv.conf lists no DNS server to forward to; set '
                          'jaas_firewall_dns_upstreams')
    return servers, None


def managed_servers_file(snapshot, resolv_path, nm_servers):
    """The path of the servers file a tool keeps updating behind ``snapshot`` (the
    current /etc/resolv.conf), or None: a symlink's target (resolvconf, NetworkManager,
    systemd-networkd, an admin's own file), or NetworkManager's no-stub file when
    NetworkManager wrote the regular file."""
    if snapshot.get('kind') == 'symlink':
        return os.path.normpath(os.path.join(os.path.dirname(resolv_path), snapshot['target']))
    if snapshot.get('kind') == 'file' and rewriter(snapshot.get('text')) == 'NetworkManager':
        return nm_servers
    return None


def _dns_question(name):
    ident = random.randrange(1 << 16)
    labels = b''.join(bytes([len(p)]) + p.encode('ascii') for p in name.split('.'))
    return ident, struct.pack('!HHHHHH', ident, 0x0100, 1, 0, 0, 0) + labels + b'\0\0\1\0\1'


def _dns_exchange(address, packet, seconds, tcp=False):
    """One question to ``address`` port 53; the raw answer or None."""
    info = socket.getaddrinfo(address, 53, 0, socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM)[0]
    with socket.socket(info[0], info[1]) as sock:
        sock.settimeout(seconds)
        if tcp:
            sock.connect(info[4])
            sock.sendall(struct.pack('!H', len(packet)) + packet)
            data = b''
            while len(data) < 2 or len(data) < 2 + struct.unpack('!H', data[:2])[0]:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
            return data[2:]
        sock.sendto(packet, info[4])
        return sock.recv(4096)


def _root_question():
    ident = random.randrange(1 << 16)
    # "." IN NS
    return ident, struct.pack('!HHHHHH', ident, 0x0100, 1, 0, 0, 0) + b'\0\0\2\0\1'


def dns_probe(address, seconds=PROBE_SECONDS):
    """None when ``address`` answers a real question (the root zone's NS: any recursive
    resolver answers it without asking a JaaS name), else why not. UDP, then TCP."""
    problems = []
    for tcp in (False, True):
        ident, packet = _root_question()
        try:
            data = _dns_exchange(address, packet, seconds / 2, tcp)
        except (OSError, socket.timeout, IndexError) as exc:
            problems.append('%s: %s' % ('TCP' if tcp else 'UDP',
                                        'no answer' if isinstance(exc, socket.timeout) else exc))
            continue
        if not data or len(data) < 12 or struct.unpack('!H', data[:2])[0] != ident:
            problems.append('%s: no valid answer' % ('TCP' if tcp else 'UDP'))
            continue
        rcode = data[3] & 0x0f
        if rcode in SERVING_RCODES:
            return None
        return 'answers %s' % RCODE_NAMES.get(rcode, 'rcode %d' % rcode)
    return 'does not answer within %gs (%s)' % (seconds, '; '.join(problems))


def resolver_answers(address=files.LISTEN, name=files.CHECK_NAME, seconds=CHECK_SECONDS):
    """Whether the resolver answers its local check name (one UDP query, retried)."""
    deadline = time.time() + seconds
    while True:
        ident, packet = _dns_question(name)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.settimeout(0.5)
                sock.sendto(packet, (address, 53))
                data = sock.recv(512)
            if len(data) > 12 and struct.unpack('!H', data[:2])[0] == ident \
                    and struct.unpack('!H', data[6:8])[0] > 0:
                return True
        except (OSError, socket.timeout):
            pass
        if time.time() >= deadline:
            return False
        time.sleep(0.2)


class Resolver(object):
    """read / plan / apply of the resolver part (see the module docstring)."""

    def __init__(self, module, paths=None, unit_pre=()):
        self.module = module
        self.paths = dict(PATHS, **(paths or {}))
        self.unit_pre = list(unit_pre)
        self.dnsmasq = None
        self.systemctl = None

    # -- pure -------------------------------------------------------------------------
    def desired(self, domains, target, kind, ttl, upstreams, lan_interfaces=None,
                log_answers=False):
        """None (no resolver) or what it must do. ``target(category, family)`` names a set.

        ``lan_interfaces``: gateway mode - the LAN interfaces the resolver also serves
        (module_utils/gateway.py resolver_interfaces); None = the host only. Never empty
        and never the loopback interface (DomainError naming the role variable).
        ``log_answers`` (the backends' ``log_drops``): the resolver logs its answers to its
        unit's journal, where jaas.firewall.drop_report finds them."""
        if not domains:
            return None
        lan = check_lan_interfaces(lan_interfaces)
        sets = {}
        for entry in domains:
            sets[entry['category']] = [target(entry['category'], f) for f in entry['families']]
        targets = dict((domain, [t for c in categories for t in sets[c]])
                       for domain, categories in resolver_domains(domains).items())
        return {'targets': targets, 'kind': kind, 'answer_ttl': answer_ttl(ttl),
                'upstreams': check_upstreams(upstreams), 'interfaces': lan,
                'log_answers': bool(log_answers)}

    # -- host: read -------------------------------------------------------------------
    @staticmethod
    def _read(path):
        try:
            with open(path) as handle:
                return handle.read()
        except (IOError, OSError):
            return None

    def _resolv_snapshot(self):
        path = self.paths['resolv']
        try:
            info = os.lstat(path)
        except OSError:
            return {'kind': 'missing'}
        if os.path.islink(path):
            return {'kind': 'symlink', 'target': os.readlink(path), 'text': self._read(path)}
        return {'kind': 'file', 'text': self._read(path), 'mode': info.st_mode & 0o7777,
                'uid': info.st_uid, 'gid': info.st_gid}

    def missing(self, desired):
        if desired is None:
            return None
        self.dnsmasq = self.module.get_bin_path('dnsmasq', opt_dirs=['/usr/sbin', '/sbin'])
        return None if self.dnsmasq else 'dnsmasq is not installed (needed for jaas_firewall_domains)'

    def read(self, desired):
        """What is on the host. Without domains and without our files: files only."""
        state_text = self._read(self.paths['state'])
        live = {'config': self._read(self.paths['config']), 'unit': self._read(self.paths['unit']),
                'state': None, 'resolv': self._resolv_snapshot(),
                'uplinks': self._read(self.paths['uplinks']),
                'managed': None,
                'nsswitch': self._read(self.paths['nsswitch']),
                'active': 'inactive', 'enabled': '', 'user': None}
        live['state_problem'] = None
        managed = managed_servers_file(live['resolv'], self.paths['resolv'],
                                       self.paths['nm_servers'])
        if managed is not None and not files.is_ours(live['resolv'].get('text')):
            text = self._read(managed)
            if text is not None:
                live['managed'] = (managed, text)
        if state_text is not None:
            live['state'], live['state_problem'] = checked_record(state_text)
        if desired is None and live['config'] is None and live['unit'] is None \
                and live['state'] is None and state_text is None:
            return live
        self.systemctl = self.module.get_bin_path('systemctl')
        if not self.systemctl:
            if desired is not None:
                self.module.fail_json(msg='jaas_firewall_domains needs systemd (no systemctl '
                                          'here) to run the local resolver; nothing changed')
            return live
        rc, out, _err = self.module.run_command(
            [self.systemctl, 'show', '-p', 'ActiveState', '-p', 'UnitFileState', files.SERVICE],
            environ_update={'LC_ALL': 'C'})
        values = dict(line.split('=', 1) for line in out.splitlines() if '=' in line)
        live['active'] = values.get('ActiveState', 'inactive')
        live['enabled'] = values.get('UnitFileState', '')
        try:
            live['user'] = pwd.getpwnam('dnsmasq').pw_name
        except KeyError:
            live['user'] = None
        return live

    # -- pure: plan -------------------------------------------------------------------
    def _rebuilt_record(self, live, warnings):
        """The record to give back when it is lost or damaged while resolv.conf is ours:
        the servers our resolver forwards to, the current search/options lines."""
        servers = files.config_servers(live['config'])
        followed = files.config_resolv_file(live['config'])
        if not servers and followed:
            warnings.append('the record of the file %s replaced (%s) is %s: it becomes a link to '
                            '%s, the servers file the resolver followed'
                            % (self.paths['resolv'], self.paths['state'],
                               live.get('state_problem') or 'missing', followed))
            return {'resolv_conf': {'kind': 'symlink', 'target': followed},
                    'detected': {'upstreams': [], 'resolv_file': followed}}
        if not servers:
            raise DomainError('%s points at the local resolver, but the record of the file it '
                              'replaced (%s) is %s and the resolver configuration names no '
                              'server to rebuild it from; write %s yourself, delete the record, '
                              'and run again; nothing changed'
                              % (self.paths['resolv'], self.paths['state'],
                                 live.get('state_problem') or 'missing', self.paths['resolv']))
        warnings.append('the record of the file %s replaced (%s) is %s: the file to give back '
                        'is rebuilt from the servers the resolver forwards to (%s)'
                        % (self.paths['resolv'], self.paths['state'],
                           live.get('state_problem') or 'missing', ', '.join(servers)))
        text = files.rebuilt_resolv_conf(live['resolv'].get('text'), servers)
        return {'resolv_conf': {'kind': 'file', 'text': text, 'mode': 0o644, 'uid': 0, 'gid': 0},
                'detected': {'upstreams': servers, 'resolv_file': None}}

    def plan(self, desired, live):
        if desired is None:
            return self._plan_removal(live)
        warnings = []
        state = live['state']
        ours = files.is_ours(live['resolv'].get('text'))
        rerecord = False
        if state is None and live.get('state_problem') and not ours:
            warnings.append('the record %s is %s; it is replaced by one of the current %s'
                            % (self.paths['state'], live['state_problem'], self.paths['resolv']))
            rerecord = True
        if state is None and ours:
            state = self._rebuilt_record(live, warnings)
            rerecord = True
        elif state is not None and not ours and live['resolv'].get('text') is not None:
            # rewritten since the hand-over: that file is what the host wants back now
            warnings.append('%s was rewritten since the hand-over to the local resolver (by %s): '
                            'taken as the file to give back, and handed over again'
                            % (self.paths['resolv'], rewriter(live['resolv'].get('text'))))
            state = {'resolv_conf': live['resolv'], 'detected': None}
            rerecord = True
        detected = (state or {}).get('detected')
        if detected is None:
            try:
                servers, resolv_file = detect_upstreams(live['resolv']['text'], live['uplinks'],
                                                        live.get('managed'))
                detected = {'upstreams': servers, 'resolv_file': resolv_file}
            except DomainError as exc:
                if not desired['upstreams']:
                    raise
                detected = {'upstreams': [], 'resolv_file': None, 'problem': str(exc)}
        if not desired['upstreams'] and not detected['upstreams'] \
                and not detected['resolv_file']:
            raise DomainError(detected.get('problem') or 'no DNS server recorded from before the '
                              'hand-over; set jaas_firewall_dns_upstreams')
        upstreams = desired['upstreams'] or detected['upstreams']
        resolv_file = None if desired['upstreams'] else detected['resolv_file']
        config = files.dnsmasq_config(desired['targets'], desired['kind'], upstreams,
                                      resolv_file, desired['answer_ttl'], live['user'],
                                      desired.get('interfaces') or (),
                                      desired.get('log_answers', False))
        unit = files.unit_file(self.dnsmasq or '/usr/sbin/dnsmasq', self.paths['config'],
                               self.unit_pre)
        previous = (state or {}).get('resolv_conf', live['resolv'])
        resolv = files.resolv_conf(previous.get('text'))
        handed_over = ours
        steps = []
        if live['config'] != config:
            steps.append('config')
        if live['unit'] != unit:
            steps += ['unit', 'daemon-reload']
        if live['enabled'] != 'enabled':
            steps.append('enable')
        if live['active'] != 'active' or 'config' in steps or 'unit' in steps:
            steps.append('restart')
        if live['state'] is None or rerecord:
            steps.append('record')
        if live['resolv'].get('text') != resolv or live['resolv']['kind'] != 'file':
            steps.append('handover')
        added, removed = [], []
        if 'config' in steps or 'unit' in steps:
            added.append('resolver %s (%s, listening on %s:53%s)'
                         % (files.SERVICE, self.paths['config'], files.LISTEN,
                            ''.join(' and %s' % name for name in desired.get('interfaces') or ())))
        if 'handover' in steps:
            added.append('%s: nameserver %s (was: %s)'
                         % (self.paths['resolv'], files.LISTEN,
                            ', '.join(files.nameservers(previous.get('text'))) or 'none'))
        if 'handover' in steps and live['resolv']['kind'] == 'file' \
                and rewriter(live['resolv'].get('text')) == 'NetworkManager':
            warnings.append('%s is a file NetworkManager writes: it replaces it at its next DNS '
                            'change, which undoes the hand-over until the next run reports and '
                            'redoes it; to keep it, set rc-manager=unmanaged in the [main] section of '
                            'NetworkManager.conf (the resolver follows %s either way)'
                            % (self.paths['resolv'], resolv_file or 'the servers it had'))
        if ' resolve' in ' ' + self._hosts_line(live['nsswitch']):
            warnings.append('%s: "hosts" uses nss-resolve, which asks systemd-resolved directly '
                            'and bypasses %s: names looked up that way do not open the JaaS '
                            'domains; remove "resolve" from that line'
                            % (self.paths['nsswitch'], self.paths['resolv']))
        extras = {'service': files.SERVICE, 'listen': files.LISTEN,
                  'lan_interfaces': list(desired.get('interfaces') or ()),
                  'upstreams': upstreams, 'upstreams_from': resolv_file or (
                      'dns_upstreams' if desired['upstreams'] else 'previous resolv.conf'),
                  'answer_ttl': desired['answer_ttl'], 'steps': steps,
                  'handed_over': handed_over or 'handover' in steps}
        return ResolverPlan(changed=bool(steps), steps=steps, added=added, removed=removed,
                            before=live['config'] or '', after=config, extras=extras,
                            warnings=warnings,
                            work={'config': config, 'unit': unit, 'resolv': resolv,
                                  'record': {'resolv_conf': (state or {}).get(
                                      'resolv_conf', live['resolv']), 'detected': detected},
                                  'previous': {'config': live['config'], 'unit': live['unit'],
                                               'active': live['active']},
                                  'probe': [] if resolv_file else list(upstreams),
                                  'probe_file': resolv_file,
                                  'probe_text': self._followed_text(live, resolv_file)})

    @staticmethod
    def _followed_text(live, resolv_file):
        """The text of the servers file the resolver follows (probed before the hand-over)."""
        if resolv_file is None:
            return None
        if live.get('managed') and live['managed'][0] == resolv_file:
            return live['managed'][1]
        return live['uplinks']

    @staticmethod
    def _hosts_line(nsswitch):
        for line in (nsswitch or '').splitlines():
            fields = line.split('#', 1)[0].split()
            if fields and fields[0] == 'hosts:':
                return ' '.join(fields[1:])
        return ''

    def _plan_removal(self, live):
        steps, removed, warnings = [], [], []
        state = live['state']
        if state is None and files.is_ours(live['resolv'].get('text')) \
                and (live['config'] is not None or live.get('state_problem')):
            # never stop the resolver with resolv.conf still pointing at it
            state = self._rebuilt_record(live, warnings)
        if state is not None:
            if files.is_ours(live['resolv'].get('text')):
                steps.append('restore')
                removed.append('%s: nameserver %s (the recorded file comes back)'
                               % (self.paths['resolv'], files.LISTEN))
            else:
                warnings.append('%s changed since the hand-over (not ours any more): left as '
                                'it is; the recorded original was removed with the resolver'
                                % self.paths['resolv'])
        if live['unit'] is not None or live['active'] == 'active':
            steps.append('stop')
        if live['unit'] is not None:
            steps += ['unit-delete', 'daemon-reload']
        if live['config'] is not None:
            steps.append('config-delete')
        if state is not None or live.get('state_problem'):
            steps.append('record-delete')
        if live['unit'] is not None or live['config'] is not None:
            removed.append('resolver %s' % files.SERVICE)
        extras = {'service': None, 'steps': steps, 'handed_over': False}
        return ResolverPlan(changed=bool(steps), steps=steps, added=[], removed=removed,
                            before=live['config'] or '', after='', extras=extras,
                            warnings=warnings, work={'state': state})

    # -- host: apply ------------------------------------------------------------------
    def _systemctl(self, *args):
        rc, out, err = self.module.run_command([self.systemctl] + list(args),
                                               environ_update={'LC_ALL': 'C'})
        return rc, (err or out).strip()

    def _write(self, path, text, mode=0o644):
        durable.write_durable(path, text, mode)

    def _replace_resolv(self, text, mode=None, owner=None):
        """Atomic and durable, or in place where resolv.conf is a mount point."""
        durable.write_durable(self.paths['resolv'], text, mode, owner)

    def preflight(self, plan):
        """Before anything changes (check step): the new configuration passes
        ``dnsmasq --test`` and every upstream answers. Fails the module naming the problem."""
        if plan.work.get('config') is None or not (
                {'config', 'handover', 'restart'} & set(plan.steps)):
            return
        if 'config' in plan.steps and self.dnsmasq:
            fd, temp = tempfile.mkstemp(prefix='jaas-resolver-', suffix='.conf',
                                        dir=getattr(self.module, 'tmpdir', None))
            with os.fdopen(fd, 'w') as handle:
                handle.write(plan.work['config'])
            try:
                rc, out, err = self.module.run_command(
                    [self.dnsmasq, '--test', '--conf-file=%s' % temp],
                    environ_update={'LC_ALL': 'C'})
            finally:
                os.unlink(temp)
            if rc != 0:
                self.module.fail_json(msg='nothing changed: dnsmasq --test refused the new '
                                          'resolver configuration: %s' % (err or out).strip())
        servers = plan.work['probe'] or files.nameservers(plan.work.get('probe_text'))
        for server in servers:
            problem = dns_probe(server)
            if problem:
                self.module.fail_json(msg='nothing changed: DNS upstream %s %s, so the local '
                                          'resolver would have nowhere to forward and the host '
                                          'would lose DNS; check the server or set '
                                          'jaas_firewall_dns_upstreams to servers that answer'
                                          % (server, problem))

    def _remove(self, path):
        try:
            os.unlink(path)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise

    def apply(self, plan):
        if plan.work.get('config') is None:
            return self._apply_removal(plan)
        for step in plan.steps:
            if step == 'config':
                self._write(self.paths['config'], plan.work['config'])
            elif step == 'unit':
                self._write(self.paths['unit'], plan.work['unit'])
            elif step == 'daemon-reload':
                self._systemctl('daemon-reload')
            elif step == 'enable':
                rc, message = self._systemctl('enable', files.SERVICE)
                if rc != 0:
                    self._fail('systemctl enable %s failed: %s' % (files.SERVICE, message), plan)
            elif step == 'restart':
                rc, message = self._systemctl('restart', files.SERVICE)
                if rc != 0:
                    problem = 'systemctl restart failed: %s' % (message or 'rc %d' % rc)
                else:
                    problem = self._forward_problem()
                if problem:
                    self._fail('%s does not work with the new configuration (%s)'
                               % (files.SERVICE, problem), plan)
            elif step == 'record':
                self._write(self.paths['state'], json.dumps(plan.work['record'], indent=1,
                                                            sort_keys=True) + '\n', 0o600)
            elif step == 'handover':
                if 'restart' not in plan.steps:
                    # the running resolver was not asked in this run: ask it now, as
                    # resolv.conf must never name a resolver that cannot forward
                    problem = self._forward_problem()
                    if problem:
                        self.module.fail_json(
                            msg='%s not handed over to %s, which does not work (%s); %s '
                                'is unchanged'
                                % (self.paths['resolv'], files.SERVICE, problem,
                                   self.paths['resolv']))
                self._replace_resolv(plan.work['resolv'])

    @staticmethod
    def _forward_problem():
        """None when the local resolver answers its check name and a question it has to
        forward (the whole path to the upstreams works), else what fails."""
        if not resolver_answers():
            return 'no answer to %s' % files.CHECK_NAME
        forwarded = dns_probe(files.LISTEN, CHECK_SECONDS)
        if forwarded:
            return 'a question it must forward: %s' % forwarded
        return None

    def _fail(self, message, plan):
        """The new configuration does not work (before the hand-over step of this run).

        A resolver that ran before gets its previous configuration and unit back and is
        restarted when it was running or when /etc/resolv.conf names it; a first-time one is
        removed again. /etc/resolv.conf is not touched, unless it names the resolver and there
        is no previous configuration to run it with: then the recorded file comes back first,
        so the host is never left pointing at a resolver that is gone."""
        previous = plan.work['previous']
        ours = files.is_ours(self._read(self.paths['resolv']))
        if previous.get('config') is not None:
            self._write(self.paths['config'], previous['config'])
            if previous.get('unit') is not None:
                self._write(self.paths['unit'], previous['unit'])
            self._systemctl('daemon-reload')
            if previous.get('active') == 'active' or ours:
                rc, again = self._systemctl('restart', files.SERVICE)
                if rc == 0 and not resolver_answers():
                    rc, again = 1, 'no answer to %s' % files.CHECK_NAME
                message += ('; the previous configuration was restored and the resolver '
                            'restarted' if rc == 0 else '; the previous configuration was '
                            'restored but the resolver did not restart (%s)' % again)
            else:
                self._systemctl('stop', files.SERVICE)
                message += '; the previous configuration was restored'
            message += '; %s is unchanged' % self.paths['resolv']
        else:
            if ours:
                self._restore(plan.work['record']['resolv_conf'])
            self._systemctl('disable', '--now', files.SERVICE)
            for path in (self.paths['unit'], self.paths['config']):
                self._remove(path)
            self._systemctl('daemon-reload')
            message += '; the resolver files were removed again'
            message += ('; %s was given back first (the recorded file), as it named the '
                        'resolver' % self.paths['resolv'] if ours
                        else '; %s is unchanged' % self.paths['resolv'])
        self.module.fail_json(msg=message)

    def _apply_removal(self, plan):
        state = plan.work['state']
        for step in plan.steps:
            if step == 'restore':
                self._restore(state['resolv_conf'])
            elif step == 'stop':
                self._systemctl('disable', '--now', files.SERVICE)
            elif step == 'unit-delete':
                self._remove(self.paths['unit'])
            elif step == 'daemon-reload':
                self._systemctl('daemon-reload')
            elif step == 'config-delete':
                self._remove(self.paths['config'])
                try:
                    os.rmdir(os.path.dirname(self.paths['config']))
                except OSError:
                    pass                      # not empty: someone else's files stay
            elif step == 'record-delete':
                self._remove(self.paths['state'])

    def _restore(self, snapshot):
        path = self.paths['resolv']
        if snapshot['kind'] == 'symlink':
            temp = '%s.jaas-%d' % (path, os.getpid())
            self._remove(temp)
            os.symlink(snapshot['target'], temp)
            os.rename(temp, path)
            durable.fsync_path(os.path.dirname(path))
        elif snapshot['kind'] == 'file':
            self._replace_resolv(snapshot['text'], snapshot['mode'],
                                 (snapshot['uid'], snapshot['gid']))
        else:
            self._remove(path)


def rewriter(text):
    """Who most likely wrote resolv.conf text, from the marks tools leave in it."""
    for mark, name in REWRITERS:
        if mark in (text or ''):
            return name
    return 'another program or an admin'


def checked_record(text):
    """(record, None) for a valid hand-over record, else (None, what is wrong with it)."""
    if not text.strip():
        return None, 'empty'
    try:
        record = json.loads(text)
    except ValueError:
        return None, 'not JSON (damaged)'
    if not isinstance(record, dict) or not isinstance(record.get('resolv_conf'), dict):
        return None, 'damaged (no resolv_conf snapshot)'
    snapshot = record['resolv_conf']
    kind = snapshot.get('kind')
    if kind == 'file':
        ok = isinstance(snapshot.get('text'), str) and snapshot['text'].strip() \
            and not files.is_ours(snapshot['text']) \
            and isinstance(snapshot.get('mode'), int) and 0 <= snapshot['mode'] <= 0o7777 \
            and all(isinstance(snapshot.get(k), int) and snapshot[k] >= 0 for k in ('uid', 'gid'))
    elif kind == 'symlink':
        ok = isinstance(snapshot.get('target'), str) and bool(snapshot['target']) \
            and files.control_free(snapshot['target'])
    else:
        ok = kind == 'missing'
    if not ok:
        return None, 'damaged (the recorded %s is not usable)' % (kind or 'file')
    detected = record.get('detected')
    if detected is not None:
        try:
            ok = isinstance(detected, dict) and isinstance(detected.get('upstreams'), list) \
                and (detected.get('resolv_file') is None or
                     isinstance(detected['resolv_file'], str)) \
                and check_upstreams(detected['upstreams']) is not None
        except DomainError:
            ok = False
        if not ok:
            return None, 'damaged (the recorded upstreams are not usable)'
    return record, None
