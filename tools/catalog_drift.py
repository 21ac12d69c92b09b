#!/usr/bin/env python3
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drift report: a saved copy of the vendor page against the catalog.

    python tools/catalog_drift.py PAGE.md [--catalog vars/jaas_catalog.yml]
                                  [--write NEW.yml] [--retrieved YYYY-MM-DD] [--json]

Reads the page (the Markdown format of shared/jaas-network-requirements.md), turns it
into catalog data, validates that with the collection's own model
(plugins/plugin_utils/catalog.py) and reports what differs from the catalog:
blocks, regions and networks added/removed/renamed, port changes per block, domains
added/removed per category, and the page's own Copy/Paste-list inconsistencies
(listed, but not counted as drift: the catalog already records them in
``unclassified``; a *change* in them shows up as drift of that block).

--write NEW.yml writes the page as a catalog for review (descriptions, notes, region
notes, source URLs and dated entries are carried over from the current catalog).

Exit status: 0 no drift, 1 drift, 2 the page or the catalog cannot be read or parsed.

How the page is read (tolerant of layout, strict about addresses):
  * headings of any level; "Domains" and "IP Addresses" open the two parts, a heading
    of the same or a higher level that is neither closes them;
  * under Domains, each heading is a category, each bullet (``*``, ``-``, ``+``, ``1.``)
    a domain, with or without backticks, links or ``https://``;
  * under IP Addresses, each heading is a block, except "IPv4"/"IPv6" (they continue the
    block above) and "Copy/Paste"; ``Name: addr, addr`` bullets are regions, bare
    addresses (bulleted or not, one or several per line) are the block's networks;
  * ports come from phrases such as "TCP port 443 and UDP ports 49152-65535" in the
    block's prose; a block that names protocols but no port gets every port (its
    receiver port when inbound), and one that names none gets the protocols of the
    "IP Addresses" introduction ("full IP connectivity (TCP and UDP)");
  * order, blank lines, trailing spaces and accents in region names do not matter; any
    token that looks like an address must be a valid one, or the page is refused.

Keys: blocks, categories and regions keep the current catalog's keys (matched by
description/heading, and by region name ignoring case and accents). A new region gets
``<country code>-<rest of name>-<city>`` from COUNTRY_CODES ("Canada (Toronto)" ->
``ca-toronto``), or a plain slug of its name when the country is not in the table.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import sys
import tempfile
import unicodedata

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CATALOG = os.path.join(ROOT, 'vars', 'jaas_catalog.yml')


def _load_model():
    """The collection's catalog model from this checkout (no Ansible needed): imported as
    ansible_collections.jaas.firewall through `make link`'s .collections, or a temporary
    link when that does not exist."""
    base = os.path.join(ROOT, '.collections')
    if not os.path.exists(os.path.join(base, 'ansible_collections', 'jaas', 'firewall')):
        base = tempfile.mkdtemp(prefix='jaas-drift-')
        os.makedirs(os.path.join(base, 'ansible_collections', 'jaas'))
        os.symlink(ROOT, os.path.join(base, 'ansible_collections', 'jaas', 'firewall'))
    sys.path.insert(0, base)
    from ansible_collections.jaas.firewall.plugins.plugin_utils import catalog
    return catalog


model = _load_model()

