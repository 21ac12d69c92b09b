#!/usr/bin/python3
"""What a program on the firewalled test host (molecule/domains) or on a LAN client or WAN
host (molecule/gateway) does, with timings (stdlib only).

    domain_client.py [--together] STEP...   each STEP one of
      resolve:NAME             getaddrinfo through /etc/resolv.conf (UDP), TCP 443 to every answer
      tcpdns:NAME:A|AAAA       one DNS question over TCP to the resolv.conf nameserver
      connect:ADDRESS:PORT     a TCP connection (1.5 s), through the firewall
      ask:SERVER:NAME          one A question over UDP to SERVER (1 s): "answered" (a reply
                               to our question came back) and its "rcode"

--together runs the steps at the same time (threads), for steps that do not depend on each
other: their timeouts overlap instead of adding up. Prints one JSON list, one result per step,
in order (with or without --together): {"step", "addresses"?, "open"?,
"seconds"?, "answer_to_open"?}. "answer_to_open": seconds from the answer to an accepted
connection to its first address (the figure the scenario reports; never asserted).
"""
import ipaddress
import json
import random
import socket
import struct
import sys
import time

TYPES = {'A': 1, 'AAAA': 28}


def connect(address, port, timeout=1.5):
    family = socket.AF_INET6 if ':' in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect((address, port))
            return sock.recv(64).startswith(b'jaas-peer')
        except OSError:
            return False


def nameserver():
    with open('/etc/resolv.conf') as handle:
        for line in handle:
            fields = line.split()
            if len(fields) >= 2 and fields[0] == 'nameserver':
                return fields[1]
    raise SystemExit('no nameserver in /etc/resolv.conf')


def _skip_name(data, offset):
    while True:
        length = data[offset]
        if length & 0xC0 == 0xC0:
            return offset + 2
        if length == 0:
            return offset + 1
        offset += 1 + length


def tcp_question(server, name, qtype):
    """Addresses answered for one question asked over TCP."""
    ident = random.randrange(1 << 16)
    labels = b''.join(bytes([len(p)]) + p.encode('ascii') for p in name.split('.'))
    packet = (struct.pack('!HHHHHH', ident, 0x0100, 1, 0, 0, 0) + labels + b'\0'
              + struct.pack('!HH', TYPES[qtype], 1))
    with socket.create_connection((server, 53), timeout=3) as sock:
        sock.sendall(struct.pack('!H', len(packet)) + packet)
        data = b''
        while len(data) < 2 or len(data) < 2 + struct.unpack('!H', data[:2])[0]:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    data = data[2:]
    qdcount, ancount = struct.unpack('!HH', data[4:8])
    offset = 12
    for _ in range(qdcount):
        offset = _skip_name(data, offset) + 4
    found = []
    for _ in range(ancount):
        offset = _skip_name(data, offset)
        rtype, _rclass, _ttl, length = struct.unpack('!HHIH', data[offset:offset + 10])
        offset += 10
        if rtype in (1, 28):
            found.append(str(ipaddress.ip_address(data[offset:offset + length])))
        offset += length
    return found


def opened(addresses, port=443):
    """[(address, open)], and seconds from the answer to the first accepted connection."""
    answered = time.monotonic()
    first = None
    results = []
    for address in addresses:
        ok = connect(address, port)
        if ok and first is None:
            first = round(time.monotonic() - answered, 4)
        results.append([address, ok])
    return results, first


def step(text):
    kind, _, rest = text.partition(':')
    if kind == 'resolve':
        start = time.monotonic()
        try:
            infos = socket.getaddrinfo(rest, 443, 0, socket.SOCK_STREAM)
            addresses = sorted({info[4][0] for info in infos})
        except socket.gaierror as exc:
            return {'step': text, 'error': str(exc)}
        seconds = round(time.monotonic() - start, 4)
        results, first = opened(addresses)
        return {'step': text, 'addresses': addresses, 'seconds': seconds, 'open': results,
                'answer_to_open': first}
    if kind == 'tcpdns':
        name, qtype = rest.rsplit(':', 1)
        addresses = tcp_question(nameserver(), name, qtype)
        results, first = opened(addresses)
        return {'step': text, 'addresses': addresses, 'open': results, 'answer_to_open': first}
    if kind == 'ask':
        server, name = rest.split(':', 1)
        ident = random.randrange(1 << 16)
        labels = b''.join(bytes([len(p)]) + p.encode('ascii') for p in name.split('.'))
        packet = struct.pack('!HHHHHH', ident, 0x0100, 1, 0, 0, 0) + labels + b'\0\0\1\0\1'
        with socket.socket(socket.AF_INET6 if ':' in server else socket.AF_INET,
                           socket.SOCK_DGRAM) as sock:
            sock.settimeout(1.0)
            try:
                sock.sendto(packet, (server, 53))
                data = sock.recv(4096)
            except OSError:
                return {'step': text, 'answered': False}
        return {'step': text, 'answered': data[:2] == packet[:2], 'rcode': data[3] & 0x0f}
    if kind == 'connect':
        address, port = rest.rsplit(':', 1)
        return {'step': text, 'open': connect(address, int(port))}
    raise SystemExit('unknown step %r' % text)


if __name__ == '__main__':
    steps = sys.argv[1:]
    if steps[:1] == ['--together']:
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(max_workers=len(steps) - 1 or 1) as pool:
            print(json.dumps(list(pool.map(step, steps[1:]))))
    else:
        print(json.dumps([step(s) for s in steps]))
