# -*- coding: utf-8 -*-
"""Every PowerShell script the collection ships or renders, parsed by a real PowerShell
grammar (tree-sitter-powershell), so a syntax error cannot reach a Windows host unseen.

No PowerShell exists on these machines; the grammar is the next best check. It covers:
the scripts the Windows role ships (roles/windows_firewall/files/*.ps1), the golden script
(tests/golden/*.ps1), what the ``jaas.firewall.windows_powershell`` filter renders for a
few catalogs and options, and inline ``win_powershell`` scripts in roles, playbooks and
Molecule scenarios. A script fails the test when the parse tree has an ERROR or MISSING
node; the failure names the line.

The grammar is slightly stricter than PowerShell: it wants a newline or ``;`` between the
clauses of a ``switch`` written on one line. The renderer writes switches over several
lines, which both accept.
"""

from __future__ import annotations

import glob
import os

import pytest
import tree_sitter            # requirements-test.txt: a missing grammar fails, never skips
import tree_sitter_powershell
import yaml

from ansible_collections.jaas.firewall.plugins.filter.windows_powershell import (  # noqa: E402
    windows_powershell)
from ansible_collections.jaas.firewall.plugins.filter.windows_rules import windows_rules  # noqa: E402
from ansible_collections.jaas.firewall.plugins.plugin_utils.catalog import load_catalog, select  # noqa: E402
from ansible_collections.jaas.firewall.plugins.plugin_utils.rules import catalog_rules  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))


def syntax_errors(text):
    """['line N: <source line>'] for every ERROR/MISSING node; [] when the script parses."""
    source = text.lstrip('\ufeff').encode('utf-8')
    tree = PARSER.parse(source)
    if not tree.root_node.has_error:
        return []
    lines = source.decode('utf-8').splitlines()
    found = []

    def walk(node):
        if node.is_error or node.is_missing:
            row = node.start_point[0]
            found.append('line %d: %s%s' % (row + 1, 'missing %s in ' % node.type
                                             if node.is_missing else '',
                                             lines[row].strip() if row < len(lines) else ''))
            return
        for child in node.children:
            walk(child)

    walk(tree.root_node)
    return found or ['the parse tree has an error']


def shipped_scripts():
    paths = sorted(glob.glob(os.path.join(REPO, 'roles', '*', 'files', '*.ps1'))
                   + glob.glob(os.path.join(REPO, 'tests', 'golden', '*.ps1')))
    return dict((os.path.relpath(p, REPO), open(p, encoding='utf-8').read()) for p in paths)


def _tasks(data):
    if isinstance(data, list):
        for item in data:
            yield from _tasks(item)
    elif isinstance(data, dict):
        yield data
        for key in ('tasks', 'pre_tasks', 'post_tasks', 'handlers', 'block', 'rescue', 'always'):
            yield from _tasks(data.get(key))


def inline_scripts():
    """Inline scripts of win_powershell tasks (not file lookups) in YAML we ship or run."""
    found = {}
    for pattern in ('roles/*/tasks/*.yml', 'playbooks/*.yml', 'playbooks/tasks/*.yml',
                    'extensions/molecule/*/*.yml'):
        for path in sorted(glob.glob(os.path.join(REPO, pattern))):
            with open(path, encoding='utf-8') as handle:
                data = yaml.safe_load(handle)
            for index, task in enumerate(_tasks(data)):
                for module in ('ansible.windows.win_powershell', 'win_powershell'):
                    script = (task.get(module) or {}).get('script') if isinstance(
                        task.get(module), dict) else None
                    if isinstance(script, str) and '{{' not in script:
                        found['%s task %d' % (os.path.relpath(path, REPO), index)] = script
    return found


def rendered_scripts():
    """What the windows_powershell filter renders: the bundled catalog with several option
    sets, and a provenance full of characters that need quoting."""
    full = load_catalog()
    scripts = {}
    for label, blocks, webhooks, keep_open in (
            ('bundled', ['cloudflare', 'jvb', 'turn'], False, None),
            ('webhooks+keep_open', ['cloudflare', 'jvb', 'turn', 'webhook_origins'], True,
             [{'direction': 'out', 'protocol': 'tcp', 'port': '3128', 'network': '10.0.0.8/32'},
              {'direction': 'in', 'protocol': 'udp', 'port': '5000-5010'}]),
            ('jvb only', ['jvb'], False, None)):
        catalog = select(full, blocks=blocks)
        specs = windows_rules(catalog_rules(catalog, webhooks=webhooks, webhook_port=8443),
                              catalog=catalog, keep_open=keep_open)
        scripts['filter: %s' % label] = windows_powershell(specs, catalog=catalog)
    odd = {'title': "O'Brien's \u2019list\u2019 $(Remove-Item C:\\) `n \"quoted\"",
           'url': 'https://example.invalid/?a=1&b=$x', 'retrieved': '2026-11-26'}
    scripts['filter: quoting'] = windows_powershell([], provenance=odd)
    scripts['filter: empty, no BOM'] = windows_powershell([], catalog=full, bom=False)
    return scripts


ALL = dict(list(shipped_scripts().items()) + list(inline_scripts().items())
           + list(rendered_scripts().items()))


def test_every_kind_of_script_is_covered():
    kinds = {'roles/windows_firewall/files/dynamic_keywords.ps1',
             'roles/windows_firewall/files/prune_group.ps1', 'tests/golden/windows_rules.ps1'}
    assert kinds <= set(ALL)
    assert any(name.startswith('extensions/molecule/windows/') for name in ALL), 'inline scripts not found'
    assert len([n for n in ALL if n.startswith('filter:')]) == 5


@pytest.mark.parametrize('name', sorted(ALL))
def test_script_parses(name):
    assert syntax_errors(ALL[name]) == [], name


@pytest.mark.parametrize('broken', [
    'function Get-X { if ($a -eq 1) { "a" }',            # a brace short
    '$rules = @(\n    @{ Name = \'a\' }\n',                # unclosed array
    'Get-NetFirewallRule -Group \'JaaS\' |',               # pipe to nothing
    "$x = 'it's'",                                        # quote not doubled
    'foreach ($rule in $Rules { $rule }',                # missing parenthesis
])
def test_the_check_fails_on_broken_powershell(broken):
    assert syntax_errors(broken), broken


def test_the_check_fails_on_a_broken_copy_of_a_shipped_script():
    text = shipped_scripts()['roles/windows_firewall/files/dynamic_keywords.ps1']
    # drop the closing brace of the first foreach block
    cut = text.index('foreach ($rule in $Rules) {')
    closing = text.index('\n}\n', cut)
    broken = text[:closing] + '\n' + text[closing + 3:]
    errors = syntax_errors(broken)
    assert errors and all(e.startswith('line ') for e in errors)
