/**
 * Word importance for text classifiers.
 * - Leave-one-out (Li et al. 2016, "Understanding Neural Networks through Representation
 *   Erasure", https://arxiv.org/abs/1612.08220): a word's importance is how much the explained
 *   class's probability drops when the word is removed. Needs only `predictProba`, so it works
 *   on any TextClassifier, defended stacks included; one query per word plus one.
 * - Gradient × input through the hashed features (as the gradient-guided attack ranks words,
 *   see attacks/text/search/gradient.ts): the gradient g of log p(class) with respect to the
 *   feature vector x, and a word's importance Σ g_j·x_j over the buckets it contributes to
 *   (its unigram and character n-grams). One gradient pass; white-box models only.
 */
import * as tf from '@tensorflow/tfjs';
import { GradientError, InputError, UsageError } from '../../core/errors.js';
import type { TextClassifier } from '../../models/text/text-classifier.js';
import type { BudgetCheck, TextAttribution, WordImportance } from './types.js';

/** Most words one text explanation scores; later words get importance 0 and are not queried. */
export const MAX_EXPLAINED_WORDS = 1000;

export interface TextExplainOptions {
  /** Class index to explain; the model's prediction when absent. */
  target?: number;
  /** Score at most this many words (leave-one-out costs one query each); default 400. */
  maxWords?: number;
  /** Texts per `predictProba` call; default 64. */
  batchSize?: number;
}

/** The text split into words and the whitespace between them, so removing a word keeps the rest intact. */
export function textTokens(text: string): { tokens: string[]; words: number[] } {
  const tokens = text.split(/(\s+)/);
  const words: number[] = [];
  tokens.forEach((t, i) => {
    if (t.length > 0 && !/^\s+$/.test(t)) words.push(i);
  });
  return { tokens, words };
}

function argmax(p: Float32Array): number {
  let best = 0;
  for (let c = 1; c < p.length; c++) if ((p[c] as number) > (p[best] as number)) best = c;
  return best;
}

function checkTarget(model: TextClassifier, target: number | undefined): void {
  if (target !== undefined && (!Number.isInteger(target) || target < 0 || target >= model.classes.length))
    throw new InputError(
      'E_EXPLAIN_TARGET',
      `Target class ${target} does not exist; model '${model.id}' has classes ${model.classes.map((c, i) => `${i} (${c})`).join(', ')}.`,
      { details: { target, classes: model.classes } },
    );
}

/**
 * Leave-one-out word importance.
 *
 * @throws UsageError `E_EXPLAIN_OPTION` for a bad maxWords/batchSize; InputError `E_EXPLAIN_TARGET` for an unknown class.
 * @example const { words } = await leaveOneOut(model, 'win a free prize now');
 */
export async function leaveOneOut(
  model: TextClassifier,
  text: string,
  options: TextExplainOptions = {},
  check?: BudgetCheck,
): Promise<TextAttribution> {
  const maxWords = options.maxWords ?? 400;
  const batch = options.batchSize ?? 64;
  if (
    !Number.isInteger(maxWords) ||
    maxWords < 1 ||
    maxWords > MAX_EXPLAINED_WORDS ||
    !Number.isInteger(batch) ||
    batch < 1 ||
    batch > 1024
  )
    throw new UsageError(
      'E_EXPLAIN_OPTION',
      `Leave-one-out needs maxWords in 1..${MAX_EXPLAINED_WORDS} and batchSize in 1..1024; got ${maxWords} and ${batch}.`,
      { details: { maxWords, batchSize: batch } },
    );
  checkTarget(model, options.target);
  const { tokens, words } = textTokens(text);
  const [clean] = await model.predictProba([text]);
  const target = options.target ?? argmax(clean as Float32Array);
  const p0 = (clean as Float32Array)[target] as number;
  const scored = words.slice(0, maxWords);
  const importance = new Float64Array(words.length);
  for (let start = 0; start < scored.length; start += batch) {
    check?.(`leave-one-out word ${start} of ${scored.length}`);
    const variants = scored.slice(start, start + batch).map((t) => tokens.map((tok, i) => (i === t ? '' : tok)).join(''));
    const probs = await model.predictProba(variants);
    probs.forEach((p, k) => (importance[start + k] = p0 - (p[target] as number)));
  }
  return {
    method: 'leave-one-out',
    target,
    probability: p0,
    words: words.map((t, i): WordImportance => ({ word: tokens[t] as string, index: i, importance: importance[i] as number })),
    evaluations: 1 + scored.length,
  };
}

/**
 * Gradient × input word importance through a white-box model's features.
 *
 * @throws GradientError `E_TEXT_NO_WHITEBOX` when the model has no `whiteBox` (use leave-one-out),
 *   `E_EXPLAIN_GRADIENT` when the gradient is not finite; InputError `E_EXPLAIN_TARGET`.
 * @example const { words } = await textGradientTimesInput(hashedModel, 'win a free prize now');
 */
export async function textGradientTimesInput(
  model: TextClassifier,
  text: string,
  options: TextExplainOptions = {},
): Promise<TextAttribution> {
  const white = model.whiteBox;
  if (!white)
    throw new GradientError(
      'E_TEXT_NO_WHITEBOX',
      `Gradient × input needs a white-box text model (whiteBox: features, logitsFromFeatures, featureIndicesOf); model '${model.id}' has none. Use leave-one-out, which only queries predictProba.`,
      { details: { model: model.id, valid: ['leave-one-out'] } },
    );
  checkTarget(model, options.target);
  const [clean] = await model.predictProba([text]);
  const target = options.target ?? argmax(clean as Float32Array);
  const product = tf.tidy(() => {
    const features = white.features([text]);
    const logProb = (x: tf.Tensor): tf.Tensor =>
      tf.sum(tf.slice(tf.logSoftmax(white.logitsFromFeatures(x as tf.Tensor2D)), [0, target], [1, 1]));
    return tf.mul(tf.grad(logProb)(features), features);
  });
  let gx: Float32Array;
  try {
    gx = (await product.data()) as Float32Array;
  } finally {
    product.dispose();
  }
  if (!gx.every(Number.isFinite))
    throw new GradientError(
      'E_EXPLAIN_GRADIENT',
      `The feature gradient of model '${model.id}' is not finite for this text; use leave-one-out.`,
      {
        details: { model: model.id },
      },
    );
  const { tokens, words } = textTokens(text);
  const list = words.map((t, i): WordImportance => {
    let sum = 0;
    for (const j of new Set(white.featureIndicesOf(tokens[t] as string))) sum += gx[j] ?? 0;
    return { word: tokens[t] as string, index: i, importance: sum };
  });
  return { method: 'gradient-x-input', target, probability: (clean as Float32Array)[target] as number, words: list, evaluations: 1 };
}
