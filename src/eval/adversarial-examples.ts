/** A few adversarial examples of one attack at one named threat, as plain numbers for the report's images. */
import { batchTensor } from '../core/tensors.js';
import { sizeOf, type Dataset } from '../core/types.js';
import { takeFirst } from '../data/index.js';
import { createAttack } from '../attacks/registry.js';
import type { Classifier } from '../models/classifier.js';
import { predictBatch } from '../models/predict.js';
import type { ThreatModel } from '../threats/threat-model.js';
import type { AttackSpec } from './robustness.js';
import { explainAttacked } from './explain/attacked.js';
import type { ExplainOptions } from './explain/options.js';
import type { ImageShiftSummary } from './explain/summary.js';
import type { MovedElement } from './explain/compare.js';
import { accessOf } from '../models/classifier.js';

export interface AdversarialExample {
  label: number;
  cleanPrediction: number;
  adversarialPrediction: number;
  /** Row-major pixels in the data's bounds, rounded to 4 decimals. */
  clean: number[];
  adversarial: number[];
  /** Attributions for the true label on the clean and the adversarial input (see `explanation` on the set). */
  explanation?: ExampleExplanation;
}

/** One example's attributions: before, after, and the elements the attack moved most. */
export interface ExampleExplanation {
  clean: number[];
  adversarial: number[];
  moved: MovedElement[];
  /** Spearman correlation of |clean| and |adversarial| attributions. */
  rankCorrelation: number;
}

export interface AdversarialExampleSet {
  model: string;
  threat: string;
  attack: string;
  shape: number[];
  bounds: { min: number; max: number };
  items: AdversarialExample[];
  /** How the items were explained, and where attacks moved the attribution across them. */
  explanation?: { method: string; settings: ExplainOptions; summary: ImageShiftSummary };
}

export interface AdversarialExamplesOptions {
  model: Classifier;
  /** The name the set is shown under. */
  name: string;
  data: Dataset;
  threat: ThreatModel;
  attack: AttackSpec;
  /** The first `count` examples of the data. */
  count: number;
  seed: number;
  /**
   * Explain each pair for its label: default integrated gradients (32 steps, zeros baseline)
   * on white-box models and occlusion on score-only ones; `false` for none.
   */
  explain?: ExplainOptions | false;
}

/** The default explanation of adversarial examples for a model of this access. */
export function defaultExampleExplanation(model: Classifier): ExplainOptions {
  return accessOf(model) === 'gradients' ? { method: 'ig', steps: 32, baseline: 'zeros' } : { method: 'occlusion', window: 4, stride: 2 };
}

function round4(values: ArrayLike<number>): number[] {
  return Array.from(values, (v) => Math.round(v * 10_000) / 10_000);
}

/**
 * Runs `attack` at `threat` on the first `count` examples.
 *
 * @throws UsageError for a bad attack spec; InputError when the data does not fit the model.
 * @example const set = await adversarialExamples({ model, name: 'hardened', data, threat, attack: { id: 'pgd' }, count: 8, seed: 1 });
 */
export async function adversarialExamples(options: AdversarialExamplesOptions): Promise<AdversarialExampleSet> {
  const { model, threat } = options;
  const data = takeFirst(options.data, Math.min(options.count, options.data.count));
  const x = batchTensor(data, 0, data.count);
  const attack = createAttack(options.attack.id, options.attack.options ?? {});
  const result = await attack.run(model, x, data.y, threat, { seed: options.seed });
  try {
    // predictBatch: a fresh prediction through logits, or through queries for a black-box target.
    const cleanPred = await predictBatch(model, x);
    const advPred = await predictBatch(model, result.adversarial);
    const advPixels = (await result.adversarial.data()) as Float32Array;
    const size = sizeOf(data.shape);
    const items: AdversarialExample[] = [];
    for (let i = 0; i < data.count; i++) {
      items.push({
        label: data.y[i] as number,
        cleanPrediction: cleanPred[i] as number,
        adversarialPrediction: advPred[i] as number,
        clean: round4(data.x.subarray(i * size, (i + 1) * size)),
        adversarial: round4(advPixels.subarray(i * size, (i + 1) * size)),
      });
    }
    const set: AdversarialExampleSet = {
      model: options.name,
      threat: threat.id,
      attack: attack.id,
      shape: [...data.shape],
      bounds: model.bounds,
      items,
    };
    if (options.explain === false || data.count === 0) return set;
    const settings = options.explain ?? defaultExampleExplanation(model);
    const { shifts, summary } = await explainAttacked(model, threat.id, data.x, advPixels, data.y, settings);
    shifts.forEach((s, i) => {
      (items[i] as AdversarialExample).explanation = {
        clean: s.clean,
        adversarial: s.adversarial,
        moved: s.moved,
        rankCorrelation: s.rankCorrelation,
      };
    });
    return { ...set, explanation: { method: summary.method, settings, summary } };
  } finally {
    result.adversarial.dispose();
    x.dispose();
  }
}
