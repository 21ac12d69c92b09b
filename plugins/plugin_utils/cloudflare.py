# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cloudflare's published address lists, fetched live on the controller.

The vendor page says the Cloudflare ranges to allow are whatever Cloudflare currently
publishes. This module fetches those plain-text lists (one CIDR per line), refuses any
answer that does not look like them, caches accepted lists with a TTL and otherwise
falls back to the catalog's bundled ranges with a warning. It never returns an empty
list, and an accepted live list *replaces* the bundled one, so a range Cloudflare drops
is really dropped.

Pure Python: stdlib urllib + the rule model (module_utils/model.py). Ansible's open_url
is the only Ansible import.

Plausibility rules for one family's answer (each failure is a refusal -> fallback):

* transport: HTTP 200 only; the body must be complete (Content-Length / chunking honoured),
  at most MAX_BYTES, received within ``timeout`` seconds in total (not per read);
  an HTML content type is refused outright (captive portals, error pages);
* text: UTF-8; only ``\n`` (or ``\r\n``) ends a line, and a line holding any other
  control character (``model.control_character``: \x00-\x1f, \x7f-\x9f, \u2028, \u2029;
  str.splitlines() would read \x0b, \x1c, \x85 ... as line breaks) is refused, as a
  catalog value would be; every non-blank line is one CIDR with an explicit prefix, parsed
  by the rule model's ``parse_network`` exactly as a catalog entry is (no host bits, no
  leading zeros, no surrounding whitespace, no netmask, no junk). A bare address is refused
  because it is what a line cut just before its ``/`` looks like; a line cut inside the
  prefix almost always has host bits set and is refused too;
* content: the right family for the URL, no range broader than BROADEST_PREFIX (/8,
  /16, the catalog's limit; the guard below narrows it), only global unicast space (nothing in model.SPECIAL_ADDRESS_SPACE: no private,
  loopback, documentation, benchmarking, multicast ... ranges, and no opt-in: Cloudflare
  never publishes those), at most MAX_ENTRIES lines;
* size: at least MIN_FRACTION_OF_BUNDLED (50 %) as many distinct ranges as the bundled
  list of that family has (rounded up, never fewer than 1). Cloudflare's lists have
  moved by one or two ranges at a time since they were first published; losing half
  of them at once is far more likely a broken or truncated answer than a real change.

The cloudflare block opens *every port* to what the list holds, so an answer that would
widen the firewall far beyond Cloudflare's network is refused too (the live-list guard):

* no entry broader than LIVE_BROADEST_PREFIX (IPv4 /12, IPv6 /29): Cloudflare has never
  published a broader range (its broadest are a /13 and a /29);
* a family's total address space at most MAX_SPACE_FACTOR (4) times the bundled list's;
* at least MIN_FRACTION_OF_BUNDLED of the bundled ranges still covered by the live list
  (a list that shares nothing, or little, with the known one is not an update of it);
* an https URL must end on https: a redirect to plain http (where anyone on the path can
  answer) is refused (checked on the final URL open_url followed, ``geturl()``; the plain
  http request has been made by then, but nothing it returns is used).
"""

from __future__ import annotations

import datetime
import errno
import http.client
import ipaddress
import json
import math
import os
import socket
import tempfile
import time
import urllib.error
import urllib.parse

import yaml
from ansible.module_utils.urls import open_url

from ansible_collections.jaas.firewall.plugins.module_utils import model
from ansible_collections.jaas.firewall.plugins.module_utils.model import (
    BROADEST_PREFIX, ModelError)
from ansible_collections.jaas.firewall.plugins.plugin_utils.catalog import CatalogError

DEFAULT_URLS = {
    4: 'https://www.cloudflare.com/ips-v4',
    6: 'https://www.cloudflare.com/ips-v6',
}
DEFAULT_TIMEOUT = 10
DEFAULT_CACHE_TTL = 86400
BLOCK = 'cloudflare'

MIN_FRACTION_OF_BUNDLED = 0.5
LIVE_BROADEST_PREFIX = {4: 12, 6: 29}
MAX_SPACE_FACTOR = 4
MAX_ENTRIES = 1000
MAX_BYTES = 64 * 1024

_COLLECTION_ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), '..', '..'))


class ListRefused(Exception):
    """A live answer (or a cache file) is not a plausible Cloudflare list."""


def collection_version():
    """The collection's version: MANIFEST.json when installed, galaxy.yml in a checkout."""
    try:
        with open(os.path.join(_COLLECTION_ROOT, 'MANIFEST.json')) as handle:
            return json.load(handle)['collection_info']['version']
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        with open(os.path.join(_COLLECTION_ROOT, 'galaxy.yml')) as handle:
            return str(yaml.safe_load(handle)['version'])
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return 'unknown'


