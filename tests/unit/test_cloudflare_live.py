"""Live Cloudflare lists against a local HTTP server on 127.0.0.1 (never the real host).

Every answer a broken network, proxy or server can give is served here once; each must
either be accepted exactly as served or refused with the bundled ranges kept and a
warning given. Expected lists are typed out by hand from Cloudflare's published lists
(as quoted on the vendor page), not computed by the code under test.
"""

import http.client
import http.server
import json
import os
import subprocess
import sys
import threading
import time

import pytest

from ansible_collections.jaas.firewall.plugins.plugin_utils import cloudflare
from ansible_collections.jaas.firewall.plugins.plugin_utils.catalog import load_catalog, select

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CF_V4 = ['173.245.48.0/20', '103.21.244.0/22', '103.22.200.0/22', '103.31.4.0/22',
         '141.101.64.0/18', '108.162.192.0/18', '190.93.240.0/20', '188.114.96.0/20',
         '197.234.240.0/22', '198.41.128.0/17', '162.158.0.0/15', '104.16.0.0/13',
         '104.24.0.0/14', '172.64.0.0/13', '131.0.72.0/22']
CF_V6 = ['2400:cb00::/32', '2606:4700::/32', '2803:f800::/32', '2405:b500::/32',
         '2405:8100::/32', '2a06:98c0::/29', '2c0f:f248::/32']
# Cloudflare serves its lists without a final newline; both forms must be accepted.
V4_BODY = '\n'.join(CF_V4)
V6_BODY = '\n'.join(CF_V6) + '\n'
V4_WITHOUT_131 = [n for n in CF_V4 if n != '131.0.72.0/22']
V4_WITH_NEW = CF_V4 + ['45.67.88.0/24']

HTML = ('<!DOCTYPE html><html><head><title>Sign in to Hotel WiFi</title></head>'
        '<body>Please accept the terms</body></html>')

