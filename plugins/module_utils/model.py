# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rule model: the one place where a network, a port range, a protocol, a direction
or a name is parsed, normalised or refused.

Every entry point uses it: the catalog loader, the keep-open filter, the live Cloudflare
list, the Windows, Squid and PAC renderers on the controller, and every backend module on
the managed host. So a spelling means the same thing wherever it enters, or is refused
everywhere with the same reason. Python standard library only (``ipaddress``, ``re``).

Messages: a ``ModelError``'s ``reason`` names the value and says what is wrong, in one
line; ``str()`` puts the location in front (``<where>.<field>: <reason>``), for example
``jaas_firewall_keep_open[1].port: '0443' is not a port "N" or a port range "N-M": leading zero``.

Names: one regex family (``_name_regex``), always anchored with ``\\Z`` (``$`` also matches
before a trailing newline), with each name's length derived from the strictest backend
that has to hold it (see ``NAME_RULES`` and docs/catalog-schema.md).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

PROTOCOLS = ('tcp', 'udp')
DIRECTIONS = ('in', 'out')
FAMILIES = (4, 6)
PORT_MIN = 1
PORT_MAX = 65535
# Networks broader than these prefixes are almost always typos (allow_broad_networks).
BROADEST_PREFIX = {4: 8, 6: 16}
# The rule interface (docs/ARCHITECTURE.md): what the rules filter emits, what modules take.
RULE_KEYS = ('direction', 'family', 'network', 'protocol', 'ports', 'block', 'region')
KEEP_OPEN_KEYS = ('direction', 'protocol', 'port', 'network')

# ----------------------------------------------------------------------------- backend limits
# firewalld: ipset names are kernel/nftables set names, IPSET_MAXNAMELEN (32) - 1.
FIREWALLD_IPSET_NAME_MAX = 31
# firewalld's max_policy_name_len() with the iptables backend (28 - 11).
FIREWALLD_POLICY_NAME_MAX = 17
FIREWALLD_PREFIX_MAX = 8
# ufw 0.36 has no comment length limit of its own (its parser only refuses "'"); the
# comment is "<tag prefix>:<block>[:<region>]", at most 31 + 1 + 19 + 1 + 48 = 100.
UFW_TAG_PREFIX_MAX = 31
# nftables: table, chain and set names up to NFT_NAME_MAXLEN (256) - 1; rule comments up
# to NFTNL_UDATA_COMMENT_MAXLEN (128), which the longest ufw-style comment (100) fits.
NFT_NAME_MAX = 255
NFT_COMMENT_MAX = 128
# Our own, shorter limit for the table name (the nftables backend's ``prefix``).
NFT_TABLE_NAME_MAX = 32
# Windows Firewall (MS-FASP FW_RULE): the rule id holds at most 511 characters, the
# display name 10000; rule names we render must fit the id.
WINDOWS_RULE_NAME_MAX = 511
# Squid 5.7 and 6.13 (measured): a 64-character ACL name is refused ("max 63 characters"),
# a 63-character one is defined but "ACL not found" when used; 62 works. "_subdomains"
# (11) is appended for the second ACL.
SQUID_ACL_NAME_MAX = 62 - len('_subdomains')
# Linux interface names: IFNAMSIZ (16) bytes including the terminating NUL. ufw 0.36 and
# iptables refuse the same length; the characters are what ufw accepts minus "+,=%@".
INTERFACE_NAME_MAX = 15
# firewalld zone names: max_zone_name_len() with the iptables backend (the strictest).
FIREWALLD_ZONE_NAME_MAX = 17
# A block key must fit firewalld's "<prefix>-<block>-v6" with the longest prefix.
BLOCK_KEY_MAX = FIREWALLD_IPSET_NAME_MAX - FIREWALLD_PREFIX_MAX - len('--v6')
REGION_KEY_MAX = 48


class ModelError(ValueError):
    """A value the model refuses. ``reason`` is the one-line explanation; ``str()`` adds
    the location (``where``: a variable, file or entry; ``field``: the key in it)."""

    def __init__(self, reason, where=None, field=None):
        self.reason = one_line(reason)
        self.where = where
        self.field = field
        super(ModelError, self).__init__(self.reason)

    def at(self, where=None, field=None):
        """The same error, located (keeps a field already set unless one is given)."""
        return ModelError(self.reason, where if where is not None else self.where,
                          field if field is not None else self.field)

    def __str__(self):
        place = self.where or ''
        if self.field:
            place = '%s.%s' % (place, self.field) if place else self.field
        return one_line('%s: %s' % (place, self.reason) if place else self.reason)