# Country (as the page names it, folded) -> the region-key prefix the catalog uses.
# 'uk' rather than ISO 'gb' because the catalog's existing keys say uk-london.
COUNTRY_CODES = {
    'australia': 'au', 'brazil': 'br', 'canada': 'ca', 'chile': 'cl', 'france': 'fr',
    'germany': 'de', 'hong kong': 'hk', 'india': 'in', 'israel': 'il', 'italy': 'it',
    'japan': 'jp', 'mexico': 'mx', 'netherlands': 'nl', 'saudi arabia': 'sa',
    'singapore': 'sg', 'south africa': 'za', 'south korea': 'kr', 'spain': 'es',
    'sweden': 'se', 'switzerland': 'ch', 'uae': 'ae', 'united arab emirates': 'ae',
    'uk': 'uk', 'united kingdom': 'uk', 'us': 'us', 'usa': 'us', 'united states': 'us',
}
# Page headings -> catalog block keys, used when no catalog description matches.
BLOCK_HEADINGS = [
    (re.compile(r'cloudflare'), 'cloudflare'),
    (re.compile(r'video bridge|\bjvb\b'), 'jvb'),
    (re.compile(r'\bturn\b'), 'turn'),
    (re.compile(r'webhook'), 'webhook_origins'),
]
CATEGORY_HEADINGS = {'core': 'core', 'auxiliary': 'auxiliary', 'analytics': 'analytics'}
UNCLASSIFIED = 'unclassified'
UNCLASSIFIED_DESCRIPTION = "In the page's Copy/Paste list but in none of its structured lists"

_HEADING = re.compile(r'^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$')
_BULLET = re.compile(r'^\s*(?:[*+-]|\d+[.)])\s+(.*)$')
_FENCE = re.compile(r'^\s*(```|~~~)')
_ADDRESS_LIKE = re.compile(r'^[0-9A-Fa-f]*[.:][0-9A-Fa-f.:]*(?:/\S*)?$')
_SEPARATORS = re.compile(r'(?:\s*[,;]\s*|\s+and\s+|\s+)')
_LINK = re.compile(r'\[([^\]]*)\]\(([^)]*)\)')
_URL = re.compile(r'https?://[^\s)>\]`]+')
_PORT = r'\d{1,5}(?:\s*[-\u2013\u2014]\s*\d{1,5})?'
_PORT_PHRASE = re.compile(
    r'\b(?P<protocols>(?:tcp|udp)(?:\s*(?:,|/|&|\band\b|\bor\b)\s*(?:tcp|udp))*)\s+ports?\s+'
    r'(?P<ports>%s(?:\s*(?:,|&|\band\b)\s*%s)*)' % (_PORT, _PORT), re.I)
_PROTOCOL = re.compile(r'\b(tcp|udp)\b', re.I)


