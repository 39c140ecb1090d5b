/**
 * Occlusion (Zeiler & Fergus 2014, https://arxiv.org/abs/1311.2901): slide a window over the
 * input, fill it with a constant, and see how much the explained class's score drops. It
 * needs only scores, so it explains black-box targets (`queryScores`: probabilities, every
 * occluded input one counted query) as well as white-box ones (logits). Each element's
 * attribution is the mean drop over the windows that covered it. Images `[H, W, C]` get
 * square windows over all channels; 1-D inputs (tabular rows) get runs of features, and a
 * window of 1 gives the drop per feature.
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../../core/errors.js';
import { accessOf, type Classifier } from '../../models/classifier.js';
import { EXPLAIN_LIMITS, type ResolvedExplainOptions } from './options.js';
import type { Attribution, BudgetCheck } from './types.js';

/** All class scores of `count` row-major inputs, `[count * numClasses]`: logits for white-box targets, scores otherwise. */
export async function scoresOf(model: Classifier, rows: Float32Array, count: number): Promise<Float32Array> {
  if (accessOf(model) === 'gradients' || !model.queryScores) {
    const out = tf.tidy(() => model.logits(tf.tensor(rows, [count, ...model.inputShape])));
    try {
      return (await out.data()) as Float32Array;
    } finally {
      out.dispose();
    }
  }
  return model.queryScores(rows, count);
}

/** Scores of `target` for `count` row-major inputs (see {@link scoresOf}). */
export async function targetScores(model: Classifier, rows: Float32Array, count: number, target: number): Promise<Float32Array> {
  const scores = await scoresOf(model, rows, count);
  return Float32Array.from({ length: count }, (_, i) => scores[i * model.numClasses + target] as number);
}

interface Window {
  /** Element indices the window covers. */
  cells: number[];
}

/** The windows over an input of `shape`; images slide in 2-D, anything else along its flattened length. */
function windows(shape: readonly number[], size: number, stride: number): Window[] {
  const out: Window[] = [];
  if (shape.length >= 2) {
    const [h, w] = [shape[0] as number, shape[1] as number];
    const c = shape.slice(2).reduce((a, b) => a * b, 1);
    const starts = (n: number): number[] => {
      const s: number[] = [];
      for (let p = 0; ; p += stride) {
        s.push(Math.max(0, Math.min(p, n - size)));
        if (p + size >= n) break;
      }
      return [...new Set(s)];
    };
    for (const y0 of starts(h))
      for (const x0 of starts(w)) {
        const cells: number[] = [];
        for (let y = y0; y < Math.min(h, y0 + size); y++)
          for (let x = x0; x < Math.min(w, x0 + size); x++) for (let ch = 0; ch < c; ch++) cells.push((y * w + x) * c + ch);
        out.push({ cells });
      }
    return out;
  }
  const n = shape.reduce((a, b) => a * b, 1);
  for (let p = 0; p < n; p += stride) {
    const cells: number[] = [];
    for (let j = p; j < Math.min(n, p + size); j++) cells.push(j);
    out.push({ cells });
    if (p + size >= n) break;
  }
  return out;
}

/**
 * Occlusion attribution of `target` at `x`.
 *
 * @throws UsageError `E_EXPLAIN_OPTION` when the window and stride need more than
 *   {@link EXPLAIN_LIMITS.maxOcclusions} occluded inputs.
 */
export async function occlusion(
  model: Classifier,
  x: Float32Array,
  target: number,
  options: Pick<ResolvedExplainOptions, 'window' | 'stride' | 'fill' | 'batchSize'>,
  check?: BudgetCheck,
): Promise<Attribution> {
  const shape = [...model.inputShape];
  const list = windows(shape, options.window, options.stride);
  if (list.length > EXPLAIN_LIMITS.maxOcclusions)
    throw new UsageError(
      'E_EXPLAIN_OPTION',
      `Occlusion with window ${options.window} and stride ${options.stride} needs ${list.length} occluded inputs, above the cap of ${EXPLAIN_LIMITS.maxOcclusions}; use a larger stride or window.`,
      { details: { window: options.window, stride: options.stride, occlusions: list.length } },
    );
  const fill = options.fill ?? model.bounds.min;
  const size = x.length;
  const [clean] = await targetScores(model, x, 1, target);
  const drop = new Float64Array(size);
  const covered = new Uint32Array(size);
  // Black-box targets answer batches of queries; keep them modest so a remote target is not flooded.
  const batch = Math.max(options.batchSize, 16);
  for (let start = 0; start < list.length; start += batch) {
    check?.(`occlusion window ${start} of ${list.length}`);
    const part = list.slice(start, start + batch);
    const rows = new Float32Array(part.length * size);
    part.forEach((w, k) => {
      const row = rows.subarray(k * size, (k + 1) * size);
      row.set(x);
      for (const j of w.cells) row[j] = fill;
    });
    const scores = await targetScores(model, rows, part.length, target);
    part.forEach((w, k) => {
      const d = (clean as number) - (scores[k] as number);
      for (const j of w.cells) {
        drop[j] = (drop[j] as number) + d;
        covered[j] = (covered[j] as number) + 1;
      }
    });
  }
  return {
    method: 'occlusion',
    shape,
    target,
    values: Float32Array.from(drop, (d, j) => ((covered[j] as number) === 0 ? 0 : d / (covered[j] as number))),
    evaluations: list.length + 1,
    settings: {
      window: options.window,
      stride: options.stride,
      fill,
      scores: accessOf(model) === 'gradients' || !model.queryScores ? 'logits' : 'scores',
    },
  };
}
