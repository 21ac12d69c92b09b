"""tools/catalog_drift.py on the page as shipped and on edited copies written here.

Expectations are hand-written from reading the page and the edit made, never computed
by the tool.
"""

import contextlib
import importlib.util
import io
import json
import os
import subprocess
import sys

import pytest
import yaml

from ansible_collections.jaas.firewall.plugins.plugin_utils.catalog import (
    DEFAULT_CATALOG, load_catalog)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(REPO, 'tools', 'catalog_drift.py')
PAGE = os.path.join(REPO, 'tests', 'fixtures', 'jaas-network-requirements.md')

_spec = importlib.util.spec_from_file_location('catalog_drift', TOOL)
drift = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(drift)

CF_V6 = ['2400:cb00::/32', '2606:4700::/32', '2803:f800::/32', '2405:b500::/32',
         '2405:8100::/32', '2a06:98c0::/29', '2c0f:f248::/32']
NO_CHANGES = {'categories': [], 'domains': [], 'blocks': [], 'regions': [], 'networks': [],
              'ports': [], 'directions': []}


@pytest.fixture(scope='module')
def page_text():
    with open(PAGE, encoding='utf-8') as handle:
        return handle.read()


def edited(tmp_path, text, name='page.md'):
    path = tmp_path / name
    path.write_text(text, encoding='utf-8')
    return str(path)


