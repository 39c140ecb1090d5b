/**
 * Tags: compare-and-set moves, each written with its history row and its audit entry in
 * one transaction, and the check that ties the `tags` table back to the audit chain. The
 * chain is the record: a tag whose row disagrees with its last audited move was edited
 * outside Rampart (a raw SQL UPDATE of `production`, say) and fails `registry verify`.
 */
import { RegistryError } from '../core/errors.js';
import type { GovernanceContext } from './context.js';
import type { RegistryStore } from './registry-store.js';
import type { AuditEntry, AuditLog, TagAction, TagCheck, TagEvent } from './types.js';

const TAG_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const TAG_ACTIONS: readonly string[] = ['tag', 'promote', 'rollback'] satisfies TagAction[];

/** @throws RegistryError `E_REGISTRY_BAD_TAG` for a name that is not a valid tag. */
export function checkTagName(tag: string): void {
  if (typeof tag !== 'string' || !TAG_PATTERN.test(tag) || /^[0-9a-f]+$/i.test(tag)) {
    throw new RegistryError(
      'E_REGISTRY_BAD_TAG',
      `Tag ${JSON.stringify(tag)} is not valid: use 1–64 letters, digits, '.', '_' or '-', ` +
        'starting with a letter or digit and not only hex digits ' +
        "(so it cannot be read as a digest), e.g. 'production' or 'candidate'.",
      { details: { tag } },
    );
  }
}

/** @throws RegistryError `E_REGISTRY_REASON` when a promotion or rollback comes without a reason. */
export function requireReason(reason: unknown, what: string): string {
  if (typeof reason !== 'string' || reason.trim() === '') {
    throw new RegistryError(
      'E_REGISTRY_REASON',
      `A ${what} needs a reason (it goes into the audit log), ` + "e.g. { reason: 'gate passed on plan v3' } or --reason.",
    );
  }
  return reason.trim();
}

/** The tag's deployment stack: promotions push, rollbacks pop; the top is the current target. */
export function stackOf(events: readonly TagEvent[]): string[] {
  const stack: string[] = [];
  for (const e of events) {
    if (e.action === 'rollback') stack.pop();
    if (stack[stack.length - 1] !== e.digest) stack.push(e.digest);
  }
  return stack;
}

/** One move, already resolved to digests; `from` is what the caller saw. */
export interface ResolvedMove {
  tag: string;
  from: string | null;
  to: string;
  action: TagAction;
  reason: string | null;
  actor?: string;
}

/**
 * The compare of compare-and-set: returns where `tag` points, which must be `from`. A caller that
 * derives the move from the current state (a rollback's target) checks this first, so a stale
 * decision is reported as a moved tag rather than as whatever the new state makes of it.
 *
 * @throws RegistryError `E_REGISTRY_TAG_MOVED` when the tag no longer points at `from`.
 */
export function expectTagAt(store: RegistryStore, tag: string, from: string | null): string | null {
  const current = store.tagOf(tag) ?? null;
  if (current !== from) {
    throw new RegistryError(
      'E_REGISTRY_TAG_MOVED',
      `Tag '${tag}' no longer points at ${from?.slice(0, 12) ?? 'nothing'}: ` +
        `it points at ${current?.slice(0, 12) ?? 'nothing'}, ` +
        'so another writer moved it since it was read; read the tag again and retry.',
      { details: { tag, expected: from, actual: current } },
    );
  }
  return current;
}

/**
 * Moves a tag if it still points at `from`. Must run inside the caller's transaction, so
 * the read, the history row, the tag row and the audit entry are one step.
 *
 * @throws RegistryError `E_REGISTRY_TAG_MOVED` when the tag no longer points at `from`;
 *   `E_REGISTRY_ALREADY_TAGGED` when it already points at `to`.
 */
