/** `rampart vuln`: vulnerability reports filed by failed gates, and their remediation (open → fixed → verified). */
import { Argument, Option, type Command } from 'commander';
import { VULN_STATUSES, type VulnStatus } from '../../governance/index.js';
import { formatTable } from '../../report/table.js';
import { say } from '../output.js';
import { addGovernanceFlags, printJson, short, withGovernance, type GovernanceFlags } from './registry.js';

export function registerVuln(program: Command): void {
  const vuln = program.command('vuln').description('Vulnerabilities filed when a gate fails; only a passing re-evaluation verifies a fix.');

  addGovernanceFlags(
    vuln
      .command('ls')
      .description('List vulnerabilities.')
      .addOption(new Option('--status <status>', 'open, fixed or verified').choices(VULN_STATUSES))
      .option('--threat <id>', 'only this threat'),
  ).action((flags: GovernanceFlags & { status?: VulnStatus; threat?: string }) =>
    withGovernance(flags, true, (gov) => {
      const items = gov.vulnerabilities.list({
        ...(flags.status ? { status: flags.status } : {}),
        ...(flags.threat ? { threatId: flags.threat } : {}),
      });
      if (flags.json) return printJson(items);
      if (items.length === 0) return say('no vulnerabilities recorded');
      say(
        formatTable(
          ['id', 'threat', 'severity', 'status', 'owner', 'measured', 'filed', 'report'],
          items.map((v) => [
            v.id,
            v.threatId,
            v.severity,
            v.status,
            v.owner,
            `${v.evidence.metric} ${v.evidence.measured} (need ${v.evidence.required})`,
            v.createdAt,
            short(v.reportDigest),
          ]),
        ),
      );
    }),
  );

  addGovernanceFlags(
    vuln.command('show').description('Print the filed Markdown report and the remediation history.').argument('<id>', 'VULN-0001'),
  ).action((id: string, flags: GovernanceFlags) =>
    withGovernance(flags, true, (gov) => {
      const v = gov.vulnerabilities.get(id);
      const report = gov.vulnerabilities.report(v.id);
      if (flags.json) return printJson({ ...v, report });
      say(report.trimEnd());
      say('');
      say(`Current status: ${v.status}${v.verifiedBy ? ` (verified by evaluation ${v.verifiedBy})` : ''}`);
      for (const h of v.history)
        say(
          `- ${h.at} ${h.from} → ${h.to} by ${h.actor}${h.evaluationDigest ? ` (evaluation ${short(h.evaluationDigest)})` : ''}${h.note ? `: ${h.note}` : ''}`,
        );
    }),
  );

  addGovernanceFlags(
    vuln
      .command('transition')
      .description('Move a vulnerability to fixed, verified (needs --evaluation of a passing re-evaluation) or back to open.')
      .argument('<id>', 'VULN-0001')
      .addArgument(new Argument('<status>', 'the new status').choices(VULN_STATUSES))
      .option('--evaluation <ref>', 'digest (or prefix) of the passing re-evaluation; required for verified')
      .option('--note <text>', 'what was done (kept in the history and the audit log)'),
  ).action((id: string, status: VulnStatus, flags: GovernanceFlags & { evaluation?: string; note?: string }) =>
    withGovernance(flags, true, (gov) => {
      const v = gov.vulnerabilities.transition(id, status, {
        ...(flags.evaluation ? { evaluationDigest: flags.evaluation } : {}),
        ...(flags.note ? { note: flags.note } : {}),
      });
      if (flags.json) return printJson(v);
      say(`${v.id} is now ${v.status}${v.verifiedBy ? ` (verified by evaluation ${short(v.verifiedBy)})` : ''}`);
    }),
  );
}