class PageError(Exception):
    """The page cannot be turned into catalog data; str() is one line per problem."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__('\n'.join(self.problems))


def fold(text):
    """Case-, accent- and whitespace-insensitive form for matching names."""
    text = unicodedata.normalize('NFKD', text)
    text = ''.join(c for c in text if not unicodedata.combining(c))
    return ' '.join(text.casefold().split())


def slug(text, separator='-'):
    return re.sub(r'[^a-z0-9]+', separator, fold(text)).strip(separator)[:48].strip(separator)


def region_key(name):
    """Key for a region the catalog does not know yet (see COUNTRY_CODES)."""
    folded = fold(name)
    match = re.match(r'^(.*?)\s*\((.*)\)$', folded)
    place, city = (match.group(1), match.group(2)) if match else (folded, '')
    for country in sorted(COUNTRY_CODES, key=len, reverse=True):
        if place == country or place.startswith(country + ' '):
            return slug('%s %s %s' % (COUNTRY_CODES[country], place[len(country):], city))
    return slug(name)


def _clean(text):
    text = _LINK.sub(lambda m: m.group(1) or m.group(2), text)
    text = re.sub(r'<br\s*/?>', ' ', text, flags=re.I)
    text = text.replace('`', '').replace('**', '').replace('__', '').replace('\\', '')
    return text.strip()


def _address_tokens(text):
    """The tokens of a line made only of address-looking tokens, else None."""
    tokens = [t for t in _SEPARATORS.split(text.strip()) if t]
    if tokens and all(_ADDRESS_LIKE.match(t) and re.search(r'\d', t) for t in tokens):
        return tokens
    return None


def _host_form(network):
    """Catalog style: single addresses without /32 or /128."""
    text = str(network)
    return text.split('/')[0] if network.prefixlen == (32 if network.version == 4 else 128) else text


class _Section(object):
    def __init__(self, kind, heading, line):
        self.kind, self.heading, self.line = kind, heading, line
        self.prose = []
        self.links = []
        self.items = []      # domains, or (cidr, host form, line) for flat networks
        self.regions = {}    # name -> {'line': n, 'networks': [(cidr, host form, line)]}


def read_page(path):
    try:
        with open(path, encoding='utf-8') as handle:
            text = handle.read()
    except FileNotFoundError:
        raise PageError(['%s: page not found' % path])
    except (OSError, UnicodeDecodeError) as exc:
        raise PageError(['%s: cannot read page: %s' % (path, exc)])
    return parse_page(text, path)


def parse_page(text, source='<page>'):
    """Split the page into titles, domain categories, IP blocks and the Copy/Paste list."""
    problems = []
    page = {'titles': [], 'domains_intro': [], 'ip_intro': [], 'categories': [], 'blocks': [],
            'copy_paste': None}
    mode, mode_level, current = None, 0, None
    in_fence = False

    def networks_of(tokens, number):
        found = []
        for token in tokens:
            try:
                network = model.parse_network(token)
            except ValueError as exc:
                problems.append('%s:%d: %s' % (source, number, exc))
                continue
            found.append((str(network), _host_form(network), number))
        return found

    for number, raw in enumerate(text.splitlines(), 1):
        if _FENCE.match(raw):
            in_fence = not in_fence
            continue
        heading = None if in_fence else _HEADING.match(raw)
        if heading:
            level, title = len(heading.group(1)), _clean(heading.group(2))
            name = fold(re.sub(r'[^\w\s/]', ' ', title))
            known_block = any(pattern.search(name) for pattern, _key in BLOCK_HEADINGS) or (
                'copy' in name and 'paste' in name) or re.fullmatch(r'ipv[46].*', name)
            if name == 'domains':
                mode, mode_level, current = 'domains', level, None
            elif name.startswith('ip address') or name == 'ip ranges':
                mode, mode_level, current = 'ip', level, None
            elif mode and level <= mode_level and not (mode == 'ip' and known_block):
                # A heading as high as "Domains"/"IP Addresses" ends the part, unless it
                # is one of the IP sections (their level may change with the page layout).
                mode, current = None, None
            elif mode == 'domains':
                current = _Section('category', title, number)
                page['categories'].append(current)
            elif mode == 'ip' and 'copy' in name and 'paste' in name:
                current = _Section('copy_paste', title, number)
                page['copy_paste'] = current
            elif mode == 'ip' and re.fullmatch(r'ipv[46]( ranges?| addresses)?', name):
                if current is None or current.kind != 'block':
                    problems.append('%s:%d: heading %r is not under a block heading'
                                    % (source, number, title))
            elif mode == 'ip':
                current = _Section('block', title, number)
                page['blocks'].append(current)
            elif mode is None and not page['blocks']:
                page['titles'].append(title)
            continue
        line = raw.strip()
        if not line or mode is None:
            continue
        bullet = _BULLET.match(line)
        body = _clean(bullet.group(1) if bullet else line)
        if current is None:
            page['domains_intro' if mode == 'domains' else 'ip_intro'].append(body)
            if mode == 'ip' and _address_tokens(body):
                problems.append('%s:%d: addresses outside any block' % (source, number))
            continue
        current.links.extend(_URL.findall(raw))
        if current.kind == 'category':
            if bullet:
                domain = re.sub(r'^[a-z]+://', '', body.split()[0]).split('/')[0]
                current.items.append((domain, number))
            else:
                current.prose.append(body)
            continue
        tokens = _address_tokens(body)
        if tokens:
            current.items.extend(networks_of(tokens, number))
            continue
        region = re.match(r'^([^:]+?)\s*:\s*(.+)$', body) if bullet else None
        if region and current.kind == 'block':
            rest = [t for t in _SEPARATORS.split(region.group(2)) if t]
            if any(_ADDRESS_LIKE.match(t) for t in rest):
                name = ' '.join(region.group(1).split())
                entry = current.regions.setdefault(name, {'line': number, 'networks': []})
                entry['networks'].extend(networks_of(rest, number))
                continue
        current.prose.append(body)
    if not page['categories'] and not page['blocks']:
        problems.append('%s: no "Domains" or "IP Addresses" section found; is this the '
                        'vendor page?' % source)
    elif not page['blocks']:
        problems.append('%s: no IP blocks found (no "IP Addresses" heading?)' % source)
    elif not page['categories']:
        problems.append('%s: no domain categories found (no "Domains" heading?)' % source)
    for block in page['blocks']:
        if block.items and block.regions:
            problems.append('%s:%d: block %r has both region lines and bare addresses'
                            % (source, block.line, block.heading))
        if not block.items and not block.regions:
            problems.append('%s:%d: block %r lists no addresses' % (source, block.line, block.heading))
    if problems:
        raise PageError(problems)
    return page


def stated_rules(text):
    """Rules from phrases like "TCP port 443, UDP port 443 and UDP ports 49152-65535"."""
    rules = []
    for match in _PORT_PHRASE.finditer(text):
        protocols = [p.lower() for p in _PROTOCOL.findall(match.group('protocols'))]
        for port in re.split(r'\s*(?:,|&|\band\b)\s*', match.group('ports')):
            ports = model.parse_ports(re.sub(r'\s*[-\u2013\u2014]\s*', '-', port))
            for protocol in protocols:
                rule = {'protocol': protocol, 'ports': ports}
                if rule not in rules:
                    rules.append(rule)
    return rules


def _protocols(text):
    found = []
    for protocol in _PROTOCOL.findall(text):
        if protocol.lower() not in found:
            found.append(protocol.lower())
    return found


def _block_rules(section, ip_intro, direction, source):
    prose = ' '.join(section.prose)
    rules = stated_rules(prose)
    if rules:
        return rules
    protocols = _protocols(prose) or _protocols(' '.join(ip_intro))
    if not protocols:
        raise PageError(['%s:%d: block %r states no protocol or port'
                         % (source, section.line, section.heading)])
    ports = model.RECEIVER_PORT if direction == 'in' else None
    return [{'protocol': protocol, 'ports': ports} for protocol in protocols]


def _match_block(heading, catalog):
    name = fold(heading)
    for key, block in catalog['blocks'].items():
        if block and fold(block.get('description') or '').startswith(name):
            return key
    for pattern, key in BLOCK_HEADINGS:
        if pattern.search(name):
            return key
    return slug(heading, '_')


def _match_category(heading, catalog):
    name = fold(heading)
    for key, category in catalog['domains'].items():
        if category and fold(category.get('description') or '') == name:
            return key
    first = name.split()[0] if name else ''
    return CATEGORY_HEADINGS.get(first) or slug(heading, '_')


def _raw_entries(raw_networks):
    """{cidr: raw entry} for the current catalog's dated (mapping) entries."""
    dated = {}
    for entry in raw_networks or []:
        if isinstance(entry, dict):
            try:
                dated[str(model.parse_network(entry.get('network')))] = entry
            except ValueError:
                pass
    return dated


