/**
 * The plan's defended stack, evaluated adaptively: the evaluated model behind the detection
 * layers `rampart serve` runs (abstention on the top probability, OOD on the logits, the
 * fused ensemble's disagreement among its members or heads), each
 * configured as in the plan, attacked together by the stack attack (src/eval/adaptive) at
 * the plan's chosen L∞/L2 threat. OOD is fitted on the validation split, as serve fits it
 * on the model's own data.
 */
import type { Dataset } from '../../core/types.js';
import { takeFirst } from '../../data/index.js';
import { fitOodDetector } from '../../defenses/ood/index.js';
import { fusedMemberClassifiers } from '../../defenses/ensemble/member-classifiers.js';
import {
  abstainDetector,
  ensembleDetector,
  evaluateDefendedStack,
  oodDetector,
  type DefendedStackReport,
  type StackDetector,
} from '../../eval/adaptive/index.js';
import { datasetLogits } from '../../eval/calibration.js';
import type { Classifier } from '../../models/classifier.js';
import { TfjsClassifier } from '../../models/tfjs-classifier.js';
import type { ThreatModel } from '../../threats/threat-model.js';
import type { Plan } from '../plan/schema.js';

/** The stack's detectors as the plan configures them; `fitData` fits the OOD layer. */
async function detectorsOf(plan: Plan, model: Classifier, fitData: Dataset, temperature: number): Promise<StackDetector[]> {
  const layers = plan.evaluation.defendedStack?.layers;
  const detectors: StackDetector[] = [];
  if (layers?.abstain) detectors.push(abstainDetector({ threshold: layers.abstain.threshold, temperature }));
  if (layers?.ood) {
    const fit = takeFirst(fitData, Math.min(layers.ood.fitLimit, fitData.count));
    const logits = await datasetLogits(model, fit, plan.evaluation.batchSize);
    const k = model.numClasses;
    const features = Array.from({ length: fit.count }, (_, i) => logits.subarray(i * k, (i + 1) * k));
    detectors.push(
      oodDetector(fitOodDetector({ features, labels: fit.y, numClasses: k, source: 'logits' }), { flagAt: layers.ood.flagAt }),
    );
  }
  // As served: a model without members (not a fused ensemble) passes the fused layer, so it adds no detector.
  const members = layers?.ensemble && model instanceof TfjsClassifier ? fusedMemberClassifiers(model.model, model.bounds) : undefined;
  if (layers?.ensemble && members) detectors.push(ensembleDetector(members, { flagAt: layers.ensemble.flagAt }));
  return detectors;
}

/**
 * Runs the plan's `evaluation.defendedStack` on the first `limit` examples of `data`.
 *
 * @throws UsageError when the named threat is not among `threats` (the plan check prevents it).
 */
export async function planDefendedStack(options: {
  plan: Plan;
  model: Classifier;
  data: Dataset;
  fitData: Dataset;
  threats: readonly ThreatModel[];
  temperature?: number;
}): Promise<DefendedStackReport | undefined> {
  const { plan, model } = options;
  const spec = plan.evaluation.defendedStack;
  if (!spec) return undefined;
  const threat = options.threats.find((t) => t.id === spec.threat);
  if (!threat) return undefined;
  const detectors = await detectorsOf(plan, model, options.fitData, options.temperature ?? 1);
  const pgd = plan.evaluation.attacks.find((a) => a.id === 'pgd');
  try {
    return await evaluateDefendedStack({
      model,
      detectors,
      data: takeFirst(options.data, Math.min(spec.limit, options.data.count)),
      threat,
      steps: spec.steps,
      ...(pgd ? { bare: [pgd] } : {}),
      seed: plan.seed,
      batchSize: plan.evaluation.batchSize,
    });
  } finally {
    for (const d of detectors) d.dispose?.();
  }
}
