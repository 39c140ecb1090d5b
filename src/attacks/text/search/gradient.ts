/**
 * Gradient-guided word ranking for white-box text models.
 * Ebrahimi et al. 2018, "HotFlip", https://arxiv.org/abs/1712.06751; saliency as
 * gradient × input (Shrikumar et al. 2017, https://arxiv.org/abs/1704.02685).
 *
 * White-box where the model offers `whiteBox` (a differentiable features → logits path).
 * One forward+backward pass gives the gradient g of the true-class cross-entropy with
 * respect to the feature vector x; a word's importance is −Σ g_j·x_j over its feature
 * indices, the first-order rise of the loss when its features are removed. Then candidates
 * are tried as in the greedy search. Queries: 1 (clean) + 1 (the gradient pass) +
 * candidates tried, against 1 + words + candidates for the black-box ranking.
 * Defaults: 4 candidates per transformation, no query cap, batches of 128, 8 refinement
 * passes (see greedy-wir.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { GradientError } from '../../../core/errors.js';
import type { TextClassifier } from '../../../models/text/text-classifier.js';
import type { TextAttack } from '../types.js';
import { rankedSearchAttack, resolveSearchConfig } from './core.js';
import type { SearchConfig } from './example.js';
import { orderByImportance, type WordRanker } from './walk.js';

export interface GradientGuidedOptions {
  candidatesPerTransformation?: number;
  maxQueries?: number;
  batchSize?: number;
  /** Refinement passes over the changed words when the budget is spent without a flip; 0 for none. */
  refinePasses?: number;
}

export const GRADIENT_DEFAULTS: SearchConfig = Object.freeze({
  candidatesPerTransformation: 4,
  beamWidth: 1,
  maxQueries: 0,
  batchSize: 128,
  refinePasses: 8,
});

function requireWhiteBox(model: TextClassifier): NonNullable<TextClassifier['whiteBox']> {
  if (!model.whiteBox) {
    throw new GradientError(
      'E_TEXT_NO_WHITEBOX',
      `Text attack 'gradient' needs a white-box model (whiteBox: features, logitsFromFeatures, featureIndicesOf); model '${model.id}' has none. Use 'greedy' or 'beam', which only query predictProba.`,
      { details: { model: model.id, valid: ['greedy', 'beam'] } },
    );
  }
  return model.whiteBox;
}

/** Gradient × feature value of the true-class loss for one text. */
async function saliency(model: TextClassifier, text: string, label: number): Promise<Float32Array> {
  const white = requireWhiteBox(model);
  const product = tf.tidy(() => {
    const features = white.features([text]);
    const lossOf = (x: tf.Tensor): tf.Tensor => {
      const logits = white.logitsFromFeatures(x as tf.Tensor2D);
      const target = tf.oneHot(tf.tensor1d([label], 'int32'), logits.shape[1]);
      return tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), target)));
    };
    return tf.mul(tf.grad(lossOf)(features), features);
  });
  try {
    const values = (await product.data()) as Float32Array;
    if (values.some((v) => !Number.isFinite(v))) {
      throw new GradientError(
        'E_TEXT_GRADIENT',
        `Text attack 'gradient': the gradient of model '${model.id}' is not finite for this text; check the model's logitsFromFeatures.`,
        {
          details: { model: model.id },
        },
      );
    }
    return values;
  } finally {
    product.dispose();
  }
}

const gradientRanker: WordRanker = async (example, _clean) => {
  const model = example.model;
  const white = requireWhiteBox(model);
  const gx = await saliency(model, example.text, example.label);
  example.countPasses(1);
  const importance = new Map<number, number>();
  for (const w of example.editable) {
    let sum = 0;
    for (const j of new Set(white.featureIndicesOf(example.word(w)))) sum -= gx[j] ?? 0;
    importance.set(w, sum);
  }
  return orderByImportance(example.editable, importance);
};

/**
 * Creates the gradient-guided search.
 *
 * @throws UsageError `E_TEXT_ATTACK_OPTION` for an option that is not a valid integer.
 * @throws GradientError `E_TEXT_NO_WHITEBOX` from `run` when the model has no `whiteBox`;
 *   `E_TEXT_GRADIENT` when its gradient is not finite.
 * @example const result = await gradientGuided().run(whiteBoxModel, texts, labels, threat);
 */
export function gradientGuided(options: GradientGuidedOptions = {}): TextAttack {
  const config = resolveSearchConfig('gradient', { ...options, beamWidth: 1 }, GRADIENT_DEFAULTS);
  return rankedSearchAttack('gradient', config, gradientRanker, (model) => void requireWhiteBox(model));
}
