/** Training text classifiers: phased adversarial augmentation, salient perturbation, attack-and-retrain rounds. */
export {
  trainTextClassifier,
  rateAt,
  type TrainTextOptions,
  type TextTrainResult,
  type TextTrainProgress,
  type TextAugmentOptions,
  type AugmentPhase,
} from './train.js';
export {
  trainTextAdversarially,
  type AdversarialRoundsOptions,
  type AdversarialRound,
  type AdversarialRoundsResult,
} from './adversarial-rounds.js';
export { salientPerturbation } from './salient-perturbation.js';
export { trainCharCnnClassifier, type TrainCharCnnOptions, type CharCnnTrainResult } from './train-char-cnn.js';