def page_to_data(page, catalog, raw, source, retrieved=None):
    """Catalog data (the YAML schema, before validation) for a parsed page."""
    raw_blocks = (raw or {}).get('blocks') or {}
    region_keys = {}
    for block in catalog['blocks'].values():
        for key, region in (block.get('regions') or {}).items():
            region_keys.setdefault(fold(region['name']), key)

    provenance = dict(catalog.get('provenance') or {})
    provenance['retrieved'] = retrieved or datetime.date.today().isoformat()
    if page['titles']:
        provenance['title'] = ' \u2014 '.join(page['titles'][:2])
    data = {'schema_version': model.SCHEMA_VERSION, 'provenance': provenance,
            'domains': {}, 'blocks': {}}
    lines = {}

    domain_intro = ' '.join(page['domains_intro'])
    for section in page['categories']:
        key = _match_category(section.heading, catalog)
        old = catalog['domains'].get(key) or {}
        rules = stated_rules(' '.join(section.prose)) or stated_rules(domain_intro)
        if not rules and 'https' in (domain_intro + ' '.join(section.prose)).lower():
            rules = [{'protocol': 'tcp', 'ports': '443'}]
        category = {'description': section.heading}
        if old.get('impact') or section.prose:
            category['impact'] = old.get('impact') or section.prose[0]
        category['rules'] = rules
        category['names'] = [domain for domain, _n in section.items]
        data['domains'][key] = category
        lines['domains.%s' % key] = section.line
        for index, (_domain, number) in enumerate(section.items):
            lines['domains.%s.names[%d]' % (key, index)] = number

    structured = {}
    for section in page['blocks']:
        key = _match_block(section.heading, catalog)
        old = catalog['blocks'].get(key) or {}
        raw_old = raw_blocks.get(key) or {}
        prose = ' '.join(section.prose).lower()
        direction = old.get('direction') or (
            'in' if re.search(r'\bfrom these\b|\binbound\b|\bcome\b', prose) else 'out')
        block = {'description': old.get('description') or section.heading,
                 'direction': direction,
                 'rules': _block_rules(section, page['ip_intro'], direction, source)}
        links = [url for url in section.links if 'ips' in url] or section.links
        if links or old.get('source_url'):
            block['source_url'] = links[0] if links else old['source_url']
        if old.get('note'):
            block['note'] = old['note']
        lines['blocks.%s' % key] = section.line
        if section.regions:
            block['regions'] = {}
            for name, region in section.regions.items():
                rkey = region_keys.get(fold(name)) or region_key(name)
                raw_region = (raw_old.get('regions') or {}).get(rkey) or {}
                dated = _raw_entries(raw_region.get('networks'))
                entry = {'name': name,
                         'networks': [dated.get(cidr, host) for cidr, host, _n in region['networks']]}
                if raw_region.get('note'):
                    entry['note'] = raw_region['note']
                block['regions'][rkey] = entry
                lines['blocks.%s.regions.%s' % (key, rkey)] = region['line']
                for index, (cidr, _host, number) in enumerate(region['networks']):
                    lines['blocks.%s.regions.%s.networks[%d]' % (key, rkey, index)] = number
                    structured.setdefault(cidr, (key, rkey))
        else:
            dated = _raw_entries(raw_old.get('networks'))
            block['networks'] = [dated.get(cidr, host) for cidr, host, _n in section.items]
            for index, (cidr, _host, number) in enumerate(section.items):
                lines['blocks.%s.networks[%d]' % (key, index)] = number
                structured.setdefault(cidr, (key, None))
        data['blocks'][key] = block

    consistency = None
    if page['copy_paste'] is not None:
        copy_paste = [cidr for cidr, _host, _n in page['copy_paste'].items]
        only = [(cidr, host) for cidr, host, _n in page['copy_paste'].items
                if cidr not in structured]
        consistency = {
            'only_in_copy_paste': [cidr for cidr, _host in only],
            'missing_from_copy_paste': [
                {'block': where[0], 'region': where[1], 'network': cidr}
                for cidr, where in structured.items() if cidr not in copy_paste],
        }
        if only:
            old = catalog['blocks'].get(UNCLASSIFIED) or {}
            same = set(old.get('networks') or []) == set(cidr for cidr, _h in only)
            data['blocks'][UNCLASSIFIED] = {
                'description': old.get('description') or UNCLASSIFIED_DESCRIPTION,
                'direction': 'out',
                'note': old['note'] if same and old.get('note') else (
                    'In the Copy/Paste list but in no structured list, so the page documents '
                    'no port for them; no rules until the vendor classifies them.'),
                'rules': [],
                'networks': [host for _cidr, host in only]}
    elif UNCLASSIFIED in raw_blocks:
        data['blocks'][UNCLASSIFIED] = raw_blocks[UNCLASSIFIED]
    return data, lines, consistency


