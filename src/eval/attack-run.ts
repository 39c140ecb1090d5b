/**
 * What every dataset-level evaluation does before its attack loop: check the batch size, take
 * the threats (one norm), predict the clean data, keep the correctly classified rows as the
 * candidates to attack, and open an executor session that attacks rows with a seed per batch.
 * Robustness evaluation and the suite share it, so the two cannot drift apart.
 */
import { UsageError } from '../core/errors.js';
import type { Dataset } from '../core/types.js';
import { localExecutor, type ExecutorSession, type Executor, type RowsResult } from '../execution/index.js';
import type { AttackSpec } from '../execution/shards.js';
import type { Attack } from '../attacks/types.js';
import type { Classifier } from '../models/classifier.js';
import { accuracyOf, predictClasses } from '../models/predict.js';
import type { ThreatNormId } from '../threats/norms.js';
import { sameNormThreats, type ThreatModel } from '../threats/threat-model.js';

export interface AttackRunOptions {
  model: Classifier;
  data: Dataset;
  threats: readonly ThreatModel[];
  batchSize?: number;
  pool?: Executor;
  /** Forward passes averaged for the clean predictions (randomised models). */
  passes?: number;
}

export interface AttackRun {
  norm: ThreatNormId;
  threats: ThreatModel[];
  epsilons: number[];
  batchSize: number;
  predicted: Int32Array;
  cleanAccuracy: number;
  /** Rows classified correctly: the only ones worth attacking. */
  candidates: number[];
  session: ExecutorSession;
  /**
   * Attacks `rows` under `threat` with `attack` (a spec, or a live attack run in this thread) on the
   * session, reporting progress as a fraction; with `targets`, one target class per row (a targeted goal).
   */
  attackRows(
    rows: number[],
    threat: ThreatModel,
    attack: AttackSpec | Attack,
    seed: number,
    progress: (fraction: number) => void,
    targets?: Int32Array,
  ): Promise<RowsResult>;
}

/**
 * Prepares an evaluation's attack loop; the caller closes `run.session`.
 *
 * @throws UsageError `E_BATCH_SIZE`; ThreatError from mixed norms; InputError for data that does not fit the model.
 * @example const run = await openAttackRun({ model, data, threats }); try { ... } finally { await run.session.close(); }
 */
export async function openAttackRun(options: AttackRunOptions): Promise<AttackRun> {
  const { model, data } = options;
  const batchSize = options.batchSize ?? 256;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new UsageError('E_BATCH_SIZE', `Batch size must be a whole number >= 1; got ${batchSize}.`);
  const { norm, threats } = sameNormThreats(options.threats);
  const predicted = await predictClasses(model, data, batchSize, options.passes ?? 1);
  const candidates: number[] = [];
  for (let i = 0; i < data.count; i++) if (predicted[i] === data.y[i]) candidates.push(i);
  const session = await (options.pool ?? localExecutor()).open(model);
  return {
    norm,
    threats,
    epsilons: threats.map((t) => t.epsilon),
    batchSize,
    predicted,
    cleanAccuracy: accuracyOf(predicted, data.y),
    candidates,
    session,
    attackRows: (rows, threat, attack, seed, progress, targets) =>
      session.runRows({
        data,
        rows,
        threat,
        attack,
        seed,
        ...(targets ? { targets } : {}),
        onProgress: (done, total) => progress(done / Math.max(1, total)),
      }),
  };
}
