# -*- coding: utf-8 -*-
"""Contract test of jaas.firewall.windows_firewall without a Windows machine.

ansible-playbook runs the real role against a fake Windows host: a test-only collection
(tests/contract/shim) put in front of the real ones on ANSIBLE_COLLECTIONS_PATH stands in
for community.windows.win_firewall_rule and ansible.windows.win_powershell (the first as an
action plugin too, so the role's loop of ~190 rules runs in Ansible's worker instead of one
module run per rule). The stand-ins record every call and imitate the modules' effect on a JSON "firewall" (addresses kept in
Windows' mask form, compared as sets, rules matched by name like the real module).

Each recorded call is checked against the REAL installed module's documented options
(``ansible-doc -j``), and the resulting rules against vendor_table.py, typed in by hand
from the vendor page. What this cannot prove: that Windows accepts the values at run time,
and that the two PowerShell scripts behave as the shim imitates (see roles/windows_firewall/README.md).
"""

import ipaddress
import json
import os
import re
import subprocess
import sys

import pytest

from argspec import REPO, problems, real_docs
from vendor_table import DOMAINS, expected_rules

HERE = os.path.dirname(os.path.abspath(__file__))
SHIM = os.path.join(HERE, 'shim')
FIREWALL_RULE = 'community.windows.win_firewall_rule'
POWERSHELL = 'ansible.windows.win_powershell'
FOREIGN = {'name': 'Corp - web proxy', 'group': 'Corp', 'direction': 'out', 'protocol': 'tcp',
           'remoteport': '3128', 'remoteip': '198.18.0.10/255.255.255.255'}


@pytest.fixture(scope='module')
def docs():
    return real_docs(FIREWALL_RULE, POWERSHELL)


class FakeWindows(object):
    """One fake host: its firewall state, its call record, and ansible-playbook runs."""

    def __init__(self, path, rules):
        self.path = path
        self.state_file = path / 'state.json'
        self.record_file = path / 'record.jsonl'
        self.state_file.write_text(json.dumps({'rules': rules}))
        self.record_file.write_text('')
        (path / 'inventory').write_text(
            '[fake_windows]\nwin1 ansible_connection=local ansible_python_interpreter=%s\n'
            % sys.executable)

    def run(self, extra_vars=None, check=False):
        self.record_file.write_text('')
        env = dict(os.environ,
                   ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'),
                   ANSIBLE_COLLECTIONS_PATH='%s:%s' % (SHIM, os.path.join(REPO, '.collections')),
                   ANSIBLE_NOCOLOR='1', ANSIBLE_DEPRECATION_WARNINGS='0', ANSIBLE_PIPELINING='1',
                   JAAS_SHIM_DIR=SHIM, JAAS_SHIM_STATE=str(self.state_file),
                   JAAS_SHIM_RECORD=str(self.record_file))
        command = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'),
                   '-i', str(self.path / 'inventory'), os.path.join(HERE, 'converge.yml'),
                   '-e', json.dumps(extra_vars or {})]
        if check:
            command += ['--check', '--diff']
        done = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True)
        recap = re.search(r'win1\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)',
                          done.stdout)
        self.output = done.stdout + done.stderr
        self.failed = done.returncode != 0
        self.changed = int(recap.group(2)) if recap else None
        self.calls = [json.loads(line) for line in self.record_file.read_text().splitlines()]
        return self

    @property
    def rules(self):
        return json.loads(self.state_file.read_text())['rules']

    @property
    def keywords(self):
        return json.loads(self.state_file.read_text()).get('keywords', {})

    def group(self, name='JaaS'):
        return dict((r['name'], r) for r in self.rules if r.get('group') == name)


def addresses(text):
    return set(ipaddress.ip_network(a.replace(' ', '')) for a in text.split(','))


def collapsed(networks):
    nets = [ipaddress.ip_network(n) for n in networks]
    return [list(ipaddress.collapse_addresses(n for n in nets if n.version == v)) for v in (4, 6)]


