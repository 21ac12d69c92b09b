# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writes that matter, atomic and durable (stdlib only).

``write_durable``: a temp file in the same directory, fsync, mode/owner/SELinux label of the
file it replaces, rename, directory fsync; a mount point that cannot be renamed over
(resolv.conf in containers) is written in place and fsynced. ``fsync_path`` for the rest.
Used by the resolver hand-over (domain_resolver.py) and confirm-or-revert (rollback.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import tempfile


def _selinux_label(path):
    try:
        return os.getxattr(path, 'security.selinux')
    except (AttributeError, OSError):
        return None


def fsync_path(path):
    """fsync a file or a directory by path; errors are ignored (best effort)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_durable(path, text, mode=None, owner=None):
    """Replace ``path`` atomically and durably (see the module docstring).

    ``mode``/``owner`` default to those of the file being replaced (0644, root for a new
    one); its SELinux label is kept. A mount point that cannot be renamed over (EBUSY,
    EXDEV: resolv.conf in a container) is written in place and fsynced.
    """
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    try:
        info = os.stat(path)
    except OSError:
        info = None
    if mode is None:
        mode = info.st_mode & 0o7777 if info else 0o644
    if owner is None and info is not None:
        owner = (info.st_uid, info.st_gid)
    label = _selinux_label(path) if info else None
    fd, temp = tempfile.mkstemp(prefix='.jaas-', dir=directory)
    try:
        with os.fdopen(fd, 'w') as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        if owner:
            try:
                os.chown(temp, *owner)
            except OSError:
                pass                   # not root: the file stays ours
        if label:
            try:
                os.setxattr(temp, 'security.selinux', label)
            except (AttributeError, OSError):
                pass
        os.rename(temp, path)
    except OSError as exc:
        try:
            os.unlink(temp)
        except OSError:
            pass
        if exc.errno not in (errno.EBUSY, errno.EXDEV):
            raise
        with open(path, 'w') as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        return
    fsync_path(directory)
