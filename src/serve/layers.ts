/**
 * The defence layers in the order they run, built once for the startup model. The same
 * factory builds a second set bound to any one model (its own OOD detector and text
 * normaliser, without the traffic layers), so a candidate model can be judged on the
 * traffic the live one saw before a rollback is made.
 */
import { abstainLayer } from '../defenses/abstain/index.js';
import {
  ensembleLayer,
  fusedEnsembleLayer,
  loadParallelMembers,
  parallelEnsembleLayers,
  type EnsembleMember,
} from '../defenses/ensemble/index.js';
import type { DefenseLayer } from '../defenses/layer.js';
import { normalizeTextWithReport, type NormalizeStage, type NormalizeTextOptions } from '../defenses/normalize-text/index.js';
import { oodLayer, type OodDetector } from '../defenses/ood/index.js';
import { queryPatternLayer } from '../defenses/query-pattern/index.js';
import { validateLayer } from '../defenses/validate/index.js';
import type { ServeConfig } from './config.js';
import type { ServedModel } from './served-model.js';
import { normalizeTextLayer } from './text-normalize-layer.js';

/**
 * Layers that judge traffic (who asks, how often) rather than inputs or answers. Their
 * verdicts are attacks on the service, not signs of a bad model, so they stay out of the
 * anomaly rate that can roll the model back (a flood must not roll back a good model).
 */
export const TRAFFIC_LAYERS: ReadonlySet<string> = new Set(['rate-limit', 'query-pattern']);

export interface LayerSet {
  /** Every layer, in order, for live requests. */
  readonly layers: readonly DefenseLayer[];
  readonly ensembleIds: readonly string[];
  /** The layers that judge inputs and answers, bound to `model` (no validation, no traffic layers). */
  judging(model: ServedModel): DefenseLayer[];
  dispose(): void;
}

/**
 * Builds the layers from the configuration.
 *
 * @throws UsageError for an unknown normaliser stage; DataError / InputError loading ensemble members.
 */
export async function buildLayers(options: {
  config: ServeConfig;
  first: ServedModel;
  /** The detector of the model a request leased, by model id. */
  oodOf: (modelId: string) => OodDetector | undefined;
  /** The normalisation the live text model was trained behind. */
  textNormalization: () => NormalizeTextOptions | undefined;
  extra?: readonly DefenseLayer[];
  ensemble?: EnsembleMember[];
}): Promise<LayerSet> {
  const { config, first } = options;
  const l = config.layers;
  let textOptions: (NormalizeTextOptions & { flag?: boolean }) | undefined;
  if (first.view.kind === 'text' && l.normalizeText !== false) {
    const { stages, flag } = l.normalizeText;
    textOptions = { ...(stages ? { stages: stages as NormalizeStage[] } : {}), ...(flag === undefined ? {} : { flag }) };
    // Fails here, at startup, on an unknown stage name rather than on the first request.
    normalizeTextWithReport('', textOptions);
  }
  let dispose = (): void => {};
  let ensemble: DefenseLayer[] = [];
  let ensembleIds: string[] = [];
  if (l.ensemble !== false && 'fused' in l.ensemble) {
    ensemble = [fusedEnsembleLayer(l.ensemble)];
    ensembleIds = ['fused'];
  } else if (l.ensemble !== false && options.ensemble) {
    ensembleIds = options.ensemble.map((m) => m.id);
    ensemble = [ensembleLayer(options.ensemble, l.ensemble)];
  } else if (l.ensemble !== false) {
    // Members on a second core: started before the model runs, collected after it (an input and an output layer).
    const parallel = await loadParallelMembers(l.ensemble.models, first.view.inputShape);
    dispose = () => void parallel.dispose();
    ensembleIds = parallel.members.map((m) => m.id);
    ensemble = parallelEnsembleLayers(parallel, l.ensemble);
  }
  const abstain = l.abstain === false ? undefined : abstainLayer(l.abstain);
  const judgingFor = (ood: (id: string) => OodDetector | undefined, own: () => NormalizeTextOptions | undefined): DefenseLayer[] => [
    ...(options.extra ?? []),
    // A model trained behind its own normaliser applies it itself; the layer then only reports (see the layer).
    ...(textOptions ? [normalizeTextLayer(textOptions, own)] : []),
    ...(l.ood === false ? [] : [oodLayer(ood, l.ood)]),
    ...ensemble,
    ...(abstain ? [abstain] : []),
  ];
  const live = judgingFor(options.oodOf, options.textNormalization);
  const layers: DefenseLayer[] = [validateLayer(l.validate), ...live];
  if (l.queryPattern !== false) {
    // Query-pattern detection runs on the raw inputs before the OOD and model layers.
    const at = layers.findIndex((x) => x.stage === 'output');
    layers.splice(at < 0 ? layers.length : at, 0, queryPatternLayer(l.queryPattern));
  }
  return {
    layers,
    ensembleIds,
    judging: (model) =>
      judgingFor(
        () => model.ood,
        () => model.textNormalization,
      ),
    dispose,
  };
}