def assert_contract(run, docs):
    """Every recorded call is valid for the real module; fail with all problems at once."""
    assert run.calls, 'no module call recorded:\n' + run.output
    found = []
    for index, call in enumerate(run.calls):
        args = call['args']
        for problem in problems(args, docs[call['module']]):
            found.append('call %d %s: %s' % (index, call['module'], problem))
        if call['module'] == FIREWALL_RULE:
            if not args.get('name') and not args.get('group'):
                found.append('call %d: needs name or group' % index)
            for profile in args.get('profiles') or []:
                if profile not in ('domain', 'private', 'public'):  # ConvertTo-Profile in the .ps1
                    found.append('call %d: profile %r' % (index, profile))
            for option in ('remoteip', 'localip'):
                if args.get(option) not in (None, 'any'):
                    for address in args[option].split(','):
                        try:
                            ipaddress.ip_network(address)
                        except ValueError:
                            found.append('call %d: %s item %r' % (index, option, address))
            if args.get('remoteport') not in (None, 'any') or args.get('localport') not in (None, 'any'):
                if args.get('protocol') in (None, 'any'):
                    found.append('call %d: ports need a protocol' % index)
        if call['module'] == POWERSHELL:
            if ('script' in args) == ('path' in args):
                found.append('call %d: exactly one of script/path' % index)
            for key, value in (args.get('parameters') or {}).items():
                if not re.match(r'^[A-Za-z][A-Za-z0-9]*$', key):
                    found.append('call %d: parameter name %r' % (index, key))
                if isinstance(value, str) and key == 'Enabled':
                    found.append('call %d: Enabled=%r would not bind to [bool]' % (index, value))
    assert not found, '\n'.join(found)


def assert_matches_vendor(host, table):
    group = host.group()
    ip_rules = dict((n, r) for n, r in group.items() if 'keyword_ids' not in r)
    assert sorted(ip_rules) == sorted(table)
    for name, (direction, protocol, port_option, port, vendor) in table.items():
        rule = ip_rules[name]
        assert (rule['direction'], rule['protocol'], rule[port_option]) == (
            direction, protocol, '*' if port == 'any' else port), name
        other = 'localport' if port_option == 'remoteport' else 'remoteport'
        assert rule[other] == '*', name
        assert rule['action'] == 'allow' and rule['enabled'] is True, name
        assert collapsed(addresses(rule['remoteip'])) == collapsed(vendor), name
        assert 'developer.8x8.com/jaas/docs/technical-requirements-whitelists' in rule['description']


def test_apply_rerun_check_and_absent(tmp_path, docs):
    stale = {'name': 'JaaS - Retired - TCP 8443', 'group': 'JaaS', 'remoteip': '198.18.0.1'}
    host = FakeWindows(tmp_path, [FOREIGN, stale])

    first = host.run({'jaas_firewall_webhooks': True, 'jaas_firewall_webhook_port': 8443})
    assert not first.failed, first.output
    assert_contract(first, docs)
    assert_matches_vendor(host, expected_rules(webhooks=True, webhook_port=8443))
    assert 'JaaS - Retired - TCP 8443' not in host.group()
    assert FOREIGN in host.rules
    rule_calls = [c for c in first.calls if c['module'] == FIREWALL_RULE]
    assert len(rule_calls) == 8, 'one call per Windows rule, not per address'
    # Chunking (max_addresses) is covered by tests/unit/test_windows_render.py.

    again = host.run({'jaas_firewall_webhooks': True, 'jaas_firewall_webhook_port': 8443})
    assert not again.failed and again.changed == 0, again.output

    before = host.state_file.read_text()
    preview = host.run({'jaas_firewall_regions': ['uk-london'], 'jaas_firewall_families': [4]},
                       check=True)
    assert not preview.failed and preview.changed > 0, preview.output
    assert all(c['check_mode'] for c in preview.calls)
    assert host.state_file.read_text() == before, 'check mode changed the host'
    assert 'JaaS - Webhook origins - inbound TCP 8443' in preview.output  # diff of the prune

    narrowed = host.run({'jaas_firewall_regions': ['uk-london'], 'jaas_firewall_families': [4]})
    assert not narrowed.failed, narrowed.output
    assert_contract(narrowed, docs)
    assert_matches_vendor(host, expected_rules(regions=['uk-london'], families=(4,)))

    gone = host.run({'jaas_firewall_state': 'absent'})
    assert not gone.failed, gone.output
    assert_contract(gone, docs)
    assert host.group() == {}
    assert host.rules == [FOREIGN]


