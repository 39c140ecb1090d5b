/**
 * Any ONNX model through onnxruntime-node, as a score target: scores only, asynchronous,
 * every row one counted query. Its `logits` throws, so gradient attacks refuse it and the
 * query attacks (square, hsj) run on it. The declared preprocessing runs here on the host
 * before the session, so rows stay in the data's units.
 */
import type * as OrtModule from 'onnxruntime-node';
import type * as tf from '@tensorflow/tfjs';
import type { InferenceSession } from 'onnxruntime-node';
import { DataError, InputError, UsageError } from '../../core/errors.js';
import type { Bounds } from '../../core/types.js';
import type { Classifier } from '../classifier.js';
import type { Preprocessing } from '../sources/types.js';

/** Rows sent to the session per run: bounds the memory of one call whatever `count` is. */
export const DEFAULT_ORT_CHUNK_ROWS = 256;

type Ort = typeof OrtModule;

export interface OnnxRuntimeClassifierOptions {
  id: string;
  /** Per-example input shape in data units (NHWC when the model takes NCHW with `layout: 'nchw'`). */
  inputShape: readonly number[];
  /** The model's own per-example input shape. */
  modelShape: readonly number[];
  numClasses: number;
  inputName: string;
  outputName: string;
  preprocess?: Preprocessing;
  bounds?: Bounds;
  chunkRows?: number;
  /** The output is probabilities already (the graph ends in Softmax); otherwise scores are softmaxed. */
  outputsProbabilities: boolean;
}

export class OnnxRuntimeClassifier implements Classifier {
  readonly id: string;
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  readonly bounds: Bounds;
  readonly differentiable = false;
  readonly access = 'scores' as const;
  private count = 0;
  private closed = false;

  constructor(
    private readonly ort: Ort,
    private readonly session: InferenceSession,
    private readonly options: OnnxRuntimeClassifierOptions,
  ) {
    this.id = options.id;
    this.inputShape = options.inputShape;
    this.numClasses = options.numClasses;
    this.bounds = options.bounds ?? { min: 0, max: 1 };
  }

  /** Queries answered so far (one per row). */
  get queries(): number {
    return this.count;
  }

  /** @throws UsageError `E_NOT_WHITE_BOX`: this target has no gradients. */
  logits(_x: tf.Tensor): tf.Tensor2D {
    throw new UsageError(
      'E_NOT_WHITE_BOX',
      `Model '${this.id}' runs through onnxruntime and answers scores only; use a black-box attack (square, hsj), or load it as 'onnx:PATH' for gradients.`,
      { details: { model: this.id, access: this.access } },
    );
  }

  /**
   * Class probabilities of `count` row-major rows, `[count * numClasses]`, in chunks of at
   * most `chunkRows` rows. Every row counts as one query.
   *
   * @throws InputError `E_INPUT_LENGTH` when `rows` does not hold `count` rows.
   * @throws UsageError `E_MODEL_DISPOSED` after `dispose()`.
   */
  async queryScores(rows: Float32Array, count: number): Promise<Float32Array> {
    if (this.closed) throw new UsageError('E_MODEL_DISPOSED', `Model '${this.id}' was disposed; load it again.`);
    const rowSize = this.inputShape.reduce((p, d) => p * d, 1);
    if (!Number.isInteger(count) || count < 0 || rows.length !== count * rowSize) {
      throw new InputError(
        'E_INPUT_LENGTH',
        `queryScores got ${rows.length} values for ${count} rows of ${rowSize}; pass count * ${rowSize} values.`,
        {
          details: { length: rows.length, count, rowSize },
        },
      );
    }
    const out = new Float32Array(count * this.numClasses);
    const chunk = this.options.chunkRows ?? DEFAULT_ORT_CHUNK_ROWS;
    for (let start = 0; start < count; start += chunk) {
      const n = Math.min(chunk, count - start);
      const input = this.prepare(rows.subarray(start * rowSize, (start + n) * rowSize));
      const tensor = new this.ort.Tensor('float32', input, [n, ...this.options.modelShape]);
      const result = await this.session.run({ [this.options.inputName]: tensor });
      const scores = result[this.options.outputName]?.data as Float32Array | undefined;
      if (!scores || scores.length !== n * this.numClasses) {
        throw new DataError(
          'E_ONNX_OUTPUT_SHAPE',
          `Model '${this.id}' answered ${scores?.length ?? 0} scores for ${n} rows; expected ${n * this.numClasses}.`,
        );
      }
      out.set(this.options.outputsProbabilities ? scores : softmaxRows(scores, this.numClasses), start * this.numClasses);
      this.count += n;
    }
    return out;
  }

  /** The session's raw output for `count` rows in the model's own layout (no preprocessing, not counted). */
  async rawOutput(input: Float32Array, count: number): Promise<Float32Array> {
    const tensor = new this.ort.Tensor('float32', input, [count, ...this.options.modelShape]);
    const result = await this.session.run({ [this.options.inputName]: tensor });
    return Float32Array.from(result[this.options.outputName]!.data as Float32Array);
  }

  /** Releases the session. Safe to call twice. */
  async dispose(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.session.release();
  }

  /** Scale, per-channel mean/std and NHWC → NCHW on the host. */
  private prepare(rows: Float32Array): Float32Array {
    const p = this.options.preprocess;
    if (!p) return rows.slice();
    const shape = this.inputShape;
    const channels = shape[shape.length - 1]!;
    const scale = p.scale ?? 1;
    const out = new Float32Array(rows.length);
    const nchw = p.layout === 'nchw';
    const [h, w] = [shape[0] ?? 1, shape[1] ?? 1];
    for (let i = 0; i < rows.length; i++) {
      const c = i % channels;
      const mean = p.mean ? (p.mean[p.mean.length === 1 ? 0 : c] ?? 0) : 0;
      const std = p.std ? (p.std[p.std.length === 1 ? 0 : c] ?? 1) : 1;
      const v = (rows[i]! * scale - mean) / std;
      if (!nchw) out[i] = v;
      else {
        const pix = Math.floor(i / channels);
        const b = Math.floor(pix / (h * w));
        const hw = pix % (h * w);
        out[(b * channels + c) * h * w + hw] = v;
      }
    }
    return out;
  }
}

function softmaxRows(scores: Float32Array, k: number): Float32Array {
  const out = new Float32Array(scores.length);
  for (let r = 0; r < scores.length; r += k) {
    let max = -Infinity;
    for (let j = 0; j < k; j++) max = Math.max(max, scores[r + j]!);
    let sum = 0;
    for (let j = 0; j < k; j++) sum += out[r + j] = Math.exp(scores[r + j]! - max);
    for (let j = 0; j < k; j++) out[r + j] = out[r + j]! / sum;
  }
  return out;
}
