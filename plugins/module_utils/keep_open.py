# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keep-open entries ({direction, protocol, port, network?}): the names the roles, the
Windows renderer and the backend modules import. The validation itself is the rule
model's (module_utils/model.py ``normalise_keep_open``), so a keep-open entry is spelled
exactly like a catalog rule. Python stdlib only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.jaas.firewall.plugins.module_utils.model import (
    KEEP_OPEN_KEYS as KEYS, ModelError as KeepOpenError, normalise_keep_open)


def validate_keep_open(entries, name='keep_open'):
    """Check every entry; return them normalised (``network`` only when given).

    Raises KeepOpenError (the model's ModelError) located as ``<name>[<index>].<key>``.
    """
    return normalise_keep_open(entries, name)


__all__ = ['KEYS', 'KeepOpenError', 'validate_keep_open']