# path: (status, content type, body, options)
ROUTES = {
    '/ips-v4': (200, 'text/plain', V4_BODY, {}),
    '/ips-v6': (200, 'text/plain', V6_BODY, {}),
    '/crlf-v4': (200, 'text/plain', '\r\n'.join(CF_V4) + '\r\n\r\n', {}),
    '/dropped-v4': (200, 'text/plain', '\n'.join(V4_WITHOUT_131), {}),
    '/grown-v4': (200, 'text/plain', '\n'.join(V4_WITH_NEW), {}),
    '/empty': (200, 'text/plain', '', {}),
    '/blank-lines': (200, 'text/plain', '\n\n  \n', {}),
    '/html': (200, 'text/html; charset=utf-8', HTML, {}),
    '/html-as-text': (200, 'text/plain', HTML, {}),
    '/garbage': (200, 'text/plain', V4_BODY + '\nplease upgrade your plan\n', {}),
    '/json': (200, 'application/json',
              json.dumps({'result': {'ipv4_cidrs': CF_V4}}), {}),
    '/not-found': (404, 'text/html', '<h1>Not Found</h1>', {}),
    '/server-error': (500, 'text/plain', 'oops', {}),
    '/no-content': (204, 'text/plain', '', {}),
    '/few-v4': (200, 'text/plain', '\n'.join(CF_V4[:7]), {}),        # 7 of 15: < 8 required
    '/half-v4': (200, 'text/plain', '\n'.join(CF_V4[:8]), {}),       # 8 of 15: accepted
    '/wrong-family': (200, 'text/plain', V6_BODY, {}),
    '/private-v4': (200, 'text/plain', V4_BODY + '\n10.0.0.0/8', {}),
    '/broad-v4': (200, 'text/plain', V4_BODY + '\n104.0.0.0/7', {}),
    '/host-bits': (200, 'text/plain', V4_BODY.replace('173.245.48.0/20', '173.245.48.1/20'), {}),
    '/leading-zero': (200, 'text/plain', V4_BODY.replace('103.31.4.0', '103.31.04.0'), {}),
    # Bodies cut by a dropped connection without Content-Length: all the server sent
    # looks final, only the text can tell.
    '/cut-in-prefix': (200, 'text/plain', V4_BODY[:V4_BODY.index('/13') + 2],
                       {'no_length': True}),                       # ends "104.16.0.0/1"
    '/cut-before-slash': (200, 'text/plain', V4_BODY[:V4_BODY.index('/22', 200)],
                          {'no_length': True}),                    # ends "131.0.72.0"
    '/cut-in-address': (200, 'text/plain', V4_BODY[:V4_BODY.index('72.0/22') + 1],
                        {'no_length': True}),                      # ends "131.0.7"
    # Content-Length promises more than is sent before the connection closes.
    '/short-body': (200, 'text/plain', V4_BODY, {'claim_length': len(V4_BODY) + 40}),
    '/slow': (200, 'text/plain', V4_BODY, {'delay': 3}),
    '/trickle': (200, 'text/plain', V4_BODY, {'trickle': 0.15}),
    '/bad-utf8': (200, 'text/plain', b'173.245.48.0/20\n\xff\xfe', {}),
    '/huge': (200, 'text/plain', V4_BODY + '\n' * (cloudflare.MAX_BYTES + 10), {}),
    '/redirect': (302, 'text/plain', '', {'location': '/ips-v4'}),
}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        self.server.requests.append((self.path, self.headers.get('User-Agent')))
        status, content_type, body, options = ROUTES.get(
            self.path, (404, 'text/plain', 'no route', {}))
        body = body if isinstance(body, bytes) else body.encode('utf-8')
        if options.get('delay'):
            time.sleep(options['delay'])
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        if options.get('location'):
            self.send_header('Location', options['location'])
        if options.get('no_length'):
            self.send_header('Connection', 'close')
        else:
            self.send_header('Content-Length', str(options.get('claim_length', len(body))))
        self.end_headers()
        if options.get('trickle'):
            for start in range(0, len(body), 20):
                self.wfile.write(body[start:start + 20])
                self.wfile.flush()
                time.sleep(options['trickle'])
        else:
            self.wfile.write(body)
        self.close_connection = True


@pytest.fixture(scope='module')
def server():
    with pytest.MonkeyPatch.context() as patch:
        for name in ('http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'all_proxy',
                     'ALL_PROXY'):
            patch.delenv(name, raising=False)
        httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        httpd.daemon_threads = True
        httpd.requests = []
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        httpd.url = 'http://127.0.0.1:%d' % httpd.server_address[1]
        yield httpd
        httpd.shutdown()
        httpd.server_close()


def fetch(server, path, tmp_path, family=4, bundled=None, timeout=2, cache_ttl=0, now=None):
    warnings = []
    bundled = (CF_V4 if family == 4 else CF_V6) if bundled is None else bundled
    result = cloudflare.live_list(family, bundled, url=server.url + path, timeout=timeout,
                                  cache_ttl=cache_ttl, cache_dir=str(tmp_path / 'cache'),
                                  warn=warnings.append, now=now)
    return result, warnings


def test_good_lists_are_accepted_as_served(server, tmp_path):
    result, warnings = fetch(server, '/ips-v4', tmp_path)
    assert warnings == []
    assert result['source'] == 'live' and result['networks'] == CF_V4
    assert result['added'] == [] and result['removed'] == [] and result['reason'] is None
    result, warnings = fetch(server, '/ips-v6', tmp_path, family=6)
    assert (result['source'], result['networks'], warnings) == ('live', CF_V6, [])
    result, warnings = fetch(server, '/crlf-v4', tmp_path)
    assert (result['source'], result['networks'], warnings) == ('live', CF_V4, [])