export function compareAndSetTag(ctx: GovernanceContext, store: RegistryStore, audit: AuditLog, move: ResolvedMove): TagEvent {
  const current = expectTagAt(store, move.tag, move.from);
  if (current === move.to) {
    const verb = move.action === 'tag' ? 'move' : move.action;
    throw new RegistryError('E_REGISTRY_ALREADY_TAGGED', `${move.to.slice(0, 12)} is already '${move.tag}'; nothing to ${verb}.`, {
      details: { digest: move.to, tag: move.tag },
    });
  }
  const target = store.row(move.to);
  if (target === undefined)
    throw new RegistryError('E_REGISTRY_NOT_FOUND', `No artifact ${move.to.slice(0, 12)} to point '${move.tag}' at.`, {
      details: { digest: move.to },
    });
  const actor = move.actor?.trim() || ctx.actor;
  const at = ctx.now();
  const event = store.insertEvent({
    tag: move.tag,
    digest: move.to,
    previous_digest: current,
    action: move.action,
    reason: move.reason,
    actor,
    at,
  });
  store.upsertTag(move.tag, move.to, at);
  audit.append({
    action: move.action,
    subject: move.tag,
    actor,
    details: {
      tag: move.tag,
      digest: move.to,
      previous: current,
      kind: target.kind,
      name: target.name,
      reason: move.reason,
      event: event.id,
    },
  });
  return event;
}

function isTagMove(entry: AuditEntry): boolean {
  return TAG_ACTIONS.includes(entry.action) && entry.details.tag === entry.subject && typeof entry.details.digest === 'string';
}

/**
 * Checks every tag against the audit chain: its history rows pair one to one, in order,
 * with its audited moves, and its current target is where the last audited move put it.
 * (The chain itself is checked by `audit.verify`; this ties the mutable tables to it.)
 */
export function checkTags(store: RegistryStore, audit: AuditLog): TagCheck {
  const problems: TagCheck['problems'] = [];
  const current = store.tags();
  const moves = new Map<string, AuditEntry[]>();
  for (const entry of audit.list()) {
    if (!isTagMove(entry)) continue;
    moves.set(entry.subject, [...(moves.get(entry.subject) ?? []), entry]);
  }
  const history = new Map<string, TagEvent[]>();
  for (const e of store.events()) history.set(e.tag, [...(history.get(e.tag) ?? []), e]);
  const names = [...new Set([...Object.keys(current), ...moves.keys(), ...history.keys()])].sort();
  for (const tag of names) {
    const audited = moves.get(tag) ?? [];
    const events = history.get(tag) ?? [];
    const last = audited[audited.length - 1];
    const pointsAt = current[tag];
    if (last === undefined) {
      problems.push({
        tag,
        reason:
          `tag '${tag}' points at ${pointsAt?.slice(0, 12) ?? 'nothing'} but no audited move ever set it: ` +
          'it was written outside Rampart',
      });
      continue;
    }
    if (pointsAt !== last.details.digest) {
      problems.push({
        tag,
        reason:
          `tag '${tag}' points at ${pointsAt?.slice(0, 12) ?? 'nothing'} but its last audited move (entry ${last.seq}) set it to ` +
          `${String(last.details.digest).slice(0, 12)}: the tags table was edited outside Rampart`,
      });
    }
    if (events.length !== audited.length) {
      problems.push({
        tag,
        reason:
          `tag '${tag}' has ${events.length} history rows but the audit log records ${audited.length} moves: ` + 'its history was edited',
      });
      continue;
    }
    events.forEach((e, i) => {
      const a = audited[i] as AuditEntry;
      if (e.digest !== a.details.digest || e.action !== a.action || e.previousDigest !== (a.details.previous ?? null)) {
        problems.push({
          tag,
          reason:
            `history row ${e.id} of tag '${tag}' (${e.action} -> ${e.digest.slice(0, 12)}) ` +
            `differs from audit entry ${a.seq}: its history was edited`,
        });
      }
    });
  }
  return { tags: Object.keys(current).length, problems };
}
