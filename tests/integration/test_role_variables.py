"""The Linux backend roles validate their variables in their one task, on the controller
(plugins/plugin_utils/role_vars.py), instead of Ansible's per-host validation task: proven
through real ``ansible-playbook`` runs (connection local; every run here is refused on the
controller before anything reaches a host, so nothing on this machine changes)."""

import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
ROLES = ['ufw', 'firewalld', 'nftables']
ROLE_PLAY = '- hosts: localhost\n  gather_facts: false\n  roles:\n    - role: jaas.firewall.%s\n'
# Ansible's own validation: the same spec through the "converge" entry point.
ANSIBLE_PLAY = ('- hosts: localhost\n  gather_facts: false\n  tasks:\n'
                '    - ansible.builtin.import_role: {name: jaas.firewall.%s, tasks_from: converge}\n')


def playbook(tmp_path, text, *options):
    path = tmp_path / 'play.yml'
    path.write_text(text)
    env = dict(os.environ, ANSIBLE_FORCE_COLOR='0', ANSIBLE_NOCOLOR='1',
               ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0',
               ANSIBLE_STDOUT_CALLBACK='json')
    return subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
                           str(path)] + list(options), cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)


def results(proc):
    """[(task name, msg, failed)] of the first play, from the json callback."""
    data = json.loads(proc.stdout)
    return [(task['task']['name'], task['hosts']['localhost'].get('msg'),
             bool(task['hosts']['localhost'].get('failed')))
            for task in data['plays'][0]['tasks']]


@pytest.mark.parametrize('role', ROLES)
def test_roles_run_one_task_per_host(role, tmp_path):
    # Ansible adds its validation task only for an entry point named in argument_specs.
    listed = playbook(tmp_path, ROLE_PLAY % role, '--list-tasks')
    assert listed.returncode == 0, listed.stderr
    tasks = [line for line in listed.stdout.splitlines() if 'jaas.firewall.%s :' % role in line]
    assert len(tasks) == 1 and 'Validating arguments' not in tasks[0], listed.stdout


# Hand-written: each bad value and the line (or, last, the start of the line: Ansible names
# its own internal class after it) Ansible's validator prints for it.
BAD = [
    ({'jaas_firewall_rollback_timeout': 'soon'},
     'argument \'jaas_firewall_rollback_timeout\' is of type str and we were unable to convert '
     'to int: "\'soon\'" cannot be converted to an int'),
    ({'jaas_firewall_state': 'gone'},
     'value of jaas_firewall_state must be one of: present, absent, got: gone'),
    ({'jaas_firewall_blocks': {'jvb': 1}},
     "argument 'jaas_firewall_blocks' is of type dict and we were unable to convert to list: "),
]


@pytest.mark.parametrize('role', ROLES)
def test_a_bad_variable_reads_as_ansibles_own_validation(role, tmp_path):
    extra = {}
    for values, _line in BAD:
        extra.update(values)
    extra_vars = json.dumps(extra)
    ours = results(playbook(tmp_path, ROLE_PLAY % role, '-e', extra_vars))
    ansible = results(playbook(tmp_path, ANSIBLE_PLAY % role, '-e', extra_vars))
    assert len(ours) == 1 and ours[0][2], ours            # refused by our one task
    assert 'Validating arguments' in ansible[0][0] and ansible[0][2], ansible
    assert ours[0][1] == ansible[0][1]                    # word for word
    assert ours[0][1].startswith('Validation of arguments failed:\n')
    lines = ours[0][1].splitlines()[1:]
    assert len(lines) == len(BAD)
    for _values, line in BAD:
        assert any(got == line or (line.endswith(': ') and got.startswith(line)) for got in lines), line


@pytest.mark.parametrize('role', ROLES)
def test_a_bad_name_is_refused_naming_the_variable(role, tmp_path):
    proc = playbook(tmp_path, ROLE_PLAY % role, '-e',
                    json.dumps({'jaas_firewall_gateway_in_interfaces': ['eth0;reboot']}))
    (name, msg, failed), = results(proc)
    assert failed and 'jaas_firewall_gateway_in_interfaces' in msg and 'eth0;reboot' in msg, msg


@pytest.mark.parametrize('role', ROLES)
def test_role_documents_its_variables_under_converge(role):
    proc = subprocess.run([os.path.join(BIN, 'ansible-doc'), '-t', 'role', '--json',
                           'jaas.firewall.%s' % role], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)['jaas.firewall.%s' % role]
    assert list(doc['entry_points']) == ['converge']
    assert 'jaas_firewall_state' in doc['entry_points']['converge']['options']
