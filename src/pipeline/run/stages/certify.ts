/**
 * Stage `certify`: randomized smoothing (Cohen et al. 2019) of the hardened model;
 * certified accuracy at each L2 threat's radius on the first evaluation examples.
 */
import { ConfigError } from '../../../core/errors.js';
import { certifiedAccuracy } from '../../../eval/smoothing.js';
import { loadClassifierModel } from '../../../models/store.js';
import type { Stage } from '../types.js';
import { evaluationData } from './common.js';
import { dataStage } from './data.js';
import { hardenStage } from './train.js';

export interface CertifyOutputs {
  sigma: number;
  count: number;
  /** Certified accuracy per L2 threat id (radius = the threat's epsilon). */
  certifiedAccuracy: Record<string, number>;
  curve: { radius: number; certifiedAccuracy: number }[];
  abstentionRate: number;
  smoothedAccuracy: number;
}

export const certifyStage: Stage<CertifyOutputs> = {
  id: 'certify',
  title: 'certification (randomized smoothing)',
  version: 1,
  dependsOn: [dataStage.id, hardenStage.id],
  inputs: ({ plan }) => ({
    certification: plan.evaluation.certification ?? null,
    threats: plan.threats.flatMap((t) => (t.channel === 'image' && t.norm === 'l2' ? [{ id: t.id, epsilon: t.epsilon }] : [])),
    limit: plan.evaluation.limit ?? null,
    seed: plan.seed,
  }),
  async run(ctx) {
    const { plan } = ctx;
    const c = plan.evaluation.certification;
    if (!c) throw new ConfigError('E_PLAN_INVALID', 'The certify stage needs evaluation.certification in the plan, e.g. { sigma: 0.25 }.');
    const l2 = plan.threats.flatMap((t) => (t.channel === 'image' && t.norm === 'l2' ? [t] : []));
    const stored = await loadClassifierModel(ctx.resolve(ctx.output(hardenStage).modelDir));
    try {
      const report = await certifiedAccuracy({
        model: stored.classifier,
        data: evaluationData(plan).selected,
        sigma: c.sigma,
        n: c.samples,
        n0: c.selectionSamples,
        alpha: c.alpha,
        limit: c.limit,
        seed: plan.seed,
        radii: [0, ...l2.map((t) => t.epsilon)],
        onProgress: (p) => ctx.progress(p.done, p.total, `σ=${c.sigma}`),
        // The run's executor (pool, or queue with `--queue`); the numbers are the same on any.
        ...(ctx.pool ? { executor: ctx.pool } : {}),
      });
      const at = (r: number): number => report.curve.find((p) => p.radius === r)?.certifiedAccuracy ?? 0;
      return {
        sigma: c.sigma,
        count: report.data.count,
        certifiedAccuracy: Object.fromEntries(l2.map((t) => [t.id, at(t.epsilon)])),
        curve: report.curve.map((p) => ({ radius: p.radius, certifiedAccuracy: p.certifiedAccuracy })),
        abstentionRate: report.abstentionRate,
        smoothedAccuracy: report.smoothedAccuracy,
      };
    } finally {
      stored.model.dispose();
    }
  },
};