class PortSyntaxError(ModelError):
    """Not a port "N" or a range "N-M" at all."""


class PortRangeError(ModelError):
    """Well-formed, but a port is outside 1-65535 or the range is reversed."""


def one_line(text):
    """Escape line breaks so a hostile value can never forge a second message line."""
    return str(text).replace('\r', '\\r').replace('\n', '\\n')


# ----------------------------------------------------------------------------- networks

_NETWORK_TEXT = re.compile(r'([0-9A-Fa-f:.]+)(?:/([0-9]+))?\Z')
_DOTTED_MASK = re.compile(r'[0-9]{1,3}(?:\.[0-9]{1,3}){3}\Z')
_IPV4_LEADING_ZERO = re.compile(r'(?:^|[.:])0[0-9]+(?:\.|$)')


def type_name(value):
    """'an integer', 'a list', ... for messages about a value of the wrong type."""
    if value is None:
        return 'null'
    return {bool: 'a boolean', int: 'an integer', float: 'a number', str: 'a string',
            list: 'a list', dict: 'a mapping'}.get(type(value), type(value).__name__)


def _not_a_network(value, why=None):
    text = '%r is not a CIDR network or address' % (value,)
    return ModelError(text + (': ' + why if why else ''))


def parse_network(value, allow_mapped=False):
    """``ipaddress`` network for a strict CIDR string; a bare address is a /32 or /128.

    Refused: anything but a string, surrounding whitespace (a trailing newline too),
    netmask or hostmask notation, leading zeros in an IPv4 byte or in the prefix length,
    IPv6 zone indexes, IPv4-mapped IPv6 (unless ``allow_mapped``: a list of space to
    *exclude*, where it can only narrow), a prefix out of range, host bits set.
    """
    if isinstance(value, bool) or not isinstance(value, str):
        return _raise(_not_a_network(value, 'expected a string, got %s' % type_name(value)))
    if value != value.strip():
        return _raise(_not_a_network(value, 'leading or trailing whitespace'))
    match = _NETWORK_TEXT.match(value)
    if not match:
        address, slash, prefix = value.partition('/')
        if slash and _DOTTED_MASK.match(prefix):
            hint = _mask_hint(address, prefix)
            return _raise(_not_a_network(value, 'netmask notation; write the prefix length'
                                         + (' (%s)' % hint if hint else '')))
        if '%' in address:
            return _raise(_not_a_network(value, 'IPv6 zone index'))
        return _raise(_not_a_network(value))
    address, prefix = match.group(1), match.group(2)
    if '.' in address and _IPV4_LEADING_ZERO.search(address):
        return _raise(_not_a_network(value, 'leading zero in an IPv4 address byte'))
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return _raise(_not_a_network(value))
    width = ip.max_prefixlen
    if prefix is None:
        length = width
    else:
        if len(prefix) > 1 and prefix.startswith('0'):
            return _raise(_not_a_network(value, 'leading zero in the prefix length'))
        length = int(prefix)
        if length > width:
            return _raise(ModelError('%r: prefix /%d is out of range for IPv%d (0-%d)'
                                     % (value, length, ip.version, width)))
    if ip.version == 6 and ip.ipv4_mapped is not None and length >= 96 and not allow_mapped:
        ipv4 = str(ip.ipv4_mapped) + ('' if length == 128 else '/%d' % (length - 96))
        return _raise(ModelError('%r is an IPv4-mapped IPv6 address; write the IPv4 form %s'
                                 % (value, ipv4)))
    network = ipaddress.ip_network(u'%s/%d' % (ip, length), strict=False)
    if network.network_address != ip:
        return _raise(ModelError('%r has host bits set (did you mean %s?)' % (value, network)))
    return network


def _mask_hint(address, mask):
    try:
        return str(ipaddress.ip_network(u'%s/%s' % (address, mask), strict=False))
    except ValueError:
        return None


def _raise(error):
    raise error


def network_text(value):
    """The canonical CIDR string (``198.18.0.1`` -> ``198.18.0.1/32``)."""
    return str(parse_network(value))


def network_family(network):
    return 6 if ':' in str(network) else 4


