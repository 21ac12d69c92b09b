"""Unit-test set-up shared by every module test."""

import pytest

from ansible_collections.jaas.firewall.plugins.module_utils import host_lock
from module_runs import end_previous_run


@pytest.fixture(autouse=True)
def host_lock_in_tmp(tmp_path, monkeypatch):
    """Module runs lock a file of the test's own (never /run/jaas-firewall.lock), released
    after the test as the module's process would release it."""
    path = str(tmp_path / 'jaas-firewall.lock')
    monkeypatch.setattr(host_lock, 'LOCK_PATH', path)
    yield path
    end_previous_run()
