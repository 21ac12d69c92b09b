#!/usr/bin/env python3
"""Packet peer for the firewall test harness.

Listens on every given TCP and UDP port on all IPv4 and IPv6 addresses:
  * TCP: accepts, writes b"jaas-peer tcp <port>\n", closes.
  * UDP: echoes every datagram back to its sender.

Usage: peer_listener.py [--tcp 443,80,10000] [--udp 443,10000,50000,9999]
Stdlib only; runs as the peer container's command (PID 1), so it handles SIGTERM.
"""
import argparse
import selectors
import signal
import socket
import sys

DEFAULT_TCP = "443,80,10000"
DEFAULT_UDP = "443,10000,50000,9999"


def ports(text):
    return [int(p) for p in text.split(",") if p.strip()]


def bind(family, kind, port):
    sock = socket.socket(family, kind)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(("::", port))
    else:
        sock.bind(("0.0.0.0", port))
    if kind == socket.SOCK_STREAM:
        sock.listen(64)
    sock.setblocking(False)
    return sock


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tcp", default=DEFAULT_TCP, help="comma-separated TCP ports")
    parser.add_argument("--udp", default=DEFAULT_UDP, help="comma-separated UDP ports")
    parser.add_argument("--no-ipv6", action="store_true")
    args = parser.parse_args(argv)

    families = [socket.AF_INET] + ([] if args.no_ipv6 else [socket.AF_INET6])
    sel = selectors.DefaultSelector()
    for fam in families:
        for port in ports(args.tcp):
            sel.register(bind(fam, socket.SOCK_STREAM, port), selectors.EVENT_READ, ("tcp", port))
        for port in ports(args.udp):
            sel.register(bind(fam, socket.SOCK_DGRAM, port), selectors.EVENT_READ, ("udp", port))

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"peer listening tcp={args.tcp} udp={args.udp} ipv6={not args.no_ipv6}", flush=True)
    while True:
        for key, _ in sel.select():
            sock, (proto, port) = key.fileobj, key.data
            try:
                if proto == "tcp":
                    conn, _addr = sock.accept()
                    with conn:
                        conn.settimeout(2)
                        conn.sendall(b"jaas-peer tcp %d\n" % port)
                else:
                    data, addr = sock.recvfrom(65535)
                    sock.sendto(data, addr)
            except OSError:
                continue


if __name__ == "__main__":
    main()
