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
2. The resolver forwards to the servers the host used before: the ``nameserver`` lines of
   that file, or - when they are only systemd-resolved's stub - the servers systemd-resolved
   itself uses (its ``/run/systemd/resolve/resolv.conf``, which dnsmasq follows as it
   changes). ``upstreams`` overrides both.
3. The service is started and asked a local check name; only when it answers does
   /etc/resolv.conf become ours (``nameserver 127.0.0.153``, the old search/options kept),
   replaced atomically, or written in place where it is a mount point (containers).
4. When the domains are turned off (or ``state=absent``): the recorded file comes back
   (only if resolv.conf is still ours; otherwise someone changed it since, and it is left
   as it is with a warning), then the service, its files and the record are removed.

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

from ansible_collections.jaas.firewall.plugins.module_utils import resolver_files as files
from ansible_collections.jaas.firewall.plugins.module_utils.domain_sets import (
    DomainError, answer_ttl, resolver_domains)

PATHS = dict(config=files.CONFIG_FILE, unit=files.UNIT_FILE, state=files.STATE_FILE,
             resolv=files.RESOLV_CONF, nsswitch=files.NSSWITCH, uplinks=files.RESOLVED_UPLINKS)
CHECK_SECONDS = 5.0

# changed, steps (ordered), added/removed lines, diff texts, result extras, warnings
ResolverPlan = collections.namedtuple(
    'ResolverPlan', 'changed steps added removed before after extras warnings work')


def check_upstreams(upstreams, name='dns_upstreams'):
    result = []
    for index, value in enumerate(upstreams or []):
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            raise DomainError('%s[%d]: %r is not an IP address' % (name, index, value))
        if str(address) == files.LISTEN:
            raise DomainError('%s[%d]: %s is the local resolver itself'
                              % (name, index, files.LISTEN))
        if str(address) not in result:
            result.append(str(address))
    return result


def detect_upstreams(resolv_text, uplinks_text):
    """(servers, resolv_file) the host used before the hand-over, or DomainError."""
    servers = [s for s in files.nameservers(resolv_text) if s != files.LISTEN]
    if servers and all(s in files.RESOLVED_STUBS for s in servers):
        if files.nameservers(uplinks_text):
            return [], files.RESOLVED_UPLINKS
        raise DomainError('/etc/resolv.conf points at systemd-resolved, which lists no DNS '
                          'servers in %s; set jaas_firewall_dns_upstreams'
                          % files.RESOLVED_UPLINKS)
    if not servers:
        raise DomainError('/etc/resolv.conf lists no DNS server to forward to; set '
                          'jaas_firewall_dns_upstreams')
    return servers, None


