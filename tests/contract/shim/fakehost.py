# -*- coding: utf-8 -*-
"""The fake Windows host the shim modules act on: a JSON file standing in for the
firewall's persistent store, and a JSON-lines file recording every module call.

Deliberately independent of the collection (stdlib ``ipaddress`` only): it imitates what
the Windows firewall API does, so it must not share code with the renderer it checks.
"""

import fcntl
import ipaddress
import json
import os

STATE = 'JAAS_SHIM_STATE'
RECORD = 'JAAS_SHIM_RECORD'


def windows_form(text):
    """What INetFwRule.RemoteAddresses gives back for one address we set: IPv4 in mask
    form (a /32 becomes 1.2.3.4/255.255.255.255), IPv6 with a prefix length."""
    text = text.strip()
    if text.lower() in ('any', '*'):
        return '*'
    network = ipaddress.ip_network(text, strict=True)
    if network.version == 4:
        return '%s/%s' % (network.network_address, network.netmask)
    return '%s/%d' % (network.network_address, network.prefixlen)


def address_set(value):
    """Comma-separated Windows addresses -> set of ip_network objects (set comparison)."""
    result = set()
    for text in (value or '*').split(','):
        text = text.strip()
        if text in ('*', 'any', ''):
            continue
        address, _sep, mask = text.partition('/')
        result.add(ipaddress.ip_network('%s/%s' % (address, mask) if mask else address))
    return result


def load_state():
    with open(os.environ[STATE]) as handle:
        return json.load(handle)


def save_state(state):
    with open(os.environ[STATE], 'w') as handle:
        json.dump(state, handle, indent=1, sort_keys=True)


def record(module, args, check_mode):
    line = json.dumps({'module': module, 'args': args, 'check_mode': check_mode},
                      sort_keys=True, default=str)
    with open(os.environ[RECORD], 'a') as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write(line + '\n')


def raw_args(params):
    """Split ``_load_params()`` (called by the module itself, so AnsiballZ bundles
    module_utils) into the arguments exactly as the controller sent them, check and diff."""
    user = dict((k, v) for k, v in params.items() if not k.startswith('_ansible_'))
    return user, bool(params.get('_ansible_check_mode')), bool(params.get('_ansible_diff'))


def module_for(ansible_module, args):
    """An AnsibleModule that accepts whatever was sent; validation happens in the test
    against the real module's documented spec, not here."""
    spec = dict((k, {'type': 'raw'}) for k in args)
    return ansible_module(argument_spec=spec, supports_check_mode=True)