# ----------------------------------------------------------------------------- address space
# IANA special-purpose address registries (RFC 6890 and the RFCs named). Table order
# decides the reason given when a network overlaps several entries: specific first.
# "never": no remote host can be reached there over the wire; always refused in a catalog.
# "opt-in": real networks can use it, a vendor's public service cannot; a catalog may
# list it only with allow_private_networks (role variable jaas_firewall_allow_private_networks).
SPECIAL_ADDRESS_SPACE = (
    # (network, what it is, source, allowed with allow_private_networks)
    ('0.0.0.0/8', 'this-network (unspecified)', 'RFC 791', False),
    ('127.0.0.0/8', 'loopback', 'RFC 1122', False),
    ('224.0.0.0/4', 'multicast', 'RFC 5771', False),
    ('240.0.0.0/4', 'reserved (and limited broadcast)', 'RFC 1112, RFC 919', False),
    ('10.0.0.0/8', 'private', 'RFC 1918', True),
    ('172.16.0.0/12', 'private', 'RFC 1918', True),
    ('192.168.0.0/16', 'private', 'RFC 1918', True),
    ('100.64.0.0/10', 'shared (carrier-grade NAT)', 'RFC 6598', True),
    ('169.254.0.0/16', 'link-local', 'RFC 3927', True),
    ('192.0.0.0/24', 'IETF protocol assignments', 'RFC 6890', True),
    ('192.0.2.0/24', 'documentation', 'RFC 5737', True),
    ('198.51.100.0/24', 'documentation', 'RFC 5737', True),
    ('203.0.113.0/24', 'documentation', 'RFC 5737', True),
    ('198.18.0.0/15', 'benchmarking', 'RFC 2544', True),
    ('192.88.99.0/24', 'deprecated 6to4 relay anycast', 'RFC 7526', True),
    ('::/128', 'unspecified', 'RFC 4291', False),
    ('::1/128', 'loopback', 'RFC 4291', False),
    ('::ffff:0:0/96', 'IPv4-mapped', 'RFC 4291', False),
    ('::/96', 'deprecated IPv4-compatible', 'RFC 4291', False),
    ('100::/64', 'discard-only', 'RFC 6666', False),
    ('ff00::/8', 'multicast', 'RFC 4291', False),
    ('fc00::/7', 'unique local (ULA)', 'RFC 4193', True),
    ('fe80::/10', 'link-local', 'RFC 4291', True),
    ('fec0::/10', 'deprecated site-local', 'RFC 3879', True),
    ('2001:db8::/32', 'documentation', 'RFC 3849', True),
    ('3fff::/20', 'documentation', 'RFC 9637', True),
    ('2001:2::/48', 'benchmarking', 'RFC 5180', True),
    ('64:ff9b:1::/48', 'local-use IPv4/IPv6 translation', 'RFC 8215', True),
)
_SPECIAL = tuple((ipaddress.ip_network(text), what, source, opt_in)
                 for text, what, source, opt_in in SPECIAL_ADDRESS_SPACE)


# The same ranges as (version, first address, last address, entry): comparing integers is
# what ``overlaps`` does, without its per-call overhead (every catalog network is checked).
_SPECIAL_BOUNDS = tuple((entry[0].version, int(entry[0].network_address),
                         int(entry[0].broadcast_address), entry) for entry in _SPECIAL)


def special_address_space(network):
    """(range, what, source, opt_in) of the first special-purpose range ``network``
    overlaps (lies in or contains), or None for global unicast space."""
    version = network.version
    first, last = int(network.network_address), int(network.broadcast_address)
    for space_version, low, high, entry in _SPECIAL_BOUNDS:
        if space_version == version and low <= last and first <= high:
            return entry
    return None


def special_address_text(network):
    """(``'10.1.0.0/16 is private address space (10.0.0.0/8, RFC 1918)'``, opt_in) for a
    network in special-purpose space, or None for global unicast space."""
    found = special_address_space(network)
    if found is None:
        return None
    space, what, source, opt_in = found
    relation = 'is' if network.subnet_of(space) else 'includes'
    return '%s %s %s address space (%s, %s)' % (network, relation, what, space, source), opt_in


