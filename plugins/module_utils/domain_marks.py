# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The marking table of the domain half, shared by every backend whose own rules cannot
refer to a set that DNS answers fill (ufw: module_utils/ufw_domains.py, firewalld:
module_utils/firewalld_domains.py).

An accept in another nftables table cannot override the firewall's own drop or reject (a
packet must pass every base chain of its hook). So the decision is split in two:

1. This table of ours, ``inet jaas_domains``, holds the timed sets
   (module_utils/nft_domains.py, filled by the local resolver) and base chains at
   priority filter - 10 (before ufw's and firewalld's) that only *mark* a new connection to
   a listed address and port - ``meta mark set meta mark | <mark>`` - refreshing the
   address's timeout as the nftables backend does. They accept everything; they never drop.
2. The firewall accepts packets carrying that mark, after the operator's own rules (ufw:
   one iptables rule in ``ufw-after-output``; firewalld: a ``hash:ip,mark`` ipset and rich
   rules in its policies). The backend module owns that half.

Answers in the answer guard's space (module_utils/answer_guard.py) are never marked: the
marking rule checks the guard set right after the domain set.

API (pure unless noted)::

    table_script(domains, ttl, mark, exclude=None, backend='ufw', forward_interfaces=None)
        -> the nft file (replaces the table atomically). ``domains``: the checked entries of
           domain_sets.normalise_domains; ``exclude``: answer_guard.normalise_exclude();
           ``forward_interfaces``: None (host only: chain ``output``) or a non-empty list of
           LAN interface names - a gateway - adding chain ``forward`` (hook forward, priority
           -10) with the same marking rules limited to ``iifname { "lan0", ... }``: packets
           the gateway forwards *from* its LAN to a listed address are marked too.
    check_mark(mark) -> mark (DomainError unless one bit of the 32-bit mark); mark_text(mark)
    MarkTable(module)  (host) .read() -> (file text or None, table loaded?),
                              .load(script), .remove(); replace_file(path, text)

The table is (re)loaded from TABLE_FILE by the resolver service before dnsmasq starts
(``ExecStartPre``: unit_pre()), so it exists at boot without touching nftables.service.
Python stdlib only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile

from ansible_collections.jaas.firewall.plugins.module_utils import nft_domains
from ansible_collections.jaas.firewall.plugins.module_utils.domain_sets import DomainError

TABLE = 'jaas_domains'
TABLE_FILE = '/etc/jaas-firewall/domains.nft'
DEFAULT_MARK = 0x01000000


def mark_text(mark):
    return '0x%x' % mark


def check_mark(mark):
    if isinstance(mark, bool) or not isinstance(mark, int) or mark <= 0 \
            or mark >= 1 << 32 or mark & (mark - 1):
        raise DomainError('domain_mark must be a single bit of the 32-bit packet mark '
                          '(for example 16777216 = 0x1000000), got %r' % (mark,))
    return mark


def marking_rules(domains, mark, exclude=None, prefix=''):
    """The marking rule texts, in category order; ``prefix`` goes before each (``iifname``)."""
    return nft_domains.set_rules(domains, exclude, prefix, new_only=True,
                                 verdict='meta mark set meta mark | %s' % mark_text(mark))


def missing(table, resolver, wanted):
    """Why the domain half cannot run here, or None: ``table`` (a MarkTable) needs nft, and
    ``resolver`` (domain_resolver.Resolver) its own tools for ``wanted`` (None: no domains)."""
    if wanted is None:
        return None
    if not table.find_nft():
        return 'nftables is not installed (no nft command; needed for jaas_firewall_domains)'
    return resolver.missing(wanted)


def interfaces_match(interfaces):
    """``iifname { "lan0", "lan1" } `` (names checked by the caller: module_utils/gateway.py)."""
    return 'iifname { %s } ' % ', '.join('"%s"' % name for name in interfaces)


