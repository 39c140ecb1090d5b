/**
 * Judging two models on the same traffic before an automatic rollback: the examples the
 * live model was recently asked (kept by the monitor, with their clients) are run through
 * each model and the layers that judge inputs and answers, and the client-weighted
 * anomaly rate of each is compared. Traffic that is anomalous for any model (uniform noise,
 * say) flags both, so it shows no gain and rolls nothing back.
 */
import { sizeOf } from '../core/types.js';
import type { DefenseLayer, GuardContext, LayerVerdict } from '../defenses/layer.js';
import { clientWeightedRate, type SampledExample } from './anomaly-window.js';
import type { ServedModel } from './served-model.js';

/**
 * The client-weighted anomaly rate of `model` behind `layers` on `sample`; examples that do
 * not fit the model's input are skipped.
 */
export async function anomalyRateOn(
  model: ServedModel,
  layers: readonly DefenseLayer[],
  sample: readonly SampledExample[],
  batchSize = 64,
): Promise<{ rate: number; examples: number }> {
  const size = sizeOf(model.view.inputShape);
  const usable = sample.filter((e) => (model.view.kind === 'text' ? e.text !== undefined : e.x?.length === size));
  const observations: Array<{ client: string; anomalous: boolean }> = [];
  for (let start = 0; start < usable.length; start += batchSize) {
    const chunk = usable.slice(start, start + batchSize);
    const ctx: GuardContext = { clientId: 'rampart-rollback-check', address: '', model: model.view, body: undefined };
    if (model.view.kind === 'text') ctx.texts = chunk.map((e) => e.text as string);
    else {
      const x = new Float32Array(chunk.length * size);
      chunk.forEach((e, i) => x.set(e.x as Float32Array, i * size));
      ctx.batch = { x, count: chunk.length, shape: model.view.inputShape };
    }
    const flagged = new Set<number>();
    let all = false;
    const judge = (v: LayerVerdict): void => {
      if (v.decision === 'deny' || (v.decision === 'flag' && !v.examples)) all = true;
      else if (v.decision === 'flag') for (const i of v.examples ?? []) flagged.add(i);
    };
    for (const layer of layers) if (layer.stage === 'input' && !all) judge(await layer.check(ctx));
    if (!all) {
      ctx.output = await model.infer({ ...(ctx.batch ? { batch: ctx.batch } : {}), ...(ctx.texts ? { texts: ctx.texts } : {}) });
      for (const layer of layers) if (layer.stage === 'output' && !all) judge(await layer.check(ctx));
    }
    chunk.forEach((e, i) => observations.push({ client: e.client, anomalous: all || flagged.has(i) }));
  }
  return { rate: clientWeightedRate(observations).rate, examples: observations.length };
}
