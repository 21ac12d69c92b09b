"""What each of our modules ships to a host: the AnsiballZ payload Ansible builds for it.

Builds the payload with Ansible's own builder (ansible.executor.module_common.modify_module,
ZIP_DEFLATED as ansible.cfg's default), unpacks its zip and prints, per module: the whole
payload, the part that is this collection's code (module + module_utils), and which of our
module_utils it carries, marking those that belong to another backend. Nothing runs on a
host; no container needed.

Usage: make bench-payload   (or .venv/bin/python bench/payload_bench.py [--files])
"""

import argparse
import base64
import io
import os
import re
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault('ANSIBLE_COLLECTIONS_PATH', os.path.join(ROOT, '.collections'))

from ansible.executor.module_common import modify_module  # noqa: E402
from ansible.parsing.dataloader import DataLoader  # noqa: E402
from ansible.plugins.loader import init_plugin_loader, module_loader  # noqa: E402
from ansible.template import Templar  # noqa: E402

init_plugin_loader([os.path.join(ROOT, '.collections')])  # before importing the collection

from ansible_collections.jaas.firewall.plugins.plugin_utils import registry  # noqa: E402

OURS = 'ansible_collections/jaas/firewall/'
MODULES = ['%s_rules' % entry.name for entry in registry.linux()] + [
    'verify_policy', 'drop_report', 'rollback_confirm']
BACKEND_NAMES = [entry.name for entry in registry.linux()]


def payload(module):
    """(payload bytes, [(path, size, compressed size)] of the zip)."""
    found = module_loader.find_plugin_with_context('jaas.firewall.' + module)
    built = modify_module(module_name='jaas.firewall.' + module,
                          module_path=found.plugin_resolved_path, module_args={},
                          templar=Templar(loader=DataLoader()),
                          task_vars={'ansible_python_interpreter': '/usr/bin/python3'},
                          module_compression='ZIP_DEFLATED')
    text = built.b_module_data.decode('utf-8')
    encoded = re.search(r"zip_data='([^']*)'", text).group(1)
    archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(encoded)))
    return len(built.b_module_data), [(i.filename, i.file_size, i.compress_size)
                                      for i in archive.infolist()]


def foreign(module, path):
    """True when ``path`` is another backend's module_utils file."""
    name = os.path.basename(path)
    own = module.split('_rules')[0] if module.endswith('_rules') else None
    return any(name.startswith(other + '_') for other in BACKEND_NAMES if other != own)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--files', action='store_true', help='list our files in each payload')
    args = parser.parse_args()
    print('%-18s %9s %9s %10s %6s  %s' % ('module', 'payload', 'zip', 'ours (zip)', 'files',
                                           "other backends' module_utils"))
    for module in MODULES:
        size, files = payload(module)
        ours = [f for f in files if f[0].startswith(OURS) and not f[0].endswith('__init__.py')]
        others = sorted(os.path.basename(f[0]) for f in ours if foreign(module, f[0]))
        print('%-18s %8.0fk %8.0fk %9.0fk %6d  %s' % (
            module, size / 1024.0, sum(f[2] for f in files) / 1024.0,
            sum(f[2] for f in ours) / 1024.0, len(ours), ', '.join(others) or '-'))
        if args.files:
            for path, raw, packed in sorted(ours):
                print('    %-60s %7d %7d' % (path[len(OURS):], raw, packed))
    return 0


if __name__ == '__main__':
    sys.exit(main())
