/**
 * Stages `attack` (the baseline under the plan's threats: what an adversary gets today)
 * and `evaluate` (the hardened candidate, whose results the gate reads).
 */
import { ADVERSARIAL_SETS, adversarialInputs, measureAdversarialSets, type ResolvedAdversarialSet } from '../../refresh-adversarial.js';
import { rateFromFraction, type Rate } from '../../../eval/rate.js';
import type { EvaluationResults } from '../../../eval/results.js';
import { loadClassifierModel } from '../../../models/store.js';
import { evaluateModel, writeModelEvaluation } from '../evaluate-model.js';
import { stageRef, type Stage, type StageContext, type StageRef } from '../types.js';
import { evaluationData, filesExist } from './common.js';
import { dataStage } from './data.js';
import { baselineStage, type TrainOutputs } from './train.js';
import { calibrateStage } from './calibrate.js';
import { certifyStage } from './certify.js';
import { textAttackStage } from './text.js';

export interface EvaluateOutputs {
  model: string;
  /** results.json, relative to the run directory. */
  resultsPath: string;
  reports: string[];
  examples?: string;
  results: EvaluationResults;
}

/** What the candidate's evaluation reads besides its model: each stage only when the plan runs it. */
export interface EvaluationInputs {
  calibrate?: boolean;
  certify?: boolean;
  text?: boolean;
  /** Run the gradient-masking checks (the candidate, not the baseline). */
  masking?: boolean;
}

/** The candidate's evaluation, for stages that read it. */
export const evaluateRef: StageRef<EvaluateOutputs> = stageRef('evaluate');

/**
 * An evaluation stage for the model of `modelStage`. With `calibrate`, ECE is measured at
 * the fitted temperature; with `certify`, certified accuracy joins the results; with
 * `text`, the text model's robust accuracy per text threat.
 */
export function evaluationStage(
  id: string,
  title: string,
  modelStage: StageRef<TrainOutputs>,
  name: string,
  inputs: EvaluationInputs = {},
): Stage<EvaluateOutputs> {
  const extra = [
    ...(inputs.calibrate ? [calibrateStage.id] : []),
    ...(inputs.certify ? [certifyStage.id] : []),
    ...(inputs.text ? [textAttackStage.id] : []),
  ];
  return {
    id,
    title,
    version: 2,
    dependsOn: [dataStage.id, modelStage.id, ...extra],
    // Only what changes the numbers: owners, likelihoods and criteria do not.
    inputs: ({ plan, backend, extras }) => ({
      ...(plan.data.adversarial
        ? { adversarial: adversarialInputs(extras[ADVERSARIAL_SETS] as ResolvedAdversarialSet[] | undefined) }
        : {}),
      threats: plan.threats.map((t) =>
        t.channel === 'text' ? { id: t.id, channel: t.channel } : { id: t.id, channel: t.channel, norm: t.norm, epsilon: t.epsilon },
      ),
      evaluation: plan.evaluation,
      masking: inputs.masking === true,
      seed: plan.seed,
      backend: backend ?? 'default',
    }),
    async run(ctx: StageContext) {
      const trained = ctx.output(modelStage);
      const stored = await loadClassifierModel(ctx.resolve(trained.modelDir));
      try {
        const certify = inputs.certify ? ctx.output(certifyStage) : undefined;
        const text = inputs.text ? ctx.output(textAttackStage) : undefined;
        const rates = (values: Record<string, number>, n: number): Record<string, Rate> =>
          Object.fromEntries(Object.entries(values).map(([threat, value]) => [threat, rateFromFraction(value, n)]));
        const evaluation = await evaluateModel({
          plan: ctx.plan,
          model: stored.classifier,
          name: `${ctx.plan.name}/${name}`,
          sha256: trained.sha256,
          data: evaluationData(ctx.plan).selected,
          ...(ctx.pool ? { pool: ctx.pool } : {}),
          ...(inputs.calibrate ? { temperature: ctx.output(calibrateStage).temperature } : {}),
          ...(certify ? { certified: rates(certify.certifiedAccuracy, certify.count) } : {}),
          // The text channel's model was attacked in its own stage; its numbers join the candidate's.
          ...(text
            ? { text: { robust: rates(text.robustAccuracy, text.count), clean: rateFromFraction(text.cleanAccuracy, text.count) } }
            : {}),
          masking: inputs.masking === true,
          onProgress: (done, total, label) => ctx.progress(done, total, label),
        });
        // The confirmed attacks of the plan's adversarial sets, for the gate's adversarialSet criterion.
        const sets = ctx.extras[ADVERSARIAL_SETS] as ResolvedAdversarialSet[] | undefined;
        if (sets && sets.length > 0) {
          const data = evaluationData(ctx.plan).selected;
          evaluation.results = { ...evaluation.results, adversarialSet: await measureAdversarialSets(stored.classifier, sets, data) };
        }
        const files = await writeModelEvaluation(ctx.workDir, evaluation);
        return {
          model: name,
          resultsPath: ctx.relative(files.results),
          reports: files.reports.map((r) => ctx.relative(r)),
          ...(files.examples ? { examples: ctx.relative(files.examples) } : {}),
          results: evaluation.results,
        };
      } finally {
        stored.model.dispose();
      }
    },
    stillValid: (o, ctx) => filesExist(ctx, [o.resultsPath, ...o.reports, o.examples]),
  };
}

export const attackStage = evaluationStage('attack', 'attack evaluation (baseline)', baselineStage, 'baseline');
