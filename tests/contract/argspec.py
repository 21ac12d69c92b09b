# -*- coding: utf-8 -*-
"""Check recorded module arguments against a module's documented options, as printed by
``ansible-doc -j`` for the REAL installed module (never the shim)."""

import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_PYTHON_TYPES = {'str': str, 'bool': bool, 'int': int, 'dict': dict, 'list': list,
                 'path': str, 'raw': object}


def real_docs(*modules):
    """{fqcn: doc} from ansible-doc -j, with the shim collections NOT on the path."""
    env = dict(os.environ)
    env['ANSIBLE_COLLECTIONS_PATH'] = os.path.join(REPO, '.collections')
    env['ANSIBLE_CONFIG'] = os.path.join(REPO, 'ansible.cfg')
    output = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-doc'), '-j'] + list(modules), env=env, check=True,
                            capture_output=True, text=True, cwd=REPO).stdout
    docs = dict((name, value['doc']) for name, value in json.loads(output).items())
    for name, doc in docs.items():
        assert 'tests/contract/shim' not in doc['filename'], (name, doc['filename'])
    missing = set(modules) - set(docs)
    assert not missing, 'ansible-doc does not know %s' % ', '.join(sorted(missing))
    return docs


def _type_ok(value, option):
    kind = option.get('type', 'str')
    expected = _PYTHON_TYPES.get(kind)
    if expected is None:
        return False
    if kind == 'int' and isinstance(value, bool):
        return False
    if not isinstance(value, expected):
        return False
    if kind == 'list' and option.get('elements'):
        element = dict(option, type=option['elements'])
        element.pop('elements')
        return all(_type_ok(item, element) for item in value)
    return True


def problems(args, doc):
    """Every way ``args`` breaks the documented spec: names, types, choices, required."""
    options = doc['options']
    names = {}
    for name, option in options.items():
        names[name] = name
        for alias in option.get('aliases') or []:
            names[alias] = name
    found = []
    for key, value in args.items():
        if key not in names:
            found.append('unknown option %r' % key)
            continue
        option = options[names[key]]
        if value is None:
            continue
        if not _type_ok(value, option):
            found.append('%s=%r is not of type %s%s' % (
                key, value, option.get('type', 'str'),
                ' of %s' % option['elements'] if option.get('elements') else ''))
            continue
        choices = option.get('choices')
        if choices:
            values = value if isinstance(value, list) else [value]
            bad = [v for v in values if v not in choices]
            if bad:
                found.append('%s=%r not in choices %r' % (key, bad, choices))
    for name, option in options.items():
        if option.get('required') and not any(
                alias in args for alias in [name] + (option.get('aliases') or [])):
            found.append('required option %r missing' % name)
    return found
