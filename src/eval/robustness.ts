/**
 * Robustness evaluation: clean accuracy, then every attack at every epsilon on the
 * examples the model gets right, and the per-example worst case over all attacks (an
 * example counts as robust only if no attack breaks it). The report is plain JSON with
 * everything needed to reproduce it: config, seed, backend, data hash, versions.
 */
import { UsageError } from '../core/errors.js';
import { ranges } from '../core/tensors.js';
import type { Dataset } from '../core/types.js';
import { RAMPART_VERSION } from '../core/version.js';
import { hashDataset } from '../data/hash.js';
import { engineInfo, initEngine, type EngineInfo } from '../engine/backend.js';
import type { Classifier } from '../models/classifier.js';
import type { Executor } from '../execution/index.js';
import type { ThreatModel } from '../threats/threat-model.js';
import { createAttack } from '../attacks/registry.js';
import type { Attack } from '../attacks/types.js';
import type { ThreatNormId } from '../threats/norms.js';
import { attackStatsMetric, type AttackStats } from './metrics.js';
import { openAttackRun } from './attack-run.js';

export interface AttackSpec {
  id: string;
  options?: Record<string, unknown>;
}

/** An attack by spec (any executor), or a live one such as a transfer attack holding its surrogate (this thread only). */
export type EvalAttack = AttackSpec | Attack;

const isLive = (a: EvalAttack): a is Attack => typeof (a as Attack).run === 'function';

export interface EvalProgress {
  stage: 'clean' | 'attack';
  attack?: string;
  epsilon?: number;
  /** Work done so far, in attacked examples (fractional within a batch). */
  done: number;
  total: number;
}

export interface RobustnessEvalOptions {
  model: Classifier;
  data: Dataset;
  /**
   * The named threat models to evaluate under, all of one norm (one report is one curve);
   * results carry each threat's id. Build unnamed ones with `threatsAt(norm, epsilons)`.
   */
  threats: readonly ThreatModel[];
  attacks: readonly EvalAttack[];
  batchSize?: number;
  seed?: number;
  /**
   * Where attacks run: a worker pool, or any executor; default this thread. Results depend
   * on the shard size (recorded in the report), never on the executor or its number of
   * workers. Only TF.js models are shipped to workers; others (defence wrappers) run here.
   */
  pool?: Executor;
  onProgress?: (progress: EvalProgress) => void;
}

export interface AttackOutcome extends AttackStats {
  attack: string;
  /** The threat model's id. */
  threat: string;
  epsilon: number;
  /** Clean-correct examples this attack did not break, over all examples. */
  robustAccuracy: number;
  durationMs: number;
}

export interface WorstCase {
  /** The threat model's id. */
  threat: string;
  epsilon: number;
  /** Examples correct and unbroken by every attack, over all examples. */
  robustAccuracy: number;
  robustCount: number;
  /** Those examples, by row in the data, so a caller can take the worst case with other attacks per example. */
  robustRows: number[];
  /** How many examples each attack broke (an example may be broken by several). */
  brokenBy: Record<string, number>;
  /**
   * For a targeted threat (`threat.goal`): the goal, the clean-correct examples attacked (those whose
   * label is not the target) and how many of them the attacks moved to the target class.
   */
  targeted?: { target: number; attacked: number; succeeded: number };
}

export interface RobustnessReport {
  kind: 'rampart.robustness-report';
  schemaVersion: 1;
  rampartVersion: string;
  createdAt: string;
  durationMs: number;
  engine: EngineInfo;
  seed: number;
  model: { id: string; inputShape: readonly number[]; numClasses: number; bounds: { min: number; max: number } };
  data: { name: string; count: number; sha256: string };
  config: {
    norm: ThreatNormId;
    epsilons: number[];
    /** The threat ids, in the order of `epsilons`. */
    threats: string[];
    batchSize: number;
    attacks: { id: string; config: Readonly<object> }[];
    /** How attacks ran: in this thread, or sharded over a worker pool in shards of `shardRows`. */
    execution: { workers: number; shardRows?: number };
  };
  clean: { accuracy: number; correct: number; count: number };
  results: AttackOutcome[];
  /** Per epsilon, the worst case over all attacks: the accuracy-vs-epsilon curve. */
  worstCase: WorstCase[];
}

/**
 * Evaluates a model's robustness on a dataset.
 *
 * @throws UsageError `E_UNKNOWN_ATTACK` / `E_ATTACK_OPTION` for a bad attack spec, `E_NO_ATTACKS` for none.
 * @throws ThreatError `E_EPSILON_RANGE` for an epsilon out of range.
 * @throws InputError when the data does not fit the model.
 * @example
 * const report = await evaluateRobustness({ model, data: test, threats: threatsAt('linf', [0.1, 0.3]), attacks: [{ id: 'pgd' }] });
 */