def _with_page_lines(problems, lines):
    """Point model messages (``blocks.turn.regions.x.networks[2]``) at page lines."""
    result = []
    for problem in problems:
        path = problem.split(': ')[1] if problem.count(': ') >= 2 else ''
        while path and path not in lines:
            path = path.rsplit('.', 1)[0] if '.' in path else ''
        result.append('%s (page line %d)' % (problem, lines[path]) if path else problem)
    return result


def _rule_text(rule):
    return '%s %s' % (rule['protocol'], rule['ports'] or 'any port')


def _added_removed(old, new):
    return [x for x in new if x not in old], [x for x in old if x not in new]


def compare(old, new):
    """Drift between two normalised catalogs, as lists of plain dicts."""
    drift = {'categories': [], 'domains': [], 'blocks': [], 'regions': [], 'networks': [],
             'ports': [], 'directions': []}
    for key in list(old['domains']) + [k for k in new['domains'] if k not in old['domains']]:
        before, after = old['domains'].get(key), new['domains'].get(key)
        if before is None or after is None:
            drift['categories'].append({'category': key,
                                        'change': 'added' if before is None else 'removed'})
        names_added, names_removed = _added_removed((before or {}).get('names', []),
                                                    (after or {}).get('names', []))
        if names_added or names_removed:
            drift['domains'].append({'category': key, 'added': names_added,
                                     'removed': names_removed})
        if before and after:
            rules_added, rules_removed = _added_removed(before['rules'], after['rules'])
            if rules_added or rules_removed:
                drift['ports'].append({'block': 'domains.%s' % key, 'added': rules_added,
                                       'removed': rules_removed})

    for key in list(old['blocks']) + [k for k in new['blocks'] if k not in old['blocks']]:
        before, after = old['blocks'].get(key), new['blocks'].get(key)
        if before is None or after is None:
            drift['blocks'].append({'block': key,
                                    'change': 'added' if before is None else 'removed'})
        if before and after:
            rules_added, rules_removed = _added_removed(before['rules'], after['rules'])
            if rules_added or rules_removed:
                drift['ports'].append({'block': key, 'added': rules_added,
                                       'removed': rules_removed})
            if before['direction'] != after['direction']:
                drift['directions'].append({'block': key, 'old': before['direction'],
                                            'new': after['direction']})
        old_regions = _regions(before)
        new_regions = _regions(after)
        for region in list(old_regions) + [r for r in new_regions if r not in old_regions]:
            was, now = old_regions.get(region), new_regions.get(region)
            if region is not None and before and after:
                if was is None or now is None:
                    drift['regions'].append({
                        'block': key, 'region': region, 'name': (now or was)['name'],
                        'change': 'added' if was is None else 'removed'})
                elif was['name'] != now['name']:
                    drift['regions'].append({'block': key, 'region': region, 'name': now['name'],
                                             'old_name': was['name'], 'change': 'renamed'})
            added, removed = _added_removed((was or {}).get('networks', []),
                                            (now or {}).get('networks', []))
            if added or removed:
                drift['networks'].append({'block': key, 'region': region,
                                          'added': added, 'removed': removed})
    return drift