def check_public_network(network, allow_private=False):
    """Refuse a network that cannot be a vendor's public service (ModelError).

    With ``allow_private`` the "opt-in" ranges (private, ULA, shared, link-local,
    documentation, benchmarking...) pass; the "never" ranges never do.
    """
    found = special_address_text(network)
    if found is None:
        return network
    text, opt_in = found
    if not opt_in:
        raise ModelError(text + ', never a remote service')
    if not allow_private:
        raise ModelError(text + ", not a vendor's public service; set allow_private_networks "
                                '(role variable jaas_firewall_allow_private_networks) to allow it')
    return network


# ----------------------------------------------------------------------------- ports

_PORTS_TEXT = re.compile(r'([0-9]+)(?:-([0-9]+))?\Z')


def _not_ports(value, why=None):
    text = '%r is not a port "N" or a port range "N-M"' % (value,)
    return PortSyntaxError(text + (': ' + why if why else ''))


def parse_ports(value):
    """(low, high) for 443, "443", "443-443" or "49152-65535".

    Refused: anything but an int or a string, surrounding whitespace, leading zeros
    ("0443"), other range separators ("443:443"), ports outside 1-65535, reversed ranges.
    """
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise _not_ports(value, 'expected a number or a string')
    if isinstance(value, int):
        low = high = value
    else:
        if value != value.strip():
            raise _not_ports(value, 'leading or trailing whitespace')
        match = _PORTS_TEXT.match(value)
        if not match:
            if re.match(r'[0-9]+:[0-9]+\Z', value):
                raise _not_ports(value, 'write ranges with "-" (%s)' % value.replace(':', '-'))
            raise _not_ports(value)
        parts = [part for part in match.groups() if part is not None]
        if any(len(part) > 1 and part.startswith('0') for part in parts):
            raise _not_ports(value, 'leading zero')
        low = int(parts[0])
        high = int(parts[-1])
    for port in (low, high):
        if not PORT_MIN <= port <= PORT_MAX:
            raise PortRangeError('%r: port %d is out of range %d-%d'
                                 % (value, port, PORT_MIN, PORT_MAX))
    if low > high:
        raise PortRangeError('%r: the range is reversed (low > high)' % (value,))
    return low, high


def ports_text(value):
    """Canonical port text: "443", "49152-65535"; "443-443" becomes "443"; None stays None
    (every port)."""
    if value is None:
        return None
    low, high = parse_ports(value)
    return '%d' % low if low == high else '%d-%d' % (low, high)


def single_port(value):
    """One port (not a range) as an int."""
    low, high = parse_ports(value)
    if low != high:
        raise ModelError('%r is a port range; a single port is required' % (value,))
    return low


# ----------------------------------------------------------------------------- protocol, direction, family

def parse_protocol(value):
    if isinstance(value, str) and value in PROTOCOLS:
        return value
    raise ModelError('%r: expected tcp or udp' % (value,))


def parse_direction(value):
    if isinstance(value, str) and value in DIRECTIONS:
        return value
    raise ModelError('%r: expected in or out' % (value,))


def parse_family(value):
    if not isinstance(value, bool) and isinstance(value, int) and value in FAMILIES:
        return value
    raise ModelError('%r: expected 4 or 6' % (value,))


# ----------------------------------------------------------------------------- names

def _name_regex(first, rest, length, last=None):
    """The one name pattern: a ``first`` character, then up to ``length - 1`` of ``rest``
    (the final one from ``last`` when given), anchored with \\Z."""
    if last is None:
        return re.compile(r'[%s][%s]{0,%d}\Z' % (first, rest, length - 1))
    return re.compile(r'[%s](?:[%s]{0,%d}[%s])?\Z' % (first, rest, length - 2, last))


class NameRule(object):
    """What one kind of name may contain, and why its length is what it is."""

    def __init__(self, kind, first, rest, length, characters, why, last=None):
        self.kind, self.length, self.characters, self.why = kind, length, characters, why
        self.regex = _name_regex(first, rest, length, last)
        # The same characters without the length limit: tells "too long" from "bad".
        self._any_length = _name_regex(first, rest, 100000, last)

    def check(self, value):
        if isinstance(value, str) and self.regex.match(value):
            return value
        if isinstance(value, str) and self._any_length.match(value):
            problem = 'longer than %d characters (%s)' % (self.length, self.why)
        else:
            problem = '%d-%d %s' % (1, self.length, self.characters)
        raise ModelError('%r is not a valid %s: %s' % (value, self.kind, problem))