def test_requests_carry_our_user_agent(server, tmp_path):
    fetch(server, '/ips-v4', tmp_path)
    path, agent = server.requests[-1]
    assert path == '/ips-v4'
    assert agent == 'jaas.firewall/0.1.0'  # galaxy.yml version of this checkout


def test_a_range_dropped_by_cloudflare_is_dropped(server, tmp_path):
    result, warnings = fetch(server, '/dropped-v4', tmp_path)
    assert warnings == []
    assert result['source'] == 'live'
    assert '131.0.72.0/22' not in result['networks']
    assert result['networks'] == V4_WITHOUT_131
    assert result['removed'] == ['131.0.72.0/22'] and result['added'] == []


def test_a_new_range_is_added(server, tmp_path):
    result, _warnings = fetch(server, '/grown-v4', tmp_path)
    assert result['networks'][-1] == '45.67.88.0/24' and result['added'] == ['45.67.88.0/24']


def test_threshold_is_half_the_bundled_list_rounded_up():
    # hand-computed: ceil(15 / 2) = 8, ceil(7 / 2) = 4, never below 1
    assert [cloudflare.minimum_entries(n) for n in (15, 7, 1, 0)] == [8, 4, 1, 1]


def test_half_the_bundled_count_is_still_accepted(server, tmp_path):
    result, warnings = fetch(server, '/half-v4', tmp_path)
    assert (result['source'], result['networks'], warnings) == ('live', CF_V4[:8], [])


REFUSED = [
    ('/empty', 'the list is empty'),
    ('/blank-lines', 'the list is empty'),
    ('/html', 'HTML page'),
    ('/html-as-text', "line 1: '<!DOCTYPE"),
    ('/garbage', "line 16: 'please upgrade your plan' is not a CIDR network or address"),
    ('/json', 'line 1'),
    ('/not-found', 'HTTP 404'),
    ('/server-error', 'HTTP 500'),
    ('/no-content', 'HTTP 204'),
    ('/few-v4', 'only 7 range(s), the bundled list has 15 (at least 8 required)'),
    ('/wrong-family', 'is IPv6 in the IPv4 list'),
    ('/private-v4', 'line 16: not global unicast address space: 10.0.0.0/8 is private '
                    'address space (10.0.0.0/8, RFC 1918)'),
    ('/broad-v4', 'line 16: 104.0.0.0/7 is broader than /8'),
    ('/host-bits', 'host bits'),
    ('/leading-zero', "'103.31.04.0/22' is not a CIDR network or address: leading zero in an "
                      'IPv4 address byte'),
    ('/cut-in-prefix', "line 12: '104.16.0.0/1' has host bits set"),
    ('/cut-before-slash', "line 15: '131.0.72.0' has no /prefix"),
    ('/cut-in-address', "line 15: '131.0.7' is not a CIDR network or address"),
    ('/short-body', 'truncated answer'),
    ('/trickle', 'no complete answer within 0.5s'),
    ('/bad-utf8', 'not UTF-8'),
    ('/huge', 'larger than'),
    ('/no-such-path', 'HTTP 404'),
]


@pytest.mark.parametrize('path,reason', REFUSED, ids=[p for p, _r in REFUSED])
def test_implausible_answers_fall_back_to_bundled_with_a_warning(server, tmp_path, path, reason):
    timeout = 0.5 if path == '/trickle' else 2
    result, warnings = fetch(server, path, tmp_path, timeout=timeout)
    assert result['source'] == 'bundled'
    assert result['networks'] == CF_V4
    assert reason in result['reason']
    assert len(warnings) == 1
    assert warnings[0].startswith('Cloudflare IPv4 list from %s%s refused: ' % (server.url, path))
    assert reason in warnings[0] and 'using the 15 bundled range(s) instead' in warnings[0]


def test_slow_server_times_out(server, tmp_path):
    started = time.monotonic()
    result, warnings = fetch(server, '/slow', tmp_path, timeout=0.5)
    assert time.monotonic() - started < 2.5
    assert result['source'] == 'bundled' and 'timed out after 0.5s' in result['reason']
    assert len(warnings) == 1


