/** `rampart/threats`: norms and threat models (image and text). */
export {
  getNorm,
  isSparseNorm,
  linf,
  l2,
  lpNormId,
  NORM_IDS,
  THREAT_NORM_IDS,
  type Norm,
  type NormId,
  type ThreatNormId,
} from './threats/norms.js';
export { l0, patch, occlusion, SPARSE_NORM_IDS, type SparseNormId } from './threats/sparse-norms.js';
export {
  threatModel,
  threatsAt,
  parseEpsilons,
  type ThreatModel,
  type ThreatModelSpec,
  type ThreatGoal,
  type ThreatTechnique,
} from './threats/threat-model.js';
export {
  textThreatModel,
  maxChangedWords,
  TEXT_FAMILIES,
  MAX_CHAR_EDITS_PER_WORD,
  type TextThreatSpec,
  type TextFamily,
  type TextBudget,
  type TextThreatModel,
} from './threats/text-threat.js';
