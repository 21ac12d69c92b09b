# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load, validate and normalise the JaaS catalog (vars/jaas_catalog.yml).

Pure Python + PyYAML; networks, ports, protocols, directions and keys are parsed by the
rule model (module_utils/model.py, ``ipaddress``), exactly as every other entry point
parses them. No Ansible imports, so the unit tests and the command-line tools use
exactly the code the plugins use.

Every problem becomes one line ``<file>: <path>: <problem>``; all problems found in
one pass are reported together in a single CatalogError.
"""

from __future__ import annotations

import datetime
import difflib
import os
import re

import yaml

from ansible_collections.jaas.firewall.plugins.module_utils import model
from ansible_collections.jaas.firewall.plugins.module_utils.model import (
    BROADEST_PREFIX, ModelError)

SCHEMA_VERSION = 1
DIRECTIONS = ('out', 'in')
# The one non-numeric port value: the user's webhook receiver port (inbound blocks only).
RECEIVER_PORT = 'receiver'

DEFAULT_CATALOG = os.path.normpath(
    os.path.join(os.path.dirname(__file__), '..', '..', 'vars', 'jaas_catalog.yml'))

_DATE = re.compile(r'^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z')
_DOMAIN = re.compile(r'^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\Z')

# Allowed keys per level: {key: required}
_TOP_KEYS = {'schema_version': True, 'provenance': True, 'domains': False, 'blocks': True}
_PROVENANCE_KEYS = {'title': True, 'url': True, 'retrieved': True, 'publisher': False, 'note': False}
_CATEGORY_KEYS = {'description': True, 'impact': False, 'rules': True, 'names': True}
_BLOCK_KEYS = {'description': True, 'direction': True, 'rules': True, 'networks': False,
               'regions': False, 'source_url': False, 'note': False}
_REGION_KEYS = {'name': True, 'networks': True, 'note': False}
_RULE_KEYS = {'protocol': True, 'ports': False}
_ENTRY_KEYS = {'network': True, 'added': False, 'expires': False, 'note': False}


class CatalogError(ValueError):
    """The catalog is unusable. ``str()`` is one readable line per problem."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__('\n'.join(self.problems))


_DECIMAL = re.compile(r'[-+]?(?:0|[1-9][0-9]*)\Z')


class _Strict(object):
    """A SafeLoader mix-in that refuses duplicate mapping keys (PyYAML keeps the last one silently)
    and integers that YAML 1.1 would not read as written: ``0443`` is octal 291, ``1:30``
    is 90, ``0x1bb`` is 443."""

    def construct_yaml_int(self, node):
        text = self.construct_scalar(node)
        if not _DECIMAL.match(text.replace('_', '#')):
            raise yaml.constructor.ConstructorError(
                None, None, 'integer %r is not plain decimal (YAML would read it as %d); '
                'write a plain decimal number, or quote it' % (text, super().construct_yaml_int(node)),
                node.start_mark)
        return super().construct_yaml_int(node)

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, 'duplicate key %r' % (key,), key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


class _UniqueKeyLoader(_Strict, yaml.SafeLoader):
    """The strict loader, all Python."""


_UniqueKeyLoader.add_constructor('tag:yaml.org,2002:int', _UniqueKeyLoader.construct_yaml_int)
# The same constructors on libyaml's parser when PyYAML has it: the catalog is read on every
# run (and its cached rules checked against it), and this reads it about 4x faster.
if getattr(yaml, '__with_libyaml__', False):
    class _FastLoader(_Strict, yaml.CSafeLoader):
        """The strict loader on libyaml's parser."""

    _FastLoader.add_constructor('tag:yaml.org,2002:int', _FastLoader.construct_yaml_int)
else:   # pragma: no cover - PyYAML built without libyaml
    _FastLoader = _UniqueKeyLoader


def read_catalog_file(path):
    """Parse a catalog file into plain data. Raises CatalogError (never a traceback)."""
    try:
        with open(path, 'rb') as handle:
            text = handle.read().decode('utf-8')
    except FileNotFoundError:
        raise CatalogError(['%s: catalog file not found' % path])
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(['%s: cannot read catalog: %s' % (path, exc)])
    return parse_catalog_text(text, path)