_SLUG = ('a-z0-9', 'a-z0-9_-')
_SLUG_TEXT = 'lowercase letters, digits, "_" or "-", starting with a letter or digit'
NAME_RULES = dict((rule.kind, rule) for rule in (
    NameRule('block key', _SLUG[0], _SLUG[1], BLOCK_KEY_MAX, _SLUG_TEXT,
             "firewalld's ipset name <prefix>-<block>-v6 holds %d"
             % FIREWALLD_IPSET_NAME_MAX),
    NameRule('region key', _SLUG[0], _SLUG[1], REGION_KEY_MAX, _SLUG_TEXT,
             'the comment <prefix>:<block>:<region> must fit nftables\' %d' % NFT_COMMENT_MAX),
    NameRule('ufw tag prefix', _SLUG[0], _SLUG[1], UFW_TAG_PREFIX_MAX, _SLUG_TEXT,
             'the comment <prefix>:<block>:<region> must fit nftables\' %d' % NFT_COMMENT_MAX),
    NameRule('firewalld prefix', 'a-z', 'a-z0-9', FIREWALLD_PREFIX_MAX,
             'lowercase letters or digits, starting with a letter',
             "the policy <prefix>-ingress must fit firewalld's %d" % FIREWALLD_POLICY_NAME_MAX),
    NameRule('nftables name', 'a-z', 'a-z0-9_', NFT_NAME_MAX,
             'lowercase letters, digits or "_", starting with a letter', 'NFT_NAME_MAXLEN'),
    NameRule('nftables table name', 'a-z', 'a-z0-9_', NFT_TABLE_NAME_MAX,
             'lowercase letters, digits or "_", starting with a letter',
             'kept short: it also names the saved file /etc/nftables.d/<table>.nft'),
    NameRule('Squid ACL name', 'A-Za-z0-9_-', 'A-Za-z0-9_-', SQUID_ACL_NAME_MAX,
             'letters, digits, "_" or "-"', 'Squid uses names up to 62 and "_subdomains" is appended'),
    NameRule('interface name', 'A-Za-z0-9', 'A-Za-z0-9_.-', INTERFACE_NAME_MAX,
             'letters, digits, "_", "." or "-", starting with a letter or digit (no wildcards)',
             'Linux IFNAMSIZ holds %d and a NUL' % INTERFACE_NAME_MAX),
    NameRule('firewalld zone name', 'A-Za-z0-9', 'A-Za-z0-9_-', FIREWALLD_ZONE_NAME_MAX,
             'letters, digits, "_" or "-", starting with a letter or digit',
             "firewalld's zone name limit with the iptables backend"),
    NameRule('Windows group name', 'A-Za-z0-9', 'A-Za-z0-9 ._-', 64,
             'letters, digits, spaces, ".", "_" or "-", starting with a letter or digit and '
             'not ending in a space', 'it starts every rule name', last='A-Za-z0-9._-'),
))


def check_name(kind, value):
    """Return ``value`` if it is a valid name of ``kind`` (a NAME_RULES key), else raise."""
    return NAME_RULES[kind].check(value)


def normalise_names(kind, values, name):
    """A list of names of ``kind`` (a NAME_RULES key), checked one by one, duplicates
    dropped, order kept; errors located as ``<name>[<index>]``. None is the empty list."""
    if values is None:
        return []
    if isinstance(values, str) or not isinstance(values, (list, tuple)):
        raise ModelError('must be a list of %s names, got %r' % (kind.split(' name')[0], values),
                         name)
    result = []
    for index, value in enumerate(values):
        try:
            check_name(kind, value)
        except ModelError as exc:
            raise exc.at('%s[%d]' % (name, index))
        if value not in result:
            result.append(value)
    return result


def firewalld_ipset_name(prefix, block, family):
    """``jaas-turn-v4``: one hash:net set per (block, family), checked against the limit."""
    check_name('firewalld prefix', prefix)
    check_name('block key', block)
    name = '%s-%s-v%d' % (prefix, block, parse_family(family))
    if len(name) > FIREWALLD_IPSET_NAME_MAX:  # unreachable with checked parts; kept as a guard
        raise ModelError('ipset name %r is longer than %d characters'
                         % (name, FIREWALLD_IPSET_NAME_MAX))
    return name


# Characters that end or forge a line somewhere: C0 and C1 controls, DEL, and the Unicode
# line and paragraph separators (str.splitlines breaks on all of them).
_CONTROL = re.compile('[\x00-\x1f\x7f-\x9f\u2028\u2029]')


