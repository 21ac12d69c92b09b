"""Fixtures for the reliability suite: real systemd containers, driven by ansible-playbook.

Containers come from the harness images (``make images``) with the harness settings
(tools/harness/README.md) but ``--network none``: nothing these tests do can send a
packet anywhere, and no subnet can collide with a Molecule scenario running at the
same time. Every container is named ``jaas-rel-<pid>-<purpose>`` and removed at the end
of the session, on failure too.
"""

import concurrent.futures
import os
import shutil
import subprocess

import pytest

from . import harness


def _docker_problem():
    if shutil.which('docker') is None:
        return 'docker CLI not found (run `make harness`)'
    info = subprocess.run(['docker', 'info', '--format', '{{.ServerVersion}}'],
                          capture_output=True, text=True)
    if info.returncode != 0:
        return 'docker daemon not reachable (run `make harness`): %s' % info.stderr.strip()[:200]
    for image in harness.IMAGES.values():
        probe = subprocess.run(['docker', 'image', 'inspect', image], capture_output=True)
        if probe.returncode != 0:
            return 'image %s missing (run `make images`)' % image
    return None


def pytest_configure(config):
    config.addinivalue_line('markers', 'reliability: real-container fault and bad-input tests')


def pytest_collection_modifyitems(config, items):
    mine = [item for item in items if 'tests/reliability/' in str(item.fspath).replace(os.sep, '/')]
    if not mine:
        return
    problem = _docker_problem()
    if problem and os.environ.get('JAAS_REQUIRE_DOCKER'):
        # `make reliability` / `make test`: a silently skipped suite would prove nothing.
        raise pytest.UsageError('reliability suite needs docker: %s' % problem)
    if problem:
        skip = pytest.mark.skip(reason='reliability suite needs docker: %s' % problem)
        for item in mine:
            item.add_marker(skip)


# Every container the suite needs, started together on first use (parallel start is
# much cheaper than one by one), torn down at session end.
FLEET = {
    'bad-ufw': 'bookworm',       # corpus against ufw (enabled, foreign rules)
    'bad-fwd': 'trixie',         # corpus subset against firewalld (running, foreign objects)
    'lock': 'bookworm',          # xtables lock (switched to iptables-legacy)
    'kill': 'bookworm',          # killed mid-apply, concurrent runs
    'nopkg': 'bookworm',         # ufw purged, no apt sources
    'fwd-stop': 'trixie',        # firewalld stopped / masked
    'inject-ufw': 'bookworm',    # hostile strings, ufw
    'inject-fwd': 'trixie',      # hostile strings, firewalld
    'airgap-ufw': 'bookworm-noapt',   # firewall preinstalled, no python3-apt, no network
    'airgap-fwd': 'trixie-noapt',
    'bad-nft': 'trixie',         # corpus subset against nftables (foreign tables, ours applied)
    'kill-nft': 'bookworm',      # nft killed mid-transaction: old or new table, never a mix
    'airgap-nft': 'bookworm-noapt',   # nft preinstalled, no python3-apt, no network
    'pick': 'bookworm',          # backend auto-selection (choose_backend.yml)
}


@pytest.fixture(scope='session')
def fleet():
    started = {}
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(FLEET)) as pool:
            futures = {purpose: pool.submit(harness.Host.start, purpose, suite)
                       for purpose, suite in FLEET.items()}
            for purpose, future in futures.items():
                started[purpose] = future.result()
        yield started
    finally:
        harness.remove_all()


@pytest.fixture(scope='session')
def ansible(tmp_path_factory):
    return harness.Ansible(str(tmp_path_factory.mktemp('ansible')))