def parse_catalog_text(text, source):
    try:
        try:
            data = yaml.load(text, Loader=_FastLoader)  # noqa: S506 - SafeLoader subclasses
        except yaml.YAMLError:
            # libyaml words some syntax errors less precisely: report PyYAML's wording
            data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506
    except yaml.YAMLError as exc:
        mark = getattr(exc, 'problem_mark', None)
        where = ' (line %d, column %d)' % (mark.line + 1, mark.column + 1) if mark else ''
        problem = getattr(exc, 'problem', None) or str(exc).splitlines()[0]
        raise CatalogError(['%s: YAML syntax error%s: %s' % (source, where, problem)])
    except ValueError as exc:
        # PyYAML's own constructors raise ValueError, e.g. for an unquoted 2026-02-30.
        raise CatalogError(['%s: YAML value error: %s' % (source, exc)])
    return data


def load_catalog(path=None, allow_broad_networks=False, drop_expired=False, today=None,
                 warn=None, allow_private_networks=False):
    """Read, validate and normalise a catalog file; the default is the bundled one."""
    path = path or DEFAULT_CATALOG
    data = read_catalog_file(path)
    return validate_catalog(data, source=path, allow_broad_networks=allow_broad_networks,
                            drop_expired=drop_expired, today=today, warn=warn,
                            allow_private_networks=allow_private_networks)


class _Checker(object):
    """Collects problems and warnings while walking the catalog."""

    def __init__(self, source, warn):
        self.source = source
        self.problems = []
        self.warnings = []
        self._warn = warn

    def _line(self, path, message):
        # One problem, one line: a hostile key must not be able to forge extra lines.
        return model.one_line('%s: %s: %s' % (self.source, path, message))

    def error(self, path, message):
        self.problems.append(self._line(path, message))

    def warning(self, path, message):
        line = self._line(path, message)
        self.warnings.append(line)
        if self._warn:
            self._warn(line)

    def mapping(self, value, path, allowed):
        """Check type, unknown (or misspelt) and missing keys. Returns True if a mapping."""
        if not isinstance(value, dict):
            self.error(path, 'must be a mapping, got %s' % model.type_name(value))
            return False
        for key in value:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), list(allowed), n=1)
                hint = ' (did you mean %r?)' % close[0] if close else ''
                self.error(path, 'unknown key %r%s; allowed: %s'
                           % (key, hint, ', '.join(sorted(allowed))))
        for key, required in allowed.items():
            if required and key not in value:
                self.error(path, 'missing required key %r' % key)
        return True

    def text(self, value, path, required=True):
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            self.error(path, 'must be a non-empty string, got %s' % model.type_name(value))
            return None
        return value.strip()


def _join(path, key):
    return '%s.%s' % (path, key) if path else str(key)


def parse_ports(value):
    """The canonical port string ("443", "49152-65535") or None for every port.

    The rule model's parser (``443-443`` is ``443``; ``0443`` is refused); raises
    ModelError, a ValueError, with the reason.
    """
    return model.ports_text(value)


def parse_network(value):
    """The rule model's strict network parser: an ``ipaddress`` network, a bare address
    being a /32 or /128. Raises ModelError, a ValueError, with the reason."""
    return model.parse_network(value)


def _parse_date(value, path, check):
    if value is None:
        return None
    # YAML turns an unquoted 2026-06-01 into a date and 2026-06-01 10:00 into a datetime
    # (a date subclass): only a plain calendar date is meaningful here.
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value
    if isinstance(value, str) and _DATE.match(value):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            pass
    check.error(path, 'date %r is not YYYY-MM-DD' % (value,))
    return None


def validate_catalog(data, source='<catalog>', allow_broad_networks=False,
                     drop_expired=False, today=None, warn=None, allow_private_networks=False):
    """Validate plain catalog data and return the normalised catalog.

    Raises CatalogError listing every problem. Duplicate networks and names are
    warned about (through ``warn``) and removed. Address space that cannot be a vendor's
    public service is refused (model.SPECIAL_ADDRESS_SPACE); ``allow_private_networks``
    admits its opt-in ranges (private, ULA, documentation, benchmarking ...).
    """
    check = _Checker(source, warn)
    check.allow_private = allow_private_networks
    today = today or datetime.date.today()
    if not check.mapping(data, '(top level)', _TOP_KEYS):
        raise CatalogError(check.problems)

    version = data.get('schema_version')
    if isinstance(version, bool) or version != SCHEMA_VERSION:
        check.error('schema_version', 'must be %d, got %r' % (SCHEMA_VERSION, version))

    provenance = {}
    if 'provenance' in data and check.mapping(data['provenance'], 'provenance', _PROVENANCE_KEYS):
        for key, value in data['provenance'].items():
            if key == 'retrieved' and isinstance(value, datetime.date):
                value = value.isoformat()
            provenance[key] = check.text(value, _join('provenance', key))

    domains = {}
    raw_domains = data.get('domains') or {}
    if check.mapping(raw_domains, 'domains', dict((k, False) for k in raw_domains)):
        for name, category in raw_domains.items():
            domains[name] = _validate_category(category, 'domains.%s' % name, check)

    blocks = {}
    raw_blocks = data.get('blocks')
    if 'blocks' in data:
        if not isinstance(raw_blocks, dict) or not raw_blocks:
            check.error('blocks', 'must be a non-empty mapping of blocks')
        else:
            for name, block in raw_blocks.items():
                path = 'blocks.%s' % name
                try:
                    model.check_name('block key', name)
                except ModelError as exc:
                    check.error(path, exc.reason)
                    continue
                blocks[name] = _validate_block(block, path, check, allow_broad_networks,
                                               drop_expired, today)

    if check.problems:
        raise CatalogError(check.problems)
    return {
        'schema_version': SCHEMA_VERSION,
        'source': source,
        'provenance': provenance,
        'domains': domains,
        'blocks': blocks,
        'warnings': check.warnings,
    }


