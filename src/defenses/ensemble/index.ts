/**
 * Ensemble disagreement: independently trained models rarely share the same adversarial
 * examples exactly (transfer is partial), so when the served model's answer is not what
 * the other members say, the input sits near somebody's decision boundary. The score is
 * the fraction of members that disagree with the served model's class, for the worst
 * example of the request.
 *
 * Reference: Tramèr et al., "Ensemble Adversarial Training: Attacks and Defenses"
 * (ICLR 2018), https://arxiv.org/abs/1705.07204, on partial transferability; and
 * Pang et al., "Improving Adversarial Robustness via Promoting Ensemble Diversity" (2019).
 */
import { UsageError } from '../../core/errors.js';
import { thresholdDecision, type DefenseLayer, type GuardContext, type ImageBatch, type LayerVerdict } from '../layer.js';

export interface EnsembleMember {
  readonly id: string;
  /** Predicted class per example of an image batch. */
  predictBatch?(batch: ImageBatch): Int32Array | Promise<Int32Array>;
  /** Predicted class per text. */
  predictTexts?(texts: readonly string[]): Int32Array | Promise<Int32Array>;
}

export interface EnsembleOptions {
  /** Disagreeing fraction of members that flags (default 0.5). */
  flagAt?: number;
  /** Disagreeing fraction that denies (default: never). */
  denyAt?: number;
}

/**
 * @throws UsageError `E_ENSEMBLE_SIZE` without at least one member besides the served model.
 * @example const layer = ensembleLayer([memberA, memberB], { flagAt: 0.5 });
 */
export function ensembleLayer(members: readonly EnsembleMember[], options: EnsembleOptions = {}): DefenseLayer {
  if (members.length === 0)
    throw new UsageError(
      'E_ENSEMBLE_SIZE',
      'The ensemble layer needs at least one model besides the served one; list member model directories under layers.ensemble.models.',
    );
  const flagAt = options.flagAt ?? 0.5;
  return {
    id: 'ensemble',
    stage: 'output',
    async check(ctx: GuardContext): Promise<LayerVerdict> {
      const primary = ctx.output?.labels;
      if (!primary) return { decision: 'pass', reason: 'no model output' };
      const disagree = new Float64Array(primary.length);
      for (const member of members) {
        let labels: Int32Array | undefined;
        if (ctx.batch && member.predictBatch) labels = await member.predictBatch(ctx.batch);
        else if (ctx.texts && member.predictTexts) labels = await member.predictTexts(ctx.texts);
        if (!labels) continue;
        for (let i = 0; i < primary.length; i++) if (labels[i] !== primary[i]) disagree[i] = (disagree[i] as number) + 1 / members.length;
      }
      let worst = 0;
      const flagged: number[] = [];
      disagree.forEach((v, i) => {
        worst = Math.max(worst, v);
        if (v >= flagAt) flagged.push(i);
      });
      const score = Math.round(worst * 1000) / 1000;
      const decision = thresholdDecision(score, flagAt, options.denyAt);
      if (decision === 'pass') return { decision, score };
      return {
        decision,
        score,
        examples: flagged,
        code: 'E_ENSEMBLE_DISAGREEMENT',
        reason: `${Math.round(worst * members.length)} of ${members.length} ensemble members disagree with the served model`,
      };
    },
  };
}

/**
 * Disagreement inside a fused ensemble (one model whose output is the mean of its members,
 * as `rampart train --method diversified --members N` builds): the members' labels come
 * from the served model's own forward pass (`output.memberLabels`), so the layer costs no
 * extra inference. The score is the fraction of members that disagree with the ensemble's
 * class, for the worst example of the request. A model that is not a fused ensemble has no
 * member labels and passes with a reason.
 *
 * @example const layer = fusedEnsembleLayer({ flagAt: 0.5 });
 */
export function fusedEnsembleLayer(options: EnsembleOptions = {}): DefenseLayer {
  const flagAt = options.flagAt ?? 0.5;
  return {
    id: 'ensemble',
    stage: 'output',
    check(ctx: GuardContext): Promise<LayerVerdict> {
      const primary = ctx.output?.labels;
      const members = ctx.output?.memberLabels;
      if (!primary || !members || members.length === 0)
        return Promise.resolve({ decision: 'pass', reason: 'the served model is not a fused ensemble' });
      let worst = 0;
      const flagged: number[] = [];
      for (let i = 0; i < primary.length; i++) {
        const disagree = members.filter((m) => m[i] !== primary[i]).length / members.length;
        worst = Math.max(worst, disagree);
        if (disagree >= flagAt) flagged.push(i);
      }
      const score = Math.round(worst * 1000) / 1000;
      const decision = thresholdDecision(score, flagAt, options.denyAt);
      if (decision === 'pass') return Promise.resolve({ decision, score });
      return Promise.resolve({
        decision,
        score,
        examples: flagged,
        code: 'E_ENSEMBLE_DISAGREEMENT',
        reason: `${Math.round(worst * members.length)} of ${members.length} fused ensemble members disagree with the ensemble`,
      });
    },
  };
}
