# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    """Confirm-or-revert of every backend module (plugins/module_utils/rollback.py)."""

    DOCUMENTATION = r"""
options:
  rollback_timeout:
    description:
      - Seconds after which the host puts the firewall back as it was before this run,
        unless the change is confirmed first; V(0) turns this off.
      - Only when the run changes something (a converged host pays nothing). Before the
        first change the module snapshots the firewall into
        C(/var/lib/jaas-firewall/rollback/<id>/) and schedules C(revert.sh) there on the host
        itself (a transient systemd timer, C(systemd-run); a detached process where systemd
        is not running), so the revert happens even when the controller is gone.
      - The module's action plugin then confirms at once over a brand-new connection
        (M(jaas.firewall.rollback_confirm) after dropping the ControlPersist master). If that
        connection cannot be made, the host restores the snapshot by itself at the deadline,
        and the task fails with a message that it rolled back, once the host answers again.
      - The countdown starts before the change (a run that dies half-way is reverted too) and
        starts again from the full timeout once the change is made, so the timeout is the
        time the run has to confirm, however long the change itself took.
      - If the module fails after the snapshot, it restores it at once.
      - Between V(10) and V(86400). A run refuses to start while an earlier run's change on the
        host is still waiting for its confirmation.
      - Only on connections through an SSH session; the action plugin sets it to V(0) on
        C(docker), C(local), C(winrm) and others (there is no connection to cut).
    type: int
    default: 0
notes:
  - A reboot before the deadline cancels the revert (the timer is transient); the next run
    marks that rollback abandoned.
"""