export async function evaluateRobustness(options: RobustnessEvalOptions): Promise<RobustnessReport> {
  const started = Date.now();
  const engine = engineInfo() ?? (await initEngine());
  const { model, data, onProgress } = options;
  const seed = options.seed ?? 0;
  if (options.attacks.length === 0) throw new UsageError('E_NO_ATTACKS', 'Give at least one attack to evaluate with, e.g. pgd.');
  const attacks: Attack[] = options.attacks.map((spec) => (isLive(spec) ? spec : createAttack(spec.id, spec.options ?? {})));

  onProgress?.({ stage: 'clean', done: 0, total: data.count });
  const run = await openAttackRun(options);
  const { norm, threats, epsilons, batchSize, cleanAccuracy, candidates, session } = run;
  /** Attacks the given rows with attack `a` on the executor. */
  const runBatch = (rows: number[], threat: ThreatModel, a: number, batchSeed: number, progress: (fraction: number) => void) => {
    const goal = threat.goal;
    const targets = goal?.kind === 'targeted' ? new Int32Array(rows.length).fill(goal.target) : undefined;
    return run.attackRows(rows, threat, options.attacks[a] as EvalAttack, batchSeed, progress, targets);
  };

  try {
    const attackedEpsilons = epsilons.filter((e) => e > 0).length;
    const total = candidates.length * attacks.length * attackedEpsilons;
    let done = 0;
    const results: AttackOutcome[] = [];
    const worstCase: WorstCase[] = [];

    for (const [e, threat] of threats.entries()) {
      const robust = new Uint8Array(candidates.length).fill(1);
      // A targeted adversary has nothing to gain on an example already of the target class: it is not attacked.
      const goal = threat.goal;
      const aimed = goal?.kind === 'targeted' ? candidates.flatMap((row, k) => (data.y[row] === goal.target ? [] : [k])) : undefined;
      const brokenBy: Record<string, number> = {};
      for (const [a, attack] of attacks.entries()) {
        const attackStarted = Date.now();
        const metric = attackStatsMetric();
        if (threat.epsilon === 0) {
          // Nothing to search: the clean prediction is the whole story.
          metric.update({
            success: new Uint8Array(candidates.length),
            perturbation: new Float32Array(candidates.length),
            queries: new Int32Array(candidates.length),
          });
        } else {
          const attackable = aimed ?? candidates.map((_, k) => k);
          for (const [start, end] of ranges(attackable.length, batchSize)) {
            const picked = attackable.slice(start, end);
            const rows = picked.map((k) => candidates[k] as number);
            const base = done;
            const outcome = await runBatch(rows, threat, a, seed + 1_000_003 * e + 10_007 * a + start, (fraction) =>
              onProgress?.({ stage: 'attack', attack: attack.id, epsilon: threat.epsilon, done: base + rows.length * fraction, total }),
            );
            metric.update(outcome);
            outcome.success.forEach((s, k) => {
              if (s) robust[picked[k] as number] = 0;
            });
            done = base + rows.length;
            onProgress?.({ stage: 'attack', attack: attack.id, epsilon: threat.epsilon, done, total });
          }
        }
        const stats = metric.compute();
        brokenBy[attack.id] = stats.succeeded;
        results.push({
          attack: attack.id,
          threat: threat.id,
          epsilon: threat.epsilon,
          ...stats,
          robustAccuracy: data.count === 0 ? 0 : (stats.attacked - stats.succeeded) / data.count,
          durationMs: Date.now() - attackStarted,
        });
      }
      const robustRows = candidates.filter((_, k) => robust[k] === 1);
      const robustCount = robustRows.length;
      worstCase.push({
        threat: threat.id,
        epsilon: threat.epsilon,
        robustAccuracy: data.count === 0 ? 0 : robustCount / data.count,
        robustCount,
        robustRows,
        brokenBy,
        ...(aimed && goal?.kind === 'targeted'
          ? { targeted: { target: goal.target, attacked: aimed.length, succeeded: aimed.filter((k) => robust[k] === 0).length } }
          : {}),
      });
    }
    return {
      kind: 'rampart.robustness-report',
      schemaVersion: 1,
      rampartVersion: RAMPART_VERSION,
      createdAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      engine,
      seed,
      model: { id: model.id, inputShape: model.inputShape, numClasses: model.numClasses, bounds: model.bounds },
      data: { name: data.name, count: data.count, sha256: hashDataset(data) },
      config: {
        norm,
        epsilons,
        threats: threats.map((t) => t.id),
        batchSize,
        attacks: attacks.map((a) => ({ id: a.id, config: a.config })),
        execution: session.execution,
      },
      clean: { accuracy: cleanAccuracy, correct: candidates.length, count: data.count },
      results,
      worstCase,
    };
  } finally {
    await session.close();
  }
}
