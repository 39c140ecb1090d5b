/**
 * The guarded prediction: input layers, the model, output layers, in that order, each
 * timed into the trace; the first `deny` ends the request with the layer's code (429 for
 * the query-pattern layer, whose denial is about request volume; 422 otherwise).
 */
import { ServeError } from '../core/errors.js';
import {
  runLayer,
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
  let anomalous = false;
  const flaggedExamples = new Map<string, number[]>();
  const perExample = new Map<string, number[]>();
  const run = async (layer: DefenseLayer): Promise<void> => {
    spendBudget(ctx, `the '${layer.id}' layer`);
    const { verdict, entry } = await runLayer(layer, ctx);
    trace.push(entry);
    metrics?.decisions.inc(layer.id, verdict.decision);
    metrics?.layerSeconds.observe(layer.id, entry.ms / 1000);
    if (verdict.decision !== 'pass') anomalous = true;
    if (verdict.decision === 'deny') throw deny(layer.id, verdict);
    // A flag that names no examples is about all of them.
    if (verdict.decision === 'flag')
      flaggedExamples.set(layer.id, verdict.examples ?? Array.from({ length: ctx.batch?.count ?? ctx.texts?.length ?? 0 }, (_, i) => i));
    if (verdict.perExample) perExample.set(layer.id, verdict.perExample);
  };
  for (const layer of layers) if (layer.stage === 'input') await run(layer);
  const start = performance.now();
  const output = await model.infer({ ...(ctx.batch ? { batch: ctx.batch } : {}), ...(ctx.texts ? { texts: ctx.texts } : {}) });
  trace.push({ layer: 'model', decision: 'pass', score: null, ms: Math.round((performance.now() - start) * 1000) / 1000 });
  ctx.output = output;
  for (const layer of layers) if (layer.stage === 'output') await run(layer);
  return { output, flaggedExamples, perExample, anomalous };
}
