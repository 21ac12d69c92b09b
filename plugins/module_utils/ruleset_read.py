# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the host's whole ruleset for module_utils/nft_eval.py (read-only).

The same reading as jaas.firewall.verify_policy's (``nft -j list ruleset`` once; the
iptables-nft listings only when ``xt`` matches hide options; iptables-legacy when it lists
anything), in module_utils so that every module can share it: modules cannot import each other
(AnsiballZ ships module_utils only). verify_policy is to import it from here too
(/work/notes/r22-requests.md).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

TOOLS = (('nft_save4', 'iptables-nft-save'), ('nft_save6', 'ip6tables-nft-save'),
         ('legacy4', 'iptables-legacy-save'), ('legacy6', 'ip6tables-legacy-save'))


class ReadError(Exception):
    """Nothing could be read."""


def legacy_filters(text):
    """True when an iptables-legacy-save listing holds a rule or a non-ACCEPT policy."""
    for line in text.splitlines():
        if line.startswith('-A ') or (line.startswith(':') and len(line.split()) > 1
                                      and line.split()[1] not in ('ACCEPT', '-')):
            return True
    return False


def has_xt(ruleset):
    return '"xt"' in json.dumps(ruleset) if ruleset.get('nftables') else False


def read_host(module):
    """(ruleset dict, {source key: text}, [sources]) - nft_eval.Ruleset.from_nft_json's input."""
    sources, texts = [], {}
    nft = module.get_bin_path('nft', opt_dirs=['/usr/sbin', '/sbin'])
    ruleset = {'nftables': []}
    if nft:
        rc, out, err = module.run_command([nft, '-j', 'list', 'ruleset'])
        if rc != 0:
            raise ReadError('nft -j list ruleset failed (rc %d): %s' % (rc, err.strip()))
        ruleset = json.loads(out or '{"nftables": []}')
        sources.append('nft')
    for key, tool in TOOLS:
        if key.startswith('nft_save') and not has_xt(ruleset):
            continue
        path = module.get_bin_path(tool, opt_dirs=['/usr/sbin', '/sbin'])
        if not path:
            continue
        rc, out, err = module.run_command([path])
        if rc != 0:
            if key.startswith('legacy'):
                module.warn('%s failed (rc %d), its rules are not evaluated: %s'
                            % (tool, rc, err.strip()[:200]))
            continue
        texts[key] = out
        if key.startswith('nft_save') or legacy_filters(out):
            sources.append(tool)
    if not nft and not any(key.startswith('legacy') for key in texts):
        raise ReadError('neither nft nor iptables-legacy-save found')
    return ruleset, texts, sources