def test_unreachable_and_non_http_urls_fall_back(tmp_path):
    warnings = []
    # a port nothing listens on (bound then closed)
    import socket
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    result = cloudflare.live_list(4, CF_V4, url='http://127.0.0.1:%d/ips-v4' % port,
                                  timeout=1, cache_ttl=0, warn=warnings.append)
    assert result['source'] == 'bundled' and 'cannot connect' in result['reason']
    result = cloudflare.live_list(4, CF_V4, url='file:///etc/hosts', cache_ttl=0,
                                  warn=warnings.append)
    assert result['source'] == 'bundled' and "scheme 'file'" in result['reason']
    assert len(warnings) == 2


def test_redirect_to_a_good_list_is_followed(server, tmp_path):
    result, warnings = fetch(server, '/redirect', tmp_path)
    assert (result['source'], result['networks'], warnings) == ('live', CF_V4, [])


# --- cache ---------------------------------------------------------------------------

def hits(server, path):
    return sum(1 for p, _agent in server.requests if p == path)


def test_cache_is_used_within_ttl_and_refreshed_after(server, tmp_path):
    before = hits(server, '/ips-v4')
    first, _ = fetch(server, '/ips-v4', tmp_path, cache_ttl=600, now=1000000.0)
    assert first['source'] == 'live' and first['fetched'] == '1970-01-12T13:46:40Z'
    cache_file = tmp_path / 'cache' / 'cloudflare-v4.json'
    assert json.loads(cache_file.read_text())['networks'] == CF_V4
    second, _ = fetch(server, '/ips-v4', tmp_path, cache_ttl=600, now=1000000.0 + 599)
    assert second['source'] == 'cache' and second['networks'] == CF_V4
    assert second['fetched'] == '1970-01-12T13:46:40Z'
    assert hits(server, '/ips-v4') == before + 1
    third, _ = fetch(server, '/ips-v4', tmp_path, cache_ttl=600, now=1000000.0 + 600)
    assert third['source'] == 'live'
    assert hits(server, '/ips-v4') == before + 2


def test_ttl_zero_neither_reads_nor_writes(server, tmp_path):
    before = hits(server, '/ips-v4')
    fetch(server, '/ips-v4', tmp_path, cache_ttl=0)
    fetch(server, '/ips-v4', tmp_path, cache_ttl=0)
    assert hits(server, '/ips-v4') == before + 2
    assert not (tmp_path / 'cache').exists()


def test_cache_is_per_url_and_refused_answers_are_not_cached(server, tmp_path):
    fetch(server, '/ips-v4', tmp_path, cache_ttl=600, now=5000.0)
    result, warnings = fetch(server, '/dropped-v4', tmp_path, cache_ttl=600, now=5001.0)
    assert result['source'] == 'live' and result['networks'] == V4_WITHOUT_131  # not the cache
    result, warnings = fetch(server, '/not-found', tmp_path, cache_ttl=600, now=5002.0)
    assert result['source'] == 'bundled' and len(warnings) == 1
    cached = json.loads((tmp_path / 'cache' / 'cloudflare-v4.json').read_text())
    assert cached['url'].endswith('/dropped-v4')


def test_damaged_or_edited_cache_is_ignored(server, tmp_path):
    cache_dir = tmp_path / 'cache'
    cache_dir.mkdir()
    cache_file = cache_dir / 'cloudflare-v4.json'
    url = server.url + '/ips-v4'
    for content in ('{not json', json.dumps({'url': url, 'fetched': 100.0,
                                             'networks': ['10.0.0.0/8'] * 9}),
                    json.dumps({'url': url, 'fetched': 100.0, 'networks': []}),
                    json.dumps({'url': url, 'fetched': 999999.0, 'networks': CF_V4})):  # future
        cache_file.write_text(content)
        result, warnings = fetch(server, '/ips-v4', tmp_path, cache_ttl=600, now=200.0)
        assert result['source'] == 'live' and result['networks'] == CF_V4 and warnings == []


