/**
 * `rampart registry`: list, inspect, diff, register, tag, promote and roll back artifacts in
 * the `.rampart/` registry, and follow their lineage. Also holds the flags every governance
 * command shares (`--dir`, `--actor`, `--json`).
 */
import { Option, type Command } from 'commander';
import { RegistryError, UsageError } from '../../core/errors.js';
import type { KeyObject } from 'node:crypto';
import {
  ARTIFACT_KINDS,
  loadAuditPublicKey,
  openGovernance,
  type ArtifactKind,
  type AuditVerifyResult,
  type Governance,
  type Json,
  type TagEvent,
} from '../../governance/index.js';
import { formatTable } from '../../report/table.js';
import { say } from '../output.js';

export interface GovernanceFlags {
  dir: string;
  actor?: string;
  json?: boolean;
  signingKey?: string;
}

/** `--dir`, `--actor` and `--json` on a governance subcommand. */
export function addGovernanceFlags(command: Command): Command {
  return command
    .option('--dir <path>', 'the governance directory (or $RAMPART_DIR)', process.env.RAMPART_DIR ?? '.rampart')
    .option('--actor <name>', 'who makes the change, for the audit log (default: $RAMPART_ACTOR or the OS user)')
    .option('--signing-key <path>', 'Ed25519 private key that signs the audit head on every change (default: $RAMPART_AUDIT_KEY)')
    .option('--json', 'print JSON instead of text');
}

/**
 * Opens the governance store for one command and always closes it. Read-only commands pass
 * `mustExist` so a mistyped --dir fails instead of creating an empty registry.
 */
export async function withGovernance<T>(flags: GovernanceFlags, mustExist: boolean, work: (gov: Governance) => T | Promise<T>): Promise<T> {
  const gov = openGovernance(flags.dir, {
    mustExist,
    ...(flags.actor ? { actor: flags.actor } : {}),
    ...(flags.signingKey ? { signingKey: flags.signingKey } : {}),
  });
  try {
    return await work(gov);
  } finally {
    gov.close();
  }
}

export function printJson(value: unknown): void {
  say(JSON.stringify(value, null, 2));
}

export function short(digest: string | null | undefined): string {
  return digest ? digest.slice(0, 12) : '-';
}

function humanSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function tagsByDigest(gov: Governance): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [tag, digest] of Object.entries(gov.registry.tags())) out.set(digest, [...(out.get(digest) ?? []), tag]);
  return out;
}

function formatValue(v: Json | undefined): string {
  return v === undefined ? '(none)' : typeof v === 'string' ? v : JSON.stringify(v);
}

function eventLine(e: TagEvent): string {
  return `${e.at}  ${e.action.padEnd(8)} ${e.tag} -> ${short(e.digest)} (was ${short(e.previousDigest)}) by ${e.actor}${e.reason ? `: ${e.reason}` : ''}`;
}

function parseMeta(text: string | undefined): Record<string, Json> {
  if (text === undefined) return {};
  try {
    const value = JSON.parse(text) as unknown;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, Json>;
  } catch {
    // Reported below with the same message as a non-object.
  }
  throw new UsageError('E_FLAG_VALUE', `--meta must be a JSON object, e.g. '{"epochs": 5}'; got '${text}'.`, {
    details: { flag: '--meta', value: text },
  });
}

/** `--expect`: a digest the tag must still point at, or 'none' for a tag that must be unset. */
function expectFlag(value: string | undefined): { from?: string | null } {
  if (value === undefined) return {};
  return { from: value.trim().toLowerCase() === 'none' ? null : value.trim() };
}

/** The public key to check the signed audit head against: the flag, else $RAMPART_AUDIT_PUBLIC_KEY. */
export function trustedPublicKey(flag: string | undefined): KeyObject | undefined {
  const path = flag ?? process.env.RAMPART_AUDIT_PUBLIC_KEY?.trim();
  return path ? loadAuditPublicKey(path) : undefined;
}

