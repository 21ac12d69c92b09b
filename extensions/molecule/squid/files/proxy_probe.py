#!/usr/bin/env python3
"""Send requests through an HTTP proxy and report what came back (squid scenario).

proxy_probe.py PROXY_HOST:PORT REQUEST [REQUEST...]
  REQUEST is "CONNECT host:port" or "GET http://host/".
Prints JSON {"REQUEST": {"status": 200, "banner": "jaas-peer tcp 443"}, ...}: the proxy's
status code (null when it did not answer), and for a tunnel the first line the far end
sent through it. Stdlib only; no name is resolved here, the proxy does that.
"""
import json
import socket
import sys
from concurrent.futures import ThreadPoolExecutor

TIMEOUT = 8


def complete(method, data):
    """The proxy's answer is in; for an open tunnel, also the far end's first line."""
    head, found, body = data.partition(b'\r\n\r\n')
    if not found:
        return False
    tunnel = method == 'CONNECT' and head.split(b'\r\n', 1)[0].split()[1:2] == [b'200']
    return not tunnel or b'\n' in body


def probe(proxy, request):
    method, target = request.split(' ', 1)
    host = target.split('/')[2] if method == 'GET' else target
    raw = '%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' % (method, target, host)
    address, port = proxy.rsplit(':', 1)
    data = b''
    try:
        with socket.create_connection((address, int(port)), timeout=TIMEOUT) as sock:
            sock.sendall(raw.encode('ascii'))
            while not complete(method, data):
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
    except OSError as exc:
        return {'status': None, 'banner': None, 'error': str(exc)}
    head, _sep, body = data.partition(b'\r\n\r\n')
    words = head.split(b'\r\n', 1)[0].split()
    status = int(words[1]) if len(words) > 1 and words[1].isdigit() else None
    banner = body.decode('ascii', 'replace').strip() if method == 'CONNECT' and status == 200 else None
    return {'status': status, 'banner': banner}


def main():
    proxy, requests = sys.argv[1], sys.argv[2:]
    with ThreadPoolExecutor(max_workers=len(requests) or 1) as pool:
        results = list(pool.map(lambda request: probe(proxy, request), requests))
    print(json.dumps(dict(zip(requests, results)), sort_keys=True))


if __name__ == '__main__':
    main()
