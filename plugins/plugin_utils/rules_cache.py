# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side cache of the rules the backend action plugin computes.

Ansible runs an action plugin in a fresh worker process per host, so without a cache every
host pays for importing the catalog code (netaddr, the model) and validating the whole
catalog again: about 0.3 s of controller CPU per host, most of what a converged host costs
beyond Ansible's own floor. The result depends only on the catalog file's bytes, the
selection and the code that validates and flattens it, so it is stored under a hash of
exactly those, in ``~/.cache/jaas.firewall/rules`` (``$XDG_CACHE_HOME`` honoured).

Only successful, fully validated results are stored: a bad catalog is refused on every run.
The cache itself is not trusted: an entry is used only when its file is a regular file of
ours that nobody else can write, and when every rule in it passes the rule model again,
lies in the address space the catalog file itself names, stays out of special-purpose space
unless the selection allows private networks, and every domain name in it is the catalog's
(``valid_entry``). Anything else is ignored and rebuilt.
Warnings about the catalog (duplicates, expired entries) are shown when it is validated,
that is on the first run after it or the code changed. The live Cloudflare list has a cache
of its own and is never cached here. ``JAAS_FIREWALL_RULES_CACHE=0`` turns the cache off.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import ipaddress
import json
import os
import re
import stat
import tempfile

_HERE = os.path.dirname(os.path.abspath(__file__))
_COLLECTION = os.path.dirname(os.path.dirname(_HERE))
BUNDLED_CATALOG = os.path.join(_COLLECTION, 'vars', 'jaas_catalog.yml')
# Everything between the catalog file and the rules the modules receive.
_CODE = ('plugins/plugin_utils/catalog.py', 'plugins/plugin_utils/rules.py',
         'plugins/plugin_utils/domains.py', 'plugins/plugin_utils/cloudflare.py',
         'plugins/plugin_utils/backend_action.py', 'plugins/plugin_utils/rules_cache.py',
         'plugins/module_utils/model.py', 'plugins/filter/rules.py', 'plugins/lookup/catalog.py')
FORMAT = 1
_code_digest = None


def cache_dir():
    base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    return os.path.join(base, 'jaas.firewall', 'rules')


def _digest_code():
    global _code_digest
    if _code_digest is None:
        digest = hashlib.sha256()
        for relative in _CODE:
            try:
                with open(os.path.join(_COLLECTION, relative), 'rb') as handle:
                    digest.update(relative.encode() + b'\0' + handle.read())
            except (IOError, OSError):
                digest.update(relative.encode() + b'\0missing')
        _code_digest = digest.hexdigest()
    return _code_digest


def cache_key(selection):
    """Hex key for ``selection`` (the action's ``catalog`` option), or None: not cacheable."""
    if os.environ.get('JAAS_FIREWALL_RULES_CACHE', '1') == '0':
        return None
    if selection.get('cloudflare_source') not in (None, 'bundled'):
        return None
    path = selection.get('catalog_file')
    path = os.path.abspath(os.path.expanduser(path)) if path else BUNDLED_CATALOG
    try:
        with open(path, 'rb') as handle:
            catalog = hashlib.sha256(handle.read()).hexdigest()
        text = json.dumps([FORMAT, path, catalog, _digest_code(), selection], sort_keys=True)
    except (IOError, OSError, TypeError, ValueError):
        return None     # let the lookup report an unreadable file or odd options
    return hashlib.sha256(text.encode()).hexdigest()


def _private_to_us(info):
    """A file or directory only we can change (ours, not group- or world-writable)."""
    return info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def load(key):
    directory = cache_dir()
    path = os.path.join(directory, key + '.json')
    try:
        if not _private_to_us(os.stat(directory)):
            return None
        fd = os.open(path, os.O_RDONLY | getattr(os, 'O_NOFOLLOW', 0))
        with os.fdopen(fd) as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode) or not _private_to_us(info):
                return None
            return json.load(handle)
    except (IOError, OSError, ValueError):
        return None


def store(key, value):
    """Write atomically and durably; a cache that cannot be written is only slower."""
    directory = cache_dir()
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix='.%s.' % key[:12])
        with os.fdopen(fd, 'w') as handle:
            json.dump(value, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(tmp, os.path.join(directory, key + '.json'))
    except (IOError, OSError, TypeError, ValueError):
        pass


# Anything in the catalog text that may be an address or a network (a cheap scan: the
# catalog was fully validated when the entry was made; this only bounds what an edited
# cache can claim).
_TOKEN = re.compile(r'[0-9A-Fa-f:.]*[.:][0-9A-Fa-f:.]*(?:/[0-9]{1,3})?')


def catalog_space(text):
    """{family: [networks]}: every address or network the catalog text names, merged."""
    found = {4: [], 6: []}
    for token in _TOKEN.findall(text):
        try:
            network = ipaddress.ip_network(token, strict=False)
        except ValueError:
            continue
        found[network.version].append(network)
    return dict((family, list(ipaddress.collapse_addresses(nets))) for family, nets in found.items())


def valid_entry(value, selection, catalog_text):
    """True when a loaded cache entry could have been computed from this catalog and
    selection (see the module docstring); False for anything else."""
    # Imported here: only a cache hit pays for the model (stdlib only).
    from ansible_collections.jaas.firewall.plugins.module_utils import model
    from ansible_collections.jaas.firewall.plugins.module_utils.domain_sets import (
        DomainError, normalise_domains)
    if not isinstance(value, list) or len(value) != 2 or not all(isinstance(v, list) for v in value):
        return False
    rules, domains = value
    allow_private = selection.get('allow_private_networks') in (True, 'true', 'True', 'yes', '1', 1)
    space = catalog_space(catalog_text)
    try:
        for rule in rules:
            if not isinstance(rule, dict) or model.normalise_rule(rule) != rule:
                return False
            network = ipaddress.ip_network(rule['network'])
            model.check_public_network(network, allow_private)
            if not any(network.subnet_of(known) for known in space[network.version]):
                return False
            if rule['block'] not in catalog_text:
                return False
        if domains:
            if normalise_domains(domains) is None:
                return False
            for entry in domains:
                if any(name not in catalog_text for name in entry['names']):
                    return False
    except (model.ModelError, DomainError, ValueError, TypeError, KeyError, AttributeError):
        return False
    return True


def _catalog_text(selection):
    path = selection.get('catalog_file')
    path = os.path.abspath(os.path.expanduser(path)) if path else BUNDLED_CATALOG
    try:
        with open(path, 'rb') as handle:
            return handle.read().decode('utf-8', 'replace')
    except (IOError, OSError):
        return None


def cached(selection, compute):
    """compute() once per distinct (catalog, selection, code); its result must be JSON.

    A stored entry that does not validate (``valid_entry``) is ignored and rebuilt."""
    key = cache_key(selection)
    if key is not None:
        value = load(key)
        if value is not None:
            text = _catalog_text(selection)
            if text is not None and valid_entry(value, selection, text):
                return value
    value = compute()
    if key is not None:
        store(key, value)
    return value
