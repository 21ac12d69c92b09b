"""Running a module's main() in the test process, more than once if need be."""

import json
import os

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.jaas.firewall.plugins.module_utils import host_lock


def end_previous_run():
    """A module's main() exits still holding the host lock: its process would end there and
    the kernel would release it. Close what it held before the next main() in this process."""
    while host_lock._held:
        os.close(host_lock._held.pop())


def run_main(main, args, capsys):
    """The result main() prints when run with ``args`` (it always exits)."""
    end_previous_run()
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            main()
    return json.loads(capsys.readouterr().out)