def user_agent():
    return 'jaas.firewall/%s' % collection_version()


def default_cache_dir():
    base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    return os.path.join(base, 'jaas.firewall')


def minimum_entries(bundled_count):
    """Fewest distinct ranges a live list may have, given the bundled list's size."""
    return max(1, int(math.ceil(bundled_count * MIN_FRACTION_OF_BUNDLED)))


def _clip(text, width=160):
    return text if len(text) <= width else text[:width - 3] + '...'


def _shorten(text, width=60):
    return repr(_clip(text, width))


def parse_list(text, family, bundled_count):
    """Validate a plain-text list; return the distinct CIDR strings in order.

    Raises ListRefused naming the first offending line.
    """
    networks = []
    # Only \n (or \r\n) ends a line: str.splitlines() would also split at \x0b, \x1c,
    # \x85, \u2028 ..., characters a catalog value may not hold.
    lines = text.split('\n')
    if lines and lines[-1] == '':
        lines.pop()
    if len(lines) > MAX_ENTRIES:
        raise ListRefused('%d lines, more than the %d a Cloudflare list could plausibly have'
                          % (len(lines), MAX_ENTRIES))
    for number, line in enumerate(lines, 1):
        where = 'line %d' % number
        if line.endswith('\r'):
            line = line[:-1]
        bad = model.control_character(line)
        if bad is not None:
            raise ListRefused('%s: %s holds the control character %s (refused, as in a catalog)'
                              % (where, _shorten(line), bad))
        # Blank lines are layout; any other line is one value, spelled as in a catalog.
        if not line.strip():
            continue
        try:
            network = model.parse_network(line)
        except ModelError as exc:
            raise ListRefused('%s: %s' % (where, _clip(exc.reason)))
        if '/' not in line:
            raise ListRefused('%s: %s has no /prefix (Cloudflare publishes ranges; a bare '
                              'address is what a line cut before its prefix looks like)'
                              % (where, _shorten(line)))
        if network.version != family:
            raise ListRefused('%s: %s is IPv%d in the IPv%d list'
                              % (where, network, network.version, family))
        if network.prefixlen < BROADEST_PREFIX[family]:
            raise ListRefused('%s: %s is broader than /%d' % (where, network, BROADEST_PREFIX[family]))
        special = model.special_address_text(network)
        if special:
            raise ListRefused('%s: not global unicast address space: %s' % (where, special[0]))
        if network.prefixlen < LIVE_BROADEST_PREFIX[family]:
            raise ListRefused('%s: %s is broader than /%d, broader than any range Cloudflare '
                              'has published' % (where, network, LIVE_BROADEST_PREFIX[family]))
        cidr = str(network)
        if cidr not in networks:
            networks.append(cidr)
    minimum = minimum_entries(bundled_count)
    if not networks:
        raise ListRefused('the list is empty')
    if len(networks) < minimum:
        raise ListRefused('only %d range(s), the bundled list has %d (at least %d required)'
                          % (len(networks), bundled_count, minimum))
    return networks


def _space(networks):
    """Addresses covered by CIDR strings (overlaps counted once)."""
    return sum(n.num_addresses for n in ipaddress.collapse_addresses(
        ipaddress.ip_network(text) for text in networks))


