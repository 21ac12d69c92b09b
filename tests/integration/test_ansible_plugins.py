"""Run the lookup and filters through real `ansible` / `ansible-playbook` / `ansible-doc`,
so plugin loading, FQCNs and error reporting are proven end to end."""

import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
sys.path.insert(0, os.path.join(REPO, 'tests', 'unit'))
from vendor_page import page_rule_counts  # noqa: E402  (independent reading of the vendor page)

# Rules of the bundled catalog's default selection, counted from the vendor page.
PAGE_RULES = sum(page_rule_counts().values())


def run(*args, cwd=REPO, check=True):
    env = dict(os.environ, ANSIBLE_FORCE_COLOR='0', ANSIBLE_NOCOLOR='1',
               ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0',
               ANSIBLE_STDOUT_CALLBACK='default')
    proc = subprocess.run([os.path.join(BIN, args[0])] + list(args[1:]), cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def debug(expression, **kwargs):
    proc = run('ansible', 'localhost', '-m', 'ansible.builtin.debug', '-a',
               'msg={{ %s }}' % expression, **kwargs)
    if kwargs.get('check', True) is False:
        return proc
    return json.loads(proc.stdout.split('=>', 1)[1])['msg']


def test_readme_command_from_repo_root():
    rules = debug("lookup('jaas.firewall.catalog') | jaas.firewall.rules")
    assert len(rules) == PAGE_RULES
    assert rules[0] == {'block': 'cloudflare', 'direction': 'out', 'family': 4,
                        'network': '103.21.244.0/22', 'ports': None, 'protocol': 'tcp',
                        'region': None}


def test_lookup_options_and_webhooks():
    rules = debug("lookup('jaas.firewall.catalog', blocks=['webhook_origins']) "
                  "| jaas.firewall.rules(webhooks=true, webhook_port=8443)")
    assert sorted(r['network'] for r in rules) == [
        '35.162.88.192/32', '52.10.206.157/32', '52.26.201.32/32']
    assert {(r['direction'], r['protocol'], r['ports']) for r in rules} == {('in', 'tcp', '8443')}


def test_domain_filters():
    assert debug("lookup('jaas.firewall.catalog') | jaas.firewall.domains(categories=['core'])") == [
        '8x8.com', '*.8x8.com', '8x8.vc', '*.8x8.vc', 'jitsi.net', '*.jitsi.net']
    lines = debug("lookup('jaas.firewall.catalog') | jaas.firewall.squid_acl(categories=['core'])")
    assert lines == ['acl jaas_domains dstdomain .8x8.com', 'acl jaas_domains dstdomain .8x8.vc',
                     'acl jaas_domains dstdomain .jitsi.net']
    pac = debug("lookup('jaas.firewall.catalog') | jaas.firewall.pac(categories=['core'])")
    assert 'shExpMatch(host, "*.8x8.vc")' in pac and 'host == "8x8.vc"' in pac


def test_bad_catalog_fails_with_one_line_per_problem_and_no_traceback(tmp_path):
    bad = tmp_path / 'bad.yml'
    with open(os.path.join(REPO, 'vars', 'jaas_catalog.yml')) as handle:
        bad.write_text(handle.read().replace('168.138.111.128/25', '168.138.111.129/25'))
    proc = debug("lookup('jaas.firewall.catalog', catalog_file='%s') | jaas.firewall.rules" % bad,
                 check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert '%s: blocks.jvb.regions.au-sydney.networks[0]: ' % bad in output
    assert 'host bits set' in output
    assert 'Traceback' not in output


def test_unknown_region_fails():
    proc = debug("lookup('jaas.firewall.catalog', regions=['mars'])", check=False)
    assert proc.returncode != 0 and "unknown region 'mars'" in proc.stdout + proc.stderr


def test_playbook_from_an_unrelated_directory(tmp_path):
    playbook = tmp_path / 'site.yml'
    playbook.write_text(
        "- hosts: localhost\n"
        "  gather_facts: false\n"
        "  tasks:\n"
        "    - ansible.builtin.set_fact:\n"
        "        jaas_rules: \"{{ lookup('jaas.firewall.catalog', families=[6]) | jaas.firewall.rules }}\"\n"
        "    - ansible.builtin.assert:\n"
        "        that:\n"
        "          - jaas_rules | length == %d\n"
        "          - jaas_rules | map(attribute='block') | unique == ['cloudflare']\n"
        % sum(page_rule_counts(families=(6,)).values()))
    run('ansible-playbook', '-i', 'localhost,', '-c', 'local', str(playbook), cwd=str(tmp_path))


@pytest.mark.parametrize('kind,name', [
    ('lookup', 'catalog'), ('filter', 'rules'), ('filter', 'domains'),
    ('filter', 'squid_acl'), ('filter', 'pac')])
def test_ansible_doc_renders(kind, name):
    proc = run('ansible-doc', '-t', kind, '--json', 'jaas.firewall.%s' % name)
    doc = json.loads(proc.stdout)['jaas.firewall.%s' % name]
    assert doc['doc']['short_description']
    assert doc['examples'].strip()
    assert doc['return']


def test_string_booleans_from_extra_vars_are_honoured():
    # -e passes strings; "false" must not switch webhooks on.
    proc = run('ansible', 'localhost', '-m', 'ansible.builtin.debug', '-e', 'hooks=false', '-a',
               "msg={{ lookup('jaas.firewall.catalog') | jaas.firewall.rules(webhooks=hooks) | length }}")
    assert json.loads(proc.stdout.split('=>', 1)[1])['msg'] == PAGE_RULES
    proc = run('ansible', 'localhost', '-m', 'ansible.builtin.debug', '-e', 'hooks=maybe', '-a',
               "msg={{ lookup('jaas.firewall.catalog') | jaas.firewall.rules(webhooks=hooks) }}",
               check=False)
    assert proc.returncode != 0 and 'maybe' in proc.stdout + proc.stderr