def test_unwritable_cache_warns_but_uses_the_live_list(server, tmp_path):
    blocker = tmp_path / 'cache'
    blocker.write_text('a file where the cache directory should be')
    result, warnings = fetch(server, '/ips-v4', tmp_path, cache_ttl=600)
    assert result['source'] == 'live' and result['networks'] == CF_V4
    assert len(warnings) == 1 and 'accepted but not cached' in warnings[0]


# --- catalog replacement ---------------------------------------------------------------

def test_live_lists_replace_the_bundled_block_before_selection(server, tmp_path):
    warnings = []
    catalog = cloudflare.apply_live_cloudflare(
        load_catalog(), urls={4: server.url + '/dropped-v4', 6: server.url + '/not-found'},
        timeout=2, cache_ttl=0, warn=warnings.append)
    networks = catalog['blocks']['cloudflare']['networks']
    assert networks == V4_WITHOUT_131 + CF_V6   # live v4, bundled v6 (refused)
    assert catalog['cloudflare_live']['ipv4']['source'] == 'live'
    assert catalog['cloudflare_live']['ipv6']['source'] == 'bundled'
    assert len(warnings) == 1 and 'IPv6' in warnings[0]
    assert catalog['blocks']['jvb'] == load_catalog()['blocks']['jvb']
    only_v4 = select(catalog, blocks=['cloudflare'], families=[4])
    assert only_v4['blocks']['cloudflare']['networks'] == V4_WITHOUT_131


def test_only_selected_families_are_fetched(server, tmp_path):
    before = hits(server, '/ips-v6')
    catalog = cloudflare.apply_live_cloudflare(
        load_catalog(), families=[4], urls={4: server.url + '/grown-v4', 6: server.url + '/ips-v6'},
        timeout=2, cache_ttl=0)
    assert hits(server, '/ips-v6') == before
    assert list(catalog['cloudflare_live']) == ['ipv4']
    assert catalog['blocks']['cloudflare']['networks'] == V4_WITH_NEW + CF_V6


def test_catalog_without_cloudflare_block_is_an_error():
    from ansible_collections.jaas.firewall.plugins.plugin_utils.catalog import CatalogError
    catalog = select(load_catalog(), blocks=['jvb'])
    with pytest.raises(CatalogError, match="needs a 'cloudflare' block"):
        cloudflare.apply_live_cloudflare(catalog)


# --- through real ansible ----------------------------------------------------------------

def ansible_debug(expression, tmp_path):
    env = dict(os.environ, ANSIBLE_FORCE_COLOR='0', ANSIBLE_NOCOLOR='1',
               ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0',
               ANSIBLE_STDOUT_CALLBACK='default', XDG_CACHE_HOME=str(tmp_path / 'xdg'))
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible'),
                           'localhost', '-m', 'ansible.builtin.debug', '-a',
                           'msg={{ %s }}' % expression], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout.split('=>', 1)[1])['msg'], proc.stdout + proc.stderr


def test_lookup_live_through_ansible(server, tmp_path):
    cache_dir = tmp_path / 'cf-cache'
    msg, output = ansible_debug(
        "lookup('jaas.firewall.catalog', blocks=['cloudflare'], cloudflare_source='live', "
        "cloudflare_url_ipv4='%s/dropped-v4', cloudflare_url_ipv6='%s/html', "
        "cloudflare_timeout=2, cloudflare_cache_dir='%s')" % (server.url, server.url, cache_dir),
        tmp_path)
    assert msg['blocks']['cloudflare']['networks'] == V4_WITHOUT_131 + CF_V6
    assert msg['cloudflare_live']['ipv4']['source'] == 'live'
    assert msg['cloudflare_live']['ipv4']['removed'] == ['131.0.72.0/22']
    assert msg['cloudflare_live']['ipv6']['source'] == 'bundled'
    assert '[WARNING]: jaas.firewall.catalog: Cloudflare IPv6 list from %s/html refused' \
        % server.url in ' '.join(output.split())
    assert (cache_dir / 'cloudflare-v4.json').exists()
    assert not (cache_dir / 'cloudflare-v6.json').exists()
    assert not (tmp_path / 'xdg').exists()


