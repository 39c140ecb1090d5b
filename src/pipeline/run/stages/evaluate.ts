/**
 * Stages `attack` (the baseline under the plan's threats: what an adversary gets today)
 * and `evaluate` (the hardened candidate, whose results the gate reads).
 */
import { loadClassifierModel } from '../../../models/store.js';
import { evaluateModel, writeModelEvaluation } from '../evaluate-model.js';
import type { EvaluationResults } from '../results.js';
import type { Stage, StageContext } from '../types.js';
import { evaluationData, filesExist } from './common.js';
import type { TrainOutputs } from './train.js';
import type { CalibrateOutputs } from './calibrate.js';
import type { CertifyOutputs } from './certify.js';
import type { TextAttackOutputs } from './text.js';

export interface EvaluateOutputs {
  model: string;
  /** results.json, relative to the run directory. */
  resultsPath: string;
  reports: string[];
  examples?: string;
  results: EvaluationResults;
}

/**
 * An evaluation stage for the model of `modelStage`. With `calibrate` among `extra`, ECE
 * is measured at the fitted temperature; with `certify`, certified accuracy is merged in;
 * with `text-attack`, the text model's robust accuracy per text threat.
 */
export function evaluationStage(id: string, title: string, modelStage: string, name: string, extra: readonly ('calibrate' | 'certify' | 'text-attack')[] = []): Stage<EvaluateOutputs> {
  return {
    id,
    title,
    version: 1,
    dependsOn: ['data', modelStage, ...extra],
    // Only what changes the numbers: owners, likelihoods and criteria do not.
    inputs: ({ plan, backend }) => ({
      threats: plan.threats.map((t) => (t.channel === 'text' ? { id: t.id, channel: t.channel } : { id: t.id, channel: t.channel, norm: t.norm, epsilon: t.epsilon })),
      evaluation: plan.evaluation,
      seed: plan.seed,
      backend: backend ?? 'default',
    }),
    async run(ctx: StageContext) {
      const trained = ctx.output<TrainOutputs>(modelStage);
      const stored = await loadClassifierModel(ctx.resolve(trained.modelDir));
      try {
        const evaluation = await evaluateModel({
          plan: ctx.plan,
          model: stored.classifier,
          name: `${ctx.plan.name}/${name}`,
          sha256: trained.sha256,
          data: evaluationData(ctx.plan).selected,
          ...(ctx.pool ? { pool: ctx.pool } : {}),
          ...(extra.includes('calibrate') ? { temperature: ctx.output<CalibrateOutputs>('calibrate').temperature } : {}),
          ...(extra.includes('certify') ? { certifiedAccuracy: ctx.output<CertifyOutputs>('certify').certifiedAccuracy } : {}),
          onProgress: (done, total, label) => ctx.progress(done, total, label),
        });
        if (extra.includes('text-attack')) {
          // The text channel's model was attacked in its own stage; its numbers join the candidate's.
          const text = ctx.output<TextAttackOutputs>('text-attack');
          for (const [threat, value] of Object.entries(text.robustAccuracy)) {
            evaluation.results.robustAccuracy[threat] = value;
            delete evaluation.results.unmeasured[threat];
          }
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

export const attackStage = evaluationStage('attack', 'attack evaluation (baseline)', 'baseline', 'baseline');
