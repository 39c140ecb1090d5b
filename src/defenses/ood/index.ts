/**
 * Out-of-distribution score on the model's own features: the Mahalanobis distance of an
 * input's penultimate-layer features to the nearest class mean, under one covariance
 * shared by all classes, fitted on training data.
 *
 * Reference: Lee, Lee, Lee, Shin, "A Simple Unified Framework for Detecting
 * Out-of-Distribution Samples and Adversarial Attacks" (NeurIPS 2018),
 * https://arxiv.org/abs/1807.03888. We use the last hidden layer only and no input
 * preprocessing (their noise step costs a gradient per request).
 *
 * The covariance is shrunk towards a multiple of the identity (ReLU features have dead
 * dimensions, so the raw covariance is singular) and inverted once through its Cholesky
 * factor; the detector stores the whitening matrix L⁻¹ and the whitened class means, so a
 * score costs one d×d matrix-vector product. The threshold is a quantile of the fit
 * data's own scores. Saved as JSON beside the model (`ood.json`).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { DataError, InputError } from '../../core/errors.js';
import { writeJsonFile } from '../../core/files.js';
import { thresholdDecision, type DefenseLayer, type GuardContext, type LayerVerdict } from '../layer.js';

export const OOD_FILE = 'ood.json';

const detectorSchema = z.object({
  kind: z.literal('rampart.ood-detector'),
  schemaVersion: z.literal(1),
  method: z.literal('mahalanobis'),
  source: z.enum(['penultimate', 'logits']),
  dims: z.number().int().positive(),
  numClasses: z.number().int().min(1),
  whitening: z.array(z.number()),
  means: z.array(z.array(z.number())),
  threshold: z.number().positive(),
  quantile: z.number().gt(0).lt(1),
  fitCount: z.number().int().positive(),
  /** Scores of the fit data, kept as the drift monitor's reference distribution. */
  referenceScores: z.array(z.number()).optional(),
});

export type OodDetectorJson = z.infer<typeof detectorSchema>;

export interface FitOodOptions {
  /** Feature rows of the fit data (penultimate activations or logits). */
  features: readonly Float32Array[];
  labels: Int32Array;
  numClasses: number;
  source?: 'penultimate' | 'logits';
  /** Fit-data quantile that becomes the flag threshold (default 0.99). */
  quantile?: number;
  /** Weight of the identity in the shrunk covariance, relative to its mean variance (default 0.05). */
  shrinkage?: number;
}

/** Lower-triangular Cholesky factor of a symmetric positive-definite matrix (row-major, float64). */
function cholesky(a: Float64Array, d: number): Float64Array {
  const l = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[i * d + j] as number;
      for (let k = 0; k < j; k++) sum -= (l[i * d + k] as number) * (l[j * d + k] as number);
      if (i === j) {
        if (!(sum > 0))
          throw new InputError(
            'E_OOD_FIT',
            'The feature covariance is not positive definite even after shrinkage; raise shrinkage or fit on more examples.',
          );
        l[i * d + i] = Math.sqrt(sum);
      } else l[i * d + j] = sum / (l[j * d + j] as number);
    }
  }
  return l;
}

/** Inverse of a lower-triangular matrix by forward substitution. */
function invertLower(l: Float64Array, d: number): Float64Array {
  const inv = new Float64Array(d * d);
  for (let col = 0; col < d; col++) {
    for (let i = col; i < d; i++) {
      let sum = i === col ? 1 : 0;
      for (let k = col; k < i; k++) sum -= (l[i * d + k] as number) * (inv[k * d + col] as number);
      inv[i * d + col] = sum / (l[i * d + i] as number);
    }
  }
  return inv;
}

function quantileOf(sorted: readonly number[], q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (pos - lo);
}

/** A fitted detector ready to score feature rows. */
export class OodDetector {
  readonly dims: number;
  readonly threshold: number;
  readonly source: 'penultimate' | 'logits';
  /** Σ⁻¹ = L⁻ᵀL⁻¹, full and symmetric, so a row of it serves any pair of features. */
  private readonly precision: Float64Array;
  /** L⁻ᵀ mᶜ for each whitened class mean mᶜ, feature-major (feature k's C values side by side), and ‖mᶜ‖². */
  private readonly meanDirs: Float64Array;
  private readonly meanNorms: Float64Array;
  // Scratch for one score: f·(L⁻ᵀmᶜ) per class.
  private readonly dots: Float64Array;
  // Scratch for one score (synchronous): the non-zero features and where they are.
  private readonly at: Int32Array;
  private readonly values: Float64Array;

