"""Molecule's platform settings (extensions/molecule/config.yml) and the harness's docker run
arguments (tests/reliability/harness.py, used by the reliability suite, the benches and
make demo) describe the same containers: checked here so the two copies cannot drift."""

import os
import sys

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, 'tests'))
from reliability import harness  # noqa: E402


def _values(flag):
    args = harness.RUN_ARGS
    return sorted(args[i + 1] for i, arg in enumerate(args) if arg == flag)


def test_molecule_platforms_match_the_harness():
    with open(os.path.join(REPO, 'extensions', 'molecule', 'config.yml')) as handle:
        config = yaml.safe_load(handle)
    systemd_hosts = [p for p in config['platforms'] if p.get('command') == '/lib/systemd/systemd']
    assert systemd_hosts
    for platform in systemd_hosts:
        assert sorted(platform['capabilities']) == _values('--cap-add')
        assert sorted(platform['security_opts']) == _values('--security-opt')
        assert sorted(platform['tmpfs']) == _values('--tmpfs')
        assert platform['volumes'] == _values('-v')
        assert platform['cgroupns_mode'] == _values('--cgroupns')[0]
        assert platform['stop_signal'] == _values('--stop-signal')[0]
        assert platform['image'] in harness.IMAGES.values()