/** One line about the signed head of a verified chain. */
export function signedHeadLine(result: AuditVerifyResult): string {
  const s = result.signed;
  if (s === undefined) return 'signed head: none (sign it with --signing-key or rampart audit sign)';
  const trust = s.trusted
    ? 'verified with the given public key'
    : 'verified with the key stored beside it only; pass --public-key to trust it';
  return `signed head: entry ${s.seq} ${s.hash.slice(0, 16)}, key ${s.keyId} (${trust})${s.unsignedAfter > 0 ? `; ${s.unsignedAfter} entries after it are unsigned` : ''}`;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

interface LsFlags extends GovernanceFlags {
  kind?: ArtifactKind;
  tag?: string;
  name?: string;
}

export function registerRegistry(program: Command): void {
  const registry = program
    .command('registry')
    .description('The artifact registry: content-addressed data, models, plans, evaluations and reports with lineage and tags.');

  addGovernanceFlags(
    registry
      .command('ls')
      .description('List artifacts (oldest first).')
      .addOption(new Option('--kind <kind>', 'only this kind').choices(ARTIFACT_KINDS))
      .option('--tag <tag>', 'only the artifact this tag points to')
      .option('--name <text>', 'only names containing this text'),
  ).action((flags: LsFlags) =>
    withGovernance(flags, true, (gov) => {
      const items = gov.registry.list({
        ...(flags.kind ? { kind: flags.kind } : {}),
        ...(flags.tag ? { tag: flags.tag } : {}),
        ...(flags.name ? { name: flags.name } : {}),
      });
      const tags = tagsByDigest(gov);
      if (flags.json) return printJson(items.map((a) => ({ ...a, tags: tags.get(a.digest) ?? [] })));
      if (items.length === 0) return say(`no artifacts in ${gov.dir}${flags.kind || flags.tag || flags.name ? ' match' : ''}`);
      say(
        formatTable(
          ['digest', 'kind', 'name', 'size', 'created', 'tags'],
          items.map((a) => [short(a.digest), a.kind, a.name, humanSize(a.size), a.createdAt, (tags.get(a.digest) ?? []).join(',')]),
        ),
      );
    }),
  );

  addGovernanceFlags(
    registry
      .command('show')
      .description('Show one artifact: meta, parents, tags, files.')
      .argument('<ref>', "digest, unique prefix, or tag (e.g. 'production')"),
  ).action((ref: string, flags: GovernanceFlags) =>
    withGovernance(flags, true, (gov) => {
      const a = gov.registry.get(ref);
      const tags = tagsByDigest(gov).get(a.digest) ?? [];
      const files = a.storage === 'manifest' ? gov.registry.manifest(a.digest) : [];
      if (flags.json) return printJson({ ...a, tags, files });
      say(`${a.kind} ${a.name}`);
      say(`digest   ${a.digest}`);
      say(`size     ${humanSize(a.size)} (${a.storage}, ${a.mediaType})`);
      say(`created  ${a.createdAt} by ${a.actor}`);
      say(`tags     ${tags.join(', ') || '-'}`);
      const parents = a.parents.map((p) => gov.registry.get(p));
      say(`parents  ${parents.map((p) => `${short(p.digest)} (${p.kind} ${p.name})`).join(', ') || '-'}`);
      if (files.length > 0) {
        say('files');
        for (const f of files) say(`  ${f.path}  ${humanSize(f.size)}  ${short(f.digest)}`);
      }
      say(`meta     ${Object.keys(a.meta).length === 0 ? '{}' : JSON.stringify(a.meta, null, 2).replace(/\n/g, '\n         ')}`);
    }),
  );

  addGovernanceFlags(
    registry
      .command('diff')
      .description('Differences between two artifacts: meta, JSON content (metrics of evaluations), files of models.')
      .argument('<a>')
      .argument('<b>'),
  ).action((aRef: string, bRef: string, flags: GovernanceFlags) =>
    withGovernance(flags, true, (gov) => {
      const d = gov.registry.diff(aRef, bRef);
      if (flags.json) return printJson(d);
      say(`a: ${short(d.a.digest)} ${d.a.kind} ${d.a.name}`);
      say(`b: ${short(d.b.digest)} ${d.b.kind} ${d.b.name}`);
      if (d.sameContent) return say('same content');
      const rows = [...d.meta.map((c) => ({ ...c, path: `meta.${c.path}` })), ...d.content];
      if (rows.length > 0) {
        say('');
        say(
          formatTable(
            ['field', 'a', 'b', 'change'],
            rows.map((c) => [
              c.path || '(value)',
              formatValue(c.a),
              formatValue(c.b),
              c.delta === undefined ? '' : `${c.delta >= 0 ? '+' : ''}${c.delta}`,
            ]),
          ),
        );
        if (d.contentTruncated) say('(more content changes not shown; use --json)');
      }
      if (d.files.length > 0) {
        say('');
        say(
          formatTable(
            ['file', 'a', 'b'],
            d.files.map((f) => [f.path, short(f.a), short(f.b)]),
          ),
        );
      }
      if (rows.length === 0 && d.files.length === 0) say('no differences in meta or readable content (binary blobs differ)');
    }),
  );

  addGovernanceFlags(
    registry
      .command('add')
      .description('Register a file or directory (a model folder is stored file by file).')
      .argument('<path>', 'file or directory')
      .addOption(new Option('--kind <kind>', 'artifact kind').choices(ARTIFACT_KINDS).makeOptionMandatory())
      .requiredOption('--name <name>', 'a human name')
      .option('--parent <ref>', 'an artifact this was made from (repeatable)', collect)
      .option('--meta <json>', 'a JSON object of facts to keep with it'),
  ).action((path: string, flags: GovernanceFlags & { kind: ArtifactKind; name: string; parent?: string[]; meta?: string }) =>
    withGovernance(flags, false, (gov) => {
      const a = gov.registry.put({ kind: flags.kind, name: flags.name, path, meta: parseMeta(flags.meta), parents: flags.parent ?? [] });
      if (flags.json) return printJson(a);
      say(`${a.existed ? 'already registered' : 'registered'} ${a.kind} ${a.name}: ${a.digest}`);
    }),
  );

  addGovernanceFlags(
    registry
      .command('promote')
      .description('Point a tag (default: production) at an artifact, with a reason for the audit log.')
      .argument('<ref>', 'digest, unique prefix, or tag (e.g. candidate)')
      .option('--tag <tag>', 'the tag to move', 'production')
      .option('--expect <digest>', "move only if the tag still points here (compare-and-set; 'none' for an unset tag)")
      .requiredOption('--reason <text>', 'why (kept in the tag history and the audit log)'),
  ).action((ref: string, flags: GovernanceFlags & { tag: string; reason: string; expect?: string }) =>
    withGovernance(flags, true, (gov) => {
      const e = gov.registry.promote(ref, flags.tag, { reason: flags.reason, ...expectFlag(flags.expect) });
      if (flags.json) return printJson(e);
      const a = gov.registry.get(e.digest);
      say(
        `promoted ${a.kind} ${a.name} (${short(e.digest)}) to '${e.tag}'${e.previousDigest ? `, replacing ${short(e.previousDigest)}` : ''}`,
      );
    }),
  );

  addGovernanceFlags(
    registry
      .command('rollback')
      .description('Move a tag (default: production) back to where it pointed before.')
      .option('--tag <tag>', 'the tag to move back', 'production')
      .option('--to <ref>', 'roll back to this artifact instead of the previous one')
      .option('--expect <digest>', 'move only if the tag still points here (compare-and-set)')
      .requiredOption('--reason <text>', 'why (kept in the tag history and the audit log)'),
  ).action((flags: GovernanceFlags & { tag: string; reason: string; to?: string; expect?: string }) =>
    withGovernance(flags, true, (gov) => {
      const expect = expectFlag(flags.expect).from;
      const e = gov.registry.rollback(flags.tag, {
        reason: flags.reason,
        ...(flags.to ? { to: flags.to } : {}),
        ...(expect ? { from: expect } : {}),
      });
      if (flags.json) return printJson(e);
      say(`rolled '${e.tag}' back from ${short(e.previousDigest)} to ${short(e.digest)}`);
    }),
  );

  addGovernanceFlags(
    registry
      .command('tag')
      .description('Point a tag at an artifact (e.g. candidate).')
      .argument('<ref>')
      .argument('<tag>')
      .option('--reason <text>', 'why'),
  ).action((ref: string, tag: string, flags: GovernanceFlags & { reason?: string }) =>
    withGovernance(flags, true, (gov) => {
      const e = gov.registry.tag(ref, tag, flags.reason ? { reason: flags.reason } : {});
      if (flags.json) return printJson(e);
      say(`'${e.tag}' -> ${e.digest}`);
    }),
  );

  addGovernanceFlags(
    registry
      .command('history')
      .description('Tag history: every tag, promotion and rollback, oldest first.')
      .option('--tag <tag>', 'only this tag'),
  ).action((flags: GovernanceFlags & { tag?: string }) =>
    withGovernance(flags, true, (gov) => {
      const events = gov.registry.tagHistory(flags.tag);
      if (flags.json) return printJson(events);
      if (events.length === 0) return say('no tag events');
      for (const e of events) say(eventLine(e));
    }),
  );

  addGovernanceFlags(
    registry
      .command('lineage')
      .description('What an artifact was made from, and what was made from it.')
      .argument('<ref>')
      .option('--depth <n>', 'how many steps to follow (default: all)', (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1)
          throw new UsageError('E_FLAG_VALUE', `--depth must be a whole number >= 1; got '${v}'.`, {
            details: { flag: '--depth', value: v },
          });
        return n;
      }),
  ).action((ref: string, flags: GovernanceFlags & { depth?: number }) =>
    withGovernance(flags, true, (gov) => {
      const l = gov.registry.lineage(ref, flags.depth === undefined ? {} : { depth: flags.depth });
      if (flags.json) return printJson(l);
      const line = (n: { digest: string; kind: string; name: string; depth: number }, arrow: string): string =>
        `${'  '.repeat(n.depth)}${arrow} ${short(n.digest)} ${n.kind} ${n.name}`;
      say('made from:');
      if (l.ancestors.length === 0) say('  (nothing registered)');
      for (const n of l.ancestors) say(line(n, '<-'));
      say(`${short(l.artifact.digest)} ${l.artifact.kind} ${l.artifact.name}`);
      say('used by:');
      if (l.descendants.length === 0) say('  (nothing registered)');
      for (const n of l.descendants) say(line(n, '->'));
    }),
  );

  addGovernanceFlags(
    registry
      .command('verify')
      .description(
        'Re-hash every artifact, check each tag against its last audited move, the audit chain and SQLite integrity; exit 1 on any problem.',
      )
      .option('--public-key <path>', 'Ed25519 public key the audit head must be signed with (default: $RAMPART_AUDIT_PUBLIC_KEY)'),
  ).action((flags: GovernanceFlags & { publicKey?: string }) =>
    withGovernance(flags, true, (gov) => {
      const publicKey = trustedPublicKey(flags.publicKey);
      const check = gov.check(publicKey ? { publicKey } : {});
      if (flags.json) printJson(check);
      else {
        say(`database integrity: ${check.integrity}`);
        say(`artifacts checked: ${check.artifacts.artifacts}, damaged: ${check.artifacts.problems.length}`);
        for (const p of check.artifacts.problems) say(`  ${short(p.digest)}${p.path ? ` ${p.path}` : ''}: ${p.reason}`);
        say(`tags checked: ${check.tags.tags}, not matching the audit log: ${check.tags.problems.length}`);
        for (const p of check.tags.problems) say(`  ${p.reason}`);
        say(
          `audit chain: ${check.audit.ok ? `ok (${check.audit.entries} entries)` : `BROKEN at entry ${check.audit.firstBad?.seq}: ${check.audit.firstBad?.reason}`}`,
        );
        if (check.audit.ok) say(signedHeadLine(check.audit));
      }
      if (!check.ok) {
        const failed = [
          check.integrity !== 'ok' ? 'database' : '',
          check.artifacts.problems.length ? 'artifacts' : '',
          check.tags.problems.length ? 'tags' : '',
          check.audit.ok ? '' : 'audit chain',
        ];
        throw new RegistryError(
          'E_REGISTRY_CORRUPT',
          `The registry in ${gov.dir} failed its checks (${failed.filter(Boolean).join(', ')}).`,
        );
      }
    }),
  );
}
