"""The resolver hand-over's canned host: systemctl answers and failures, the resolver files
under tmp_path."""

import os

import pytest

from ansible_collections.jaas.firewall.plugins.module_utils import domain_resolver
from ansible_collections.jaas.firewall.plugins.module_utils.domain_sets import normalise_domains


DOMAINS = normalise_domains([{'category': 'core', 'names': ['8x8.vc', '*.8x8.vc'],
                              'rules': [{'protocol': 'tcp', 'ports': '443'}]}])


PLAIN = '# from DHCP\nsearch lab.example\nnameserver 198.18.8.53\nnameserver 2001:2:0:8::53\noptions ndots:2\n'


class Failed(Exception):
    pass


class FakeModule(object):
    """systemctl answers and failures; everything else is the temp dir."""

    def __init__(self, active='inactive', enabled='', restart_rc=0):
        self.active, self.enabled, self.restart_rc = active, enabled, restart_rc
        self.commands, self.warnings = [], []

    def get_bin_path(self, name, required=False, opt_dirs=None):
        return '/usr/sbin/%s' % name

    def run_command(self, args, **kwargs):
        command = ' '.join(args[1:])
        self.commands.append(command)
        if args[1] == 'show':
            return 0, 'ActiveState=%s\nUnitFileState=%s\n' % (self.active, self.enabled), ''
        if args[1] == 'restart':
            if self.restart_rc == 0:
                self.active = 'active'
            return self.restart_rc, '', 'Job failed' if self.restart_rc else ''
        if args[1] == 'enable':
            self.enabled = 'enabled'
        if args[1] == 'disable':
            self.active, self.enabled = 'inactive', 'disabled'
        return 0, '', ''

    def fail_json(self, **result):
        raise Failed(result['msg'])

    def warn(self, text):
        self.warnings.append(text)


def restart_fails_once(module):
    """The next ``systemctl restart`` fails; the one after it (the previous configuration
    started again) succeeds."""
    plain_run = module.run_command
    module.restart_rc = 1

    def run(args, **kwargs):
        result = plain_run(args, **kwargs)
        if args[1] == 'restart':
            module.restart_rc = 0
        return result
    module.run_command = run


@pytest.fixture
def root(tmp_path, monkeypatch):
    paths = dict((key, str(tmp_path / os.path.basename(os.path.dirname(path)) / os.path.basename(path)))
                 for key, path in domain_resolver.PATHS.items())
    for path in paths.values():
        os.makedirs(os.path.dirname(path), exist_ok=True)
    monkeypatch.setattr(domain_resolver, 'PATHS', paths)
    monkeypatch.setattr(domain_resolver, 'resolver_answers', lambda *a, **k: True)
    # no real DNS here: every upstream and the forwarded question answer (tests that
    # need silence set their own)
    monkeypatch.setattr(domain_resolver, 'dns_probe', lambda *a, **k: None)
    return paths


def converge(module, domains=DOMAINS, upstreams=(), check=False):
    resolver = domain_resolver.Resolver(module)
    desired = resolver.desired(domains, lambda c, f: '%d#inet#jaas#domains_%s_v%d' % (f, c, f),
                               'nftset', 3600, list(upstreams))
    resolver.missing(desired)
    plan = resolver.plan(desired, resolver.read(desired))
    if plan.changed:
        resolver.preflight(plan)          # the backends' check step, also in check mode
        if not check:
            resolver.apply(plan)
    return plan


def write(path, text):
    with open(path, 'w') as handle:
        handle.write(text)


def read(path):
    with open(path) as handle:
        return handle.read()