def _regions(block):
    if not block:
        return {}
    if block.get('regions') is not None:
        return block['regions']
    return {None: {'name': None, 'networks': block.get('networks') or []}}


def drift_report(page_path, catalog_path=None, retrieved=None):
    """Parse, validate and compare. Returns (report dict, new catalog data)."""
    catalog_path = catalog_path or DEFAULT_CATALOG
    raw = model.read_catalog_file(catalog_path)
    catalog = model.validate_catalog(raw, source=catalog_path)
    page = read_page(page_path)
    data, lines, consistency = page_to_data(page, catalog, raw, page_path, retrieved)
    warnings = []
    try:
        new = model.validate_catalog(data, source=page_path, warn=warnings.append)
    except model.CatalogError as exc:
        raise PageError(_with_page_lines(exc.problems, lines))
    changes = compare(catalog, new)
    report = {'page': page_path, 'catalog': catalog_path,
              'drift': any(changes.values()), 'changes': changes,
              'copy_paste': consistency, 'page_warnings': _with_page_lines(warnings, lines)}
    return report, data


def _where(item):
    return item['block'] + ('/%s' % item['region'] if item.get('region') else '')


def format_report(report):
    out = ['Vendor page: %s' % report['page'], 'Catalog:     %s' % report['catalog'], '',
           'Drift against the catalog:']
    changes = report['changes']
    for item in changes['categories']:
        out.append('  domain category %s: %s' % (item['category'], item['change']))
    for item in changes['domains']:
        out.extend('  domains %s: + %s' % (item['category'], n) for n in item['added'])
        out.extend('  domains %s: - %s' % (item['category'], n) for n in item['removed'])
    for item in changes['blocks']:
        out.append('  block %s: %s' % (item['block'], item['change']))
    for item in changes['regions']:
        if item['change'] == 'renamed':
            out.append('  region %s: renamed %r -> %r' % (_where(item), item['old_name'], item['name']))
        else:
            out.append('  region %s (%s): %s' % (_where(item), item['name'], item['change']))
    for item in changes['networks']:
        out.extend('  networks %s: + %s' % (_where(item), n) for n in item['added'])
        out.extend('  networks %s: - %s' % (_where(item), n) for n in item['removed'])
    for item in changes['ports']:
        out.extend('  ports %s: + %s' % (item['block'], _rule_text(r)) for r in item['added'])
        out.extend('  ports %s: - %s' % (item['block'], _rule_text(r)) for r in item['removed'])
    for item in changes['directions']:
        out.append('  direction %s: %s -> %s' % (item['block'], item['old'], item['new']))
    if not report['drift']:
        out.append('  none')
    out += ['', 'Copy/Paste list vs structured lists (page-internal, not counted as drift):']
    consistency = report['copy_paste']
    if consistency is None:
        out.append('  the page has no Copy/Paste list')
    else:
        only = consistency['only_in_copy_paste']
        missing = consistency['missing_from_copy_paste']
        out.append('  only in Copy/Paste, in no structured list (%d): %s'
                   % (len(only), ', '.join(only) or '-'))
        out.append('  in structured lists, missing from Copy/Paste (%d):%s'
                   % (len(missing), '' if missing else ' -'))
        for item in missing:
            out.append('    %s: %s' % (_where(item), item['network']))
    if report['page_warnings']:
        out += ['', 'Page warnings:'] + ['  ' + w for w in report['page_warnings']]
    count = sum(len(v) for v in changes.values())
    out += ['', 'Result: %s' % ('drift, %d change(s) (exit 1)' % count if report['drift']
                                else 'no drift (exit 0)')]
    return '\n'.join(out)


