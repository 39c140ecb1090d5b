/** Text classifiers: the shared contract, the hashed n-gram featurizer and MLP, training, storage. */
export type { TextClassifier, TextWhiteBox } from './text-classifier.js';
export { HashedNgramFeaturizer, DEFAULT_FEATURIZER, type FeaturizerConfig, type SparseVector } from './featurizer.js';
export { HashedTextClassifier, buildHashedTextModel, type HashedTextModelInfo } from './hashed-classifier.js';
export {
  trainTextClassifier,
  rateAt,
  type TrainTextOptions,
  type TextTrainResult,
  type TextTrainProgress,
  type TextAugmentOptions,
  type AugmentPhase,
} from './train.js';
export { trainTextAdversarially, type AdversarialRoundsOptions, type AdversarialRound, type AdversarialRoundsResult } from './adversarial-rounds.js';
export { saveTextClassifier, loadTextClassifier, saveDecisionThreshold, readDecisionThreshold, TEXT_CLASSIFIER_FORMAT, DECISION_THRESHOLD_FILE, type SavedDecisionThreshold } from './store.js';
export { evaluateTextClassifier, type TextClassifierMetrics } from './metrics.js';
export { withDecisionThreshold, chooseDecisionThreshold, type DecisionThresholdOptions, type ChooseThresholdOptions, type ThresholdChoice } from './decision-threshold.js';
export { salientPerturbation } from './salient-perturbation.js';
