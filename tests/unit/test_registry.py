"""Every place that should know a backend knows every backend of the registry
(plugins/plugin_utils/registry.py), and nothing knows a backend the registry lacks.

The places and what each must hold are written out here by hand (docs/ARCHITECTURE.md,
"Adding a backend"); a new registry entry without its files, role, scenario, harness
adapter or README row fails one of these tests, naming the place."""

import glob
import os
import re

import pytest
import yaml

from ansible_collections.jaas.firewall.plugins.module_utils import model
from ansible_collections.jaas.firewall.plugins.plugin_utils import registry

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LINUX = [entry.name for entry in registry.linux()]
ALL = registry.names()
# Roles that are not firewall backends (they enforce the catalog another way).
OTHER_ROLES = {'squid'}
# Calls a pure plan must not make: it computes, the backend does the I/O.
IMPURE = re.compile(r'\b(fail_json|exit_json|run_command|subprocess|AnsibleModule|os\.replace|os\.rename)\b')


def read(*parts):
    with open(os.path.join(REPO, *parts), encoding='utf-8') as handle:
        return handle.read()


def scenario_dir(name):
    path = os.path.join(REPO, 'extensions', 'molecule', name)
    return path if os.path.isfile(os.path.join(path, 'molecule.yml')) else None


def test_the_registry_holds_the_known_backends():
    # hand-written: the backends the README and the issues name
    assert ALL == ['ufw', 'firewalld', 'nftables', 'windows_firewall']
    assert LINUX == ['ufw', 'firewalld', 'nftables']
    for entry in registry.BACKENDS:
        assert set(entry.features) <= set(registry.FEATURES), entry.name
        for _option, kind, _variable in entry.names:
            assert kind in model.NAME_RULES, (entry.name, kind)


@pytest.mark.parametrize('name', LINUX)
def test_module_action_and_files(name):
    entry = registry.get(name)
    assert entry.module == 'jaas.firewall.%s_rules' % name
    assert os.path.isfile(os.path.join(REPO, 'plugins/modules/%s_rules.py' % name)), 'module'
    action = read('plugins/action/%s_rules.py' % name)
    assert "backend = '%s'" % name in action, 'plugins/action/%s_rules.py' % name
    plan, backend = entry.files
    assert plan == '%s_plan' % name and backend == '%s_backend' % name
    for part in entry.files:
        assert os.path.isfile(os.path.join(REPO, 'plugins/module_utils/%s.py' % part)), part
    text = read('plugins/module_utils/%s.py' % plan)
    code = '\n'.join(line for line in text.splitlines() if not line.lstrip().startswith('#'))
    found = IMPURE.findall(code.split('"""', 2)[-1])
    assert not found, '%s.py is the pure half but calls %s' % (plan, sorted(set(found)))


def test_no_module_or_action_outside_the_registry():
    modules = {os.path.basename(p)[:-len('_rules.py')]
               for p in glob.glob(os.path.join(REPO, 'plugins/modules/*_rules.py'))}
    actions = {os.path.basename(p)[:-len('_rules.py')]
               for p in glob.glob(os.path.join(REPO, 'plugins/action/*_rules.py'))}
    assert modules == set(LINUX)
    assert actions == set(LINUX)


def test_roles():
    roles = {os.path.basename(p) for p in glob.glob(os.path.join(REPO, 'roles', '*'))}
    assert roles - OTHER_ROLES == set(ALL)
    for entry in registry.BACKENDS:
        tasks = ''.join(read(p) for p in glob.glob(os.path.join(REPO, 'roles', entry.name, 'tasks', '*.yml')))
        assert entry.module in tasks, 'roles/%s/tasks/main.yml does not call %s' % (entry.name, entry.module)
        assert os.path.isfile(os.path.join(REPO, 'roles', entry.name, 'README.md'))
        assert os.path.isfile(os.path.join(REPO, 'roles', entry.name, 'meta', 'argument_specs.yml'))


def test_shared_role_options_and_auto_selection():
    options = yaml.safe_load(read('tools/role_options.yml'))
    assert options['roles'] == ALL, 'tools/role_options.yml roles'
    choose = read('playbooks/tasks/choose_backend.yml')
    listed = re.search(r"jaas_firewall_backend in \[([^\]]*)\]", choose).group(1)
    assert [n.strip(" '") for n in listed.split(',')] == ['auto'] + ALL, 'choose_backend.yml'
    for name in LINUX:
        assert 'echo %s' % name in choose, 'choose_backend.yml does not detect %s' % name


def test_molecule_scenarios_and_make_targets():
    makefile = read('Makefile')
    scenarios = re.search(r'^MOLECULE_SCENARIOS\s*:?=\s*(.*)$', makefile, re.M).group(1).split()
    for name in LINUX:
        assert name in scenarios, 'MOLECULE_SCENARIOS lacks %s' % name
        assert scenario_dir(name), 'no Molecule scenario for %s' % name
        assert re.search(r'^molecule-%s:' % name, makefile, re.M), 'Makefile target molecule-%s' % name


def test_test_harnesses_and_images():
    harness = read('tests/reliability/harness.py')
    images = read('tools/harness/build-images.sh')
    stage2 = re.search(r'^STAGE2_PKGS="([^"]*)"', images, re.M).group(1).split()
    for entry in registry.linux():
        assert 'def %s(' % entry.snapshot in harness, 'harness.%s' % entry.snapshot
        for package in entry.packages:
            assert package in stage2, 'build-images.sh does not install %s' % package
        assert entry.restrict, '%s: no restricting role variables for the fleet tests' % entry.name


def test_docs_name_every_backend():
    galaxy = yaml.safe_load(read('galaxy.yml'))
    readme = read('README.md')
    variables = read('docs/ROLE_VARIABLES.md')
    for entry in registry.BACKENDS:
        tag = entry.name.split('_')[0]
        assert tag in galaxy['tags'], 'galaxy.yml tags lack %s' % tag
        assert '](roles/%s/README.md)' % entry.name in readme, 'README role row for %s' % entry.name
        assert entry.name in variables, 'docs/ROLE_VARIABLES.md does not mention %s' % entry.name
    for name in LINUX:
        assert name in galaxy['description'], 'galaxy.yml description lacks %s' % name


def test_same_spelling_has_a_column_per_backend():
    text = read('tests/unit/test_same_spelling.py')
    for name in LINUX:
        assert re.search(r'\b%s' % name, text), 'tests/unit/test_same_spelling.py has no %s column' % name
