#!/usr/bin/env python3
"""Probe the harness peer in parallel.

probe.py TCP_PORTS UDP_PORTS HOST [HOST...]
prints JSON {"HOST": {"tcp/443": true, "udp/9999": false, ...}, ...}
"""
import json
import socket
import sys
from concurrent.futures import ThreadPoolExecutor

TIMEOUT = 1.5


def check(host, proto, port):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    with socket.socket(fam, kind) as s:
        s.settimeout(TIMEOUT)
        try:
            if proto == "tcp":
                s.connect((host, port))
                return s.recv(64).startswith(b"jaas-peer")
            s.sendto(b"probe", (host, port))
            return s.recv(64) == b"probe"
        except OSError:
            return False


tcp, udp, hosts = sys.argv[1], sys.argv[2], sys.argv[3:]
jobs = [(h, "tcp", int(p)) for h in hosts for p in tcp.split(",") if p]
jobs += [(h, "udp", int(p)) for h in hosts for p in udp.split(",") if p]
with ThreadPoolExecutor(max_workers=len(jobs) or 1) as pool:
    results = list(pool.map(lambda j: check(*j), jobs))
out = {h: {} for h in hosts}
for (h, proto, port), ok in zip(jobs, results):
    out[h][f"{proto}/{port}"] = ok
print(json.dumps(out, sort_keys=True))
