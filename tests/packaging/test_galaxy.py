"""The collection as a user gets it: build the tarball, install it offline, use it by
FQCN from an unrelated directory, and run Galaxy's importer and ansible-test sanity on it."""

import json
import os
import shutil
import subprocess
import sys
import tarfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
sys.path.insert(0, os.path.join(REPO, 'tests', 'unit'))
from vendor_page import page_rule_counts  # noqa: E402  (independent reading of the vendor page)


def run(args, cwd, env=None, timeout=600):
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, '%s\n%s\n%s' % (args, proc.stdout[-4000:], proc.stderr[-4000:])
    return proc


@pytest.fixture(scope='module')
def tarball(tmp_path_factory):
    out = tmp_path_factory.mktemp('build')
    run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'build', '--output-path', str(out), REPO],
        cwd=REPO)
    (path,) = list(out.glob('jaas-firewall-*.tar.gz'))
    return path


@pytest.fixture(scope='module')
def installed(tarball, tmp_path_factory):
    root = tmp_path_factory.mktemp('collections')
    # Offline: no Galaxy here; the community collections come from the `ansible` bundle.
    run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'install', '--offline', '--no-deps',
         '--force', '-p', str(root), str(tarball)], cwd=str(root), env=clean_env(root))
    assert (root / 'ansible_collections' / 'jaas' / 'firewall' / 'MANIFEST.json').exists()
    return root


def clean_env(collections_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith('ANSIBLE_')}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(collections_path), ANSIBLE_NOCOLOR='1',
               ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0')
    return env


def test_tarball_keeps_tests_and_tooling_out(tarball):
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    assert 'vars/jaas_catalog.yml' in names and 'plugins/lookup/catalog.py' in names
    assert 'playbooks/allow_jaas.yml' in names and 'meta/runtime.yml' in names
    for unwanted in ('tests/', 'extensions/', 'bench/', '.ci/', '.venv/', '.collections/', 'tools/'):
        assert not any(n.startswith(unwanted) for n in names), unwanted
    assert not any(n.endswith(('.pyc', '.actual')) or '__pycache__' in n for n in names)


def test_installed_collection_works_by_fqcn_from_an_unrelated_directory(installed, tmp_path):
    playbook = tmp_path / 'site.yml'
    playbook.write_text(
        "- hosts: localhost\n"
        "  gather_facts: false\n"
        "  tasks:\n"
        "    - ansible.builtin.set_fact:\n"
        "        rules: \"{{ lookup('jaas.firewall.catalog') | jaas.firewall.rules }}\"\n"
        "        pac: \"{{ lookup('jaas.firewall.catalog') | jaas.firewall.pac }}\"\n"
        "    - ansible.builtin.assert:\n"
        "        that:\n"
        "          - rules | length == %d\n"
        "          - \"'FindProxyForURL' in pac\"\n" % sum(page_rule_counts().values()))
    env = clean_env(installed)
    run([os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local', str(playbook)],
        cwd=str(tmp_path), env=env)
    # The bundled catalog is read from the installed copy, not from this checkout.
    proc = run([os.path.join(BIN, 'ansible'), 'localhost', '-m', 'ansible.builtin.debug', '-a',
                "msg={{ lookup('jaas.firewall.catalog').source }}"], cwd=str(tmp_path), env=env)
    assert str(installed) in proc.stdout
    # The playbooks resolve by FQCN too.
    run([os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', '--syntax-check',
         'jaas.firewall.allow_jaas'], cwd=str(tmp_path), env=env)
    docs = run([os.path.join(BIN, 'ansible-doc'), '-t', 'filter', '-l', '--json', 'jaas.firewall'],
               cwd=str(tmp_path), env=env)
    assert {'jaas.firewall.rules', 'jaas.firewall.pac'} <= set(json.loads(docs.stdout))


def test_galaxy_importer_reports_no_errors(tarball, tmp_path):
    # The importer's own ansible-lint pass is off: tests/packaging/test_lint.py already runs
    # ansible-lint with the production profile over the whole repository, and the importer
    # would only report its findings as warnings.
    config = tmp_path / 'galaxy-importer.cfg'
    config.write_text('[galaxy-importer]\nrun_ansible_lint = False\n')
    proc = run([sys.executable, '-m', 'galaxy_importer.main', str(tarball)], cwd=str(tmp_path),
               env=dict(os.environ, PATH=BIN + os.pathsep + os.environ['PATH'],
                        GALAXY_IMPORTER_CONFIG=str(config)))
    output = proc.stdout + proc.stderr
    assert 'Importer processing completed successfully' in output
    assert 'ERROR' not in output, output


def test_ansible_test_sanity(installed):
    # ansible-test downloads a pip bootstrap script from a CI host we cannot reach; give it
    # the offline stand-in (pip comes from the configured package index).
    cache = os.path.expanduser('~/.ansible/test/cache')
    os.makedirs(cache, exist_ok=True)
    import ansible_test  # noqa: F401 - only to find the pip version it wants
    for version in ('24_2',):
        shutil.copy(os.path.join(REPO, 'tools', 'ansible_test_pip_bootstrap.py'),
                    os.path.join(cache, 'get_pip_%s.py' % version))
    collection = installed / 'ansible_collections' / 'jaas' / 'firewall'
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ['PATH'])
    run([os.path.join(BIN, 'ansible-test'), 'sanity', '--python', '%d.%d' % sys.version_info[:2]],
        cwd=str(collection), env=env, timeout=900)
