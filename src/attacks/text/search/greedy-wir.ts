/**
 * Greedy search by word importance ranking.
 * Jin et al. 2020, "Is BERT Really Robust? A Strong Baseline for Natural Language Attack on
 * Text Classification and Entailment" (TextFooler), https://arxiv.org/abs/1907.11932;
 * Gao et al. 2018, DeepWordBug, https://arxiv.org/abs/1801.04354.
 *
 * Black-box. Words are ranked by the drop in the true-class probability when each is left
 * out (one query per editable word); then, most important first, the best candidate of the
 * allowed families is kept if it lowers that probability, until the label flips or the
 * word budget is spent. Under a query cap, fewer candidates per word are drawn when the
 * queries left would not reach the end of the word budget; a family whose candidates never
 * move the model (case flips against a lower-casing filter) is dropped after three words;
 * and when the budget is spent without a flip, leftover queries refine the changed words
 * (fresh candidates and one-edit neighbours of the kept ones). Queries: 1 (clean) +
 * editable words + candidates tried (+ refinement).
 * Defaults: 4 candidates per transformation, no query cap, batches of 128 texts, 8
 * refinement passes.
 */
import type { TextAttack } from '../types.js';
import { rankedSearchAttack, resolveSearchConfig } from './core.js';
import type { SearchConfig } from './example.js';
import { leaveOneOutRanker } from './walk.js';

export interface GreedyWirOptions {
  candidatesPerTransformation?: number;
  maxQueries?: number;
  batchSize?: number;
  /** Refinement passes over the changed words when the budget is spent without a flip; 0 for none. */
  refinePasses?: number;
}

export const GREEDY_DEFAULTS: SearchConfig = Object.freeze({
  candidatesPerTransformation: 4,
  beamWidth: 1,
  maxQueries: 0,
  batchSize: 128,
  refinePasses: 8,
});

/**
 * Creates the greedy word-importance search.
 *
 * @throws UsageError `E_TEXT_ATTACK_OPTION` for an option that is not a valid integer.
 * @example const result = await greedyWir().run(model, texts, labels, threat, { seed: 1 });
 */
export function greedyWir(options: GreedyWirOptions = {}): TextAttack {
  const config = resolveSearchConfig('greedy', { ...options, beamWidth: 1 }, GREEDY_DEFAULTS);
  return rankedSearchAttack('greedy', config, leaveOneOutRanker);
}
