/** `rampart/attacks`: image, text and tabular attacks, their registry and the attack wrapper. */
export type {
  TextTransformation,
  TextChange,
  TextAttack,
  TextAttackResult,
  TextAttackRunOptions,
  TextAttackProgress,
} from './attacks/text/types.js';
export {
  tokenize as tokenizeText,
  joinTokens as joinTextTokens,
  wordTokenIndices,
  countWords as countTextWords,
  protectedMask,
  charEditDistance,
  type TextToken,
} from './attacks/text/tokens.js';
export {
  textTransformations,
  textTransformationIds,
  getTextTransformation,
  transformationsOf,
  textAttackIds,
  describeTextAttack,
  createTextAttack,
  type TextAttackId,
} from './attacks/text/registry.js';
export { randomPerturbation, randomPerturbationDetailed } from './attacks/text/perturb.js';
export { synonymsOf, likelyPos, lookupLemma, releaseWordNet, type WordNetPos, type SynonymResult } from './attacks/text/wordnet.js';
export { homoglyphsOf, keyboardNeighbours, INVISIBLE_CHARACTERS, LEET_MAP } from './attacks/text/transformations/index.js';
export { greedyWir, type GreedyWirOptions } from './attacks/text/search/greedy-wir.js';
export { beamSearch, type BeamSearchOptions } from './attacks/text/search/beam.js';
export { gradientGuided, type GradientGuidedOptions } from './attacks/text/search/gradient.js';
export { textAttackMetrics, measureTextAttack, type TextAttackMetrics } from './attacks/text/metrics.js';
export type { Attack, AttackGoal, AttackResult, AttackRunOptions, AttackProgress } from './attacks/types.js';
export { fgsm, type FgsmOptions } from './attacks/image/fgsm.js';
export { pgd, type PgdOptions } from './attacks/image/pgd.js';
export {
  apgdCe,
  apgdDlr,
  apgdT,
  apgdAttack,
  apgdCheckpoints,
  type ApgdOptions,
  type ApgdTOptions,
  type ApgdConfig,
} from './attacks/image/apgd.js';
export { square, squareAttack, type SquareOptions, type SquareConfig } from './attacks/image/square.js';
export { deepFool, deepFoolAttack, type DeepFoolOptions, type DeepFoolConfig } from './attacks/image/deepfool.js';
export { cw, cwAttack, type CwOptions, type CwConfig } from './attacks/image/cw.js';
export { hopSkipJump, hopSkipJumpAttack, type HopSkipJumpOptions, type HopSkipJumpConfig } from './attacks/image/hop-skip-jump.js';
export { dlrLoss, targetedDlrLoss } from './attacks/losses.js';
export { gradientDescentAttack, type GradientDescentConfig } from './attacks/image/gradient-descent.js';
export { attackIds, attackNorms, attackOptionNames, attacksForNorm, createAttack, describeAttack } from './attacks/registry.js';
export { adversarialPatch, patchAttack, type PatchOptions } from './attacks/image/patch.js';
export { universal, universalAttack, type UniversalOptions } from './attacks/image/universal.js';
export { sparseL0, sparseL0Attack, type SparseL0Options } from './attacks/image/sparse-l0.js';
export { occlusionSweep, occlusionAttack, type OcclusionOptions } from './attacks/image/occlusion.js';
export { transferAttack } from './attacks/image/transfer.js';
export { wrapAttack, attackOf, type AttackAccess, type AttackContext, type AttackOutcome, type AttackSearch } from './attacks/wrapper.js';
export { perturb, type PerturbOptions } from './attacks/image/ascent.js';
export {
  tabularPgd,
  tabularApgd,
  lowProFool,
  tabularRandomSearch,
  wrapTabularAttack,
  type TabularPgdOptions,
  type TabularApgdOptions,
  type LowProFoolOptions,
  type TabularRandomSearchOptions,
  type TabularContext,
} from './attacks/tabular/index.js';
