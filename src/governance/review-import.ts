/**
 * Borderline evaluation results into the review queue: the adversarial examples an
 * evaluation saved (`examples.json`, `rampart attack --save-examples`) that sit near the
 * decision boundary (the clean input was right, the perturbed one within the threat's
 * budget was wrong), and the text rewrites of the text stage (`text-examples.json`). They
 * enter the capture store with source `evaluation`, the evaluation they came from in their
 * note, and their true label, so a reviewer confirms rather than guesses.
 */
import { z } from 'zod';
import { InputError } from '../core/errors.js';
import { captureLimitsSchema, type CaptureInput, type CaptureWriteResult } from './capture-types.js';
import type { Governance } from './types.js';

const imageSet = z.object({
  model: z.string(),
  threat: z.string(),
  attack: z.string().optional(),
  shape: z.array(z.number().int().positive()).max(4),
  items: z
    .array(
      z.object({
        label: z.number().int().min(0),
        cleanPrediction: z.number().int().min(0),
        adversarialPrediction: z.number().int().min(0),
        adversarial: z.array(z.number()),
      }),
    )
    .max(100_000),
});
const textSet = z.object({
  model: z.string(),
  threat: z.string(),
  items: z
    .array(z.object({ adversarial: z.string(), label: z.string(), originalPrediction: z.string(), adversarialPrediction: z.string() }))
    .max(100_000),
});
const examplesFile = z.union([imageSet, z.array(z.union([imageSet, textSet])).max(64)]);

export interface ImportExamplesOptions {
  /** The evaluation artifact (digest) the examples belong to, recorded in each item's note. */
  evaluation?: string;
  /** Class names, to turn a text set's label names into indices. */
  classes?: readonly string[];
  /** Only examples near the boundary (default true): the clean input right, the adversarial one wrong. */
  borderlineOnly?: boolean;
  /** At most this many items per call (default 1000). */
  max?: number;
}

/**
 * Queues an examples file's borderline items for review.
 *
 * @throws InputError `E_REVIEW_IMPORT` when `value` is not an examples file, or a text set's labels cannot be mapped.
 * @example importEvaluationExamples(gov, JSON.parse(readFileSync('runs/x/eval/examples.json', 'utf8')), { evaluation: digest })
 */
export function importEvaluationExamples(gov: Governance, value: unknown, options: ImportExamplesOptions = {}): CaptureWriteResult {
  const parsed = examplesFile.safeParse(value);
  if (!parsed.success) {
    throw new InputError(
      'E_REVIEW_IMPORT',
      `Not an examples file (${parsed.error.issues[0]?.message ?? 'invalid'} at '${parsed.error.issues[0]?.path.join('.') ?? ''}'); ` +
        "give the examples.json an evaluation wrote, or 'rampart attack --save-examples' output.",
    );
  }
  const sets = Array.isArray(parsed.data) ? parsed.data : [parsed.data];
  const borderline = options.borderlineOnly ?? true;
  const max = options.max ?? 1000;
  const at = new Date().toISOString();
  const note = { ...(options.evaluation ? { evaluation: options.evaluation } : {}) };
  const items: CaptureInput[] = [];
  for (const set of sets) {
    const base = { source: 'evaluation' as const, model: set.model, client: 'evaluation', at, threat: set.threat, decisions: [] };
    if ('shape' in set) {
      for (const e of set.items) {
        if (borderline && !(e.cleanPrediction === e.label && e.adversarialPrediction !== e.label)) continue;
        items.push({ ...base, x: e.adversarial, shape: set.shape, label: e.label, predicted: e.adversarialPrediction, note });
      }
      continue;
    }
    const index = (name: string): number => {
      const i = options.classes?.indexOf(name) ?? -1;
      if (i >= 0) return i;
      if (/^\d+$/.test(name)) return Number(name);
      throw new InputError(
        'E_REVIEW_IMPORT',
        `Text example label '${name}' is not a class index; pass the model's classes (--classes ${JSON.stringify(name)},...).`,
      );
    };
    for (const e of set.items) {
      const predicted = e.adversarialPrediction === 'another class' ? null : index(e.adversarialPrediction);
      items.push({ ...base, text: e.adversarial, label: index(e.label), predicted, note });
    }
  }
  // Evaluation examples are not personal data: no redaction, and the store's usual limits.
  return gov.captures.write(items.slice(0, max), { limits: captureLimitsSchema.parse({}) });
}
