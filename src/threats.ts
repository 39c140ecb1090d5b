/** `rampart/threats`: norms and threat models (image, text and tabular). */
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
export {
  tabularConstraintsSchema,
  compileConstraints,
  projectRows,
  projection,
  scaledNorm,
  checkRows,
  describeViolations,
  tabularThreat,
  isTabularThreat,
  constraintsOf,
  type TabularConstraintsSpec,
  type TabularConstraints,
  type FeatureSpace,
  type Projection,
  type ConstraintViolation,
  type ConstraintRule,
  type TabularThreat,
} from './threats/tabular/index.js';
