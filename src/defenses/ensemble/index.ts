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
import type { EnsembleMember } from './member.js';
import type { ParallelEnsemble, PendingLabels } from './parallel.js';

export type { EnsembleMember } from './member.js';
export { loadParallelMembers, type ParallelEnsemble } from './parallel.js';

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
  return disagreementLayer(members, options, undefined);
}

/**
 * The ensemble layer with its members on a second core (`loadParallelMembers`): an input
 * layer `ensemble-start` hands the validated batch to the member thread before the served
 * model runs, and the output layer `ensemble` collects the members' labels afterwards, so
 * the members' forward passes overlap the served model's. Same verdicts as
 * {@link ensembleLayer}; a batch the thread does not take is evaluated inline.
 *
 * @throws UsageError `E_ENSEMBLE_SIZE` without at least one member.
 * @example const [start, layer] = parallelEnsembleLayers(await loadParallelMembers(dirs, [28, 28, 1]), { flagAt: 0.5 });
 */
export function parallelEnsembleLayers(parallel: ParallelEnsemble, options: EnsembleOptions = {}): [DefenseLayer, DefenseLayer] {
  // Keyed by the request's context; a request that never reaches the output stage leaves its entry to the GC.
  const started = new WeakMap<GuardContext, { batch: ImageBatch; labels: PendingLabels }>();
  const start: DefenseLayer = {
    id: 'ensemble-start',
    stage: 'input',
    check(ctx) {
      const labels = ctx.batch ? parallel.start(ctx.batch) : undefined;
      if (!ctx.batch || !labels) return { decision: 'pass', reason: 'members run after the model' };
      started.set(ctx, { batch: ctx.batch, labels });
      return { decision: 'pass' };
    },
  };
  return [start, disagreementLayer(parallel.members, options, started)];
}

/** Per example, the fraction of `members` whose label differs from the served model's; the verdict for the worst example. */
function disagreementLayer(
  members: readonly EnsembleMember[],
  options: EnsembleOptions,
  started: WeakMap<GuardContext, { batch: ImageBatch; labels: PendingLabels }> | undefined,
): DefenseLayer {
  if (members.length === 0)
    throw new UsageError(
      'E_ENSEMBLE_SIZE',
      'The ensemble layer needs at least one model besides the served one; list member model directories under layers.ensemble.models.',
    );
  const flagAt = options.flagAt ?? 0.5;
  const inline = async (ctx: GuardContext, member: EnsembleMember): Promise<Int32Array | undefined> => {
    if (ctx.batch && member.predictBatch) return member.predictBatch(ctx.batch);
    if (ctx.texts && member.predictTexts) return member.predictTexts(ctx.texts);
    return undefined;
  };
  return {
    id: 'ensemble',
    stage: 'output',
    async check(ctx: GuardContext): Promise<LayerVerdict> {
      const pending = started?.get(ctx);
      started?.delete(ctx);
      // The thread's labels, when it took this batch (and no layer replaced the batch since).
      const threaded = pending && pending.batch === ctx.batch ? await pending.labels() : undefined;
      const primary = ctx.output?.labels;
      if (!primary) return { decision: 'pass', reason: 'no model output' };
      const disagree = new Float64Array(primary.length);
      for (let m = 0; m < members.length; m++) {
        const labels = threaded ? threaded[m] : await inline(ctx, members[m] as EnsembleMember);
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
