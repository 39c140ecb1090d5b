/**
 * The guarded prediction: input layers, the model, output layers, in that order, each
 * timed into the trace; the first `deny` ends the request with the layer's code (429 for
 * the query-pattern layer, whose denial is about request volume; 422 otherwise).
 */
import { ServeError } from '../core/errors.js';
import {
  spendBudget,
  type DefenseLayer,
  type GuardContext,
  type LayerVerdict,
  type ModelOutput,
  type TraceEntry,
} from '../defenses/layer.js';
import type { ServeMetrics } from './metrics.js';
import type { ServedModel } from './served-model.js';

export interface GuardResult {
  output: ModelOutput;
  /** Examples some output layer flagged, by layer. */
  flaggedExamples: Map<string, number[]>;
  /** Per-example measures layers reported, by layer. */
  perExample: Map<string, number[]>;
  anomalous: boolean;
}

function deny(layer: string, verdict: LayerVerdict): ServeError {
  const kind = layer === 'query-pattern' ? 'rate-limit' : 'rejected';
  return new ServeError(
    verdict.code ?? 'E_REJECTED',
    kind,
    `The '${layer}' defence refused the request: ${verdict.reason ?? 'no reason given'}.`,
    { details: { layer } },
  );
}

/**
 * Runs `layers` around one inference. Appends to `trace` as it goes (so a denial still
 * reports what ran).
 *
 * @throws ServeError when a layer denies; InputError from validation.
 */
export async function guardedPredict(
  model: ServedModel,
  layers: readonly DefenseLayer[],
  ctx: GuardContext,
  trace: TraceEntry[],
  metrics?: ServeMetrics,
): Promise<GuardResult> {
  const state: GuardState = { anomalous: false, flaggedExamples: new Map(), perExample: new Map() };
  for (const layer of layers) {
    if (layer.stage !== 'input') continue;
    const pending = runOne(layer, ctx, trace, state, metrics);
    if (pending) await pending;
  }
  const start = performance.now();
  const output = await model.infer({ ...(ctx.batch ? { batch: ctx.batch } : {}), ...(ctx.texts ? { texts: ctx.texts } : {}) });
  trace.push({ layer: 'model', decision: 'pass', score: null, ms: Math.round((performance.now() - start) * 1000) / 1000 });
  ctx.output = output;
  for (const layer of layers) {
    if (layer.stage !== 'output') continue;
    const pending = runOne(layer, ctx, trace, state, metrics);
    if (pending) await pending;
  }
  return { output, flaggedExamples: state.flaggedExamples, perExample: state.perExample, anomalous: state.anomalous };
}

interface GuardState {
  anomalous: boolean;
  flaggedExamples: Map<string, number[]>;
  perExample: Map<string, number[]>;
}

/**
 * Runs one layer and records its verdict. A layer that answers synchronously (all the
 * built-in ones) is not awaited: the guard runs on every request, and a promise per layer
 * was a measurable part of what the layers cost.
 */
function runOne(
  layer: DefenseLayer,
  ctx: GuardContext,
  trace: TraceEntry[],
  state: GuardState,
  metrics: ServeMetrics | undefined,
): void | Promise<void> {
  // The deadline is checked here; the message is built only when it has passed.
  if (ctx.deadline !== undefined && performance.now() > ctx.deadline) spendBudget(ctx, `the '${layer.id}' layer`);
  const start = performance.now();
  const verdict = layer.check(ctx);
  if (verdict instanceof Promise) return verdict.then((v) => record(layer, v, start, ctx, trace, state, metrics));
  record(layer, verdict, start, ctx, trace, state, metrics);
}

function record(
  layer: DefenseLayer,
  verdict: LayerVerdict,
  start: number,
  ctx: GuardContext,
  trace: TraceEntry[],
  state: GuardState,
  metrics: ServeMetrics | undefined,
): void {
  const ms = performance.now() - start;
  const entry: TraceEntry = { layer: layer.id, decision: verdict.decision, score: verdict.score ?? null, ms: Math.round(ms * 1000) / 1000 };
  if (verdict.reason !== undefined) entry.reason = verdict.reason;
  trace.push(entry);
  metrics?.decisions.inc(layer.id, verdict.decision);
  metrics?.layerSeconds.observe(layer.id, entry.ms / 1000);
  if (verdict.decision !== 'pass') state.anomalous = true;
  if (verdict.decision === 'deny') throw deny(layer.id, verdict);
  // A flag that names no examples is about all of them.
  if (verdict.decision === 'flag')
    state.flaggedExamples.set(
      layer.id,
      verdict.examples ?? Array.from({ length: ctx.batch?.count ?? ctx.texts?.length ?? 0 }, (_, i) => i),
    );
  if (verdict.perExample) state.perExample.set(layer.id, verdict.perExample);
}
