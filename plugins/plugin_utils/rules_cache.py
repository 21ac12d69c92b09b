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
The cache itself is not trusted (``load``, ``valid_entry``): an entry is used only when its
file is a regular file of ours that nobody else can write (no symlink followed, no FIFO
waited on) in a directory nobody else can write, and when it is something a fresh
computation could produce: every rule passes the rule model again and is one of the
catalog's own (block, direction, region, protocol, ports), with its network inside that
block's or region's networks, out of special-purpose space unless the selection allows
private networks, inbound only with webhooks on; the catalog file is validated again with
the selection's options for this (about 30 ms, most of it PyYAML; no netaddr). The domain
entries must be exactly the catalog's. Anything else is ignored and rebuilt. Entries are
written atomically and durably (temp file, fsync, rename, directory fsync).
Warnings about the catalog (duplicates, expired entries) are shown when it is validated,
that is on the first run after it or the code changed. The live Cloudflare list has a cache
of its own and is never cached here. ``JAAS_FIREWALL_RULES_CACHE=0`` turns the cache off.

Within one run the entry is validated once, not once per host: the first worker to use it
(after computing it, or after ``valid_entry`` passed it) leaves a copy in the run's own
directory, ``ansible-local-<pid>...`` (Ansible's ``DEFAULT_LOCAL_TMP``: made by
``mkdtemp``, private to us, deleted when ``ansible-playbook`` exits), and the other workers
read that copy without the catalog. That directory is where Ansible caches the module
payloads it sends to every host (``ansiballz_cache``), so whoever could write our copy
there could already change every module; trusting it adds nothing to trust Ansible's own.
The copy is still read only when the directory and the file are ours alone.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import ipaddress
import json
import os
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


def run_dir():
    """This run's private directory (Ansible's DEFAULT_LOCAL_TMP), or None outside a run."""
    try:
        from ansible import constants as C
        directory = C.DEFAULT_LOCAL_TMP
    except Exception:   # pragma: no cover - no Ansible configuration at all
        return None
    return os.path.join(directory, 'jaas_firewall_rules') if directory else None


def _private_to_us(info):
    """A file or directory only we can change (ours, not group- or world-writable)."""
    return info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def load(key, directory=None):
    directory = directory or cache_dir()
    path = os.path.join(directory, key + '.json')
    try:
        if not _private_to_us(os.stat(directory)):
            return None
        # No symlink followed; O_NONBLOCK: a FIFO put in its place must not hang the run.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, 'O_NOFOLLOW', 0))
        with os.fdopen(fd) as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode) or not _private_to_us(info):
                return None
            return json.load(handle)
    except (IOError, OSError, ValueError):
        return None


def store(key, value, directory=None):
    """Write atomically and durably; a cache that cannot be written is only slower."""
    directory = directory or cache_dir()
    tmp = None
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix='.%s.' % key[:12])
        with os.fdopen(fd, 'w') as handle:
            json.dump(value, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(tmp, os.path.join(directory, key + '.json'))
        tmp = None
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except (IOError, OSError, TypeError, ValueError):
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _flag(selection, key):
    """A bool option as Ansible reads it (an unknown spelling reads as false: stricter)."""
    from ansible.module_utils.parsing.convert_bool import boolean
    return boolean(selection.get(key), strict=False)


def valid_entry(value, selection):
    """True when a loaded cache entry is something a fresh computation for ``selection``
    could produce: every rule passes the rule model and is one of the catalog's own
    (block, direction, region, protocol, ports) with its network inside that block's or
    region's networks, from the catalog file validated again with the same options; the
    domain entries are exactly the catalog's. False for anything else."""
    # Imported here: only a cache hit pays for the model and the catalog code (no netaddr).
    from ansible_collections.jaas.firewall.plugins.module_utils import model
    from ansible_collections.jaas.firewall.plugins.plugin_utils import backend_action
    from ansible_collections.jaas.firewall.plugins.plugin_utils.catalog import (
        RECEIVER_PORT, load_catalog, select)
    if not _well_formed(value):
        return False
    rules, domains = value
    try:
        allow_private = _flag(selection, 'allow_private_networks')
        path = selection.get('catalog_file')
        catalog = load_catalog(os.path.abspath(os.path.expanduser(path)) if path else None,
                               allow_broad_networks=_flag(selection, 'allow_broad_networks'),
                               drop_expired=_flag(selection, 'drop_expired'),
                               allow_private_networks=allow_private)
        families = selection.get('families')
        catalog = select(catalog, blocks=selection.get('blocks'),
                         regions=selection.get('regions'), families=families)
        if domains != backend_action.domain_entries(catalog, selection.get('domains'), families):
            return False
        webhooks = _flag(selection, 'webhooks')
        port = selection.get('webhook_port')
        receiver = '%d' % model.single_port(443 if port is None else port)
        spaces = {}
        for rule in rules:
            if not isinstance(rule, dict) or model.normalise_rule(rule) != rule:
                return False
            block = catalog['blocks'].get(rule['block'])
            if block is None or block['direction'] != rule['direction'] or (
                    block['direction'] == 'in' and not webhooks):
                return False
            services = [(r['protocol'], receiver if r['ports'] == RECEIVER_PORT else r['ports'])
                        for r in block['rules']]
            if (rule['protocol'], rule['ports']) not in services:
                return False
            where = (rule['block'], rule['region'], rule['family'])
            if where not in spaces:
                if block['regions'] is None:
                    networks = block['networks'] if rule['region'] is None else []
                else:
                    networks = (block['regions'].get(rule['region']) or {}).get('networks') or []
                spaces[where] = list(ipaddress.collapse_addresses(
                    n for n in map(ipaddress.ip_network, networks) if n.version == rule['family']))
            network = ipaddress.ip_network(rule['network'])
            model.check_public_network(network, allow_private)
            if not any(network.subnet_of(known) for known in spaces[where]):
                return False
    except Exception:   # whatever a hostile entry or a changed catalog raises,
        return False    # the answer is "compute it again" (which reports real errors)
    return True


def cached(selection, compute):
    """compute() once per distinct (catalog, selection, code); its result must be JSON.

    A stored entry that does not validate (``valid_entry``) is ignored and rebuilt. Within
    one run, the entry this run validated or computed is read from the run's directory."""
    key = cache_key(selection)
    if key is None:
        return compute()
    this_run = run_dir()
    if this_run is not None:
        value = load(key, this_run)
        if _well_formed(value):
            return value
    value = load(key)
    if value is None or not valid_entry(value, selection):
        value = compute()
        store(key, value)
    if this_run is not None:
        store(key, value, this_run)
    return value


def _well_formed(value):
    """The shape ``compute`` returns: [rules, domains], lists of dicts."""
    return (isinstance(value, list) and len(value) == 2
            and all(isinstance(part, list) and all(isinstance(item, dict) for item in part)
                    for part in value))
