"""ansible-lint with the production profile over roles, playbooks and Molecule scenarios."""

import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def test_ansible_lint_production_profile():
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ['PATH'], ANSIBLE_NOCOLOR='1')
    proc = subprocess.run([os.path.join(BIN, 'ansible-lint'), '--profile', 'production', '--offline',
                           '--nocolor'], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-6000:]
