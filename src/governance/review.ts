/**
 * Review, the human in the loop: a queue of captured examples (flagged, denied, broken
 * canary probes) and of borderline evaluation examples, each decided by a person as an
 * attack with its true label, benign, or relabelled. A decision records the reviewer and
 * the reason on the row and in the audit log, in one transaction; a later decision on the
 * same item overrides it, and the audit log keeps both. Only items decided `attack` or
 * `relabel` become training data (see adversarial-set.ts). The CLI (`rampart review`), the
 * HTTP API (operator role) and the console all call these functions.
 */
import { z } from 'zod';
import { InputError } from '../core/errors.js';
import type { CaptureListFilter, CaptureRecord, CapturedInput, ReviewStatus } from './capture-types.js';
import type { Governance } from './types.js';

/** A reviewer's decision. `attack` and `relabel` need the true label; `benign` may leave it out. */
export const reviewDecisionSchema = z
  .object({
    verdict: z.enum(['attack', 'benign', 'relabel']),
    label: z.number().int().min(0).max(100_000).optional(),
    reason: z.string().trim().min(1, 'a decision needs a reason').max(2000),
  })
  .strict();
export type ReviewDecision = z.infer<typeof reviewDecisionSchema>;

export interface ReviewItem {
  item: CaptureRecord;
  input: CapturedInput;
}

/**
 * The review queue: pending items oldest first by default.
 *
 * @throws RegistryError `E_CAPTURE_INPUT` for an unknown status or source.
 * @example listReview(gov, { status: 'pending', limit: 20 })
 */
export function listReview(gov: Governance, filter: CaptureListFilter = {}): CaptureRecord[] {
  const status: ReviewStatus | undefined = filter.status ?? 'pending';
  return gov.captures.list({ ...filter, status, afterSeq: filter.afterSeq ?? 0 });
}

/**
 * One item with its stored input.
 *
 * @throws RegistryError `E_CAPTURE_NOT_FOUND`, `E_CAPTURE_CORRUPT`.
 */
export function showReview(gov: Governance, id: string): ReviewItem {
  return { item: gov.captures.get(id), input: gov.captures.input(id) };
}

/**
 * Records a decision on item `id` by `reviewer`, audited as `review.decide`.
 *
 * @throws InputError `E_REVIEW_DECISION` for a decision that fails the schema or lacks the label it needs;
 * @throws RegistryError `E_CAPTURE_NOT_FOUND`.
 * @example decideReview(gov, 'cap_1f…', { verdict: 'attack', label: 7, reason: 'PGD-like noise on a 7' }, 'alice')
 */
export function decideReview(gov: Governance, id: string, decision: unknown, reviewer: string): CaptureRecord {
  const parsed = reviewDecisionSchema.safeParse(decision);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InputError(
      'E_REVIEW_DECISION',
      `The review decision is invalid at '${issue?.path.join('.') ?? ''}': ${issue?.message ?? 'invalid'}; ` +
        "send { verdict: 'attack' | 'benign' | 'relabel', label?: number, reason: string }.",
      { details: { issues: parsed.error.issues } },
    );
  }
  const d = parsed.data;
  if (d.verdict !== 'benign' && d.label === undefined) {
    throw new InputError(
      'E_REVIEW_DECISION',
      `A '${d.verdict}' decision needs the true label (the class a person sees); add label (--label N).`,
      { details: { id, verdict: d.verdict } },
    );
  }
  const who = reviewer.trim();
  if (who === '')
    throw new InputError('E_REVIEW_DECISION', 'A review decision needs a reviewer name; pass --reviewer or set RAMPART_ACTOR.');
  return gov.transaction(() => {
    const before = gov.captures.get(id);
    const trueLabel = d.label ?? (d.verdict === 'benign' ? before.predicted : null);
    gov.captures.setReview(id, { status: d.verdict, trueLabel, reviewer: who, reason: d.reason, at: new Date().toISOString() });
    gov.audit.append({
      action: 'review.decide',
      actor: who,
      subject: id,
      details: {
        verdict: d.verdict,
        label: trueLabel,
        reason: d.reason,
        previous: before.review.status,
        input: before.inputDigest,
        source: before.source,
        model: before.model,
      },
    });
    return gov.captures.get(id);
  });
}