def _dns_question(name):
    ident = random.randrange(1 << 16)
    labels = b''.join(bytes([len(p)]) + p.encode('ascii') for p in name.split('.'))
    return ident, struct.pack('!HHHHHH', ident, 0x0100, 1, 0, 0, 0) + labels + b'\0\0\1\0\1'


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
    def desired(self, domains, target, kind, ttl, upstreams):
        """None (no resolver) or what it must do. ``target(category, family)`` names a set."""
        if not domains:
            return None
        sets = {}
        for entry in domains:
            sets[entry['category']] = [target(entry['category'], f) for f in entry['families']]
        targets = dict((domain, [t for c in categories for t in sets[c]])
                       for domain, categories in resolver_domains(domains).items())
        return {'targets': targets, 'kind': kind, 'answer_ttl': answer_ttl(ttl),
                'upstreams': check_upstreams(upstreams)}

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
                'nsswitch': self._read(self.paths['nsswitch']),
                'active': 'inactive', 'enabled': '', 'user': None}
        if state_text:
            try:
                live['state'] = json.loads(state_text)
            except ValueError:
                self.module.fail_json(msg='%s is not JSON; restore /etc/resolv.conf by hand and '
                                          'delete it; nothing changed' % self.paths['state'])
        if desired is None and live['config'] is None and live['unit'] is None \
                and live['state'] is None:
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
    def plan(self, desired, live):
        if desired is None:
            return self._plan_removal(live)
        state = live['state']
        detected = (state or {}).get('detected')
        if detected is None:
            try:
                servers, resolv_file = detect_upstreams(live['resolv']['text'], live['uplinks'])
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
                                      resolv_file, desired['answer_ttl'], live['user'])
        unit = files.unit_file(self.dnsmasq or '/usr/sbin/dnsmasq', self.paths['config'],
                               self.unit_pre)
        previous = (state or {}).get('resolv_conf', live['resolv'])
        resolv = files.resolv_conf(previous.get('text'))
        handed_over = files.is_ours(live['resolv'].get('text'))
        steps = []
        if live['config'] != config:
            steps.append('config')
        if live['unit'] != unit:
            steps += ['unit', 'daemon-reload']
        if live['enabled'] != 'enabled':
            steps.append('enable')
        if live['active'] != 'active' or 'config' in steps or 'unit' in steps:
            steps.append('restart')
        if state is None:
            steps.append('record')
        if live['resolv'].get('text') != resolv or live['resolv']['kind'] != 'file':
            steps.append('handover')
        added, removed = [], []
        if 'config' in steps or 'unit' in steps:
            added.append('resolver %s (%s, listening on %s:53)'
                         % (files.SERVICE, self.paths['config'], files.LISTEN))
        if 'handover' in steps:
            added.append('%s: nameserver %s (was: %s)'
                         % (self.paths['resolv'], files.LISTEN,
                            ', '.join(files.nameservers(previous.get('text'))) or 'none'))
        warnings = []
        if ' resolve' in ' ' + self._hosts_line(live['nsswitch']):
            warnings.append('%s: "hosts" uses nss-resolve, which asks systemd-resolved directly '
                            'and bypasses %s: names looked up that way do not open the JaaS '
                            'domains; remove "resolve" from that line'
                            % (self.paths['nsswitch'], self.paths['resolv']))
        extras = {'service': files.SERVICE, 'listen': files.LISTEN,
                  'upstreams': upstreams, 'upstreams_from': resolv_file or (
                      'dns_upstreams' if desired['upstreams'] else 'previous resolv.conf'),
                  'answer_ttl': desired['answer_ttl'], 'steps': steps,
                  'handed_over': handed_over or 'handover' in steps}
        return ResolverPlan(changed=bool(steps), steps=steps, added=added, removed=removed,
                            before=live['config'] or '', after=config, extras=extras,
                            warnings=warnings,
                            work={'config': config, 'unit': unit, 'resolv': resolv,
                                  'record': {'resolv_conf': live['resolv'],
                                             'detected': detected}})

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
        if state is not None:
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
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        fd, temp = tempfile.mkstemp(prefix='.jaas-', dir=directory)
        with os.fdopen(fd, 'w') as handle:
            handle.write(text)
        os.chmod(temp, mode)
        os.rename(temp, path)

    def _replace_resolv(self, text, mode=0o644, owner=None):
        """Atomic rename, or in place where resolv.conf is a mount point (EBUSY/EXDEV)."""
        path = self.paths['resolv']
        directory = os.path.dirname(path)
        fd, temp = tempfile.mkstemp(prefix='.jaas-resolv-', dir=directory)
        with os.fdopen(fd, 'w') as handle:
            handle.write(text)
        os.chmod(temp, mode)
        if owner:
            os.chown(temp, *owner)
        try:
            os.rename(temp, path)
        except OSError as exc:
            os.unlink(temp)
            if exc.errno not in (errno.EBUSY, errno.EXDEV):
                raise
            with open(path, 'w') as handle:
                handle.write(text)

    def _remove(self, path):
        try:
            os.unlink(path)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise

    def apply(self, plan):
        if plan.work.get('config') is None:
            return self._apply_removal(plan)
        fresh = plan.work['record']['resolv_conf'] if 'record' in plan.steps else None
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
                    self._fail('systemctl enable %s failed: %s' % (files.SERVICE, message), fresh)
            elif step == 'restart':
                rc, message = self._systemctl('restart', files.SERVICE)
                if rc != 0 or not resolver_answers():
                    self._fail('%s did not start or does not answer on %s:53 (%s); %s is '
                               'unchanged' % (files.SERVICE, files.LISTEN, message or
                                              'no answer to %s' % files.CHECK_NAME,
                                              self.paths['resolv']), fresh)
            elif step == 'record':
                self._write(self.paths['state'], json.dumps(plan.work['record'], indent=1,
                                                            sort_keys=True) + '\n', 0o600)
            elif step == 'handover':
                self._replace_resolv(plan.work['resolv'])

    def _fail(self, message, fresh):
        """Before the hand-over: a first-time resolver that fails is removed again."""
        if fresh is not None:
            self._systemctl('disable', '--now', files.SERVICE)
            for path in (self.paths['unit'], self.paths['config']):
                self._remove(path)
            self._systemctl('daemon-reload')
            message += '; the resolver files were removed again'
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
        elif snapshot['kind'] == 'file':
            self._replace_resolv(snapshot['text'] or '', snapshot['mode'],
                                 (snapshot['uid'], snapshot['gid']))
        else:
            self._remove(path)
