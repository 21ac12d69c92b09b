"""The Molecule scenarios sit where the pinned molecule looks for them in a collection, and
`make test` runs every one of them except the two left out on purpose.

molecule 26 (requirements-test.txt) in a directory with a galaxy.yml:
- warns "Molecule scenarios should migrate to 'extensions/molecule'" while a top-level
  `molecule/` directory exists, and then reads scenarios from there;
- reads the base config from `.config/molecule/config.yml` at the git root if it exists,
  else from `extensions/molecule/config.yml`;
- looks up the `default` scenario on every run and logs a CRITICAL "glob failed" line when
  there is none.
"""

import glob
import os
import re

from molecule import constants

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROOT = 'extensions/molecule'

# Scenarios `make test` does not run, on purpose (hand-written; keep the reason).
NOT_IN_MAKE_TEST = {
    'default': 'the harness smoke test (make molecule-harness); every scenario builds on it',
    'windows': 'delegated to your own Windows host over WinRM; none exists in CI',
}


def scenarios(repo=REPO):
    """Scenario names as molecule 26 derives them: the path of each molecule.yml's directory
    under extensions/molecule (its glob is extensions/molecule/**/molecule.yml)."""
    base = os.path.join(repo, ROOT)
    found = glob.glob(os.path.join(base, '**', 'molecule.yml'), recursive=True)
    return sorted(os.path.relpath(os.path.dirname(path), base) for path in found)


def makefile_scenarios(repo=REPO):
    with open(os.path.join(repo, 'Makefile'), encoding='utf-8') as handle:
        makefile = handle.read()
    names = re.search(r'^MOLECULE_SCENARIOS\s*:?=\s*(.*)$', makefile, re.M).group(1).split()
    return names, makefile


def not_run(repo=REPO):
    """Scenario directories that neither MOLECULE_SCENARIOS nor NOT_IN_MAKE_TEST names."""
    names, _ = makefile_scenarios(repo)
    return [s for s in scenarios(repo) if s not in names and s not in NOT_IN_MAKE_TEST]


def test_the_pinned_molecule_looks_where_the_scenarios_are():
    assert constants.MOLECULE_COLLECTION_ROOT == ROOT
    assert constants.MOLECULE_DEFAULT_SCENARIO_NAME == 'default'
    assert os.path.isfile(os.path.join(REPO, 'galaxy.yml'))  # what makes it a collection to molecule


def test_no_top_level_molecule_directory():
    # even an empty one (or one left holding __pycache__) brings the migration warning back
    assert not os.path.exists(os.path.join(REPO, constants.MOLECULE_ROOT))


def test_base_config_in_extensions_and_nowhere_that_would_win():
    assert os.path.isfile(os.path.join(REPO, ROOT, 'config.yml'))
    assert not os.path.exists(os.path.join(REPO, '.config', 'molecule', 'config.yml'))


def test_a_default_scenario_exists():
    assert 'default' in scenarios()


def test_every_scenario_is_run_by_make_test_or_left_out_on_purpose():
    assert scenarios(), 'no scenario under %s' % ROOT
    assert not_run() == [], 'scenarios that make test never runs (add to MOLECULE_SCENARIOS)'
    for name in NOT_IN_MAKE_TEST:
        assert name in scenarios(), 'NOT_IN_MAKE_TEST names a scenario that is gone: %s' % name


def test_every_listed_scenario_exists_and_has_its_target():
    names, makefile = makefile_scenarios()
    assert len(names) == len(set(names))
    for name in names:
        assert name in scenarios(), 'MOLECULE_SCENARIOS names %s, which has no %s/%s/molecule.yml' % (
            name, ROOT, name)
        assert name not in NOT_IN_MAKE_TEST, name
        target = re.search(r'^molecule-%s:.*\n((?:\t.*\n)+)' % re.escape(name), makefile, re.M)
        assert target, 'no Makefile target molecule-%s' % name
        assert re.search(r'molecule test -s %s\b' % re.escape(name), target.group(1)), target.group(1)
    assert re.search(r'^molecule: \$\(addprefix molecule-,\$\(MOLECULE_SCENARIOS\)\)', makefile, re.M)
    # make test runs every scenario and the reliability suite (side by side, TEST_JOBS at a
    # time) and the pytest suites (beside them unless TEST_PYTEST_APART), and fails if any did
    test = re.search(r'^test:.*\n((?:\t.*\n)+)', makefile, re.M).group(1)
    assert re.search(r'-j\$\(TEST_JOBS\).* reliability-1 reliability-2 molecule; c=\$\$\?', test,
                     re.M), test
    # the reliability halves: half 2 runs every module half 1 does not name
    assert re.search(r'^reliability: reliability-1 reliability-2\b', makefile, re.M)
    half2 = re.search(r'^reliability-2:.*\n((?:\t.*\n)+)', makefile, re.M).group(1)
    assert 'tests/reliability' in half2 and '$(addprefix --ignore=,$(RELIABILITY_1_FILES))' in half2
    half1 = re.search(r'^RELIABILITY_1 := ((?:.*\\\n)*.*)$', makefile, re.M).group(1).split()
    for module in [name for name in half1 if name != '\\']:
        assert os.path.exists(os.path.join(REPO, 'tests', 'reliability', module + '.py')), module
    assert test.count('$(MAKE) --no-print-directory pytest') == 2, test
    assert 'test $$p -eq 0 -a $$c -eq 0' in test, test
