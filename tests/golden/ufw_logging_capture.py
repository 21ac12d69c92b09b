#!/usr/bin/env python3
"""Capture what real ufw writes into its user rules files for ``ufw logging <level>`` on a
ufw that is not running (tests/golden/ufw_logging_<version>.json), for every log level,
block/allow/reject default policies and IPv6 on and off, starting from the package
templates (ufw's first rewrite into its full format).

tests/unit/test_ufw_plan.py renders the same files with ufw_plan.ufw_rules_file and requires
the same bytes. Regenerate after a ufw upgrade in the harness images:

    .venv/bin/python tests/golden/ufw_logging_capture.py     # Debian 12 and 13 images

Each image runs in a throw-away container (--network none, NET_ADMIN for ufw's iptables
capability test). The releases must agree; the file records which ones were captured.
"""
import json
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
IMAGES = ('jaas-firewall-test:bookworm', 'jaas-firewall-test:trixie')
# incoming, outgoing, routed: b(lock, DROP), a(llow, ACCEPT), r(eject, REJECT)
POLICIES = ('bbb', 'bba', 'bab', 'baa', 'abb', 'aba', 'aab', 'aaa', 'rrr', 'rar')
LEVELS = ('off', 'low', 'medium', 'high', 'full')

SCRIPT = r'''
set -e
cp /etc/ufw/user.rules /tmp/t4; cp /etc/ufw/user6.rules /tmp/t6; cp /etc/default/ufw /tmp/d
cp /etc/ufw/ufw.conf /tmp/c
pol() { case $1 in b) echo DROP;; a) echo ACCEPT;; r) echo REJECT;; esac; }
dump() { python3 -c 'import json,sys; print(json.dumps([open(p).read() for p in sys.argv[1:]]))' "$@"; }
echo "version $(dpkg-query -W -f '${Version}' ufw)"
echo "templates $(dump /tmp/t4 /tmp/t6)"
for v6 in yes no; do for lvl in LEVELS; do for p in POLICIES; do
  i=${p:0:1}; o=${p:1:1}; f=${p:2:1}
  cp /tmp/t4 /etc/ufw/user.rules; cp /tmp/t6 /etc/ufw/user6.rules; cp /tmp/d /etc/default/ufw
  cp /tmp/c /etc/ufw/ufw.conf
  sed -i "s/^IPV6=.*/IPV6=$v6/; s/^DEFAULT_INPUT_POLICY=.*/DEFAULT_INPUT_POLICY=\"$(pol $i)\"/
          s/^DEFAULT_OUTPUT_POLICY=.*/DEFAULT_OUTPUT_POLICY=\"$(pol $o)\"/
          s/^DEFAULT_FORWARD_POLICY=.*/DEFAULT_FORWARD_POLICY=\"$(pol $f)\"/" /etc/default/ufw
  ufw logging $lvl >/dev/null
  echo "case $v6 $lvl $p $(dump /etc/ufw/user.rules /etc/ufw/user6.rules)"
done; done; done
'''.replace('LEVELS', ' '.join(LEVELS)).replace('POLICIES', ' '.join(POLICIES))


def capture(image):
    out = subprocess.run(['docker', 'run', '--rm', '-i', '--network', 'none', '--cap-add', 'NET_ADMIN',
                          image, 'bash'], input=SCRIPT, capture_output=True, text=True, check=True).stdout
    found = dict(cases={})
    for line in out.splitlines():
        kind, _sep, rest = line.partition(' ')
        if kind == 'version':
            found['version'] = rest
        elif kind == 'templates':
            found['templates'] = json.loads(rest)
        elif kind == 'case':
            v6, level, policies, files = rest.split(' ', 3)
            found['cases']['%s %s %s' % (v6, level, policies)] = json.loads(files)
    return found


def main():
    captured = [(image, capture(image)) for image in IMAGES]
    first = captured[0][1]
    for image, found in captured[1:]:
        if found['cases'] != first['cases'] or found['templates'] != first['templates']:
            raise SystemExit('%s writes other files than %s: capture them separately' % (image, IMAGES[0]))
    texts = sorted(set(text for files in first['cases'].values() for text in files))
    data = dict(captured=dict((image, found['version']) for image, found in captured),
                templates=first['templates'], texts=texts,
                cases=dict((key, [texts.index(text) for text in files])
                           for key, files in sorted(first['cases'].items())))
    path = os.path.join(HERE, 'ufw_logging_%s.json' % first['version'].split('-')[0])
    with open(path, 'w') as handle:
        json.dump(data, handle, indent=1, sort_keys=True)
        handle.write('\n')
    print('%s: %d cases, %d distinct files' % (path, len(data['cases']), len(texts)))


if __name__ == '__main__':
    main()
