#!/usr/bin/python
# -*- coding: utf-8 -*-
# TEST-ONLY stand-in for community.windows.win_firewall_rule (tests/contract).
# Records its arguments, then imitates the real module on a JSON "firewall":
# rules are found by name (in any group, like the real module), only passed properties
# are compared, and addresses are compared as sets after Windows' mask-form conversion.
from __future__ import annotations

import os
import sys

from ansible.module_utils.basic import AnsibleModule, _load_params

sys.path.insert(0, os.environ['JAAS_SHIM_DIR'])
import fakehost  # noqa: E402

COMPARED = ('description', 'direction', 'action', 'program', 'group', 'service', 'enabled',
            'profiles', 'localip', 'remoteip', 'localport', 'remoteport', 'protocol')


def stored(option, value):
    """The value as the firewall would store it."""
    if option in ('localip', 'remoteip'):
        return ','.join(fakehost.windows_form(v) for v in str(value).split(','))
    if option == 'profiles':
        return sorted(set(value))
    if option in ('program', 'service', 'localport', 'remoteport') and value == 'any':
        return None if option in ('program', 'service') else '*'
    return value


def same(option, have, want):
    if option in ('localip', 'remoteip'):
        return fakehost.address_set(have) == fakehost.address_set(want)
    return have == want


def converge(args, check_mode):
    """Imitate the real module on the JSON firewall: True when something changed (or would
    have, in check mode); ValueError for what the real module refuses."""
    state = fakehost.load_state()
    name, group = args.get('name'), args.get('group')
    if not name and not group:
        raise ValueError('Either name or group must be specified')
    matches = [r for r in state['rules']
               if (r['name'] == name if name else r.get('group') == group)]
    changed = False
    if args.get('state', 'present') == 'absent':
        if matches:
            changed = True
            state['rules'] = [r for r in state['rules'] if r not in matches]
    elif not matches:
        rule = {'name': name, 'enabled': True, 'direction': 'in', 'action': 'allow',
                'profiles': ['domain', 'private', 'public'], 'localip': '*', 'remoteip': '*',
                'localport': '*', 'remoteport': '*', 'protocol': 'any', 'program': None,
                'service': None, 'group': None, 'description': None}
        for option in COMPARED:
            if args.get(option) is not None:
                rule[option] = stored(option, args[option])
        state['rules'].append(rule)
        changed = True
    else:
        for rule in matches:
            for option in COMPARED:
                if args.get(option) is None:
                    continue
                want = stored(option, args[option])
                if not same(option, rule.get(option), want):
                    rule[option] = want
                    changed = True
    if changed and not check_mode:
        fakehost.save_state(state)
    return changed


def main():
    # The module form (the action plugin of the same name normally runs instead)
    args, check_mode, _diff = fakehost.raw_args(_load_params())
    fakehost.record('community.windows.win_firewall_rule', args, check_mode)
    module = fakehost.module_for(AnsibleModule, args)
    try:
        changed = converge(args, check_mode)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=changed)


if __name__ == '__main__':
    main()
