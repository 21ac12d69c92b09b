# -*- coding: utf-8 -*-
# Copyright: (c) 2026, jaas.firewall contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller half of jaas.firewall.drop_report.

Per host: the catalog's listed domain names (BackendAction.desired_rules: the backends' own
lookup, filter, validation and cache) go to the read-only module. With ``aggregate``
(run_once): nothing runs on a host; the rows of every host are classified against the
catalog's rules (plugin_utils/drop_report.py), merged, rendered and written here."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.jaas.firewall.plugins.plugin_utils import drop_report
from ansible_collections.jaas.firewall.plugins.plugin_utils.backend_action import ReadOnlyAction


class ActionModule(ReadOnlyAction):
    module = 'jaas.firewall.drop_report'

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result, args, rules, domains = self.selected(tmp, task_vars)
        if args is None:
            return result
        if args.get('aggregate') is not None:
            result.update(self.aggregate(args, rules))
            return result
        names = sorted({name for entry in domains for name in entry['names']})
        args['domain_names'] = list(args.get('domain_names') or []) + names
        return self.execute(result, args, task_vars)

    @staticmethod
    def aggregate(args, rules):
        per_host = args['aggregate']
        if not isinstance(per_host, dict):
            return dict(failed=True, changed=False,
                        msg='aggregate must be a dict host -> registered drop_report result, got %s'
                            % type(per_host).__name__)
        failed = sorted(host for host, res in per_host.items()
                        if not isinstance(res, dict) or res.get('failed') or 'rows' not in res)
        usable = dict((host, res) for host, res in per_host.items() if host not in failed)
        rows = drop_report.aggregate(usable, rules)
        proposed = drop_report.fragment(rows)
        report = {'generated': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
                  'hosts': sorted(usable), 'hosts_unread': failed,
                  'truncated': sorted(h for h, r in usable.items() if r.get('truncated')),
                  'lines': sum(r.get('lines', 0) for r in usable.values()),
                  'rows': rows, 'fragment': proposed}
        out = dict(changed=False, rows=rows, fragment=proposed,
                   table=drop_report.table(rows, int(args.get('max_rows') or 40)),
                   lines=report['lines'], drops=sum(row['count'] for row in rows),
                   truncated=bool(report['truncated']), hosts_unread=failed,
                   msg='%d drops in %d rows from %d hosts (%s)' % (
                       sum(row['count'] for row in rows), len(rows), len(usable),
                       ', '.join('%d %s' % (sum(1 for r in rows if r['verdict'] == v), v)
                                 for v in ('catalog', 'domain', 'unknown'))))
        if args.get('report_dir'):
            try:
                out['report_file'] = drop_report.write_json(args['report_dir'], report)
            except OSError as exc:
                return dict(out, failed=True, msg='report_dir: cannot write the report: %s' % exc)
        return out
