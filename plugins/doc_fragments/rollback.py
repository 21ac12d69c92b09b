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
        itself, so the revert happens even when the controller is gone. The snapshot covers
        the backend (files, kernel state, service state) and the domain half's local resolver
        (C(jaas-firewall-resolver.service) - its config, unit and hand-over record,
        C(/etc/resolv.conf) - a symlink stays a symlink - the service's running and enabled
        state; on ufw also C(/etc/ufw/after*.rules), C(/etc/ufw/before*.rules),
        C(/etc/jaas-firewall/domains.nft) and the table C(inet jaas_domains)).
      - Where systemd is PID 1 the countdown is a transient systemd timer (C(systemd-run)).
        If it cannot be armed (C(systemd-run) missing or failing), the module fails before
        any change, naming the reason; there is no unsupervised fallback. Only on hosts
        without systemd as PID 1 (some containers) is the countdown a detached process.
      - Where systemd is PID 1 the module also writes and enables a boot unit,
        C(/etc/systemd/system/jaas-firewall-rollback-boot.service) (after the firewall
        services, before C(network-pre.target)). A reboot before the confirmation therefore
        boots into the previous firewall, although the change was already saved for boot.
        The confirmation and the revert remove the unit again.
      - Before the change, C(revert.sh) is checked with C(sh -n) and every saved nft table with
        C(nft -c -f), exactly as the revert would load it. A listing that fails (for example
        C(nft list table) or C(iptables-save) with an error, as opposed to "no such table")
        also refuses the change. In each case the module fails and nothing is changed.
      - The module's action plugin then confirms at once over a brand-new connection. On the
        C(ssh) connection plugin it is one C(ssh) process with C(ControlMaster=no) and
        C(ControlPath=none) put first (it neither uses nor replaces the play's ControlPersist
        master); on other plugins, and before the module, after dropping the ControlPersist
        master (a connection reset). With pipelining the confirmation is a stdlib-only
        script piped into the host's Python (C(python3 -I -)), without AnsiballZ; without
        pipelining (or with C(become_method=su), which cannot pipeline) it is the module
        M(jaas.firewall.rollback_confirm), which runs the same code. If that
        connection cannot be made, the host restores the snapshot by itself at the deadline,
        and the task fails with a message that it rolled back, once the host answers again.
      - The countdown starts before the change (a run that dies half-way is reverted too) and
        starts again from the full timeout once the change is made, so the timeout is the
        time the run has to confirm, however long the change itself took.
      - If the module fails after the snapshot, it restores it at once.
      - Between V(10) and V(86400). A run refuses to start while an earlier run's change on the
        host is still waiting for its confirmation.
      - An earlier change whose countdown is lost (the host rebooted and the boot unit did not
        revert it, or the timer is more than two minutes overdue) is never kept; the next run
        that arms a rollback reverts it first, then fails without applying anything of its
        own (it planned on that state). Run it again.
      - Only on connections through an SSH session; the action plugin sets it to V(0) on
        C(docker), C(local), C(winrm) and others (there is no connection to cut).
    type: int
    default: 0
notes:
  - On hosts without systemd as PID 1 a reboot ends the detached countdown and there is no
    boot unit; the next run that arms a rollback reverts that change (see above).
"""