def run(page, *args):
    """In-process run: (exit code, parsed JSON report or None)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = drift.main([page, '--json'] + list(args))
    report = json.loads(stdout.getvalue()) if stdout.getvalue() else None
    return code, report, [stderr.getvalue()] if stderr.getvalue() else []


def changes_of(report):
    return {key: value for key, value in report['changes'].items() if value}


def replace_once(text, old, new):
    assert text.count(old) == 1, old
    return text.replace(old, new)


def test_page_as_shipped_has_no_drift_and_two_known_inconsistencies():
    code, report, _errors = run(PAGE)
    assert code == 0
    assert report['drift'] is False and report['changes'] == NO_CHANGES
    assert report['copy_paste']['only_in_copy_paste'] == ['158.101.192.6/32', '193.123.38.193/32']
    assert report['copy_paste']['missing_from_copy_paste'] == [
        {'block': 'cloudflare', 'region': None, 'network': n} for n in CF_V6]
    assert report['page_warnings'] == []


def test_shipped_page_text_report(capsys):
    assert drift.main([PAGE]) == 0
    text = capsys.readouterr().out
    assert 'Drift against the catalog:\n  none\n' in text
    assert ('only in Copy/Paste, in no structured list (2): 158.101.192.6/32, 193.123.38.193/32'
            in text)
    assert 'in structured lists, missing from Copy/Paste (7):\n    cloudflare: 2400:cb00::/32\n' in text
    assert text.rstrip().endswith('Result: no drift (exit 0)')


def test_region_added(tmp_path, page_text):
    text = replace_once(page_text, '* USA West (Phoenix): 129.146.227.2',
                        '* Singapore (Singapore): 158.101.0.10, 158.101.0.11\n'
                        '* USA West (Phoenix): 129.146.227.2')
    text = replace_once(text, '* UK (London): 152.67.144.0/24',
                        '* UK (London): 152.67.144.0/24\n* Canada (Montréal): 158.101.1.0/26')
    code, report, _ = run(edited(tmp_path, text))
    assert code == 1
    assert changes_of(report) == {
        'regions': [
            {'block': 'jvb', 'region': 'ca-montreal', 'name': 'Canada (Montréal)', 'change': 'added'},
            {'block': 'turn', 'region': 'sg-singapore', 'name': 'Singapore (Singapore)',
             'change': 'added'}],
        'networks': [
            {'block': 'jvb', 'region': 'ca-montreal', 'added': ['158.101.1.0/26'], 'removed': []},
            {'block': 'turn', 'region': 'sg-singapore',
             'added': ['158.101.0.10/32', '158.101.0.11/32'], 'removed': []}],
    }
    # not added to the Copy/Paste list on the edited page
    missing = report['copy_paste']['missing_from_copy_paste']
    assert {'block': 'turn', 'region': 'sg-singapore', 'network': '158.101.0.10/32'} in missing
    assert len(missing) == 7 + 3


def test_ip_removed_everywhere(tmp_path, page_text):
    text = replace_once(page_text, '129.146.205.0/27, ', '')
    text = replace_once(text, '129.146.205.0/27  \n\n', '')
    text = replace_once(text, '2405:8100::/32  \n\n', '')
    code, report, _ = run(edited(tmp_path, text))
    assert code == 1
    assert changes_of(report) == {'networks': [
        {'block': 'cloudflare', 'region': None, 'added': [], 'removed': ['2405:8100::/32']},
        {'block': 'jvb', 'region': 'us-west-phoenix', 'added': [], 'removed': ['129.146.205.0/27']}]}


def test_ip_removed_from_structured_list_only_becomes_unclassified(tmp_path, page_text):
    text = replace_once(page_text, ', 140.238.148.27', '')
    code, report, _ = run(edited(tmp_path, text))
    assert code == 1
    assert changes_of(report) == {'networks': [
        {'block': 'turn', 'region': 'ca-toronto', 'added': [], 'removed': ['140.238.148.27/32']},
        {'block': 'unclassified', 'region': None, 'added': ['140.238.148.27/32'], 'removed': []}]}
    assert report['copy_paste']['only_in_copy_paste'] == [
        '140.238.148.27/32', '158.101.192.6/32', '193.123.38.193/32']


def test_ports_changed(tmp_path, page_text):
    text = replace_once(page_text, 'TCP port 443 and UDP port 10000:',
                        'TCP port 443 and UDP ports 10000-10010:')
    text = replace_once(text, 'TCP port 443, UDP port 443 and UDP ports 49152-65535.',
                        'TCP and UDP port 443, UDP port 3478 and UDP ports 49152 - 65535.')
    code, report, _ = run(edited(tmp_path, text))
    assert code == 1
    assert changes_of(report) == {'ports': [
        {'block': 'jvb', 'added': [{'protocol': 'udp', 'ports': '10000-10010'}],
         'removed': [{'protocol': 'udp', 'ports': '10000'}]},
        {'block': 'turn', 'added': [{'protocol': 'udp', 'ports': '3478'}], 'removed': []}]}


def test_domains_added_and_removed(tmp_path, page_text):
    text = replace_once(page_text, '* `https://www.gravatar.com`\n', '')
    text = replace_once(text, '* `https://*.googleusercontent.com`',
                        '* `https://*.googleusercontent.com`\n* `https://cdn.example.org`')
    code, report, _ = run(edited(tmp_path, text))
    assert code == 1
    assert changes_of(report) == {'domains': [
        {'category': 'auxiliary', 'added': [], 'removed': ['www.gravatar.com']},
        {'category': 'analytics', 'added': ['cdn.example.org'], 'removed': []}]}


def test_lists_and_sections_reordered_is_no_drift(tmp_path, page_text):
    head, turn = page_text.split('#### TURN Relay Servers')
    turn, rest = turn.split('#### Jitsi as a Service')
    jvb_start = head.index('#### Video Bridges')
    bridges = head[jvb_start:]
    lines = turn.split('\n')
    bullets = [line for line in lines if line.startswith('* ')]
    prose = [line for line in lines if not line.startswith('* ')]
    turn = '\n'.join(prose[:3] + list(reversed(bullets)) + prose[3:])
    copy_head, copy_list = rest.split('For ease of use, here are all IPs and ranges for copy-paste:')
    addresses = [line for line in copy_list.split('\n') if line.strip()]
    text = (head[:jvb_start] + '#### TURN Relay Servers' + turn + '\n' + bridges
            + '#### Jitsi as a Service' + copy_head
            + 'For ease of use, here are all IPs and ranges for copy-paste:\n\n'
            + '\n'.join(sorted(addresses)) + '\n')
    text = replace_once(text, '* `https://8x8.com`\n* `https://*.8x8.com`\n',
                        '* `https://*.8x8.com`\n* `https://8x8.com`\n')
    assert text.index('#### TURN') < text.index('#### Video Bridges')
    code, report, _ = run(edited(tmp_path, text))
    assert (code, report['changes']) == (0, NO_CHANGES)
    assert len(report['copy_paste']['missing_from_copy_paste']) == 7


def test_formatting_changed_is_no_drift(tmp_path, page_text):
    text = page_text.replace('\n* ', '\n-   ')                     # other bullets
    text = text.replace('  \n', '   \t \n')                        # other trailing blanks
    text = text.replace('\n\n', '\n\n\n')                          # extra blank lines
    text = text.replace('`https://*.8x8.vc`', '[https://*.8x8.vc](https://*.8x8.vc)')
    text = text.replace('`https://jitsi.net`', 'jitsi.net')
    text = text.replace('#### TURN Relay Servers', '### TURN Relay Servers ###')
    text = text.replace('-   UK (London): 140.238.95.196', '-   **UK (London)**:  140.238.95.196')
    text = text.replace('-   52.10.206.157', '1. 52.10.206.157')
    # Copy/Paste list as one fenced block, several addresses per line
    head, copy_list = text.split('For ease of use, here are all IPs and ranges for copy-paste:')
    addresses = [line.strip() for line in copy_list.split('\n') if line.strip()]
    rows = [', '.join(addresses[i:i + 5]) for i in range(0, len(addresses), 5)]
    text = head + 'Copy these:\n\n```\n' + '\n'.join(rows) + '\n```\n'
    text = text.replace('\n', '\r\n')
    code, report, errors = run(edited(tmp_path, text))
    assert errors == []
    assert (code, report['changes']) == (0, NO_CHANGES)
    assert report['copy_paste']['only_in_copy_paste'] == ['158.101.192.6/32', '193.123.38.193/32']


def test_region_name_without_accent_keeps_its_key_and_reports_a_rename(tmp_path, page_text):
    text = page_text.replace('Brazil (São Paulo)', 'Brazil (Sao Paulo)')
    code, report, _ = run(edited(tmp_path, text))
    assert code == 1
    assert changes_of(report) == {'regions': [
        {'block': 'jvb', 'region': 'br-sao-paulo', 'name': 'Brazil (Sao Paulo)',
         'old_name': 'Brazil (São Paulo)', 'change': 'renamed'},
        {'block': 'turn', 'region': 'br-sao-paulo', 'name': 'Brazil (Sao Paulo)',
         'old_name': 'Brazil (São Paulo)', 'change': 'renamed'}]}


def test_region_removed(tmp_path, page_text):
    text = replace_once(page_text, '* Saudi Arabia (Jeddah): 193.122.64.56, 158.101.224.215, '
                                   '158.101.233.69, 81.208.170.221\n', '')
    code, report, _ = run(edited(tmp_path, text))
    changes = changes_of(report)
    assert code == 1
    assert changes['regions'] == [{'block': 'turn', 'region': 'sa-jeddah',
                                   'name': 'Saudi Arabia (Jeddah)', 'change': 'removed'}]
    # still in Copy/Paste, so they become unclassified
    assert changes['networks'] == [
        {'block': 'turn', 'region': 'sa-jeddah', 'added': [],
         'removed': ['193.122.64.56/32', '158.101.224.215/32', '158.101.233.69/32',
                     '81.208.170.221/32']},
        {'block': 'unclassified', 'region': None,
         'added': ['193.122.64.56/32', '158.101.224.215/32', '158.101.233.69/32',
                   '81.208.170.221/32'], 'removed': []}]


@pytest.mark.parametrize('name,key', [
    ('Canada (Toronto)', 'ca-toronto'),
    ('USA East (Ashburn)', 'us-east-ashburn'),
    ('Brazil (São Paulo)', 'br-sao-paulo'),
    ('Saudi Arabia (Jeddah)', 'sa-jeddah'),
    ('UK (London)', 'uk-london'),
    ('United Kingdom (Manchester)', 'uk-manchester'),
    ('South Korea (Seoul)', 'kr-seoul'),
    ('Mars Colony (Olympus Mons)', 'mars-colony-olympus-mons'),
])
def test_region_keys_for_new_regions(name, key):
    assert drift.region_key(name) == key


def test_page_listing_documentation_space_is_refused(tmp_path, page_text):
    # A vendor's service is never in documentation space: the page itself is refused
    # (exit 2), whatever the bundled catalog is allowed to hold.
    text = replace_once(page_text, '* UK (London): 152.67.144.0/24',
                        '* UK (London): 152.67.144.0/24, 203.0.113.0/26')
    code, report, errors = run(edited(tmp_path, text))
    assert code == 2 and report is None
    assert '203.0.113.0/26 is documentation address space (203.0.113.0/24, RFC 5737)' in errors[0]


@pytest.mark.parametrize('edit,fragments', [
    (('India (Mumbai): 152.67.21.0/24', 'India (Mumbai): 152.67.21.300/24'),
     [':%d: ', "'152.67.21.300/24' is not a CIDR network or address"]),
    (('Australia (Sydney): 168.138.111.128/25', 'Australia (Sydney): 168.138.111.129/25'),
     [':%d: ', 'host bits set']),
    (('* `https://api.amplitude.com`', '* `https://api amplitude com`'),
     ['domains.analytics.names[0]', '(page line %d)']),
    (('### IP Addresses', '### Other stuff'), ['no IP blocks found']),
    (('#### TURN Relay Servers', '#### TURN Relay Servers\n\n* 158.101.0.7'),
     ["block 'TURN Relay Servers' has both region lines and bare addresses"]),
])
def test_parse_errors_exit_2_with_the_page_line(tmp_path, page_text, edit, fragments):
    text = replace_once(page_text, *edit)
    line = text[:text.index(edit[1])].count('\n') + 1
    code, report, errors = run(edited(tmp_path, text))
    assert code == 2 and report is None
    assert errors[0].startswith('catalog_drift: cannot compare:')
    for fragment in fragments:
        assert (fragment % line if '%d' in fragment else fragment) in errors[0]


def test_not_a_vendor_page_or_missing_file_exit_2(tmp_path):
    code, _report, errors = run(edited(tmp_path, '# Release notes\n\nNothing here.\n'))
    assert code == 2 and 'no "Domains" or "IP Addresses" section found' in errors[0]
    code, _report, errors = run(str(tmp_path / 'missing.md'))
    assert code == 2 and 'page not found' in errors[0]


def test_write_produces_an_equivalent_catalog_that_keeps_dated_entries(tmp_path):
    with open(DEFAULT_CATALOG, encoding='utf-8') as handle:
        raw = yaml.safe_load(handle)
    raw['blocks']['turn']['regions']['uk-london']['networks'][0] = {
        'network': '140.238.95.196', 'added': '2024-01-01', 'note': 'kept by --write'}
    catalog = tmp_path / 'dated.yml'
    catalog.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False))
    written = tmp_path / 'new.yml'
    code, report, _ = run(PAGE, '--catalog', str(catalog), '--write', str(written),
                          '--retrieved', '2026-12-01')
    assert code == 0
    data = yaml.safe_load(written.read_text())
    assert data['provenance']['retrieved'] == '2026-12-01'
    assert data['blocks']['turn']['regions']['uk-london']['networks'][0] == {
        'network': '140.238.95.196', 'added': '2024-01-01', 'note': 'kept by --write'}
    assert data['blocks']['unclassified']['networks'] == ['158.101.192.6', '193.123.38.193']
    bundled, new = load_catalog(), load_catalog(str(written))
    assert new['blocks'] == bundled['blocks'] and new['domains'] == bundled['domains']


def test_command_line_exit_codes(tmp_path, page_text):
    def command(*args):
        return subprocess.run([sys.executable, TOOL] + list(args), capture_output=True,
                              text=True, timeout=60, cwd=str(tmp_path))
    proc = command(PAGE)
    assert proc.returncode == 0 and 'Result: no drift (exit 0)' in proc.stdout
    page = edited(tmp_path, replace_once(page_text, '52.10.206.157\n', '52.10.206.158\n'))
    proc = command(page)
    assert proc.returncode == 1
    assert '  networks webhook_origins: + 52.10.206.158/32\n' in proc.stdout
    assert '  networks webhook_origins: - 52.10.206.157/32\n' in proc.stdout
    proc = command(str(tmp_path / 'nope.md'))
    assert proc.returncode == 2 and 'page not found' in proc.stderr and proc.stdout == ''
