/** `rampart audit`: read, verify and sign the hash-chained log of every state change; make its signing key. */
import type { Command } from 'commander';
import { RegistryError } from '../../core/errors.js';
import { createAuditKeyPair, defaultAuditKeyPath, loadAuditPrivateKey } from '../../governance/index.js';
import { wholeNumber } from '../parse.js';
import { say } from '../output.js';
import { addGovernanceFlags, printJson, signedHeadLine, trustedPublicKey, withGovernance, type GovernanceFlags } from './registry.js';

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('The append-only, hash-chained audit log of every state change.');

  addGovernanceFlags(
    audit
      .command('verify')
      .description('Recompute the hash chain; exit 1 if any entry was edited, removed or reordered.')
      .option('--expect-head <hash>', 'a head hash noted earlier (kept outside .rampart); the chain must still contain it')
      .option('--public-key <path>', 'Ed25519 public key the head must be signed with (default: $RAMPART_AUDIT_PUBLIC_KEY)'),
  ).action((flags: GovernanceFlags & { expectHead?: string; publicKey?: string }) =>
    withGovernance(flags, true, (gov) => {
      const publicKey = trustedPublicKey(flags.publicKey);
      const result = gov.audit.verify({
        ...(flags.expectHead ? { expectHead: flags.expectHead } : {}),
        ...(publicKey ? { publicKey } : {}),
      });
      if (flags.json) printJson(result);
      else if (result.ok) {
        say(`audit chain ok: ${result.entries} entries, head ${result.head ?? '(empty)'}`);
        say(signedHeadLine(result));
      }
      if (!result.ok) {
        throw new RegistryError(
          'E_AUDIT_CHAIN_BROKEN',
          `The audit log in ${gov.dir} was tampered with: ${result.firstBad?.reason} (first bad entry: ${result.firstBad?.seq}; ${result.entries} entries before it verify).`,
          {
            details: { ...result },
          },
        );
      }
    }),
  );

  addGovernanceFlags(
    audit
      .command('ls')
      .description('Print audit entries, oldest first.')
      .option('--subject <subject>', 'only entries about this digest, tag or id')
      .option(
        '--action <action>',
        'only this action (register, promote, rollback, train, evaluate, gate, risk.update, vuln.transition, ...)',
      )
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

  audit
    .command('keygen')
    .description('Create an Ed25519 key pair for signing the audit head: the private key (mode 0600) and KEY.pub beside it.')
    .option(
      '--key <path>',
      'where to write the private key (default: $RAMPART_AUDIT_KEY or ~/.rampart/audit-ed25519.pem); keep it outside .rampart',
    )
    .option('--force', 'replace an existing key (signatures made with it can then only be checked with its saved .pub)')
    .option('--json', 'print JSON instead of text')
    .action((flags: { key?: string; force?: boolean; json?: boolean }) => {
      const made = createAuditKeyPair(flags.key ?? defaultAuditKeyPath(), { force: flags.force === true });
      if (flags.json) return printJson(made);
      say(`created audit signing key ${made.keyId}`);
      say(`private key: ${made.privateKeyPath} (mode 0600; give it to writers with --signing-key or $RAMPART_AUDIT_KEY)`);
      say(`public key:  ${made.publicKeyPath} (give it to verifiers: rampart audit verify --public-key ${made.publicKeyPath})`);
    });

  addGovernanceFlags(
    audit
      .command('sign')
      .description('Verify the chain, then sign its current head with --signing-key (or $RAMPART_AUDIT_KEY), e.g. after unsigned writes.'),
  ).action((flags: GovernanceFlags) =>
    withGovernance(flags, true, (gov) => {
      const keyPath = flags.signingKey ?? process.env.RAMPART_AUDIT_KEY?.trim();
      if (!keyPath)
        throw new RegistryError(
          'E_AUDIT_KEY',
          "No signing key: pass --signing-key PATH or set $RAMPART_AUDIT_KEY (create one with 'rampart audit keygen').",
        );
      const signed = gov.audit.sign(loadAuditPrivateKey(keyPath));
      if (flags.json) return printJson(signed);
      say(
        signed
          ? `signed head: entry ${signed.seq} ${signed.hash.slice(0, 16)} with key ${signed.keyId}`
          : 'the audit log is empty; nothing to sign',
      );
    }),
  );
}
