# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render flat jaas.firewall rules as Windows Defender Firewall rules.

Pure Python; no Ansible imports. Rules, keep-open entries and names are validated by the
rule model (module_utils/model.py); netaddr only reads Windows' own address forms back
(``canonical_address``). Two outputs from one model:

* ``windows_rule_specs``  one dict per Windows rule whose keys are exactly options of
  community.windows.win_firewall_rule, so the role passes them through unchanged;
* ``powershell_script``   the same rules as a standalone, idempotent PowerShell script
  (New-NetFirewallRule ... -Group JaaS) for GPO / Intune deployments.

Aggregation: one Windows rule per (direction, block, protocol, ports). The block's
addresses of both families go into one ``remoteip`` list (Windows accepts mixed IPv4 and
IPv6 in one rule), so the rule count depends on the catalog's *shape*, not its size.
A list longer than ``max_addresses`` is cut into chunks in address order; the first chunk
keeps the base name, the next ones get `` (2)``, `` (3)``...

Windows reads addresses back in its own form (``1.2.3.4/255.255.255.255`` for a /32,
``10.0.0.0/255.255.255.0`` for a /24). ``canonical_address_set`` turns either form into
the same set of CIDR strings; compare those sets, never the strings.
"""

from __future__ import annotations

import ipaddress
import uuid

try:
    import netaddr
except ImportError:  # the lookup has already failed with a clear message without it
    netaddr = None

from ansible_collections.jaas.firewall.plugins.module_utils import model
from ansible_collections.jaas.firewall.plugins.module_utils.model import ModelError

DEFAULT_GROUP = 'JaaS'
DEFAULT_MAX_ADDRESSES = 200
PROFILES = ('domain', 'private', 'public')
# Short, stable titles used in rule names. Unknown blocks fall back to their key.
BLOCK_TITLES = {
    'cloudflare': 'Cloudflare',
    'jvb': 'JVB',
    'turn': 'TURN',
    'webhook_origins': 'Webhook origins',
}
KEEP_OPEN_TITLE = 'Keep open'
# Option names of community.windows.win_firewall_rule this renderer sets, in display order.
SPEC_KEYS = ('name', 'group', 'description', 'direction', 'action', 'enabled', 'profiles',
             'protocol', 'localip', 'localport', 'remoteip', 'remoteport', 'program',
             'service')
# Namespace of the stable dynamic-keyword IDs (uuid5 of "<group>:<fqdn>").
_KEYWORD_NAMESPACE = uuid.UUID('5b1c3e0e-7f0a-4c5e-9a51-6a6161732d66')
# Windows PowerShell treats these as single quotes too: they must be doubled as well.
_PS_SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"


class RenderError(ValueError):
    """The input cannot be rendered; the message says which rule and why."""


def block_title(block):
    return BLOCK_TITLES.get(block) or block.replace('_', ' ').capitalize()


def rule_name(group, title, direction, protocol, ports, chunk=1):
    """Stable display name, e.g. ``JaaS - TURN - UDP 49152-65535`` or ``... (2)``."""
    traffic = '%s %s' % (protocol.upper(), ports or 'all ports')
    if direction == 'in':
        traffic = 'inbound ' + traffic
    name = '%s - %s - %s' % (group, title, traffic)
    return name if chunk == 1 else '%s (%d)' % (name, chunk)


def _address_text(network):
    """Host routes without a prefix (Windows' own display form), networks as CIDR."""
    if network.num_addresses == 1:
        return str(network.network_address)
    return str(network)


def _address_key(network):
    return (network.version, int(network.network_address), network.prefixlen)


def canonical_address(text):
    """One Windows address string -> canonical CIDR string(s).

    Accepts what Windows writes back: ``1.2.3.4``, ``1.2.3.4/255.255.255.255``,
    ``10.0.0.0/255.255.255.0``, ``10.0.0.0/24``, ``2400:cb00::/32``, ranges
    ``a-b``. Returns a list (a range may need several CIDRs).
    """
    text = text.strip()
    if '-' in text:
        low, high = (part.strip() for part in text.split('-', 1))
        return [str(n) for n in netaddr.iprange_to_cidrs(low, high)]
    address, _sep, prefix = text.partition('/')
    ip = netaddr.IPAddress(address)
    if not prefix:
        length = 32 if ip.version == 4 else 128
    elif '.' in prefix:
        length = netaddr.IPAddress(prefix).netmask_bits()
    else:
        length = int(prefix)
    return [str(netaddr.IPNetwork('%s/%d' % (ip, length)).cidr)]


def canonical_address_set(addresses):
    """Comma-separated string or list of Windows addresses -> frozenset of CIDR strings."""
    if isinstance(addresses, str):
        addresses = addresses.split(',')
    result = set()
    for text in addresses:
        if text and text.strip() and text.strip().lower() not in ('any', '*'):
            result.update(canonical_address(text))
    return frozenset(result)


def _check_group(group):
    try:
        model.check_name('Windows group name', group)
    except ModelError as exc:
        raise RenderError(str(exc.at('group')))


def _check_options(group, max_addresses, profiles):
    _check_group(group)
    if isinstance(max_addresses, bool) or not isinstance(max_addresses, int) \
            or not 1 <= max_addresses <= 1000:
        raise RenderError('max_addresses must be an integer 1-1000, got %r' % (max_addresses,))
    profiles = list(profiles) if profiles is not None else list(PROFILES)
    unknown = [p for p in profiles if p not in PROFILES]
    if unknown or not profiles:
        raise RenderError('profiles must be a non-empty subset of %s, got %r'
                          % (', '.join(PROFILES), profiles))
    return [p for p in PROFILES if p in profiles]


def _provenance_text(provenance):
    if not provenance:
        return ''
    parts = [provenance.get('title'), provenance.get('url')]
    if provenance.get('retrieved'):
        parts.append('retrieved %s' % provenance['retrieved'])
    return 'Source: %s.' % ', '.join(p for p in parts if p)


def _description(summary, regions, chunk, chunks, provenance):
    text = summary
    if regions:
        text += ' Regions: %s.' % ', '.join(regions)
    if chunks > 1:
        text += ' Part %d of %d.' % (chunk, chunks)
    source = _provenance_text(provenance)
    if source:
        text += ' ' + source
    return text + ' Managed by Ansible (jaas.firewall); local edits are overwritten.'


def _validate_rule(rule, index):
    """The rule normalised by the model (as every backend module does), or RenderError."""
    try:
        return model.normalise_rule(rule, 'rules[%d]' % index)
    except ModelError as exc:
        raise RenderError(str(exc))


def _spec(name, group, description, direction, protocol, ports, remoteip, profiles):
    port_option, other = ('localport', 'remoteport') if direction == 'in' else \
        ('remoteport', 'localport')
    spec = {
        'name': name,
        'group': group,
        'description': description,
        'direction': direction,
        'action': 'allow',
        'enabled': True,
        'profiles': list(profiles),
        'protocol': protocol,
        'localip': 'any',
        port_option: ports or 'any',
        other: 'any',
        'remoteip': remoteip,
        # Set explicitly so a rule someone narrowed to one program is put back.
        'program': 'any',
        'service': 'any',
    }
    return dict((key, spec[key]) for key in SPEC_KEYS)


def windows_rule_specs(rules, provenance=None, group=DEFAULT_GROUP,
                       max_addresses=DEFAULT_MAX_ADDRESSES, profiles=None,
                       block_descriptions=None, keep_open=None):
    """Flat rules -> sorted list of win_firewall_rule option dicts (see module docstring).

    ``block_descriptions`` maps block key -> human description (from the catalog);
    ``keep_open`` is the shared role variable (list of {direction, protocol, port,
    network}), rendered as extra allow rules named ``<group> - Keep open - ...``.
    """
    profiles = _check_options(group, max_addresses, profiles)
    if not isinstance(rules, list):
        raise RenderError('input must be the list returned by jaas.firewall.rules, got %s'
                          % type(rules).__name__)
    block_descriptions = block_descriptions or {}
    groups = {}  # (direction, block, protocol, ports) -> {'networks': set, 'regions': set}
    for index, given in enumerate(rules):
        rule = _validate_rule(given, index)
        network = ipaddress.ip_network(rule['network'])
        key = (rule['direction'], rule['block'], rule['protocol'], rule['ports'])
        entry = groups.setdefault(key, {'networks': set(), 'regions': set()})
        entry['networks'].add(network)
        if rule['region']:
            entry['regions'].add(rule['region'])

    specs = []
    for (direction, block, protocol, ports), entry in groups.items():
        networks = sorted(entry['networks'], key=_address_key)
        chunks = [networks[i:i + max_addresses] for i in range(0, len(networks), max_addresses)]
        summary = '%s: %s %s %s.' % (
            block_descriptions.get(block) or block_title(block),
            'inbound' if direction == 'in' else 'outbound', protocol.upper(),
            'port %s' % ports if ports else 'every port')
        for number, chunk in enumerate(chunks, 1):
            specs.append(_spec(
                rule_name(group, block_title(block), direction, protocol, ports, number),
                group, _description(summary, sorted(entry['regions']), number, len(chunks),
                                    provenance),
                direction, protocol, ports, ','.join(_address_text(n) for n in chunk),
                profiles))
    specs.extend(_keep_open_specs(keep_open or [], group, profiles))
    names = [spec['name'] for spec in specs]
    too_long = [n for n in names if len(n) > model.WINDOWS_RULE_NAME_MAX]
    if too_long:
        raise RenderError('rule name %r is longer than %d characters, the most Windows keeps'
                          % (too_long[0], model.WINDOWS_RULE_NAME_MAX))
    duplicates = sorted(set(n for n in names if names.count(n) > 1))
    if duplicates:
        raise RenderError('two rules would share the name(s) %s' % ', '.join(duplicates))
    specs.sort(key=lambda spec: spec['name'])
    return specs


def _keep_open_specs(keep_open, group, profiles):
    # The same validator the ufw and firewalld roles use, so every backend accepts and
    # refuses exactly the same entries.
    from ansible_collections.jaas.firewall.plugins.module_utils.model import (
        ModelError, normalise_keep_open)

    try:
        entries = normalise_keep_open(keep_open, 'jaas_firewall_keep_open')
    except ModelError as exc:
        raise RenderError(str(exc))
    merged = {}  # (direction, protocol, ports) -> set of networks or None (= any)
    for item in entries:
        key = (item['direction'], item['protocol'], item['port'])
        network = ipaddress.ip_network(item['network']) if 'network' in item else None
        if network is None or merged.get(key, set()) is None:
            merged[key] = None
        else:
            merged.setdefault(key, set()).add(network)
    specs = []
    for (direction, protocol, ports), networks in merged.items():
        remoteip = 'any' if networks is None else ','.join(
            _address_text(n) for n in sorted(networks, key=_address_key))
        summary = 'Kept open for the host itself (jaas_firewall_keep_open): %s %s port %s.' % (
            'inbound' if direction == 'in' else 'outbound', protocol.upper(), ports)
        specs.append(_spec(rule_name(group, KEEP_OPEN_TITLE, direction, protocol, ports),
                           group, _description(summary, [], 1, 1, None), direction,
                           protocol, ports, remoteip, profiles))
    return specs


# --- dynamic keywords (FQDN rules) -------------------------------------------------

def keyword_id(group, fqdn):
    """Stable ID of the AutoResolve dynamic keyword address for one name (braces required)."""
    return '{%s}' % uuid.uuid5(_KEYWORD_NAMESPACE, '%s:%s' % (group, fqdn.lower()))


def domain_rule_specs(domains, categories=None, group=DEFAULT_GROUP, provenance=None,
                      profiles=None):
    """Catalog ``domains`` -> one outbound rule per (category, protocol, ports).

    Each spec carries ``keywords`` (list of {id, keyword}) instead of ``remoteip``:
    these rules are applied with New-NetFirewallRule -RemoteDynamicKeywordAddresses,
    which win_firewall_rule cannot express.
    """
    profiles = _check_options(group, DEFAULT_MAX_ADDRESSES, profiles)
    categories = list(domains) if categories is None else list(categories)
    unknown = [c for c in categories if c not in domains]
    if unknown:
        raise RenderError('unknown domain categories %s; known: %s'
                          % (', '.join(unknown), ', '.join(sorted(domains))))
    specs = []
    for category in categories:
        entry = domains[category]
        keywords = [{'id': keyword_id(group, name), 'keyword': name} for name in entry['names']]
        for rule in entry['rules']:
            summary = 'Domains, %s: outbound %s %s (dynamic keywords, resolved by Microsoft ' \
                'Defender network protection).' % (entry['description'], rule['protocol'].upper(),
                                                   'port %s' % rule['ports'] if rule['ports'] else 'every port')
            specs.append({
                'name': rule_name(group, 'Domains %s' % category, 'out', rule['protocol'],
                                  rule['ports']),
                'group': group,
                'description': _description(summary, [], 1, 1, provenance),
                'direction': 'out',
                'protocol': rule['protocol'],
                'remoteport': rule['ports'] or 'any',
                'profiles': profiles,
                'keywords': keywords,
            })
    specs.sort(key=lambda spec: spec['name'])
    return specs


def all_keyword_ids(domains, group=DEFAULT_GROUP):
    """Every keyword ID this catalog can produce: what the role may delete, and nothing else."""
    _check_group(group)
    return sorted(set(keyword_id(group, name) for entry in domains.values()
                      for name in entry['names']))


# --- PowerShell ------------------------------------------------------------------

def ps_quote(value):
    """PowerShell single-quoted literal; every kind of single quote is doubled."""
    text = str(value)
    for quote in _PS_SINGLE_QUOTES:
        text = text.replace(quote, quote * 2)
    return "'%s'" % text


def _ps_array(values):
    return '@(%s)' % ', '.join(ps_quote(v) for v in values)


_PS_DIRECTION = {'in': 'Inbound', 'out': 'Outbound'}


def _ps_rule(spec):
    addresses = [] if spec['remoteip'] == 'any' else spec['remoteip'].split(',')
    lines = [
        '    @{',
        '        DisplayName   = %s' % ps_quote(spec['name']),
        '        Description   = %s' % ps_quote(spec['description']),
        '        Direction     = %s' % ps_quote(_PS_DIRECTION[spec['direction']]),
        '        Protocol      = %s' % ps_quote(spec['protocol'].upper()),
        '        LocalPort     = %s' % ps_quote(spec['localport'].replace('any', 'Any')),
        '        RemotePort    = %s' % ps_quote(spec['remoteport'].replace('any', 'Any')),
        '        RemoteAddress = %s' % (_ps_array(addresses) if addresses else "@('Any')"),
        '        Profile       = %s' % ps_quote(', '.join(p.capitalize() for p in spec['profiles'])),
        '    }',
    ]
    return '\n'.join(lines)


def powershell_script(specs, group=DEFAULT_GROUP, provenance=None, bom=True):
    """The rule specs as one idempotent PowerShell script (see _PS_TEMPLATE)."""
    _check_group(group)
    for index, spec in enumerate(specs):
        missing = [k for k in ('name', 'group', 'description', 'direction', 'protocol',
                               'localport', 'remoteport', 'remoteip', 'profiles') if k not in spec]
        if missing:
            raise RenderError('specs[%d] lacks %s; pass the output of jaas.firewall.windows_rules'
                              % (index, ', '.join(missing)))
        if spec['group'] != group:
            raise RenderError('specs[%d] (%s) is in group %r, not %r'
                              % (index, spec['name'], spec['group'], group))
    source = _provenance_text(provenance) or 'Source: (no provenance given).'
    body = _PS_TEMPLATE % {
        'source': source.replace('#>', '# >'),
        'group': ps_quote(group),
        'count': len(specs),
        'rules': ',\n'.join(_ps_rule(spec) for spec in specs),
    }
    return ('\ufeff' if bom else '') + body


# Kept as one template so the golden file shows the whole script in review.
_PS_TEMPLATE = r"""#Requires -Version 5.1
#Requires -RunAsAdministrator
<#
.SYNOPSIS
    Windows Defender Firewall rules for 8x8 Meet / Jitsi as a Service (JaaS).

.DESCRIPTION
    Generated by the Ansible collection jaas.firewall (filter jaas.firewall.windows_powershell).
    %(source)s

    Idempotent: every rule in the firewall group below that is not listed here, or that
    differs from its listing (direction, protocol, ports, addresses compared as sets,
    profiles, description), is removed; missing rules are created. Rules outside the
    group are never read or changed. Run it again at any time; with nothing to do it
    changes nothing. -WhatIf shows what would change.

.PARAMETER Remove
    Remove every rule of the group and exit.

.PARAMETER PolicyStore
    Where to write: PersistentStore (this computer, the default) or a GPO such as
    'contoso.com\JaaS Firewall'.

.NOTES
    Saved as UTF-8 with BOM so Windows PowerShell 5.1 reads non-ASCII text correctly.
#>
[CmdletBinding(SupportsShouldProcess = $true)]
param(
    [switch]$Remove,
    [string]$PolicyStore = 'PersistentStore'
)

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

$Group = %(group)s

# %(count)d rules.
$DesiredRules = @(
%(rules)s
)

function ConvertTo-JaasCidr {
    # Windows shows '1.2.3.4' or '1.2.3.4/255.255.255.255' for a /32 and masks for IPv4
    # networks: reduce every form to 'address/prefix' so lists compare as sets.
    param([string]$Address)
    $text = $Address.Trim()
    if ($text -eq 'Any' -or $text -eq '*') { return 'any' }
    if ($text.Contains('-')) { return $text.ToLowerInvariant() }
    $parts = $text.Split('/')
    $ip = [System.Net.IPAddress]::Parse($parts[0])
    $bits = if ($ip.AddressFamily -eq 'InterNetworkV6') { 128 } else { 32 }
    if ($parts.Count -gt 1) {
        if ($parts[1].Contains('.')) {
            $bits = 0
            foreach ($byte in [System.Net.IPAddress]::Parse($parts[1]).GetAddressBytes()) {
                $bits += ([Convert]::ToString($byte, 2) -replace '0', '').Length
            }
        }
        else { $bits = [int]$parts[1] }
    }
    return ('{0}/{1}' -f $ip.ToString(), $bits).ToLowerInvariant()
}

function Get-JaasAddressKey {
    param([object[]]$Addresses)
    return ((@($Addresses) | ForEach-Object { ConvertTo-JaasCidr $_ } | Sort-Object -Unique) -join ',')
}

function Get-JaasProfileMask {
    param([string]$ProfileText)
    $mask = 0
    foreach ($name in ($ProfileText -split ',\s*')) {
        switch ($name) {
            'Domain' { $mask += 1 }
            'Private' { $mask += 2 }
            'Public' { $mask += 4 }
        }
    }
    if ($mask -eq 0 -or $mask -eq 7) { return 'all' }
    return [string]$mask
}

function Get-JaasDesiredKey {
    param([hashtable]$Rule)
    return @($Rule.Description, $Rule.Direction, 'Allow', 'True', $Rule.Protocol.ToUpperInvariant(),
        $Rule.LocalPort, $Rule.RemotePort, (Get-JaasAddressKey $Rule.RemoteAddress),
        (Get-JaasProfileMask $Rule.Profile)) -join '|'
}

function Get-JaasExistingKey {
    param($Rule)
    $ports = $Rule | Get-NetFirewallPortFilter
    $addresses = $Rule | Get-NetFirewallAddressFilter
    return @($Rule.Description, [string]$Rule.Direction, [string]$Rule.Action, [string]$Rule.Enabled,
        ([string]$ports.Protocol).ToUpperInvariant(), (@($ports.LocalPort) -join ','),
        (@($ports.RemotePort) -join ','), (Get-JaasAddressKey $addresses.RemoteAddress),
        (Get-JaasProfileMask ([string]$Rule.Profile))) -join '|'
}

$existing = @(Get-NetFirewallRule -Group $Group -PolicyStore $PolicyStore -ErrorAction SilentlyContinue)

if ($Remove) {
    foreach ($rule in $existing) {
        if ($PSCmdlet.ShouldProcess($rule.DisplayName, "Remove firewall rule from group $Group")) {
            Remove-NetFirewallRule -InputObject $rule
            Write-Output "removed: $($rule.DisplayName)"
        }
    }
    return
}

$wanted = @{}
foreach ($rule in $DesiredRules) { $wanted[$rule.DisplayName] = Get-JaasDesiredKey $rule }

$kept = @{}
foreach ($rule in $existing) {
    $name = $rule.DisplayName
    $keep = $wanted.ContainsKey($name) -and -not $kept.ContainsKey($name) -and
        ((Get-JaasExistingKey $rule) -eq $wanted[$name])
    if ($keep) { $kept[$name] = $true; continue }
    if ($PSCmdlet.ShouldProcess($name, "Remove stale or changed firewall rule from group $Group")) {
        Remove-NetFirewallRule -InputObject $rule
        Write-Output "removed: $name"
    }
}

foreach ($rule in $DesiredRules) {
    if ($kept.ContainsKey($rule.DisplayName)) { continue }
    $arguments = @{
        DisplayName   = $rule.DisplayName
        Description   = $rule.Description
        Group         = $Group
        Direction     = $rule.Direction
        Action        = 'Allow'
        Enabled       = 'True'
        Protocol      = $rule.Protocol
        LocalPort     = $rule.LocalPort
        RemotePort    = $rule.RemotePort
        RemoteAddress = $rule.RemoteAddress
        Profile       = $rule.Profile
        PolicyStore   = $PolicyStore
    }
    if ($PSCmdlet.ShouldProcess($rule.DisplayName, "Create firewall rule in group $Group")) {
        New-NetFirewallRule @arguments | Out-Null
        Write-Output "created: $($rule.DisplayName)"
    }
}
"""
