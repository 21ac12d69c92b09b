"""Run on an instance: would ufw's own writer produce byte-identical user rules files?

Reads the rules with ufw's parser (UFWBackendIptables), re-renders them with ufw's
_write_rules into copies and compares. Prints IDENTICAL or a unified diff.
"""
import difflib
import gettext
import shutil
import sys

gettext.install('ufw')
import ufw.backend_iptables  # noqa: E402

backend = ufw.backend_iptables.UFWBackendIptables(dryrun=False)
same = True
for v6, key in ((False, 'rules'), (True, 'rules6')):
    path = backend.files[key]
    copy = '/root/.jaas-rerender-' + key
    shutil.copy(path, copy)
    backend.files[key] = copy
    backend._write_rules(v6)
    with open(path) as ours, open(copy) as theirs:
        a, b = ours.read(), theirs.read()
    if a != b:
        same = False
        sys.stdout.writelines(difflib.unified_diff(a.splitlines(True), b.splitlines(True),
                                                   path, 'as ufw writes it'))
print('IDENTICAL' if same else 'DIFFERENT')
