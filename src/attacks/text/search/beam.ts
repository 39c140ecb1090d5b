/**
 * Beam search over the word-importance ranking.
 * Ebrahimi et al. 2018, "HotFlip: White-Box Adversarial Examples for Text Classification"
 * (beam over flips), https://arxiv.org/abs/1712.06751; the black-box variant of TextAttack
 * (Morris et al. 2020, https://arxiv.org/abs/2005.05909).
 *
 * Black-box. Same leave-one-out ranking as greedy; at each ranked word every kept state is
 * extended with every candidate, and the `beamWidth` best states (old ones included, so a
 * word may be skipped) go on. Width 1 is exactly the greedy search. Queries: 1 (clean) +
 * editable words + candidates × open beams per step.
 * Defaults: beam width 4, 4 candidates per transformation, no query cap, batches of 128,
 * 8 refinement passes of the best state (see greedy-wir.ts).
 */
import type { TextAttack } from '../types.js';
import { rankedSearchAttack, resolveSearchConfig } from './core.js';
import type { SearchConfig } from './example.js';
import { leaveOneOutRanker } from './walk.js';

export interface BeamSearchOptions {
  beamWidth?: number;
  candidatesPerTransformation?: number;
  maxQueries?: number;
  batchSize?: number;
  /** Refinement passes over the changed words when the budget is spent without a flip; 0 for none. */
  refinePasses?: number;
}

export const BEAM_DEFAULTS: SearchConfig = Object.freeze({
  candidatesPerTransformation: 4,
  beamWidth: 4,
  maxQueries: 0,
  batchSize: 128,
  refinePasses: 8,
});

/**
 * Creates the beam search.
 *
 * @throws UsageError `E_TEXT_ATTACK_OPTION` for an option that is not a valid integer.
 * @example const result = await beamSearch({ beamWidth: 3 }).run(model, texts, labels, threat);
 */
export function beamSearch(options: BeamSearchOptions = {}): TextAttack {
  const config = resolveSearchConfig('beam', options, BEAM_DEFAULTS);
  return rankedSearchAttack('beam', config, leaveOneOutRanker);
}
