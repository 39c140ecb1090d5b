/**
 * Attributions: how much each input element (pixel, tabular feature) or word pushed the
 * model towards one class. Plain numbers, no tensors, so they cross into reports, the
 * registry and HTTP answers unchanged.
 */

/** Attribution methods for fixed-shape inputs (images, tabular rows). */
export const ATTRIBUTION_METHODS = ['gradient', 'gradient-x-input', 'smoothgrad', 'ig', 'occlusion'] as const;
export type AttributionMethod = (typeof ATTRIBUTION_METHODS)[number];

/** Methods that need input gradients (a white-box target). */
export const GRADIENT_METHODS: readonly AttributionMethod[] = ['gradient', 'gradient-x-input', 'smoothgrad', 'ig'];

/** Integrated-gradients baselines: all zeros (clipped to the bounds), a blurred input, or seeded uniform noise. */
export const IG_BASELINES = ['zeros', 'blur', 'uniform'] as const;
export type IgBaseline = (typeof IG_BASELINES)[number];

export interface Attribution {
  method: AttributionMethod;
  /** Per-example input shape, e.g. `[28, 28, 1]` or `[12]`. */
  shape: number[];
  /** The class explained (its logit for white-box methods, its score for black-box occlusion). */
  target: number;
  /** One value per input element, row-major; positive pushes towards `target`. */
  values: Float32Array;
  /** Integrated gradients only: f(x) − f(baseline) for the target's logit. */
  scoreDifference?: number;
  /**
   * Integrated gradients only: |Σ attribution − (f(x) − f(baseline))| relative to
   * |f(x) − f(baseline)|; small means the path integral was approximated well (raise steps otherwise).
   */
  completenessError?: number;
  /** Model evaluations spent: gradient passes or scored inputs. */
  evaluations: number;
  /** The settings used, for the record. */
  settings: Record<string, string | number>;
}

/** Called between chunks of work with where the computation is; throws to stop (a request's time budget). */
export type BudgetCheck = (where: string) => void;

export interface WordImportance {
  /** The word as it appears in the text. */
  word: string;
  /** Its position among the text's words. */
  index: number;
  /** Positive: the word supports the explained class. */
  importance: number;
}

export interface TextAttribution {
  method: 'leave-one-out' | 'gradient-x-input';
  /** Index of the explained class in the model's classes. */
  target: number;
  /** The model's probability of `target` for the whole text. */
  probability: number;
  words: WordImportance[];
  /** Texts scored (leave-one-out) or gradient passes. */
  evaluations: number;
}