def test_lookup_bundled_by_default_fetches_nothing(server, tmp_path):
    before = len(server.requests)
    msg, _output = ansible_debug("lookup('jaas.firewall.catalog', blocks=['cloudflare'])",
                                 tmp_path)
    assert msg['blocks']['cloudflare']['networks'] == CF_V4 + CF_V6
    assert 'cloudflare_live' not in msg
    assert len(server.requests) == before


# --- live-list guard: well-formed lists that would open far more than Cloudflare ------
# Hand-made lists: 215 /8s of global unicast space (84 % of IPv4), 2000::/16 in the IPv6
# list, a list sharing no range with Cloudflare's, /13s worth 5 times the bundled space,
# and one that keeps only 7 of the 15 bundled ranges. Sizes of Cloudflare's IPv4 ranges,
# by prefix, counted from CF_V4 by hand: 2 /13, 1 /14, 1 /15, 1 /17, 2 /18, 3 /20, 5 /22.
BUNDLED_V4_SPACE = (2 * 2 ** 19 + 2 ** 18 + 2 ** 17 + 2 ** 15 + 2 * 2 ** 14 + 3 * 2 ** 12
                    + 5 * 2 ** 10)
GLOBAL_SLASH8 = [n for n in range(1, 224) if n not in (10, 100, 127, 169, 172, 192, 198, 203)]
SWEEP_V4 = '\n'.join('%d.0.0.0/8' % n for n in GLOBAL_SLASH8)
DISJOINT_V4 = '\n'.join('45.%d.0.0/16' % n for n in range(60, 75))     # 15 ranges, none of CF's
EXTRA_SLASH13 = ['11.%d.0.0/13' % b for b in range(0, 256, 8)]           # 32 of them
FIVE_TIMES_V4 = '\n'.join(CF_V4 + EXTRA_SLASH13[:12])     # 5.1 times the bundled space
UNDER_FOUR_TIMES_V4 = '\n'.join(CF_V4 + EXTRA_SLASH13[:8])   # 3.75 times: still accepted
GUARD_ROUTES = {
    '/sweep-v4': (200, 'text/plain', SWEEP_V4, {}),
    '/sweep-v6': (200, 'text/plain', V6_BODY + '2000::/16\n', {}),
    '/disjoint-v4': (200, 'text/plain', DISJOINT_V4, {}),
    '/five-times-v4': (200, 'text/plain', FIVE_TIMES_V4, {}),
    '/too-little-kept-v4': (200, 'text/plain', '\n'.join(CF_V4[:7] + ['45.%d.0.0/24' % n for n in range(1, 9)]), {}),
    '/plus-one-v4': (200, 'text/plain', '\n'.join(CF_V4 + ['45.67.88.0/22']), {}),
    '/under-four-times-v4': (200, 'text/plain', UNDER_FOUR_TIMES_V4, {}),
}
ROUTES.update(GUARD_ROUTES)


def test_the_guard_lists_are_what_they_claim():
    # independent of the code under test: count the space by hand-written arithmetic
    assert len(GLOBAL_SLASH8) == 215
    assert BUNDLED_V4_SPACE == 1524736
    assert 215 * 2 ** 24 // BUNDLED_V4_SPACE == 2365            # the "2,365 times"
    assert FIVE_TIMES_V4.count('/13') == 14                      # 12 added + 2 of Cloudflare's
    assert round((BUNDLED_V4_SPACE + 12 * 2 ** 19) / BUNDLED_V4_SPACE, 1) == 5.1
    assert (BUNDLED_V4_SPACE + 8 * 2 ** 19) / BUNDLED_V4_SPACE < 4


