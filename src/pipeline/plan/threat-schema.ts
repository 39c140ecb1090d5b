/**
 * The plan's threat scenarios as a schema: per channel (image, text, tabular) with a stable
 * id, the adversary's budget and goal, and who owns the risk. Part of `planSchema`.
 */
import { z } from 'zod';
import { NORM_IDS, THREAT_NORM_IDS } from '../../threats/norms.js';
import { tabularConstraintsSchema } from '../../threats/tabular/schema.js';
import { DEFAULT_MAX_WORDS, MAX_WORDS_CAP } from '../../threats/text-threat.js';

/** Plan ids: threat ids and the plan name. */
export const planId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]*$/, 'must be lower-case letters, digits, dots, dashes or underscores, e.g. linf-0.3');
const id = planId;
const wholePositive = z.number().int().min(1);

export const CHANNELS = ['image', 'text', 'tabular'] as const;
export const TECHNIQUES = ['gradient', 'score-based', 'decision-based', 'transfer', 'character', 'word', 'sentence', 'feature'] as const;
export const GOALS = ['untargeted', 'targeted'] as const;
export const LIKELIHOODS = ['rare', 'unlikely', 'possible', 'likely', 'almost-certain'] as const;
export const IMPACTS = ['negligible', 'minor', 'moderate', 'major', 'severe'] as const;
export const TEXT_FAMILIES = ['char-edit', 'typo', 'homoglyph', 'invisible', 'leet', 'split', 'case', 'synonym'] as const;

const threatBase = {
  id,
  technique: z.enum(TECHNIQUES),
  goal: z.enum(GOALS).default('untargeted'),
  /** For targeted threats: the class the adversary wants. */
  target: z.number().int().min(0).optional(),
  likelihood: z.enum(LIKELIHOODS),
  impact: z.enum(IMPACTS),
  owner: z.string().min(1),
  description: z.string().optional(),
};

/** Checks within one threat, so they are reported even when other parts of the plan are broken. */
function checkThreat(
  t: { channel: string; goal: string; target?: number | undefined; norm?: string; epsilon?: number },
  ctx: z.RefinementCtx,
): void {
  // Tabular budgets are in the features' own units; only images are in [0, 1].
  if (t.channel === 'image' && t.norm === 'linf' && t.epsilon !== undefined && t.epsilon > 1) {
    ctx.addIssue({ code: 'custom', path: ['epsilon'], message: `must be ≤ 1 for an L∞ threat on inputs in [0, 1] (got ${t.epsilon})` });
  }
  // Sparse budgets count pixels (l0) or a box side in pixels (patch, occlusion).
  if (t.channel === 'image' && (t.norm === 'l0' || t.norm === 'patch' || t.norm === 'occlusion') && !Number.isInteger(t.epsilon)) {
    ctx.addIssue({
      code: 'custom',
      path: ['epsilon'],
      message: `must be a whole number of pixels for a ${t.norm} threat (${t.norm === 'l0' ? 'pixels changed' : 'side of the box'}; got ${t.epsilon})`,
    });
  }
  if (t.goal === 'targeted' && t.target === undefined)
    ctx.addIssue({ code: 'custom', path: ['target'], message: 'is required when goal is targeted (the class the adversary wants)' });
}

const imageThreat = z
  .object({
    ...threatBase,
    channel: z.literal('image'),
    /** `linf`/`l2` (epsilon in [0, 1] units), `l0` (pixels changed), `patch`/`occlusion` (box side in pixels). */
    norm: z.enum(THREAT_NORM_IDS),
    epsilon: z.number().positive(),
  })
  .strict()
  .superRefine(checkThreat);

const textThreat = z
  .object({
    ...threatBase,
    channel: z.literal('text'),
    /** The adversary's edit budget, as the text attacks take it. */
    budget: z
      .object({
        /** Largest fraction of the words in a text that may change. */
        maxWordFraction: z.number().gt(0).max(1),
        /**
         * Most words changed in one message, on top of the fraction (a message must stay
         * readable); default 10. `null` leaves only the fraction (a stress threat).
         */
        maxWords: wholePositive.max(MAX_WORDS_CAP).nullable().default(DEFAULT_MAX_WORDS),
        /** Largest number of character edits within one word. */
        maxCharEditsPerWord: wholePositive.default(2),
        /** Tokens never changed (brand names, URLs the attack must keep). */
        protectedTokens: z.array(z.string()).optional(),
      })
      .strict(),
    /** Perturbation families the adversary may combine. */
    families: z.array(z.enum(TEXT_FAMILIES)).min(1).optional(),
  })
  .strict()
  .superRefine(checkThreat);

/**
 * A tabular threat's constraints: `tabularConstraintsSchema` without `norm` (the threat's
 * `norm` and `epsilon` are the overall budget), with `scale` saying how each feature's change
 * is measured against it (default `range`).
 */
export const tabularThreatConstraintsSchema = tabularConstraintsSchema
  .omit({ norm: true })
  .extend({ scale: tabularConstraintsSchema.shape.norm.shape.scale });

const tabularThreat = z
  .object({
    ...threatBase,
    channel: z.literal('tabular'),
    norm: z.enum(NORM_IDS),
    epsilon: z.number().positive(),
    features: z.array(z.string()).optional(),
    /** What the attacker may change (tabularThreatConstraintsSchema); names are checked against the CSV header at load. */
    constraints: tabularThreatConstraintsSchema.optional(),
  })
  .strict()
  .superRefine(checkThreat);

export const threatSchema = z.discriminatedUnion('channel', [imageThreat, textThreat, tabularThreat]);