def write_catalog(path, data, page_path):
    header = ('---\n# Generated by tools/catalog_drift.py from %s.\n# Review the diff '
              'against vars/jaas_catalog.yml before replacing it; comments are not kept.\n'
              % os.path.basename(page_path))
    with open(path, 'w', encoding='utf-8') as handle:
        handle.write(header)
        yaml.safe_dump(data, handle, allow_unicode=True, sort_keys=False, width=100)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Compare a saved copy of the JaaS vendor page with the catalog. '
                    'Exit 0: no drift, 1: drift, 2: page or catalog unreadable.')
    parser.add_argument('page', help='saved vendor page (Markdown)')
    parser.add_argument('--catalog', default=None,
                        help='catalog to compare with (default: the bundled vars/jaas_catalog.yml)')
    parser.add_argument('--write', metavar='NEW.yml', help='also write the page as a catalog')
    parser.add_argument('--retrieved', metavar='YYYY-MM-DD',
                        help='provenance.retrieved for --write (default: today)')
    parser.add_argument('--json', action='store_true', help='print the report as JSON')
    args = parser.parse_args(argv)
    try:
        report, data = drift_report(args.page, args.catalog, args.retrieved)
    except (PageError, model.CatalogError) as exc:
        print('catalog_drift: cannot compare:\n%s' % exc, file=sys.stderr)
        return 2
    if args.write:
        write_catalog(args.write, data, args.page)
    print(json.dumps(report, indent=2, ensure_ascii=False) if args.json else format_report(report))
    return 1 if report['drift'] else 0


if __name__ == '__main__':
    sys.exit(main())