  constructor(readonly json: OodDetectorJson) {
    this.dims = json.dims;
    this.threshold = json.threshold;
    this.source = json.source;
    if (json.whitening.length !== json.dims * json.dims || json.means.some((m) => m.length !== json.dims)) {
      throw new DataError(
        'E_OOD_FILE',
        `OOD detector has a ${json.whitening.length}-value whitening matrix and means of lengths ${json.means.map((m) => m.length).join(', ')}; both must match dims ${json.dims}. Refit it.`,
      );
    }
    const d = json.dims;
    // L⁻¹ is lower-triangular: (L⁻ᵀL⁻¹)ᵢⱼ = Σₖ L⁻¹ₖᵢ L⁻¹ₖⱼ over k ≥ max(i, j).
    const w = Float64Array.from(json.whitening);
    this.precision = new Float64Array(d * d);
    for (let i = 0; i < d; i++) {
      for (let j = 0; j <= i; j++) {
        let sum = 0;
        for (let k = i; k < d; k++) sum += (w[k * d + i] as number) * (w[k * d + j] as number);
        this.precision[i * d + j] = sum;
        this.precision[j * d + i] = sum;
      }
    }
    const classes = json.means.length;
    this.meanDirs = new Float64Array(d * classes);
    json.means.forEach((m, c) => {
      for (let k = 0; k < d; k++) {
        const mk = m[k] as number;
        for (let i = 0; i <= k; i++)
          this.meanDirs[i * classes + c] = (this.meanDirs[i * classes + c] as number) + (w[k * d + i] as number) * mk;
      }
    });
    this.meanNorms = Float64Array.from(json.means, (m) => m.reduce((s, v) => s + v * v, 0));
    this.dots = new Float64Array(classes);
    this.at = new Int32Array(d);
    this.values = new Float64Array(d);
  }

  /**
   * Squared Mahalanobis distance to the nearest class mean: ‖L⁻¹f − mᶜ‖² =
   * fᵀΣ⁻¹f − 2 f·(L⁻ᵀmᶜ) + ‖mᶜ‖², over the non-zero features only (ReLU features are about
   * half zeros, so this is about a quarter of the work of whitening every feature).
   *
   * @throws InputError `E_OOD_DIMS` when the row's length is not the fitted dimension.
   */
  score(features: Float32Array): number {
    const d = this.dims;
    if (features.length !== d)
      throw new InputError(
        'E_OOD_DIMS',
        `The OOD detector was fitted on ${d} features but got ${features.length}; refit it for this model.`,
      );
    const { at, values, precision, meanDirs, dots } = this;
    const classes = dots.length;
    let n = 0;
    for (let k = 0; k < d; k++) {
      const f = features[k] as number;
      if (f === 0) continue;
      at[n] = k;
      values[n++] = f;
    }
    dots.fill(0);
    let quadratic = 0;
    for (let a = 0; a < n; a++) {
      const va = values[a] as number;
      const ka = at[a] as number;
      const row = ka * d;
      // Four partial sums: the adds no longer wait on each other (a third less time on 128 ReLU features).
      let c0 = 0;
      let c1 = 0;
      let c2 = 0;
      let c3 = 0;
      let b = 0;
      for (; b + 3 < a; b += 4) {
        c0 += (precision[row + (at[b] as number)] as number) * (values[b] as number);
        c1 += (precision[row + (at[b + 1] as number)] as number) * (values[b + 1] as number);
        c2 += (precision[row + (at[b + 2] as number)] as number) * (values[b + 2] as number);
        c3 += (precision[row + (at[b + 3] as number)] as number) * (values[b + 3] as number);
      }
      for (; b < a; b++) c0 += (precision[row + (at[b] as number)] as number) * (values[b] as number);
      quadratic += va * ((precision[row + ka] as number) * va + 2 * (c0 + c1 + c2 + c3));
      // Feature-major mean directions: one contiguous run of C values per non-zero feature.
      const base = ka * classes;
      for (let c = 0; c < classes; c++) dots[c] = (dots[c] as number) + (meanDirs[base + c] as number) * va;
    }
    let best = Infinity;
    for (let c = 0; c < classes; c++) {
      const dist = quadratic - 2 * (dots[c] as number) + (this.meanNorms[c] as number);
      if (dist < best) best = dist;
    }
    // A square: rounding in the expansion must not make it negative.
    return Math.max(0, best);
  }
}

/**
 * Fits the class means and shared covariance on training features.
 *
 * @throws InputError `E_OOD_FIT` for empty or ragged features or a non-invertible covariance.
 * @example const detector = fitOodDetector({ features, labels, numClasses: 10 });
 */
