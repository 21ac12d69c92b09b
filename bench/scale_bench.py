#!/usr/bin/env python3
"""Scale benchmark for the ufw and firewalld roles (a script, not a test).

1. Fleet: the ufw role (shipped catalog, ufw enabled) applied to 1, 5 and 20 fresh
   containers at once with forks=20: wall time, time per host, and a no-change re-run.
2. Catalog size: a synthetic 10x catalog (the shipped one plus 9 extra networks per real
   one, from the benchmarking ranges 198.18.0.0/15 and 2001:2::/48, spaced so that
   compaction cannot merge them) against the shipped one, per backend (ufw, firewalld):
   rule counts, first apply and no-change re-run.
3. Controller peak memory: ru_maxrss of each ansible-playbook run and its reaped forks
   (os.wait4), and resource.getrusage(RUSAGE_CHILDREN) over the whole script.

Containers use the harness settings with --network none (nothing is ever sent anywhere).
Usage: make bench-scale   (or .venv/bin/python bench/scale_bench.py [--sizes 1,5,20])
"""
import argparse
import ipaddress
import os
import resource
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tests'))
sys.path.insert(0, os.path.join(ROOT, '.collections'))
from reliability import harness  # noqa: E402  (same container/ansible code as the suite)
import timing  # noqa: E402  (bench/timing.py: timed runs, parallel start-up)

PREFIX = 'jaas-bench-%d-' % os.getpid()


def timed_run(ansible, hosts, role, extra, forks=20):
    """(seconds, peak RSS MiB of ansible-playbook + forks, stdout); exits on failure."""
    run = timing.timed_play(ansible, hosts, harness.role_play(role), extra, forks)
    timing.exit_on_failure(run, '%s role failed on %d host(s)' % (role, len(hosts)))
    return run.wall, run.maxrss_mib, run.output


def synthetic_catalog(path, factor=10):
    """Shipped catalog + (factor-1) fake networks per real one, never adjacent."""
    data = harness.load_shipped_catalog()
    v4_blocks = ipaddress.ip_network('198.18.0.0/15').subnets(new_prefix=26)
    v6_blocks = ipaddress.ip_network('2001:2::/48').subnets(new_prefix=63)
    count = 0

    def fakes(network_text):
        network = ipaddress.ip_network(str(network_text), strict=False)
        out = []
        for _ in range(factor - 1):
            if network.version == 4:
                block, prefix = next(v4_blocks), max(network.prefixlen, 27)
            else:
                block, prefix = next(v6_blocks), max(network.prefixlen, 64)
            fake = next(block.subnets(new_prefix=prefix))
            out.append(str(fake.network_address) if fake.num_addresses == 1 else str(fake))
        return out

    for block in data['blocks'].values():
        holders = list(block['regions'].values()) if block.get('regions') else [block]
        for holder in holders:
            real = list(holder['networks'])
            holder['networks'] = real + [fake for network in real for fake in fakes(network)]
            count += len(holder['networks'])
    data['provenance']['title'] = 'Synthetic %dx catalog (bench/scale_bench.py)' % factor
    with open(path, 'w') as handle:
        handle.write(harness.dump_catalog(data))
    return count


def catalog_networks(path):
    from ansible_collections.jaas.firewall.plugins.plugin_utils import catalog, rules
    model = catalog.select(catalog.load_catalog(path, allow_private_networks=True),
                           blocks=['cloudflare', 'jvb', 'turn'])
    return len(rules.catalog_rules(model))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--sizes', default='1,5,20', help='fleet sizes (default 1,5,20)')
    parser.add_argument('--forks', type=int, default=20)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(',')]
    rows, catalog_rows = [], []
    workdir = tempfile.mkdtemp(prefix='scale-bench-')
    ansible = harness.Ansible(workdir)
    try:
        # ---- 1. fleet sizes: fresh containers each time, ufw enabled, shipped catalog
        for size in sizes:
            hosts = timing.start_hosts(size, 'bookworm', 'fleet%d' % size, PREFIX)
            for host in hosts:
                host.sh('ufw --force enable >/dev/null')
            first, peak1, _ = timed_run(ansible, hosts, 'ufw', {}, args.forks)
            rerun, peak2, _ = timed_run(ansible, hosts, 'ufw', {}, args.forks)
            rows.append((size, first, rerun, max(peak1, peak2)))
            print('fleet %2d: first %.1f s (%.2f s/host), re-run %.1f s (%.2f s/host), '
                  'peak RSS %.0f MiB' % (size, first, first / size, rerun, rerun / size,
                                         max(peak1, peak2)), flush=True)
            harness.remove_all()

        # ---- 2. catalog size per backend
        big = os.path.join(workdir, 'catalog-10x.yml')
        networks_10x = synthetic_catalog(big)
        for backend, suite in (('ufw', 'bookworm'), ('firewalld', 'bookworm')):
            hosts = timing.start_hosts(2, suite, backend, PREFIX)
            for host in hosts:
                host.sh('ufw --force enable >/dev/null' if backend == 'ufw'
                        else 'systemctl start firewalld')
            for label, path, host in (('1x', harness.CATALOG, hosts[0]), ('10x', big, hosts[1])):
                # the 10x catalog's extra networks are in 198.18.0.0/15 and 2001:2::/48
                extra = {'jaas_firewall_catalog_file': path,
                         'jaas_firewall_allow_private_networks': True}
                first, peak1, _ = timed_run(ansible, [host], backend, extra)
                rerun, peak2, _ = timed_run(ansible, [host], backend, extra)
                if backend == 'ufw':
                    objects = '%d ufw rules' % len(harness.owned_ufw_rules(host))
                else:
                    entries = host.sh('for s in $(firewall-cmd --get-ipsets); do '
                                      'firewall-cmd --ipset=$s --get-entries; done | wc -l').stdout
                    rich = host.sh('for p in jaas-egress jaas-ingress; do firewall-cmd '
                                   '--policy=$p --list-rich-rules 2>/dev/null; done | wc -l').stdout
                    objects = '%d ipset entries, %d rich rules' % (int(entries), int(rich))
                catalog_rows.append((backend, label, catalog_networks(path), objects, first,
                                     rerun, max(peak1, peak2)))
                print('%-9s %-3s: %s rules in the rule interface -> %s; first %.1f s, '
                      're-run %.1f s, peak RSS %.0f MiB' % catalog_rows[-1], flush=True)
            harness.remove_all()
    finally:
        harness.remove_all()

    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    print('\n## Fleet size (ufw role, shipped catalog, forks=%d, docker connection)\n' % args.forks)
    print('| hosts | first apply | per host | no-change re-run | per host | controller peak RSS |')
    print('|---:|---:|---:|---:|---:|---:|')
    for size, first, rerun, peak in rows:
        print('| %d | %.1f s | %.2f s | %.1f s | %.2f s | %.0f MiB |'
              % (size, first, first / size, rerun, rerun / size, peak))
    print('\n## Catalog size (one host per run; 10x catalog: %d networks)\n' % networks_10x)
    print('| backend | catalog | rules (rule interface) | on the host | first apply '
          '| no-change re-run | controller peak RSS |')
    print('|---|---|---:|---|---:|---:|---:|')
    for row in catalog_rows:
        print('| %s | %s | %d | %s | %.1f s | %.1f s | %.0f MiB |' % row)
    print('\nController peak RSS over all runs (RUSAGE_CHILDREN): %.0f MiB; %d CPUs, load now %s'
          % (children, os.cpu_count(), ' '.join('%.1f' % x for x in os.getloadavg())))


if __name__ == '__main__':
    main()