def control_character(text):
    """The first control character of ``text`` as ``'\\n'``-style text, or None."""
    found = _CONTROL.search(text) if isinstance(text, str) else None
    return None if found is None else repr(found.group())[1:-1]


def check_plain(value, name):
    """A value that reaches a file or a command line (path, upstream, set name, comment):
    a string without control characters. ModelError naming ``name`` (the variable)."""
    if not isinstance(value, str):
        raise ModelError('%s must be a string, got %s' % (name, type_name(value)))
    bad = control_character(value)
    if bad is not None:
        raise ModelError('%s: %r holds the control character %s; refused (it could forge a '
                         'second line in a file or command)' % (name, value, bad))
    return value


def check_line(value):
    """A one-line text option (PAC results): no control characters, no surrounding space."""
    if not isinstance(value, str) or not value or value != value.strip() or \
            any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise ModelError('%r is not a one-line text without surrounding whitespace' % (value,))
    return value


# ----------------------------------------------------------------------------- rules

def normalise_rule(rule, where=None):
    """A validated, normalised copy of one rule of the interface (RULE_KEYS).

    ``ports`` and ``region`` may be missing (None); anything else is required. Errors are
    located at ``where`` (e.g. ``rules[3]``) and the offending key.
    """
    if not isinstance(rule, dict):
        raise ModelError('expected a rule (a dict with keys %s, as the jaas.firewall.rules '
                         'filter makes them), got %r' % (', '.join(RULE_KEYS), rule), where)
    unknown = sorted(str(key) for key in rule if key not in RULE_KEYS)
    if unknown:
        raise ModelError('unknown key(s) %s (allowed: %s)'
                         % (', '.join(unknown), ', '.join(RULE_KEYS)), where)
    normal = {}
    for key, parse in (('direction', parse_direction), ('family', parse_family),
                       ('network', parse_network), ('protocol', parse_protocol),
                       ('ports', ports_text), ('block', _block_key), ('region', _region_key)):
        value = rule.get(key)
        if value is None and key not in ('ports', 'region'):
            raise ModelError('is required (rules have the keys %s, as the jaas.firewall.rules '
                             'filter makes them)' % ', '.join(RULE_KEYS), where, key)
        try:
            normal[key] = None if value is None else parse(value)
        except ModelError as exc:
            raise exc.at(where, key)
    if normal['network'].version != normal['family']:
        raise ModelError('%s is not IPv%d (family %d)' % (normal['network'], normal['family'],
                                                          normal['family']), where, 'network')
    normal['network'] = str(normal['network'])
    return normal


def _block_key(value):
    return check_name('block key', value)


def _region_key(value):
    return check_name('region key', value)


def normalise_rules(rules, name='rules'):
    if not isinstance(rules, list):
        raise ModelError('must be a list of rules, got %s' % type(rules).__name__, name)
    return [normalise_rule(rule, '%s[%d]' % (name, index)) for index, rule in enumerate(rules)]


# ----------------------------------------------------------------------------- keep-open

def normalise_keep_open(entries, name='keep_open'):
    """Validated keep-open entries ({direction, protocol, port, network?}), normalised:
    ports as canonical text, networks as canonical CIDR, ``network`` left out when not
    given. Every value is rebuilt from parsed numbers and ``ipaddress`` objects."""
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise ModelError('must be a list of dicts, got %s' % type(entries).__name__, name)
    normalised = []
    for index, entry in enumerate(entries):
        where = '%s[%d]' % (name, index)
        if not isinstance(entry, dict):
            raise ModelError('must be a dict, got %r' % (entry,), where)
        unknown = sorted(str(key) for key in entry if key not in KEEP_OPEN_KEYS)
        if unknown:
            raise ModelError('unknown key(s) %s (allowed: %s)'
                             % (', '.join(unknown), ', '.join(KEEP_OPEN_KEYS)), where)
        item = {}
        for key, parse in (('direction', parse_direction), ('protocol', parse_protocol),
                           ('port', ports_text), ('network', network_text)):
            value = entry.get(key)
            if key == 'network' and value in (None, ''):
                continue
            if value is None:
                raise ModelError('is required', where, key)
            try:
                item[key] = parse(value)
            except ModelError as exc:
                raise exc.at(where, key)
        normalised.append(item)
    return normalised