export function fitOodDetector(options: FitOodOptions): OodDetector {
  const { features, labels, numClasses } = options;
  const n = features.length;
  const d = features[0]?.length ?? 0;
  if (n < 2 || d === 0 || labels.length !== n || features.some((f) => f.length !== d)) {
    throw new InputError(
      'E_OOD_FIT',
      `Fitting the OOD detector needs at least 2 feature rows of one length with one label each; got ${n} rows and ${labels.length} labels.`,
    );
  }
  const quantile = options.quantile ?? 0.99;
  const shrinkage = options.shrinkage ?? 0.05;
  const sums = Array.from({ length: numClasses }, () => new Float64Array(d));
  const counts = new Float64Array(numClasses);
  for (let r = 0; r < n; r++) {
    const c = labels[r] as number;
    if (!(c >= 0 && c < numClasses)) throw new InputError('E_OOD_FIT', `Label ${c} at row ${r} is outside [0, ${numClasses}).`);
    counts[c] = (counts[c] as number) + 1;
    const f = features[r] as Float32Array;
    const s = sums[c] as Float64Array;
    for (let i = 0; i < d; i++) s[i] = (s[i] as number) + (f[i] as number);
  }
  const present: number[] = [];
  const means = sums.map((s, c) => {
    if ((counts[c] as number) > 0) present.push(c);
    return s.map((v) => v / Math.max(1, counts[c] as number));
  });
  const cov = new Float64Array(d * d);
  const centered = new Float64Array(d);
  for (let r = 0; r < n; r++) {
    const f = features[r] as Float32Array;
    const m = means[labels[r] as number] as Float64Array;
    for (let i = 0; i < d; i++) centered[i] = (f[i] as number) - (m[i] as number);
    for (let i = 0; i < d; i++) {
      const ci = centered[i] as number;
      if (ci === 0) continue;
      const row = i * d;
      for (let j = 0; j <= i; j++) cov[row + j] = (cov[row + j] as number) + ci * (centered[j] as number);
    }
  }
  let trace = 0;
  for (let i = 0; i < d; i++) trace += (cov[i * d + i] as number) / n;
  const ridge = shrinkage * Math.max(trace / d, 1e-6);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      const v = (cov[i * d + j] as number) / n + (i === j ? ridge : 0);
      cov[i * d + j] = v;
      cov[j * d + i] = v;
    }
  }
  const whitening = invertLower(cholesky(cov, d), d);
  const whitenedMeans = present.map((c) => {
    const m = means[c] as Float64Array;
    const out: number[] = new Array(d).fill(0);
    for (let i = 0; i < d; i++) {
      let sum = 0;
      for (let k = 0; k <= i; k++) sum += (whitening[i * d + k] as number) * (m[k] as number);
      out[i] = sum;
    }
    return out;
  });
  const draft = new OodDetector({
    kind: 'rampart.ood-detector',
    schemaVersion: 1,
    method: 'mahalanobis',
    source: options.source ?? 'penultimate',
    dims: d,
    numClasses,
    whitening: Array.from(whitening),
    means: whitenedMeans,
    threshold: 1,
    quantile,
    fitCount: n,
  });
  const scores = features.map((f) => draft.score(f)).sort((a, b) => a - b);
  return new OodDetector({ ...draft.json, threshold: Math.max(quantileOf(scores, quantile), 1e-9), referenceScores: scores });
}

/** Writes the detector as `ood.json` in `dir` (atomically). */
export async function saveOodDetector(detector: OodDetector, dir: string): Promise<void> {
  await writeJsonFile(join(dir, OOD_FILE), detector.json);
}

/**
 * Reads `ood.json` from a model directory; undefined when there is none.
 *
 * @throws DataError `E_OOD_FILE` when the file exists but is malformed.
 */
export async function loadOodDetector(dir: string): Promise<OodDetector | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, OOD_FILE), 'utf8');
  } catch {
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new DataError('E_OOD_FILE', `${join(dir, OOD_FILE)} is not valid JSON; delete it to refit the detector.`, { cause });
  }
  const result = detectorSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new DataError(
      'E_OOD_FILE',
      `${join(dir, OOD_FILE)} is not an OOD detector ('${issue?.path.join('.') ?? ''}': ${issue?.message ?? 'invalid'}); delete it to refit.`,
    );
  }
  return new OodDetector(result.data);
}

export interface OodLayerOptions {
  /** Score / threshold ratio that flags (default 1: beyond the fit quantile). */
  flagAt?: number;
  /** Ratio that denies (default: never). */
  denyAt?: number;
}

/**
 * The OOD layer: scores each example's features with the served model's detector. The
 * score in the trace is the worst example's distance divided by the detector's threshold.
 */
export function oodLayer(detectorOf: (modelId: string) => OodDetector | undefined, options: OodLayerOptions = {}): DefenseLayer {
  const flagAt = options.flagAt ?? 1;
  return {
    id: 'ood',
    stage: 'output',
    check(ctx: GuardContext): LayerVerdict {
      const detector = detectorOf(ctx.model.id);
      if (!detector) return { decision: 'pass', reason: 'no OOD detector fitted for this model' };
      const rows = detector.source === 'logits' ? ctx.output?.logits : ctx.output?.features;
      if (!rows) return { decision: 'pass', reason: `the model exposes no ${detector.source} features` };
      let worst = 0;
      const flagged: number[] = [];
      const perExample = rows.map((row, i) => {
        const ratio = detector.score(row) / detector.threshold;
        if (ratio >= flagAt) flagged.push(i);
        worst = Math.max(worst, ratio);
        return ratio;
      });
      const decision = thresholdDecision(worst, flagAt, options.denyAt);
      const score = Math.round(worst * 1000) / 1000;
      if (decision === 'pass') return { decision, score, perExample };
      return {
        decision,
        score,
        perExample,
        examples: flagged,
        code: 'E_OUT_OF_DISTRIBUTION',
        reason: `feature distance ${score}x the training ${detector.json.quantile} quantile`,
      };
    },
  };
}