def _validate_rules(raw, path, check, direction):
    rules = []
    if not isinstance(raw, list):
        check.error(path, 'must be a list of {protocol, ports}, got %s' % model.type_name(raw))
        return rules
    for index, rule in enumerate(raw):
        rpath = '%s[%d]' % (path, index)
        if not check.mapping(rule, rpath, _RULE_KEYS):
            continue
        try:
            protocol = model.parse_protocol(rule.get('protocol'))
        except ModelError as exc:
            check.error(rpath + '.protocol', exc.reason)
            continue
        ports = rule.get('ports')
        if ports == RECEIVER_PORT:
            if direction != 'in':
                check.error(rpath + '.ports', '%r is only allowed in inbound (direction: in) '
                            'blocks' % RECEIVER_PORT)
                continue
        else:
            try:
                ports = parse_ports(ports)
            except ModelError as exc:
                check.error(rpath + '.ports', exc.reason)
                continue
        entry = {'protocol': protocol, 'ports': ports}
        if entry in rules:
            check.warning(rpath, 'duplicate rule %s/%s ignored' % (protocol, ports or 'any'))
            continue
        rules.append(entry)
    return rules


def _validate_category(category, path, check):
    if not check.mapping(category, path, _CATEGORY_KEYS):
        return None
    names = []
    raw_names = category.get('names')
    if not isinstance(raw_names, list) or not raw_names:
        check.error(path + '.names', 'must be a non-empty list of domain names')
        raw_names = []
    for index, name in enumerate(raw_names):
        npath = '%s.names[%d]' % (path, index)
        if not isinstance(name, str):
            check.error(npath, 'domain must be a string, got %s' % model.type_name(name))
            continue
        canonical = name.strip().lower().rstrip('.')
        if canonical.startswith('https://'):
            canonical = canonical[len('https://'):]
        if not _DOMAIN.match(canonical):
            check.error(npath, '%r is not a domain name or *.domain wildcard' % name)
            continue
        if canonical in names:
            check.warning(npath, 'duplicate domain %r ignored' % canonical)
            continue
        names.append(canonical)
    return {
        'description': check.text(category.get('description'), path + '.description'),
        'impact': check.text(category.get('impact'), path + '.impact', required=False),
        'rules': _validate_rules(category.get('rules'), path + '.rules', check, 'out'),
        'names': names,
    }


def _validate_block(block, path, check, allow_broad, drop_expired, today):
    if not check.mapping(block, path, _BLOCK_KEYS):
        return None
    direction = block.get('direction')
    try:
        model.parse_direction(direction)
    except ModelError as exc:
        check.error(path + '.direction', exc.reason)
    has_networks, has_regions = 'networks' in block, 'regions' in block
    if has_networks == has_regions:
        check.error(path, 'needs exactly one of "networks" (no regions) or "regions"')
    seen = {}
    normal = {
        'description': check.text(block.get('description'), path + '.description'),
        'direction': direction,
        'rules': _validate_rules(block.get('rules'), path + '.rules', check, direction),
        'source_url': check.text(block.get('source_url'), path + '.source_url', required=False),
        'note': check.text(block.get('note'), path + '.note', required=False),
        'networks': None,
        'regions': None,
    }
    if has_networks and not has_regions:
        normal['networks'] = _validate_networks(block['networks'], path + '.networks', check,
                                                seen, allow_broad, drop_expired, today)
    elif has_regions and not has_networks:
        regions = block['regions']
        if not isinstance(regions, dict) or not regions:
            check.error(path + '.regions', 'must be a non-empty mapping of regions, got %s'
                        % model.type_name(regions))
            return normal
        normal['regions'] = {}
        for key, region in regions.items():
            rpath = '%s.regions.%s' % (path, key)
            try:
                model.check_name('region key', key)
            except ModelError as exc:
                check.error(rpath, exc.reason)
                continue
            if not check.mapping(region, rpath, _REGION_KEYS):
                continue
            normal['regions'][key] = {
                'name': check.text(region.get('name'), rpath + '.name'),
                'note': check.text(region.get('note'), rpath + '.note', required=False),
                'networks': _validate_networks(region.get('networks'), rpath + '.networks',
                                               check, seen, allow_broad, drop_expired, today),
            }
    return normal


