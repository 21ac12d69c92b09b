"""The golden-file check every golden test uses (``make golden`` rewrites the files)."""

import os

import pytest

GOLDEN = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                      'golden')
UPDATE = os.environ.get('JAAS_UPDATE_GOLDEN') == '1'


def check_golden(name, text):
    """``text`` must equal tests/golden/``name`` byte for byte; on a difference the actual text
    is written next to it (``.actual``) and the test fails. JAAS_UPDATE_GOLDEN=1 rewrites it."""
    path = os.path.join(GOLDEN, name)
    if UPDATE:
        with open(path, 'w', encoding='utf-8', newline='') as handle:
            handle.write(text)
        return
    with open(path, encoding='utf-8', newline='') as handle:
        expected = handle.read()
    if text != expected:
        with open(path + '.actual', 'w', encoding='utf-8', newline='') as handle:
            handle.write(text)
        pytest.fail('%s differs from the golden file; see %s.actual, review the diff and run '
                    '`make golden` if the change is intended' % (name, path))
