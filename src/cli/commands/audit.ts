/** `rampart audit`: read and verify the hash-chained log of every state change. */
import type { Command } from 'commander';
import { RegistryError } from '../../core/errors.js';
import { wholeNumber } from '../parse.js';
import { say } from '../output.js';
import { addGovernanceFlags, printJson, withGovernance, type GovernanceFlags } from './registry.js';

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('The append-only, hash-chained audit log of every state change.');

  addGovernanceFlags(
    audit
      .command('verify')
      .description('Recompute the hash chain; exit 1 if any entry was edited, removed or reordered.')
      .option('--expect-head <hash>', 'a head hash noted earlier (kept outside .rampart); the chain must still contain it'),
  ).action((flags: GovernanceFlags & { expectHead?: string }) =>
    withGovernance(flags, true, (gov) => {
      const result = gov.audit.verify(flags.expectHead ? { expectHead: flags.expectHead } : {});
      if (flags.json) printJson(result);
      else if (result.ok) say(`audit chain ok: ${result.entries} entries, head ${result.head ?? '(empty)'}`);
      if (!result.ok) {
        throw new RegistryError('E_AUDIT_CHAIN_BROKEN', `The audit log in ${gov.dir} was tampered with: ${result.firstBad?.reason} (first bad entry: ${result.firstBad?.seq}; ${result.entries} entries before it verify).`, {
          details: { ...result },
        });
      }
    }),
  );

  addGovernanceFlags(
    audit
      .command('ls')
      .description('Print audit entries, oldest first.')
      .option('--subject <subject>', 'only entries about this digest, tag or id')
      .option('--action <action>', 'only this action (register, promote, rollback, train, evaluate, gate, risk.update, vuln.transition, ...)')
      .option('--limit <n>', 'only the newest N', wholeNumber('--limit', 1)),
  ).action((flags: GovernanceFlags & { subject?: string; action?: string; limit?: number }) =>
    withGovernance(flags, true, (gov) => {
      const entries = gov.audit.list({
        ...(flags.subject ? { subject: flags.subject } : {}),
        ...(flags.action ? { action: flags.action } : {}),
        ...(flags.limit ? { limit: flags.limit } : {}),
      });
      if (flags.json) return printJson(entries);
      if (entries.length === 0) return say('no audit entries');
      for (const e of entries) {
        const subject = /^[0-9a-f]{64}$/.test(e.subject) ? e.subject.slice(0, 12) : e.subject;
        say(`${String(e.seq).padStart(5)}  ${e.at}  ${e.actor}  ${e.action}  ${subject}  ${JSON.stringify(e.details)}`);
      }
    }),
  );
}
