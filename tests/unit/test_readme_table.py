"""README.md's blocks-and-ports table must match the catalog."""

import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_readme_table_is_current():
    table = subprocess.run([sys.executable, os.path.join(REPO, 'tools', 'readme_table.py')],
                           capture_output=True, text=True, check=True).stdout
    with open(os.path.join(REPO, 'README.md'), encoding='utf-8') as handle:
        readme = handle.read()
    assert table.strip() in readme, 'README table is stale: run tools/readme_table.py --write'
    # Hand-checked figures from the vendor page: 22 Cloudflare, 14 JVB, 40 TURN networks.
    assert '| `cloudflare` | out | TCP all ports, UDP all ports | — | 15 / 7 | 44 |' in readme
    assert '| `turn` | out | TCP 443, UDP 443, UDP 49152-65535 | 10 | 40 / 0 | 120 |' in readme
