/**
 * What each layer of a defended stack adds against an adaptive attacker. The stack attack
 * (stack-attack.ts) runs against the bare model, against the model with each detector alone,
 * and against the whole stack; per configuration the report gives the rate at which inputs
 * are misclassified AND pass every layer (the attacker's success), the robust accuracy of
 * that configuration (clean-correct and not broken), and what each layer adds over the bare
 * model. Clean inputs a layer blocks are reported too: a detector that flags everything is
 * "robust" and useless.
 */
import { gatherRows, ranges } from '../../core/tensors.js';
import type { Dataset } from '../../core/types.js';
import { predictClasses } from '../../models/predict.js';
import type { ThreatModel } from '../../threats/threat-model.js';
import { rateOf, type Rate } from '../rate.js';
import type { StackDetector } from './detectors.js';
import { attackStack, stackVerdicts, type DefendedStack, type StackAttackOptions } from './stack-attack.js';

export interface StackConfigResult {
  /** Detector ids in this configuration (empty: the bare model). */
  layers: string[];
  /** Attacked (clean-correct) inputs that ended misclassified AND passed every layer, over those attacked. */
  attackSuccess: Rate;
  /** Misclassified, ignoring detection, over those attacked. */
  misclassified: Rate;
  /** Clean-correct and not broken, over all inputs. */
  robustAccuracy: Rate;
  /** Clean-correct inputs that every layer passes, over all inputs (the cost of the layers). */
  cleanPass: Rate;
}

export interface DefendedStackReport {
  kind: 'rampart.defended-stack-report';
  threat: string;
  count: number;
  cleanAccuracy: Rate;
  /** Bare model, each layer alone, then all layers. */
  configs: StackConfigResult[];
  /** Per layer: robust accuracy with that layer alone minus the bare model's (points). */
  added: Record<string, number>;
  /** The whole stack's robust accuracy: what the gate's `defendedStack` criterion reads. */
  robustAccuracy: Rate;
}

export interface DefendedStackEvalOptions extends StackAttackOptions {
  model: DefendedStack['model'];
  detectors: readonly StackDetector[];
  data: Dataset;
  threat: ThreatModel;
  batchSize?: number;
}

/** Attacks one configuration over the clean-correct rows. */
async function runConfig(stack: DefendedStack, options: DefendedStackEvalOptions, candidates: number[]): Promise<StackConfigResult> {
  const { data } = options;
  let success = 0;
  let misclassified = 0;
  let cleanPass = 0;
  for (const [start, end] of ranges(candidates.length, options.batchSize ?? 64)) {
    const rows = candidates.slice(start, end);
    const x = gatherRows(data, rows);
    const labels = Int32Array.from(rows, (r) => data.y[r] as number);
    try {
      const clean = await stackVerdicts(stack, x, labels);
      cleanPass += labels.filter((_, i) => stack.detectors.every((d) => clean.passes[d.id]?.[i] === 1)).length;
      const result = await attackStack(stack, x, labels, options.threat, { ...options, seed: (options.seed ?? 0) + start });
      result.adversarial.dispose();
      success += result.success.reduce((a, b) => a + b, 0);
      misclassified += result.misclassified.reduce((a, b) => a + b, 0);
    } finally {
      x.dispose();
    }
  }
  const attacked = candidates.length;
  return {
    layers: stack.detectors.map((d) => d.id),
    attackSuccess: rateOf(success, attacked),
    misclassified: rateOf(misclassified, attacked),
    robustAccuracy: rateOf(attacked - success, data.count),
    cleanPass: rateOf(cleanPass, data.count),
  };
}

/**
 * Evaluates a defended stack adaptively with a per-layer ablation.
 *
 * @throws whatever attackStack throws (bad bare attack specs, a threat the attacks do not take).
 * @example
 * const report = await evaluateDefendedStack({ model, detectors: [abstainDetector(), oodDetector(ood)], data: test, threat });
 * report.added.ood // points of robust accuracy the OOD layer adds against an adaptive attacker
 */
export async function evaluateDefendedStack(options: DefendedStackEvalOptions): Promise<DefendedStackReport> {
  const { model, data, detectors } = options;
  const predicted = await predictClasses(model, data, options.batchSize ?? 64);
  const candidates: number[] = [];
  for (let i = 0; i < data.count; i++) if (predicted[i] === data.y[i]) candidates.push(i);
  const configs: StackConfigResult[] = [];
  configs.push(await runConfig({ model, detectors: [] }, options, candidates));
  if (detectors.length > 1) for (const d of detectors) configs.push(await runConfig({ model, detectors: [d] }, options, candidates));
  if (detectors.length > 0) configs.push(await runConfig({ model, detectors }, options, candidates));
  const bare = configs[0] as StackConfigResult;
  const added: Record<string, number> = {};
  for (const c of configs) if (c.layers.length === 1) added[c.layers[0] as string] = c.robustAccuracy.value - bare.robustAccuracy.value;
  const all = configs[configs.length - 1] as StackConfigResult;
  return {
    kind: 'rampart.defended-stack-report',
    threat: options.threat.id,
    count: data.count,
    cleanAccuracy: rateOf(candidates.length, data.count),
    configs,
    added,
    robustAccuracy: all.robustAccuracy,
  };
}