def check_against_bundled(networks, family, bundled):
    """Refuse (ListRefused) a parsed live list that would widen the firewall far beyond
    the bundled list of that family: too much space, or too little of the bundled ranges."""
    if not bundled:
        return networks
    space, known = _space(networks), _space(bundled)
    if space > MAX_SPACE_FACTOR * known:
        raise ListRefused('the list covers %d addresses, %.1f times the bundled IPv%d list '
                          '(at most %d times allowed)'
                          % (space, float(space) / known, family, MAX_SPACE_FACTOR))
    live = list(ipaddress.collapse_addresses(ipaddress.ip_network(n) for n in networks))
    covered = [b for b in bundled
               if any(ipaddress.ip_network(b).subnet_of(n) for n in live)]
    minimum = minimum_entries(len(bundled))
    if len(covered) < minimum:
        raise ListRefused('the list covers only %d of the %d bundled IPv%d range(s) (at least '
                          '%d required): not an update of the list Cloudflare publishes'
                          % (len(covered), len(bundled), family, minimum))
    return networks


def fetch_text(url, timeout, agent=None):
    """GET ``url`` and return its body as text. Raises ListRefused on any failure."""
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ('http', 'https'):
        raise ListRefused('URL scheme %r is not http or https' % scheme)
    deadline = time.monotonic() + timeout
    try:
        # Ansible's own opener: honours proxy variables and validates certificates.
        with open_url(url, headers={'Accept': 'text/plain'}, http_agent=agent or user_agent(),
                      timeout=timeout, follow_redirects='safe') as response:
            if response.status != 200:
                raise ListRefused('HTTP %d %s (expected 200)' % (response.status, response.reason))
            final = response.geturl() if hasattr(response, 'geturl') else url
            if scheme == 'https' and urllib.parse.urlsplit(final).scheme != 'https':
                raise ListRefused('redirected from https to %s (refused: the answer must come '
                                  'over https)' % _clip(final))
            if response.headers.get_content_type() == 'text/html':
                raise ListRefused('the answer is an HTML page (captive portal or error page?)')
            expected = response.headers.get('Content-Length')
            body = bytearray()
            while True:
                # The socket timeout bounds each read; this bounds the whole answer.
                if time.monotonic() > deadline:
                    raise ListRefused('no complete answer within %ss' % timeout)
                chunk = response.read(4096)
                if not chunk:
                    break
                body.extend(chunk)
                if len(body) > MAX_BYTES:
                    raise ListRefused('answer larger than %d bytes' % MAX_BYTES)
            if expected is not None and expected.isdigit() and len(body) != int(expected):
                raise ListRefused('truncated answer: %d of %s bytes' % (len(body), expected))
    except urllib.error.HTTPError as exc:
        raise ListRefused('HTTP %d %s' % (exc.code, exc.reason))
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, (socket.timeout, TimeoutError)):
            raise ListRefused('timed out after %ss' % timeout)
        raise ListRefused('cannot connect: %s' % reason)
    except (socket.timeout, TimeoutError):
        raise ListRefused('timed out after %ss' % timeout)
    except http.client.IncompleteRead as exc:
        raise ListRefused('truncated answer: %d bytes, %s more expected'
                          % (len(exc.partial), exc.expected))
    except (http.client.HTTPException, OSError) as exc:
        raise ListRefused('%s: %s' % (type(exc).__name__, exc))
    try:
        return body.decode('utf-8')
    except UnicodeDecodeError:
        raise ListRefused('the answer is not UTF-8 text')


def _cache_file(cache_dir, family):
    return os.path.join(cache_dir, 'cloudflare-v%d.json' % family)


def read_cache(cache_dir, family, url, ttl, bundled_count, now, bundled=None):
    """Return (networks, fetched_epoch) from a fresh cache entry for ``url``, or None."""
    try:
        with open(_cache_file(cache_dir, family)) as handle:
            entry = json.load(handle)
        fetched = float(entry['fetched'])
        if entry['url'] != url or not 0 <= now - fetched < ttl:
            return None
        # A cache file is re-checked like an answer: it may have been edited or damaged.
        networks = parse_list('\n'.join(entry['networks']), family, bundled_count)
        if bundled is not None:
            check_against_bundled(networks, family, bundled)
        return networks, fetched
    except (OSError, ValueError, KeyError, TypeError, ListRefused):
        return None


