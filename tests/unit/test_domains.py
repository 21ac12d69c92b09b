"""Domain outputs, checked against hand-written expectations and the wildcard semantics
of Squid (leading dot = apex + subdomains) and PAC (shExpMatch "*.x" misses the apex)."""

import re

import pytest

from ansible_collections.jaas.firewall.plugins.plugin_utils.catalog import CatalogError, load_catalog
from ansible_collections.jaas.firewall.plugins.plugin_utils.domains import (
    domain_names, pac_script, squid_acl_lines)
from vendor_page import page_domains


@pytest.fixture(scope='module')
def catalog():
    return load_catalog()


def test_core_names(catalog):
    assert domain_names(catalog, ['core']) == [
        '8x8.com', '*.8x8.com', '8x8.vc', '*.8x8.vc', 'jitsi.net', '*.jitsi.net']


def test_all_categories_count(catalog):
    # the page lists 6 + 12 + 6 names
    assert len(domain_names(catalog)) == sum(len(names) for names in page_domains().values())


def test_unknown_category(catalog):
    with pytest.raises(CatalogError, match="'cor'"):
        domain_names(catalog, ['cor'])


def test_squid_apex_and_wildcard_fold_into_one_dotted_entry():
    assert squid_acl_lines(['8x8.vc', '*.8x8.vc']) == ['acl jaas_domains dstdomain .8x8.vc']


def test_squid_exact_name_stays_exact():
    assert squid_acl_lines(['www.gravatar.com']) == ['acl jaas_domains dstdomain www.gravatar.com']


def test_squid_wildcard_alone_does_not_admit_the_apex():
    lines = squid_acl_lines(['*.youtube.com'], acl_name='jaas')
    assert lines == ['acl jaas_subdomains dstdom_regex -i \\.youtube\\.com$']
    pattern = lines[0].split()[-1]
    assert re.search(pattern, 'www.youtube.com', re.I)
    assert not re.search(pattern, 'youtube.com', re.I)
    assert not re.search(pattern, 'evilyoutube.com', re.I)


@pytest.mark.parametrize('name', ['bad name', 'jaas\n', 'jaas\r\n', '', 'a' * 52, None])
def test_squid_acl_name_is_checked(name):
    # a trailing newline used to pass a $-anchored pattern and end up inside the config line
    with pytest.raises(CatalogError, match=r'^acl_name: .* is not a valid Squid ACL name'):
        squid_acl_lines(['8x8.vc'], acl_name=name)


def test_longest_squid_acl_name_fits_squid():
    # Squid 5.7 / 6.13: "ACL not found" for a 63-character name, 62 works (tried by hand
    # with squid -k parse in the test images)
    lines = squid_acl_lines(['*.youtube.com'], acl_name='a' * 51)
    assert lines[0].split()[1] == 'a' * 51 + '_subdomains' and len(lines[0].split()[1]) == 62


@pytest.mark.parametrize('option', ['match', 'default'])
@pytest.mark.parametrize('value', ['DIRECT\n', ' DIRECT', '', 'PROXY a:1\nPROXY b:2'])
def test_pac_results_are_one_line(option, value):
    with pytest.raises(CatalogError, match='^%s: ' % option):
        pac_script(['8x8.vc'], **{option: value})


def shexp(pattern, host):
    """PAC shExpMatch semantics: * matches any run of characters, anchored."""
    return re.fullmatch(re.escape(pattern).replace('\\*', '.*'), host) is not None


def pac_matches(script, host):
    """Evaluate the generated condition for one host, with our own tiny interpreter."""
    condition = script.split('if (', 1)[1].split(') {', 1)[0]
    for test in condition.split('||'):
        test = test.strip()
        exact = re.fullmatch(r'host == "([^"]+)"', test)
        wild = re.fullmatch(r'shExpMatch\(host, "([^"]+)"\)', test)
        if exact and exact.group(1) == host:
            return True
        if wild and shexp(wild.group(1), host):
            return True
    return False


@pytest.mark.parametrize('host,expected', [
    ('8x8.vc', True), ('web.8x8.vc', True), ('a.b.8x8.vc', True),
    ('youtube.com', False), ('www.youtube.com', True),
    ('www.gravatar.com', True), ('gravatar.com', False), ('evil8x8.vc', False),
])
def test_pac_wildcards(catalog, host, expected):
    script = pac_script(domain_names(catalog), match='DIRECT', default='PROXY p:3128')
    assert pac_matches(script, host) is expected


def test_pac_returns(catalog):
    script = pac_script(['8x8.vc'], match='DIRECT', default='PROXY p:3128')
    assert 'return "DIRECT";' in script and 'return "PROXY p:3128";' in script
    assert script.startswith('// Generated') and 'function FindProxyForURL(url, host)' in script
