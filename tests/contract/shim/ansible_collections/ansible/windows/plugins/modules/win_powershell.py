#!/usr/bin/python
# -*- coding: utf-8 -*-
# TEST-ONLY stand-in for ansible.windows.win_powershell (tests/contract).
# Records its arguments. PowerShell cannot run here, so the two scripts of the role are
# recognised by their header and their documented effect is imitated on the JSON
# "firewall"; any other script fails the test.
from __future__ import annotations

import os
import sys

from ansible.module_utils.basic import AnsibleModule, _load_params

sys.path.insert(0, os.environ['JAAS_SHIM_DIR'])
import fakehost  # noqa: E402


def prune(params, state):
    group, keep = params['Group'], list(params.get('Keep') or [])
    in_group = sorted(r['name'] for r in state['rules'] if r.get('group') == group)
    removed = [n for n in in_group if n not in keep]
    state['rules'] = [r for r in state['rules']
                      if not (r.get('group') == group and r['name'] in removed)]
    conflicts = sorted(set(r['name'] for r in state['rules']
                           if r.get('group') != group and r['name'] in keep))
    after = [n for n in in_group if n not in removed]
    return bool(removed), {'group': group, 'found': in_group, 'removed': removed,
                           'conflicts': conflicts}, {'before': '\n'.join(in_group) + '\n',
                                                     'after': '\n'.join(after) + '\n'}


def dynamic_keywords(params, state):
    group, rules = params['Group'], params.get('Rules') or []
    owned, enabled = params.get('OwnedKeywordIds') or [], params.get('Enabled')
    if not isinstance(enabled, bool):
        raise ValueError('Enabled must be a boolean, got %r' % (enabled,))
    keywords = state.setdefault('keywords', {})
    wanted = dict((k['id'], k['keyword']) for r in rules for k in r['keywords'])
    changed = False
    for key, name in wanted.items():
        if keywords.get(key) != name:
            keywords[key] = name
            changed = True
    for key in owned:
        if key in keywords and key not in wanted:
            del keywords[key]
            changed = True
    for rule in rules:
        want = {'name': rule['name'], 'group': group, 'direction': 'out', 'action': 'allow',
                'protocol': rule['protocol'], 'remoteport': rule['remoteport'],
                'description': rule['description'],
                'keyword_ids': sorted(k['id'] for k in rule['keywords'])}
        current = [r for r in state['rules'] if r.get('group') == group and r['name'] == rule['name']]
        if current == [want]:
            continue
        state['rules'] = [r for r in state['rules'] if r not in current] + [want]
        changed = True
    return changed, {'supported': True}, None


SCRIPTS = {
    '# jaas.firewall.windows_firewall: list the rules of one firewall group': prune,
    '# jaas.firewall.windows_firewall: domain rules through Windows Firewall dynamic': dynamic_keywords,
}


def main():
    args, check_mode, diff_mode = fakehost.raw_args(_load_params())
    fakehost.record('ansible.windows.win_powershell', args, check_mode)
    module = fakehost.module_for(AnsibleModule, args)
    script = args.get('script') or ''
    handler = next((h for head, h in SCRIPTS.items() if script.startswith(head)), None)
    if handler is None:
        module.fail_json(msg='shim win_powershell: unknown script (first line %r)'
                         % script.splitlines()[:1])
    state = fakehost.load_state()
    try:
        changed, result, diff = handler(args.get('parameters') or {}, state)
    except (KeyError, TypeError, ValueError) as exc:
        module.fail_json(msg='shim win_powershell: bad parameters: %r' % (exc,))
    if changed and not check_mode:
        fakehost.save_state(state)
    extra = {'diff': diff} if diff and diff_mode else {}
    module.exit_json(changed=changed, result=result, output=[], error=[], **extra)


if __name__ == '__main__':
    main()