@pytest.mark.parametrize('path,family,reason', [
    ('/sweep-v4', 4, 'is broader than /12, broader than any range Cloudflare has published'),
    ('/sweep-v6', 6, "2000::/16 is broader than /29"),
    ('/disjoint-v4', 4, 'covers only 0 of the 15 bundled IPv4 range(s) (at least 8 required)'),
    ('/five-times-v4', 4, 'the list covers 7816192 addresses, 5.1 times the bundled IPv4 list '
                          '(at most 4 times allowed)'),
    ('/too-little-kept-v4', 4, 'covers only 7 of the 15 bundled IPv4 range(s)'),
])
def test_lists_that_would_widen_the_firewall_are_refused(server, tmp_path, path, family, reason):
    result, warnings = fetch(server, path, tmp_path, family=family)
    assert result['source'] == 'bundled', result['reason']
    assert result['networks'] == (CF_V4 if family == 4 else CF_V6)
    assert reason in result['reason'] and len(warnings) == 1 and reason in warnings[0]


def test_cloudflare_adding_a_range_still_passes_the_guard(server, tmp_path):
    result, warnings = fetch(server, '/plus-one-v4', tmp_path)
    assert (result['source'], warnings) == ('live', [])
    assert result['added'] == ['45.67.88.0/22']


def test_a_list_under_four_times_the_space_still_passes_the_guard(server, tmp_path):
    result, warnings = fetch(server, '/under-four-times-v4', tmp_path)
    assert (result['source'], warnings) == ('live', [])
    assert result['added'] == EXTRA_SLASH13[:8]


def test_a_cached_list_that_fails_the_guard_is_ignored(server, tmp_path):
    cache = tmp_path / 'cache'
    cache.mkdir()
    (cache / 'cloudflare-v4.json').write_text(json.dumps(
        {'url': server.url + '/ips-v4', 'fetched': 1000000.0,
         'networks': DISJOINT_V4.split('\n')}))
    result, _warnings = fetch(server, '/ips-v4', tmp_path, cache_ttl=600, now=1000001.0)
    assert result['source'] == 'live' and result['networks'] == CF_V4


class _Redirected(object):
    """What urllib hands back after following a redirect: the final URL, a good body."""
    status, reason = 200, 'OK'

    def __init__(self, final):
        self.final = final
        self.headers = http.client.HTTPMessage()
        self.headers['Content-Type'] = 'text/plain'
        self.body = [V4_BODY.encode(), b'']

    def geturl(self):
        return self.final

    def read(self, _size):
        return self.body.pop(0)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize('final, refused', [
    ('http://www.cloudflare.com.example.invalid/ips-v4', True),
    ('https://mirror.example.invalid/ips-v4', False),
])
def test_https_must_not_end_on_plain_http(monkeypatch, final, refused):
    # No TLS server can be run here without a trusted certificate: open_url is replaced
    # by what it returns after following a redirect (the redirect itself is followed by
    # urllib, see test_redirect_to_a_good_list_is_followed).
    monkeypatch.setattr(cloudflare, 'open_url', lambda *a, **k: _Redirected(final))
    if refused:
        with pytest.raises(cloudflare.ListRefused, match='redirected from https to http://'):
            cloudflare.fetch_text('https://www.cloudflare.com.example.invalid/ips-v4', 2)
    else:
        assert cloudflare.fetch_text('https://www.cloudflare.com.example.invalid/ips-v4', 2) == V4_BODY


