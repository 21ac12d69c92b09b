#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: rollback_confirm
short_description: Confirm a firewall change armed with rollback_timeout, or learn that the host reverted it
version_added: "0.1.0"
description:
  - A backend module (M(jaas.firewall.ufw_rules), M(jaas.firewall.firewalld_rules),
    M(jaas.firewall.nftables_rules)) run with O(jaas.firewall.ufw_rules#module:rollback_timeout)
    snapshots the firewall before it changes it and schedules, on the host, a revert to that
    snapshot. This module disarms it.
  - The backend modules' action plugin confirms by itself, right after the change, over a
    brand-new connection. With pipelining it pipes the same code into the host's Python
    without AnsiballZ (a stdlib-only script, lighter than a module); without pipelining, or
    under C(become_method=su), it runs this module. Call it yourself only to confirm from your
    own play or to look at a rollback (O(state=query)).
  - A confirmation is refused when it arrives over the SSH connection that made the change
    (same C(SSH_CONNECTION), for example a multiplexed ControlPersist channel), because it would
    prove nothing about new connections. Run C(meta reset_connection) before this module.
author: jaas.firewall contributors (@jaas-firewall)
options:
  id:
    description: The rollback id, RV(jaas.firewall.ufw_rules#module:rollback.id) of the backend module.
    type: str
    required: true
  state:
    description:
      - V(confirmed) disarms the rollback (fails when the host already reverted the change,
        or when called over the connection that made it).
      - V(query) only reports what became of it.
    type: str
    choices: [confirmed, query]
    default: confirmed
  wait:
    description: Seconds to wait for a revert that is running to finish before reporting.
    type: int
    default: 30
attributes:
  check_mode:
    support: full
    description: In check mode it only reports (as O(state=query)); a check-mode backend run
      never arms a rollback.
  diff_mode:
    support: none
    description: Nothing to show as a diff.
notes:
  - Snapshots and records live in C(/var/lib/jaas-firewall/rollback/<id>/) (the ten newest are kept).
"""

EXAMPLES = r"""
- name: Change the firewall, confirm by hand later in the play
  jaas.firewall.ufw_rules:
    rules: "{{ my_rules }}"
    default_incoming: deny
    enabled: true
    keep_connection: true
    rollback_timeout: 120
  register: change

- name: Open a new connection (not a multiplexed channel of the old one)
  ansible.builtin.meta: reset_connection

- name: Keep the change
  jaas.firewall.rollback_confirm:
    id: "{{ change.rollback.id }}"
  when: change.rollback.armed | default(false)
"""

RETURN = r"""
rollback_state:
  description:
    - What became of the rollback. V(confirmed) (disarmed now), V(armed) (query only),
      V(reverting), V(reverted), V(revert-failed), V(abandoned) (only in records of
      earlier releases, which kept a change whose timer a reboot had lost; a change is now
      reverted at boot instead), V(same-connection) (refused), V(unknown) (no such id).
  returned: always
  type: str
  sample: confirmed
session:
  description: C(SSH_CONNECTION) of the connection this module ran over.
  returned: when confirming
  type: str
  sample: 198.18.40.1 50514 198.18.40.11 2222
armed_over:
  description: C(SSH_CONNECTION) of the connection that made the change.
  returned: when confirming
  type: str
started_at:
  description: When the host's revert began (seconds since the epoch, host clock).
  returned: when reverted
  type: int
reverted_at:
  description: When the host had restored the snapshot (seconds since the epoch, host clock).
  returned: when reverted
  type: int
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.jaas.firewall.plugins.module_utils import rollback


def main():
    module = AnsibleModule(argument_spec=dict(
        id=dict(type='str', required=True),
        state=dict(type='str', choices=['confirmed', 'query'], default='confirmed'),
        wait=dict(type='int', default=30),
    ), supports_check_mode=True)
    result = rollback.confirm_result(module.params['id'], module.params['state'],
                                     wait=module.params['wait'], check_mode=module.check_mode)
    if result.pop('failed', False):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
