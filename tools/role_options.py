"""Copy the variables every backend role shares from their one source into each role.

    python tools/role_options.py           # exit 1 and name the stale files
    python tools/role_options.py --write   # rewrite the shared sections

Source: tools/role_options.yml (argument spec + default of each shared variable, with
per-role descriptions where the meaning depends on the backend). Targets, between the
"shared" markers: roles/<role>/defaults/main.yml and roles/<role>/meta/argument_specs.yml.
tests/unit/test_role_options.py fails when a copy is stale, so the defaults and argument
specs of the roles cannot drift apart.
"""

import argparse
import copy
import os
import re
import sys

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = os.path.join(REPO, 'tools', 'role_options.yml')
BEGIN = '# BEGIN shared variables (tools/role_options.py --write; source: tools/role_options.yml)'
END = '# END shared variables'
SPEC_INDENT = ' ' * 6


class _Dumper(yaml.SafeDumper):
    """Block style with indented sequences; lists of scalars in flow style ([4, 6])."""

    def ignore_aliases(self, data):
        return True

    def increase_indent(self, flow=False, indentless=False):
        return super(_Dumper, self).increase_indent(flow, False)


def _represent_list(dumper, data):
    flow = all(isinstance(item, (int, float, bool)) or
               (isinstance(item, str) and len(item) < 20) for item in data)
    return dumper.represent_sequence('tag:yaml.org,2002:seq', data, flow_style=flow)


_Dumper.add_representer(list, _represent_list)


def load_source(path=SOURCE):
    with open(path) as handle:
        return yaml.safe_load(handle)


def role_spec(source, role):
    """{variable: argument spec} of the shared variables for one role, in source order."""
    options = {}
    for name, entry in source['options'].items():
        spec = copy.deepcopy(entry['spec'])
        descriptions = entry.get('descriptions') or {}
        if role in descriptions:
            spec = dict([('description', descriptions[role])] + list(spec.items()))
        if 'description' not in spec:
            raise ValueError('%s: %s has no description for role %s' % (SOURCE, name, role))
        options[name] = spec
    return options


def _scalar(value):
    return yaml.dump(value, Dumper=_Dumper, default_flow_style=True, width=1000).strip() \
        .removesuffix('...').strip()


def defaults_section(source):
    lines = [BEGIN]
    for name, entry in source['options'].items():
        lines.append('%s: %s' % (name, _scalar(entry['spec'].get('default'))))
    lines.append(END)
    return '\n'.join(lines) + '\n'


def spec_section(source, role):
    text = yaml.dump(role_spec(source, role), Dumper=_Dumper, sort_keys=False, width=96,
                     default_flow_style=False)
    body = ''.join(SPEC_INDENT + line if line.strip() else line
                   for line in text.splitlines(True))
    return SPEC_INDENT + BEGIN + '\n' + body + SPEC_INDENT + END + '\n'


def _replace_marked(text, section, indent=''):
    pattern = re.compile(r'^%s%s\n.*?^%s%s\n' % (re.escape(indent), re.escape(BEGIN),
                                                 re.escape(indent), re.escape(END)),
                         re.S | re.M)
    if not pattern.search(text):
        return None
    return pattern.sub(lambda _match: section, text, count=1)


def render_defaults(text, source):
    new = _replace_marked(text, defaults_section(source))
    if new is not None:
        return new
    # First run: drop the old hand-written copies, put the section right after '---'.
    names = tuple('%s:' % name for name in source['options'])
    kept = [line for line in text.splitlines(True)
            if not line.startswith(names) and not line.startswith('# Shared by every')]
    head = kept.pop(0) if kept and kept[0].startswith('---') else '---\n'
    return head + defaults_section(source) + ''.join(kept)


def render_specs(text, source, role):
    new = _replace_marked(text, spec_section(source, role), SPEC_INDENT)
    if new is not None:
        return new
    # First run: drop the old entries of the shared variables, insert after 'options:'.
    lines = text.splitlines(True)
    out, skipping = [], False
    entry = re.compile(r'^ {6}(\w+):')
    for line in lines:
        match = entry.match(line)
        if match:
            skipping = match.group(1) in source['options']
        elif line.strip() and not line.startswith(SPEC_INDENT + ' '):
            skipping = False
        if not skipping:
            out.append(line)
    text = ''.join(out)
    anchor = '\n    options:\n'
    if anchor not in text:
        raise ValueError('no "    options:" line in the entry point')
    return text.replace(anchor, anchor + spec_section(source, role), 1)


def targets(source):
    for role in source['roles']:
        yield (os.path.join(REPO, 'roles', role, 'defaults', 'main.yml'),
               lambda text, role=role: render_defaults(text, source))
        yield (os.path.join(REPO, 'roles', role, 'meta', 'argument_specs.yml'),
               lambda text, role=role: render_specs(text, source, role))


def canonical_source(path=SOURCE):
    """The source file as --write leaves it: its header comment, then the data in the
    layout ansible-lint accepts (indented sequences)."""
    with open(path) as handle:
        text = handle.read()
    header = text.split('\nroles:')[0] + '\n'
    return header + yaml.dump(yaml.safe_load(text), Dumper=_Dumper, sort_keys=False,
                              width=96, default_flow_style=False)


def stale_files(source):
    with open(SOURCE) as handle:
        stale = [SOURCE] if handle.read() != canonical_source() else []
    for path, render in targets(source):
        with open(path) as handle:
            text = handle.read()
        if render(text) != text:
            stale.append(path)
    return stale


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--write', action='store_true')
    args = parser.parse_args()
    source = load_source()
    if not args.write:
        stale = stale_files(source)
        for path in stale:
            print('stale: %s (run tools/role_options.py --write)' % os.path.relpath(path, REPO))
        return 1 if stale else 0
    canonical = canonical_source()
    with open(SOURCE) as handle:
        if handle.read() != canonical:
            with open(SOURCE, 'w') as out:
                out.write(canonical)
            print('wrote %s' % os.path.relpath(SOURCE, REPO))
    for path, render in targets(source):
        with open(path) as handle:
            text = handle.read()
        new = render(text)
        if new != text:
            with open(path, 'w') as handle:
                handle.write(new)
            print('wrote %s' % os.path.relpath(path, REPO))
    return 0


if __name__ == '__main__':
    sys.exit(main())
