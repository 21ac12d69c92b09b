"""README.md's generated tables must match the catalog (blocks and ports) and the backend
registry (backends at a glance)."""

import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _table(name):
    return subprocess.run([sys.executable, os.path.join(REPO, 'tools', 'readme_table.py'),
                           '--table', name], capture_output=True, text=True, check=True).stdout


def _readme():
    with open(os.path.join(REPO, 'README.md'), encoding='utf-8') as handle:
        return handle.read()


def test_backends_table_is_current():
    readme = _readme()
    table = _table('backends-table')
    assert table.strip() in readme, 'README backends table is stale: run tools/readme_table.py --write'
    # Hand-written: what each backend enforces beyond the IP blocks (README sections
    # "Domains", "Gateway mode", "Fleet-safe apply", "Drop report", "Verify").
    assert '| nftables | [`jaas.firewall.nftables`](roles/nftables/README.md) | `jaas.firewall.nftables_rules` | yes | yes | yes | yes | yes |' in readme
    assert '| windows_firewall | [`jaas.firewall.windows_firewall`](roles/windows_firewall/README.md) | `community.windows.win_firewall_rule` | yes | — | — | — | — |' in readme


def test_readme_table_is_current():
    readme = _readme()
    table = _table('blocks-table')
    assert table.strip() in readme, 'README table is stale: run tools/readme_table.py --write'
    # Hand-checked figures from the vendor page: 22 Cloudflare, 14 JVB, 40 TURN networks.
    assert '| `cloudflare` | out | TCP all ports, UDP all ports | — | 15 / 7 | 44 |' in readme
    assert '| `turn` | out | TCP 443, UDP 443, UDP 49152-65535 | 10 | 40 / 0 | 120 |' in readme
