/**
 * The contract every runtime defence speaks. A layer looks at one request (and, for the
 * output stage, at what the model said about it) and returns a verdict; the serving
 * pipeline runs the layers in order, stops at the first `deny`, and puts every verdict in
 * the response's decision trace so a caller can see which defence did what.
 */
import { ServeError } from '../core/errors.js';
import type { Bounds } from '../core/types.js';

export type Decision = 'pass' | 'flag' | 'deny';

export interface LayerVerdict {
  decision: Decision;
  /** The layer's own measure (distance, count, disagreement, confidence); higher is more suspicious unless the layer says otherwise. */
  score?: number;
  reason?: string;
  /** Stable error code sent with a `deny`, e.g. `E_QUERY_PATTERN`. */
  code?: string;
  /** Indices of the batch's examples the verdict is about (e.g. which ones abstained). */
  examples?: number[];
  /** The layer's measure per example, for monitoring. */
  perExample?: number[];
}

export interface TraceEntry {
  layer: string;
  decision: Decision;
  score: number | null;
  /** Wall time the layer took, in milliseconds. */
  ms: number;
  reason?: string;
}

/** What the served model looks like to a layer (no tensors). */
export interface ModelView {
  readonly id: string;
  readonly kind: 'image' | 'text';
  readonly inputShape: readonly number[];
  readonly bounds: Bounds;
  readonly numClasses: number;
}

/** A validated batch of fixed-shape examples, row-major. */
export interface ImageBatch {
  readonly x: Float32Array;
  readonly count: number;
  /** Per-example shape. */
  readonly shape: readonly number[];
}

/** What the model answered for a batch, filled in before the output stage runs. */
export interface ModelOutput {
  /** Calibrated class probabilities, one row per example. */
  readonly probabilities: Float32Array[];
  /** Raw logits, one row per example. */
  readonly logits: Float32Array[];
  /** Penultimate-layer features, one row per example, when the model exposes them. */
  readonly features?: Float32Array[];
  /** Predicted class per example (argmax of the probabilities). */
  readonly labels: Int32Array;
  /**
   * A fused ensemble's members (defenses/ensemble/fused.ts): each member's predicted class per
   * example, from the same forward pass as `labels` (the fused ensemble layer reads them).
   */
  readonly memberLabels?: readonly Int32Array[];
}

export interface GuardContext {
  /** Who is asking: the API key id when authenticated, else the address. */
  readonly clientId: string;
  readonly address: string;
  readonly model: ModelView;
  /** The parsed request body, before validation turns it into a batch or texts. */
  readonly body: unknown;
  /** Present for image requests once validated. */
  batch?: ImageBatch;
  /** Present for text requests; a normalising layer may rewrite them. */
  texts?: string[];
  /** Present in the output stage. */
  output?: ModelOutput;
  /**
   * When the request's work budget runs out (a `performance.now()` time). Layers that loop over
   * examples call `spendBudget` between them, so no request holds the event loop for long.
   */
  deadline?: number;
  /** The budget in milliseconds, for the error message. */
  budgetMs?: number;
}

export interface DefenseLayer {
  /** Stable id shown in the trace and metrics, e.g. `query-pattern`. */
  readonly id: string;
  /** `input` layers run before the model, `output` layers after it. */
  readonly stage: 'input' | 'output';
  check(ctx: GuardContext): LayerVerdict | Promise<LayerVerdict>;
}

/**
 * Ends the request when its work budget is spent: called between examples and between layers.
 *
 * @throws ServeError `E_REQUEST_BUDGET` (422) naming the budget and how far the request got.
 * @example for (let i = 0; i < texts.length; i++) { spendBudget(ctx, `text ${i}`); work(texts[i]); }
 */
export function spendBudget(ctx: GuardContext, where: string): void {
  if (ctx.deadline === undefined || performance.now() <= ctx.deadline) return;
  throw new ServeError(
    'E_REQUEST_BUDGET',
    'rejected',
    `The request used up its work budget of ${ctx.budgetMs ?? '?'} ms (limits.workMs) at ${where}; send fewer or shorter examples per request.`,
  );
}

/** Runs one layer and times it; a throwing layer propagates (the server maps the error). */
export async function runLayer(layer: DefenseLayer, ctx: GuardContext): Promise<{ verdict: LayerVerdict; entry: TraceEntry }> {
  const start = performance.now();
  const verdict = await layer.check(ctx);
  const ms = performance.now() - start;
  const entry: TraceEntry = { layer: layer.id, decision: verdict.decision, score: verdict.score ?? null, ms: Math.round(ms * 1000) / 1000 };
  if (verdict.reason !== undefined) entry.reason = verdict.reason;
  return { verdict, entry };
}

/** Maps a measure to a decision with two thresholds (flag at, deny at); either may be off. */
export function thresholdDecision(score: number, flagAt: number | undefined, denyAt: number | undefined): Decision {
  if (denyAt !== undefined && score >= denyAt) return 'deny';
  if (flagAt !== undefined && score >= flagAt) return 'flag';
  return 'pass';
}
