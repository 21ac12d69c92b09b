# -*- coding: utf-8 -*-
"""The host lock every module run takes (module_utils/host_lock.py)."""

from __future__ import annotations

import fcntl
import os
import threading
import time

import pytest

from ansible_collections.jaas.firewall.plugins.module_utils import host_lock


class Failed(Exception):
    pass


class FakeModule(object):
    def fail_json(self, **kwargs):
        raise Failed(kwargs['msg'])


@pytest.fixture
def lock_file(host_lock_in_tmp):
    return host_lock_in_tmp


def hold(path):
    """Another 'run': its own open file description, so flock conflicts."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def test_free_lock_is_taken_at_once(lock_file):
    assert host_lock.acquire(FakeModule(), 5) < 1
    other = os.open(lock_file, os.O_RDWR)
    with pytest.raises(BlockingIOError):
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.close(other)


def test_waits_for_the_holder(lock_file):
    fd = hold(lock_file)
    releaser = threading.Timer(1.0, os.close, [fd])
    releaser.start()
    try:
        waited = host_lock.acquire(FakeModule(), 10)
    finally:
        releaser.join()
    assert 0.8 <= waited < 5


def test_times_out_with_a_clear_message(lock_file):
    fd = hold(lock_file)
    try:
        started = time.monotonic()
        with pytest.raises(Failed, match=r'still holds .* after 1 s \(lock_timeout\); nothing'):
            host_lock.acquire(FakeModule(), 1)
        assert 0.8 <= time.monotonic() - started < 5
        with pytest.raises(Failed, match='after 0 s'):
            host_lock.acquire(FakeModule(), 0)
    finally:
        os.close(fd)
    assert host_lock._held == []


def test_negative_timeout_refused(lock_file):
    with pytest.raises(Failed, match='lock_timeout'):
        host_lock.acquire(FakeModule(), -1)
