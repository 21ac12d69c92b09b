# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    """The host lock every backend module takes (plugins/module_utils/host_lock.py)."""

    DOCUMENTATION = r"""
options:
  lock_timeout:
    description:
      - Seconds to wait for the host-wide lock C(/run/jaas-firewall.lock) that every
        jaas.firewall module run holds from reading the live state to its last change.
      - A second run on the same host (another play, another controller) waits, then
        computes its difference against the first run's result, instead of both writing
        and the last one winning.
      - When the time is up the module fails and has read and changed nothing. V(0) fails at
        once if another run holds the lock.
    type: int
    default: 120
notes:
  - The lock is an exclusive C(flock) on C(/run/jaas-firewall.lock) (C(/var/lock) when
    C(/run) is missing). The kernel releases it when the module process ends, however it
    ends, so a killed run never leaves it held. Check mode takes it too, so the reported
    changes are computed from a consistent state.
"""
