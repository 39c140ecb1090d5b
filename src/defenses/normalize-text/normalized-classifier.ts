/**
 * A TextClassifier behind the normalisation pipeline. It is itself a TextClassifier, so
 * attacks query (and, through `whiteBox`, differentiate) the whole defended pipeline:
 * an adaptive attacker sees exactly what the deployed filter does.
 */
import type { TextClassifier, TextWhiteBox } from '../../models/text/text-classifier.js';
import { createTextNormalizer, type NormalizeTextOptions } from './normalize.js';

export interface NormalizedClassifierOptions extends NormalizeTextOptions {
  /** Id in reports; default `${model.id}+normalize`. */
  readonly id?: string;
}

/**
 * Wraps `model` so every text is normalised before it is scored. Each text is one query,
 * as for the bare model. The white-box path (when the model has one) featurises the
 * normalised text, so gradients are those of the defended pipeline at that input.
 *
 * @throws UsageError `E_NORMALIZE_STAGE` on the first call when `options.stages` names an unknown stage.
 * @example
 * const defended = normalizedClassifier(classifier);
 * await defended.predictProba(['V\u0456agra ch3ap']); // scored as 'Viagra cheap'
 */
export function normalizedClassifier(model: TextClassifier, options: NormalizedClassifierOptions = {}): TextClassifier {
  const normalize = createTextNormalizer(options);
  const inner = model.whiteBox;
  const whiteBox: TextWhiteBox | undefined = inner
    ? {
        features: (texts) => inner.features(texts.map(normalize)),
        logitsFromFeatures: (features) => inner.logitsFromFeatures(features),
        featureIndicesOf: (word) => inner.featureIndicesOf(normalize(word)),
      }
    : undefined;
  return {
    id: options.id ?? `${model.id}+normalize`,
    classes: model.classes,
    predictProba: (texts) => model.predictProba(texts.map(normalize)),
    ...(whiteBox ? { whiteBox } : {}),
  };
}