def test_domains_on_then_off(tmp_path, docs):
    """jaas_firewall_domains (the Linux roles' variable) drives the dynamic keywords."""
    host = FakeWindows(tmp_path, [FOREIGN])
    on = host.run({'jaas_firewall_domains': ['core', 'auxiliary', 'analytics']})
    assert not on.failed, on.output
    assert_contract(on, docs)
    domain_rules = dict((n, r) for n, r in host.group().items() if 'keyword_ids' in r)
    assert sorted(domain_rules) == ['JaaS - Domains analytics - TCP 443',
                                    'JaaS - Domains auxiliary - TCP 443',
                                    'JaaS - Domains core - TCP 443']
    assert sorted(host.keywords.values()) == sorted(n for names in DOMAINS.values() for n in names)
    for category, names in DOMAINS.items():
        rule = domain_rules['JaaS - Domains %s - TCP 443' % category]
        assert (rule['protocol'], rule['remoteport'], rule['direction']) == ('tcp', '443', 'out')
        assert sorted(host.keywords[i] for i in rule['keyword_ids']) == sorted(names)

    again = host.run({'jaas_firewall_domains': ['core', 'auxiliary', 'analytics']})
    assert not again.failed and again.changed == 0, again.output

    fewer = host.run({'jaas_firewall_domains': ['core']})
    assert not fewer.failed, fewer.output
    assert_contract(fewer, docs)
    assert [n for n in host.group() if 'Domains' in n] == ['JaaS - Domains core - TCP 443']
    assert sorted(host.keywords.values()) == sorted(DOMAINS['core'])

    off = host.run({'jaas_firewall_domains': []})
    assert not off.failed, off.output
    assert host.keywords == {}
    assert not [n for n in host.group() if 'Domains' in n]
    assert FOREIGN in host.rules


def test_unknown_domain_category_fails_before_any_call(tmp_path):
    host = FakeWindows(tmp_path, [FOREIGN])
    run = host.run({'jaas_firewall_domains': ['core', 'videos']})
    assert run.failed
    assert 'jaas_firewall_domains: unknown domain categories videos; the catalog has ' \
        'analytics, auxiliary, core' in run.output
    assert run.calls == [] and host.rules == [FOREIGN]


def test_same_name_outside_the_group_is_refused(tmp_path, docs):
    squatter = dict(FOREIGN, name='JaaS - TURN - TCP 443')
    host = FakeWindows(tmp_path, [squatter])
    run = host.run()
    assert run.failed
    assert 'Rules outside group JaaS already use these names: JaaS - TURN - TCP 443' in run.output
    assert not [c for c in run.calls if c['module'] == FIREWALL_RULE]
    assert host.rules == [squatter]


def test_validator_catches_what_windows_would_refuse(docs):
    """The checker itself: each kind of mistake is reported (guards against a blind test)."""
    doc = docs[FIREWALL_RULE]
    assert problems({'name': 'x', 'remote_ip': '1.2.3.4'}, doc) == ["unknown option 'remote_ip'"]
    assert problems({'name': 'x', 'direction': 'outbound'}, doc) == [
        "direction=['outbound'] not in choices ['in', 'out']"]
    assert problems({'name': 'x', 'enabled': 'yes'}, doc) == ["enabled='yes' is not of type bool"]
    assert problems({'name': 'x', 'profiles': 'domain'}, doc) == [
        "profiles='domain' is not of type list of str"]
    assert problems({'name': 'x', 'profile': ['domain']}, doc) == []  # documented alias
