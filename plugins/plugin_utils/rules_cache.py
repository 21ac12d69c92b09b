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
Warnings about the catalog (duplicates, expired entries) are shown when it is validated,
that is on the first run after it or the code changed. The live Cloudflare list has a cache
of its own and is never cached here. ``JAAS_FIREWALL_RULES_CACHE=0`` turns the cache off.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
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


def load(key):
    try:
        with open(os.path.join(cache_dir(), key + '.json')) as handle:
            return json.load(handle)
    except (IOError, OSError, ValueError):
        return None


def store(key, value):
    """Write atomically; a cache that cannot be written is only slower."""
    directory = cache_dir()
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix='.%s.' % key[:12])
        with os.fdopen(fd, 'w') as handle:
            json.dump(value, handle)
        os.rename(tmp, os.path.join(directory, key + '.json'))
    except (IOError, OSError, TypeError, ValueError):
        pass


def cached(selection, compute):
    """compute() once per distinct (catalog, selection, code); its result must be JSON."""
    key = cache_key(selection)
    if key is not None:
        value = load(key)
        if value is not None:
            return value
    value = compute()
    if key is not None:
        store(key, value)
    return value
