/**
 * Adversarial sets: reviewed attacks as versioned training and gating data. A set is a
 * registry artifact (`adversarial-set`) holding, per example, its input, its true label
 * (the reviewer's), the threat it belongs to and where it came from. Content is canonical
 * JSON with items sorted by input digest, so the same examples are the same artifact
 * (deduplicated by the registry), and an input confirmed twice appears once. Lineage
 * points at the models the examples were captured from, the evaluations that produced
 * them, and the previous version of the set with the same name.
 */
import { z } from 'zod';
import { InputError, RegistryError } from '../core/errors.js';
import { canonicalJson, sha256Hex } from './canonical-json.js';
import type { CaptureRecord } from './capture-types.js';
import type { Governance, PutResult, Registry } from './types.js';

const item = z
  .object({
    /** The capture's input digest. */
    digest: z.string().length(64),
    label: z.number().int().min(0),
    threat: z.string().nullable(),
    source: z.string(),
    x: z.array(z.number()).optional(),
    text: z.string().optional(),
  })
  .strict();
export const adversarialSetSchema = z
  .object({
    kind: z.literal('rampart.adversarial-set'),
    schemaVersion: z.literal(1),
    channel: z.enum(['image', 'text']),
    shape: z.array(z.number().int().positive()).nullable(),
    items: z.array(item).max(1_000_000),
  })
  .strict();
export type AdversarialSet = z.infer<typeof adversarialSetSchema>;
export type AdversarialSetItem = z.infer<typeof item>;

export interface BuildAdversarialSetOptions {
  name: string;
  /** Capture ids to include; default: every item reviewed as `attack` or `relabel`. */
  ids?: readonly string[];
  /** Only items decided after this ISO time (a refresh takes what was reviewed since the last set). */
  decidedAfter?: string;
  /** Only this channel when the queue holds both (default: the channel of the first item). */
  channel?: 'image' | 'text';
}

export interface BuiltAdversarialSet {
  artifact: PutResult;
  set: AdversarialSet;
  /** Version of this name: 1 + the number of earlier, different sets with the same name. */
  version: number;
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Builds and registers an adversarial set from reviewed captures.
 *
 * @throws InputError `E_ADVSET_EMPTY` when no confirmed item matches; `E_ADVSET_MIXED` for items of another channel or shape
 *   among explicit ids; RegistryError `E_CAPTURE_NOT_FOUND` for an unknown id.
 * @example const { artifact } = buildAdversarialSet(gov, { name: 'mnist-confirmed' });
 */
export function buildAdversarialSet(gov: Governance, options: BuildAdversarialSetOptions): BuiltAdversarialSet {
  const confirmed = (c: CaptureRecord): boolean => c.review.status === 'attack' || c.review.status === 'relabel';
  let records: CaptureRecord[];
  if (options.ids) {
    records = options.ids.map((id) => gov.captures.get(id));
    const notConfirmed = records.find((c) => !confirmed(c));
    if (notConfirmed) {
      throw new InputError(
        'E_ADVSET_UNREVIEWED',
        `${notConfirmed.id} is '${notConfirmed.review.status}', not a confirmed attack; decide it first (rampart review decide ${notConfirmed.id} --verdict attack --label N).`,
      );
    }
  } else {
    records = [
      ...gov.captures.list({ status: 'attack', afterSeq: 0, limit: 100_000 }),
      ...gov.captures.list({ status: 'relabel', afterSeq: 0, limit: 100_000 }),
    ];
  }
  if (options.decidedAfter) records = records.filter((c) => (c.review.decidedAt ?? '') > (options.decidedAfter as string));
  const channel = options.channel ?? records[0]?.channel;
  const shape = records.find((c) => c.channel === channel)?.shape ?? null;
  const fits = (c: CaptureRecord): boolean => c.channel === channel && JSON.stringify(c.shape) === JSON.stringify(shape);
  if (options.ids && records.some((c) => !fits(c))) {
    throw new InputError(
      'E_ADVSET_MIXED',
      `The chosen items mix channels or input shapes; build one set per model input (${channel}, ${JSON.stringify(shape)}).`,
    );
  }
  records = records.filter(fits);
  if (records.length === 0 || !channel) {
    throw new InputError(
      'E_ADVSET_EMPTY',
      `No confirmed attacks to build '${options.name}' from${options.decidedAfter ? ` since ${options.decidedAfter}` : ''}; review captured items first (rampart review ls).`,
    );
  }
  // The latest decision wins when the same input was confirmed more than once.
  records.sort((a, b) => (a.review.decidedAt ?? '').localeCompare(b.review.decidedAt ?? '') || a.seq - b.seq);
  const byDigest = new Map<string, AdversarialSetItem>();
  for (const c of records) {
    const input = gov.captures.input(c.id);
    byDigest.set(c.inputDigest, {
      digest: c.inputDigest,
      label: c.review.trueLabel as number,
      threat: c.threat,
      source: c.source,
      ...(input.kind === 'image' ? { x: Array.from(input.x) } : { text: input.text }),
    });
  }
  const items = [...byDigest.values()].sort((a, b) => a.digest.localeCompare(b.digest));
  const set: AdversarialSet = { kind: 'rampart.adversarial-set', schemaVersion: 1, channel, shape, items };
  const digest = sha256Hex(canonicalJson(set));
  const earlier = gov.registry.list({ kind: 'adversarial-set' }).filter((a) => a.name === options.name && a.digest !== digest);
  const parents = new Set<string>(earlier.length > 0 ? [(earlier.at(-1) as { digest: string }).digest] : []);
  for (const c of records) {
    for (const ref of [c.model, c.note.evaluation]) {
      if (typeof ref === 'string' && HEX64.test(ref) && gov.registry.find(ref)) parents.add(ref);
    }
  }
  const threats: Record<string, number> = {};
  for (const i of items) threats[i.threat ?? 'unknown'] = (threats[i.threat ?? 'unknown'] ?? 0) + 1;
  // Identical content is the same artifact (put returns it, with the version it got first).
  const artifact = gov.registry.put({
    kind: 'adversarial-set',
    name: options.name,
    json: set,
    meta: {
      version: earlier.length + 1,
      count: items.length,
      channel,
      shape,
      threats,
      captures: records.map((c) => c.id),
      reviewedUntil: records.reduce((m, c) => ((c.review.decidedAt ?? '') > m ? (c.review.decidedAt as string) : m), ''),
    },
    parents: [...parents],
  });
  return { artifact, set, version: Number(artifact.meta.version) };
}

/**
 * Reads a registered adversarial set.
 *
 * @throws RegistryError `E_ADVSET_INVALID` when the artifact is not an adversarial set; the registry's errors for a bad ref.
 */
export function readAdversarialSet(registry: Registry, ref: string): { digest: string; name: string; set: AdversarialSet } {
  const artifact = registry.get(ref);
  const parsed = artifact.kind === 'adversarial-set' ? adversarialSetSchema.safeParse(registry.readJson(artifact.digest)) : undefined;
  if (!parsed?.success) {
    throw new RegistryError(
      'E_ADVSET_INVALID',
      `${artifact.kind} '${artifact.name}' (${artifact.digest.slice(0, 12)}) is not an adversarial set; list them with 'rampart registry ls --kind adversarial-set'.`,
    );
  }
  return { digest: artifact.digest, name: artifact.name, set: parsed.data };
}