def _validate_networks(raw, path, check, seen, allow_broad, drop_expired, today):
    """Validate a list of networks; ``seen`` spans the whole block to catch duplicates."""
    if not isinstance(raw, list) or not raw:
        check.error(path, 'must be a non-empty list of addresses/networks, got %s'
                    % ('an empty list' if raw == [] else model.type_name(raw)))
        return []
    networks = []
    expired = 0
    for index, entry in enumerate(raw):
        epath = '%s[%d]' % (path, index)
        value, expires = entry, None
        if isinstance(entry, dict):
            if not check.mapping(entry, epath, _ENTRY_KEYS):
                continue
            value = entry.get('network')
            added = _parse_date(entry.get('added'), epath + '.added', check)
            expires = _parse_date(entry.get('expires'), epath + '.expires', check)
            if added and expires and expires < added:
                check.error(epath, 'expires %s is before added %s' % (expires, added))
        # Validate before any expiry decision: a typo in an expired entry is still a typo.
        try:
            network = parse_network(value)
        except ModelError as exc:
            check.error(epath, exc.reason)
            continue
        if expires and expires < today:
            verb = 'dropped' if drop_expired else 'still allowed (set drop_expired to drop it)'
            check.warning(epath, '%s expired on %s; %s' % (value, expires, verb))
            if drop_expired:
                expired += 1
                continue
        if not allow_broad and network.prefixlen < BROADEST_PREFIX[network.version]:
            check.error(epath, '%s is broader than /%d; set allow_broad_networks to allow it'
                        % (network, BROADEST_PREFIX[network.version]))
            continue
        try:
            model.check_public_network(network, allow_private=check.allow_private)
        except ModelError as exc:
            check.error(epath, exc.reason)
            continue
        cidr = str(network)
        if cidr in seen:
            check.warning(epath, 'duplicate network %s (first at %s) ignored' % (cidr, seen[cidr]))
            continue
        seen[cidr] = epath
        networks.append(cidr)
    if expired and not networks:
        check.warning(path, 'every entry expired and was dropped: this opens nothing')
    return networks


def select(catalog, blocks=None, regions=None, families=None):
    """Return a copy of a normalised catalog reduced to the given blocks/regions/families.

    Unknown block or region names are errors (a typo must not silently open nothing).
    Regions only filter blocks that have regions.
    """
    problems = []
    source = catalog.get('source', '<catalog>')
    all_blocks = catalog['blocks']
    if blocks is not None:
        for name in blocks:
            if name not in all_blocks:
                problems.append('%s: blocks: unknown block %r; known: %s'
                                % (source, name, ', '.join(sorted(all_blocks))))
    if regions is not None:
        known = set()
        for block in all_blocks.values():
            known.update(block['regions'] or {})
        for name in regions:
            if name not in known:
                problems.append('%s: regions: unknown region %r; known: %s'
                                % (source, name, ', '.join(sorted(known))))
    families = list(families) if families is not None else [4, 6]
    for family in families:
        if family not in (4, 6):
            problems.append('%s: families: %r is not 4 or 6' % (source, family))
    if problems:
        raise CatalogError(problems)

    def keep(networks):
        return [n for n in networks if (6 if ':' in n else 4) in families]

    chosen = {}
    for name, block in all_blocks.items():
        if blocks is not None and name not in blocks:
            continue
        block = dict(block)
        if block['regions'] is not None:
            block['regions'] = dict(
                (key, dict(region, networks=keep(region['networks'])))
                for key, region in block['regions'].items()
                if regions is None or key in regions)
            block['regions'] = dict((k, r) for k, r in block['regions'].items() if r['networks'])
        else:
            block['networks'] = keep(block['networks'])
        chosen[name] = block
    result = dict(catalog)
    result['blocks'] = chosen
    return result
