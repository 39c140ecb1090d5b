/** Text classifiers: the shared contract, the hashed n-gram featurizer and MLP, storage, metrics (training is in `training/text`). */
export type { TextClassifier, TextWhiteBox } from './text-classifier.js';
export { HashedNgramFeaturizer, DEFAULT_FEATURIZER, type FeaturizerConfig, type SparseVector } from './featurizer.js';
export { CharCnnTextClassifier, buildCharCnnModel, DEFAULT_CHAR_CNN, type CharCnnConfig, type CharCnnModelInfo } from './char-cnn.js';
export { saveCharCnnClassifier, loadCharCnnClassifier } from './char-cnn-store.js';
export { meanTextEnsemble } from './ensemble.js';
export { HashedTextClassifier, buildHashedTextModel, type HashedTextModelInfo } from './hashed-classifier.js';
export {
  saveTextClassifier,
  loadTextClassifier,
  saveDecisionThreshold,
  readDecisionThreshold,
  TEXT_CLASSIFIER_FORMAT,
  DECISION_THRESHOLD_FILE,
  type SavedDecisionThreshold,
} from './store.js';
export { evaluateTextClassifier, type TextClassifierMetrics } from './metrics.js';
export {
  withDecisionThreshold,
  chooseDecisionThreshold,
  type DecisionThresholdOptions,
  type ChooseThresholdOptions,
  type ThresholdChoice,
} from './decision-threshold.js';
