"""Offline stand-in for ansible-test's downloaded get-pip bootstrap script.

ansible-test fetches get-pip.py from a CI host that these machines cannot reach. This
script is installed in its place (make sanity) and does the same job with what Python
already ships: ensurepip, then `pip install <the arguments ansible-test passed>` from the
package index the machine is configured for.
"""

import subprocess
import sys

subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'],
                      stdout=subprocess.DEVNULL)
# get-pip.py's own switches, which `pip install` does not know.
args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
subprocess.check_call([sys.executable, '-m', 'pip', 'install', '--quiet'] + args)