# --- same spelling, same treatment: a control character is refused, not read as layout --
# Python's str.splitlines() also breaks lines at \x0b, \x0c, \x1c-\x1e, \x85, \u2028 and
# \u2029; a catalog value holding one is refused, so a live list holding one is too.
# Only \n ends a line (\r\n as well: some servers send it).
CONTROL_ROUTES = {
    '/vt-v4': (200, 'text/plain', V4_BODY.replace('\n', '\x0b', 1), {}),
    '/ff-v4': (200, 'text/plain', V4_BODY.replace('\n', '\x0c', 1), {}),
    '/fs-v4': (200, 'text/plain', V4_BODY.replace('\n', '\x1c', 1), {}),
    '/nel-v4': (200, 'text/plain', V4_BODY.replace('\n', '\x85', 1), {}),
    '/ls-v4': (200, 'text/plain', V4_BODY.replace('\n', '\u2028', 1), {}),
    '/nul-v4': (200, 'text/plain', V4_BODY.replace('\n', '\x00\n', 1), {}),
    '/esc-v4': (200, 'text/plain', V4_BODY + '\n\x1b[2J', {}),
    '/cr-only-v4': (200, 'text/plain', V4_BODY.replace('\n', '\r'), {}),
}
ROUTES.update(CONTROL_ROUTES)


@pytest.mark.parametrize('path, character', [
    ('/vt-v4', r'\x0b'), ('/ff-v4', r'\x0c'), ('/fs-v4', r'\x1c'), ('/nel-v4', r'\x85'),
    ('/ls-v4', r'\u2028'), ('/nul-v4', r'\x00'), ('/esc-v4', r'\x1b'), ('/cr-only-v4', r'\r'),
])
def test_control_characters_are_refused_naming_the_line(server, tmp_path, path, character):
    result, warnings = fetch(server, path, tmp_path)
    assert result['source'] == 'bundled' and result['networks'] == CF_V4
    assert 'holds the control character %s' % character in result['reason']
    line = 16 if path == '/esc-v4' else 1
    assert result['reason'].startswith('line %d: ' % line), result['reason']
    assert len(warnings) == 1 and 'control character' in warnings[0]


# --- the same redirect for real: an https server on 127.0.0.1 with a certificate made here
@pytest.fixture
def tls_server(server, tmp_path, monkeypatch):
    """The same routes over https (certificate for IP 127.0.0.1, trusted through
    SSL_CERT_FILE, which Python's default context and so Ansible's open_url read)."""
    import shutil
    import ssl
    if not shutil.which('openssl'):
        pytest.skip('openssl is needed to make a test certificate')
    cert, key = str(tmp_path / 'cert.pem'), str(tmp_path / 'key.pem')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
                    'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
                    '-days', '1', '-subj', '/CN=127.0.0.1', '-addext',
                    'subjectAltName=IP:127.0.0.1'], check=True, capture_output=True)
    monkeypatch.setenv('SSL_CERT_FILE', cert)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    httpd.daemon_threads = True
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.url = 'https://127.0.0.1:%d' % httpd.server_address[1]
    monkeypatch.setitem(ROUTES, '/to-http-v4',
                        (302, 'text/plain', '', {'location': server.url + '/ips-v4'}))
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_a_real_https_to_http_redirect_is_refused(server, tls_server, tmp_path):
    # positive controls: the list over https, and an https -> https redirect, are accepted
    result, warnings = fetch(tls_server, '/ips-v4', tmp_path)
    assert (result['source'], result['networks'], warnings) == ('live', CF_V4, [])
    result, warnings = fetch(tls_server, '/redirect', tmp_path)
    assert (result['source'], result['networks'], warnings) == ('live', CF_V4, [])
    # the same good list, but the redirect took it to plain http
    result, warnings = fetch(tls_server, '/to-http-v4', tmp_path)
    assert server.requests[-1][0] == '/ips-v4'          # urllib did follow it
    assert result['source'] == 'bundled' and result['networks'] == CF_V4
    assert result['reason'].startswith('redirected from https to %s/ips-v4' % server.url)
    assert len(warnings) == 1 and 'redirected from https to http://' in warnings[0]
