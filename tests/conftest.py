"""Shared pytest set-up: import the collection as ansible_collections.jaas.firewall."""

import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(REPO, '.collections')
LINK = os.path.join(COLLECTIONS, 'ansible_collections', 'jaas', 'firewall')

if not os.path.exists(LINK):  # `make link` normally does this; keep pytest usable alone
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(os.path.join('..', '..', '..'), LINK)
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
os.environ.setdefault('ANSIBLE_COLLECTIONS_PATH', COLLECTIONS)
os.environ.setdefault('ANSIBLE_CONFIG', os.path.join(REPO, 'ansible.cfg'))
