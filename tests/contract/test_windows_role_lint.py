# -*- coding: utf-8 -*-
"""Static checks of the Windows role and its playbooks: ansible-playbook --syntax-check,
ansible-lint (production profile), and the PowerShell-rendering playbook reproducing the
golden script byte for byte."""

import os
import subprocess
import sys

from argspec import REPO

BIN = os.path.dirname(sys.executable)
HERE = os.path.dirname(os.path.abspath(__file__))
ENV = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'),
           ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, '.collections'), ANSIBLE_NOCOLOR='1')
PLAYBOOKS = [os.path.join(HERE, 'converge.yml'),
             os.path.join(REPO, 'playbooks', 'render_windows_powershell.yml'),
             os.path.join(REPO, 'extensions', 'molecule', 'windows', 'converge.yml')]


def run(*command):
    done = subprocess.run(command, env=ENV, cwd=REPO, capture_output=True, text=True)
    return done.returncode, done.stdout + done.stderr


def test_syntax_check():
    for playbook in PLAYBOOKS:
        code, output = run(os.path.join(BIN, 'ansible-playbook'), '--syntax-check',
                           '-i', 'localhost,', playbook)
        assert code == 0, output


def test_ansible_lint_production_profile():
    code, output = run(os.path.join(BIN, 'ansible-lint'), '--profile', 'production',
                       'roles/windows_firewall', *[os.path.relpath(p, REPO) for p in PLAYBOOKS])
    assert code == 0, output


def test_render_playbook_writes_the_golden_script(tmp_path):
    dest = tmp_path / 'jaas-firewall.ps1'
    code, output = run(os.path.join(BIN, 'ansible-playbook'),
                       'playbooks/render_windows_powershell.yml',
                       '-e', 'jaas_firewall_powershell_dest=%s' % dest,
                       '-e', '{"jaas_firewall_webhooks": true}')
    assert code == 0, output
    with open(os.path.join(REPO, 'tests', 'golden', 'windows_rules.ps1'), 'rb') as handle:
        assert dest.read_bytes() == handle.read()


def test_filter_documentation_parses():
    import json
    names = ['jaas.firewall.windows_rules', 'jaas.firewall.windows_powershell',
             'jaas.firewall.windows_domain_rules']
    code, output = run(os.path.join(BIN, 'ansible-doc'), '-t', 'filter', '-j', *names)
    assert code == 0, output
    # stderr is merged into output: a warning printed after the JSON is not part of it
    docs, _end = json.JSONDecoder().raw_decode(output[output.index('{'):])
    assert sorted(docs) == sorted(names)
    assert all(docs[n]['doc'] and docs[n]['examples'] and docs[n]['return'] for n in names)