def table_script(domains, ttl, mark, exclude=None, backend='ufw', forward_interfaces=None):
    """The nft file of our marking table (replaces it atomically; empty timed sets, the
    answer guard's sets with their networks). See the module docstring."""
    if forward_interfaces is not None and not forward_interfaces:
        raise DomainError('a forward marking chain needs at least one LAN interface')
    lines = ['#!/usr/sbin/nft -f',
             '# Managed by the jaas.firewall collection (jaas_firewall_domains, %s); do not edit.'
             % backend,
             '# Loaded by jaas-firewall-resolver.service before the resolver starts.',
             'table inet %s {}' % TABLE, 'delete table inet %s' % TABLE,
             'table inet %s {' % TABLE]
    for name, item in sorted(nft_domains.domain_sets(domains, ttl, exclude).items()):
        lines += ['\tset %s {' % name, '\t\ttype %s' % item['type'],
                  '\t\tflags %s' % ','.join(item['flags'])]
        if item.get('timeout'):
            lines.append('\t\ttimeout %ds' % item['timeout'])
        if item['elements']:
            lines.append('\t\telements = { %s }' % ', '.join(item['elements']))
        lines.append('\t}')
    lines += ['\tchain output {',
              '\t\ttype filter hook output priority -10; policy accept;']
    lines += ['\t\t' + rule for rule in marking_rules(domains, mark, exclude)]
    lines.append('\t}')
    if forward_interfaces:
        lines += ['\tchain forward {',
                  '\t\ttype filter hook forward priority -10; policy accept;']
        lines += ['\t\t' + rule for rule in marking_rules(
            domains, mark, exclude, interfaces_match(forward_interfaces))]
        lines.append('\t}')
    lines.append('}')
    return '\n'.join(lines) + '\n'


def unit_pre(module):
    """The resolver unit's ExecStartPre that loads the table before dnsmasq fills it."""
    return ['%s -f %s' % (module.get_bin_path('nft') or '/usr/sbin/nft', TABLE_FILE)]


def replace_file(path, text):
    """Atomic replace keeping the mode of the file replaced (0644 for a new one)."""
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    mode = os.stat(path).st_mode & 0o7777 if os.path.exists(path) else 0o644
    fd, temp = tempfile.mkstemp(prefix='.jaas-', dir=directory)
    with os.fdopen(fd, 'w') as handle:
        handle.write(text)
    os.chmod(temp, mode)
    os.rename(temp, path)


def read_file(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return None


class MarkTable(object):
    """The marking table on the host: its file and the loaded table (``nft``)."""

    def __init__(self, module, path=None):
        self.module = module
        self.path = path or TABLE_FILE
        self.nft = None

    def find_nft(self):
        self.nft = self.nft or self.module.get_bin_path('nft')
        return self.nft

    def read(self):
        """(file text or None, whether the table is loaded); fails the module when nft
        cannot tell. Without nft the table cannot be loaded: False."""
        loaded = False
        if self.find_nft():
            rc, _out, err = self.module.run_command([self.nft, 'list', 'table', 'inet', TABLE])
            if rc != 0 and 'No such file or directory' not in (err or ''):
                self.module.fail_json(msg='nft list table inet %s failed: %s; nothing changed'
                                          % (TABLE, (err or '').strip()))
            loaded = rc == 0
        return read_file(self.path), loaded

    def load(self, script):
        replace_file(self.path, script)
        rc, out, err = self.module.run_command([self.find_nft(), '-f', self.path])
        if rc != 0:
            self.module.fail_json(msg='nft -f %s failed: %s' % (self.path, (err or out).strip()))

    def remove(self):
        if self.find_nft():
            self.module.run_command([self.nft, 'delete', 'table', 'inet', TABLE])
        if os.path.exists(self.path):
            os.unlink(self.path)
        try:
            os.rmdir(os.path.dirname(self.path))
        except OSError:
            pass                          # not empty: someone else's files stay
