/** `rampart risk`: the risk register (likelihood × impact, owner, status, residual from measured attack success). */
import { Option, type Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import { RISK_STATUSES, type Risk, type RiskPatch, type RiskStatus } from '../../governance/index.js';
import { formatTable } from '../../report/table.js';
import { say } from '../output.js';
import { addGovernanceFlags, printJson, withGovernance, type GovernanceFlags } from './registry.js';

function score(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || n < 1 || n > 5) {
      throw new UsageError('E_FLAG_VALUE', `${flag} must be a whole number from 1 (lowest) to 5 (highest); got '${value}'.`, {
        details: { flag, value },
      });
    }
    return n;
  };
}

function statusOption(): Option {
  return new Option('--status <status>', 'open, mitigated or accepted').choices(RISK_STATUSES);
}

function riskRows(risks: Risk[]): string {
  return formatTable(
    ['id', 'threat', 'title', 'L', 'I', 'inherent', 'measured', 'residual', 'owner', 'status'],
    risks.map((r) => [
      r.id,
      r.threatId ?? '-',
      r.title,
      r.likelihood,
      r.impact,
      `${r.inherentScore} ${r.inherentBand}`,
      r.measuredSuccess === null ? 'not yet' : `${(100 * r.measuredSuccess).toFixed(1)}%`,
      `${r.residualScore} ${r.residualBand}`,
      r.owner,
      r.status,
    ]),
  );
}

interface AddFlags extends GovernanceFlags {
  title: string;
  likelihood: number;
  impact: number;
  owner: string;
  threat?: string;
  status?: RiskStatus;
  notes?: string;
}

type UpdateFlags = GovernanceFlags & Partial<Omit<AddFlags, 'threat'>> & { reason?: string };

export function registerRisk(program: Command): void {
  const risk = program
    .command('risk')
    .description(
      'The risk register. Score = likelihood × impact (1–25); residual = score × latest measured attack success. Bands: low <5, medium <10, high <20, critical ≥20.',
    );

  addGovernanceFlags(risk.command('ls').description('List risks.').addOption(statusOption())).action(
    (flags: GovernanceFlags & { status?: RiskStatus }) =>
      withGovernance(flags, true, (gov) => {
        const risks = gov.risks.list(flags.status ? { status: flags.status } : {});
        if (flags.json) return printJson(risks);
        if (risks.length === 0) return say('no risks recorded');
        say(riskRows(risks));
      }),
  );

  addGovernanceFlags(
    risk
      .command('add')
      .description('Add a risk by hand (plan threats are added by the pipeline).')
      .requiredOption('--title <text>', 'what could go wrong')
      .requiredOption('--likelihood <1-5>', 'how likely', score('--likelihood'))
      .requiredOption('--impact <1-5>', 'how bad', score('--impact'))
      .requiredOption('--owner <name>', 'who answers for it')
      .option('--threat <id>', 'the plan threat it stands for')
      .addOption(statusOption())
      .option('--notes <text>', 'anything else'),
  ).action((flags: AddFlags) =>
    withGovernance(flags, false, (gov) => {
      const r = gov.risks.add({
        title: flags.title,
        likelihood: flags.likelihood,
        impact: flags.impact,
        owner: flags.owner,
        ...(flags.threat ? { threatId: flags.threat } : {}),
        ...(flags.status ? { status: flags.status } : {}),
        ...(flags.notes ? { notes: flags.notes } : {}),
      });
      if (flags.json) return printJson(r);
      say(`added ${r.id}: ${r.title} (score ${r.inherentScore}, ${r.inherentBand})`);
    }),
  );

  addGovernanceFlags(
    risk
      .command('update')
      .description('Change a risk: scores, owner, status, notes.')
      .argument('<id>', 'risk id (RISK-0001) or threat id')
      .option('--title <text>')
      .option('--likelihood <1-5>', 'how likely', score('--likelihood'))
      .option('--impact <1-5>', 'how bad', score('--impact'))
      .option('--owner <name>')
      .addOption(statusOption())
      .option('--notes <text>')
      .option('--reason <text>', 'why (kept in the audit log)'),
  ).action((id: string, flags: UpdateFlags) =>
    withGovernance(flags, true, (gov) => {
      const patch: RiskPatch = {};
      if (flags.title !== undefined) patch.title = flags.title;
      if (flags.likelihood !== undefined) patch.likelihood = flags.likelihood;
      if (flags.impact !== undefined) patch.impact = flags.impact;
      if (flags.owner !== undefined) patch.owner = flags.owner;
      if (flags.status !== undefined) patch.status = flags.status;
      if (flags.notes !== undefined) patch.notes = flags.notes;
      if (flags.reason !== undefined) patch.reason = flags.reason;
      if (Object.keys(patch).filter((k) => k !== 'reason').length === 0) {
        throw new UsageError(
          'E_MISSING_FLAG',
          'Nothing to update: give at least one of --title, --likelihood, --impact, --owner, --status or --notes.',
        );
      }
      const target = gov.risks.get(id);
      const r = gov.risks.update(target.id, patch);
      if (flags.json) return printJson(r);
      say(`updated ${r.id}: residual ${r.residualScore} (${r.residualBand}), status ${r.status}`);
    }),
  );
}