def write_cache(cache_dir, family, url, networks, fetched):
    """Write atomically (concurrent forks may race); return an error text or None."""
    try:
        os.makedirs(cache_dir, mode=0o700, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix='.cloudflare-', dir=cache_dir)
        with os.fdopen(fd, 'w') as handle:
            json.dump({'url': url, 'fetched': fetched, 'networks': networks}, handle, indent=1)
        os.replace(temporary, _cache_file(cache_dir, family))
    except OSError as exc:
        return 'cannot write cache in %s: %s' % (cache_dir, os.strerror(exc.errno or errno.EIO))
    return None


def _family(network):
    return 6 if ':' in network else 4


def _iso(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime(
        '%Y-%m-%dT%H:%M:%SZ')


def live_list(family, bundled, url=None, timeout=DEFAULT_TIMEOUT, cache_ttl=DEFAULT_CACHE_TTL,
              cache_dir=None, warn=None, now=None):
    """Cloudflare's current list for one family, or the bundled one with a warning.

    Returns a dict: family, source (live | cache | bundled), url, networks, fetched
    (ISO time or None), reason (why the bundled list was used, or None), added and
    removed (compared with the bundled list).
    """
    url = url or DEFAULT_URLS[family]
    cache_dir = cache_dir or default_cache_dir()
    now = time.time() if now is None else now
    result = {'family': family, 'url': url, 'source': None, 'networks': None, 'fetched': None,
              'reason': None}
    cached = read_cache(cache_dir, family, url, cache_ttl, len(bundled), now,
                        bundled) if cache_ttl > 0 else None
    if cached:
        result.update(source='cache', networks=cached[0], fetched=_iso(cached[1]))
    else:
        try:
            networks = check_against_bundled(
                parse_list(fetch_text(url, timeout), family, len(bundled)), family, bundled)
        except ListRefused as exc:
            result.update(source='bundled', networks=list(bundled), reason=str(exc))
            if warn:
                warn('Cloudflare IPv%d list from %s refused: %s; using the %d bundled '
                     'range(s) instead' % (family, url, exc, len(bundled)))
        else:
            result.update(source='live', networks=networks, fetched=_iso(now))
            if cache_ttl > 0:
                problem = write_cache(cache_dir, family, url, networks, now)
                if problem and warn:
                    warn('Cloudflare IPv%d list accepted but not cached: %s' % (family, problem))
    result['added'] = [n for n in result['networks'] if n not in bundled]
    result['removed'] = [n for n in bundled if n not in result['networks']]
    return result


def apply_live_cloudflare(catalog, families=(4, 6), urls=None, timeout=DEFAULT_TIMEOUT,
                          cache_ttl=DEFAULT_CACHE_TTL, cache_dir=None, warn=None, now=None):
    """Return a copy of a normalised catalog whose ``cloudflare`` networks are live.

    Only the given families are fetched; the others keep their bundled ranges. The
    outcome per family is recorded under the catalog's ``cloudflare_live`` key.
    """
    block = catalog['blocks'].get(BLOCK)
    if block is None or block.get('networks') is None:
        raise CatalogError(['%s: blocks.%s: cloudflare_source=live needs a %r block with '
                            '"networks"' % (catalog.get('source', '<catalog>'), BLOCK, BLOCK)])
    urls = urls or {}
    outcome = {}
    networks = []
    for family in (4, 6):
        bundled = [n for n in block['networks'] if _family(n) == family]
        if family not in families:
            networks.extend(bundled)
            continue
        result = live_list(family, bundled, url=urls.get(family), timeout=timeout,
                           cache_ttl=cache_ttl, cache_dir=cache_dir, warn=warn, now=now)
        outcome['ipv%d' % family] = result
        networks.extend(result['networks'])
    blocks = dict(catalog['blocks'])
    blocks[BLOCK] = dict(block, networks=networks)
    return dict(catalog, blocks=blocks, cloudflare_live=outcome)
