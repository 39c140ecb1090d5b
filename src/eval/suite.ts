/**
 * The `standard` evaluation suite (version 1): a fixed, seeded cascade in the manner of
 * AutoAttack (Croce & Hein 2020): APGD-CE, then APGD-T (targeted DLR over the most likely
 * wrong classes), then FAB-T (the minimum-norm stage), then the Square attack
 * (score-based, gradient-free). Each stage attacks only the examples every earlier stage
 * left standing, so the suite's robust accuracy is the per-example worst case over all
 * stages, and a stage's row says what it added. Every break is confirmed by a fresh
 * prediction at the returned point before it counts.
 *
 * Budgets come in three variants: `full` (AutoAttack's: 100 steps, 9 target classes, 5000
 * Square queries), `quick` (25 APGD and 20 FAB steps, 3 target classes, 300 Square
 * queries; for CI and examples), and `rand` for randomised defences (AutoAttack's `rand`
 * version: APGD-CE and APGD-DLR with EOT over 20 passes, predictions on the mean of 20).
 * The suite id, version and variant are recorded so that a number can always be traced to
 * the exact cascade that made it.
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError, listChoices } from '../core/errors.js';
import { ranges } from '../core/tensors.js';
import type { Dataset } from '../core/types.js';
import { RAMPART_VERSION } from '../core/version.js';
import { hashDataset } from '../data/hash.js';
import { engineInfo, initEngine, type EngineInfo } from '../engine/backend.js';
import type { Executor } from '../execution/index.js';
import type { Classifier } from '../models/classifier.js';
import { accuracyOf, predictBatch } from '../models/predict.js';
import { openAttackRun } from './attack-run.js';
import { createAttack } from '../attacks/registry.js';
import type { ThreatNormId } from '../threats/norms.js';
import type { ThreatModel } from '../threats/threat-model.js';

export const SUITE_IDS = ['standard'] as const;
export type SuiteId = (typeof SUITE_IDS)[number];
export const SUITE_VARIANTS = ['full', 'quick', 'rand'] as const;
export type SuiteVariant = (typeof SUITE_VARIANTS)[number];

export interface SuiteStage {
  /** Stable stage name in reports, e.g. `apgd-t`. */
  id: string;
  /** Registered attack id and options. */
  attack: string;
  options: Record<string, unknown>;
}

export interface SuiteDefinition {
  id: SuiteId;
  version: number;
  variant: SuiteVariant;
  stages: SuiteStage[];
  /** Forward passes averaged to judge a prediction: more than 1 for randomised models (`rand`). */
  passes: number;
}

/**
 * The stages of a suite. Version 1 of `standard`; changing a stage or a budget means a new
 * version, never a silent edit.
 *
 * @throws UsageError `E_UNKNOWN_SUITE` / `E_SUITE_VARIANT` for an id or variant that does not exist.
 * @example const suite = suiteDefinition('standard', 'quick');
 */
export function suiteDefinition(id: string, variant: string = 'full'): SuiteDefinition {
  if (!(SUITE_IDS as readonly string[]).includes(id)) {
    throw new UsageError('E_UNKNOWN_SUITE', `Unknown suite '${id}'; use ${listChoices(SUITE_IDS)}.`, {
      details: { value: id, valid: SUITE_IDS },
    });
  }
  if (!(SUITE_VARIANTS as readonly string[]).includes(variant)) {
    throw new UsageError('E_SUITE_VARIANT', `Unknown suite variant '${variant}'; use ${listChoices(SUITE_VARIANTS)}.`, {
      details: { value: variant, valid: SUITE_VARIANTS },
    });
  }
  if (variant === 'rand') {
    // AutoAttack's `rand` version: APGD-CE and APGD-DLR with expectation over transformation
    // (gradients averaged over 20 passes), every prediction judged on the mean of 20 passes.
    return {
      id: 'standard',
      version: 1,
      variant: 'rand',
      passes: 20,
      stages: [
        { id: 'apgd-ce', attack: 'apgd-ce', options: { steps: 100, restarts: 1, eot: 20 } },
        { id: 'apgd-dlr', attack: 'apgd-dlr', options: { steps: 100, restarts: 1, eot: 20 } },
      ],
    };
  }
  const full = variant === 'full';
  return {
    id: 'standard',
    version: 1,
    variant: variant as SuiteVariant,
    passes: 1,
    stages: [
      { id: 'apgd-ce', attack: 'apgd-ce', options: { steps: full ? 100 : 25, restarts: 1 } },
      { id: 'apgd-t', attack: 'apgd-t', options: { steps: full ? 100 : 25, restarts: 1, targetClasses: full ? 9 : 3 } },
      { id: 'fab-t', attack: 'fab-t', options: { steps: full ? 100 : 20, restarts: 1, targetClasses: full ? 9 : 3 } },
      { id: 'square', attack: 'square', options: { queries: full ? 5000 : 300 } },
    ],
  };
}

/**
 * Parses `ID` or `ID:VARIANT`, e.g. `standard` or `standard:quick`.
 *
 * @throws UsageError `E_UNKNOWN_SUITE` / `E_SUITE_VARIANT`.
 */
export function parseSuiteSpec(text: string): SuiteDefinition {
  const [id = '', variant = 'full', ...rest] = text.split(':');
  if (rest.length > 0)
    throw new UsageError('E_UNKNOWN_SUITE', `Suite '${text}' has too many parts; write ID or ID:VARIANT, e.g. standard:quick.`);
  return suiteDefinition(id, variant);
}

export interface SuiteProgress {
  stage: string;
  epsilon: number;
  done: number;
  total: number;
}

export interface SuiteEvalOptions {
  model: Classifier;
  data: Dataset;
  /** The named threat models to run the suite under, all of one norm; results carry each id. */
  threats: readonly ThreatModel[];
  suite?: SuiteDefinition;
  batchSize?: number;
  seed?: number;
  /** Where stages run: a worker pool (TF.js models only), or any executor, as in evaluateRobustness; default this thread. */
  pool?: Executor;
  onProgress?: (progress: SuiteProgress) => void;
}

export interface SuiteStageOutcome {
  stage: string;
  attack: string;
  /** Examples still robust when the stage began. */
  attacked: number;
  /** Of those, broken by this stage (confirmed by a fresh prediction). */
  broken: number;
  /** Robust accuracy after this stage, over all examples. */
  robustAccuracy: number;
  /** Model queries this stage spent, in total and per attacked example. */
  queries: number;
  meanQueries: number;
  /** Breaks the attack claimed that a fresh prediction did not confirm (should be 0). */
  unconfirmed: number;
  durationMs: number;
}

export interface SuiteEpsilonResult {
  /** The threat model's id. */
  threat: string;
  epsilon: number;
  stages: SuiteStageOutcome[];
  robustAccuracy: number;
  robustCount: number;
  /**
   * Per example (data order): `misclassified`, `robust`, or the stage that broke it first,
   * with the perturbation size of the breaking point (0 otherwise).
   */
  examples: { outcome: string; perturbation: number }[];
}

export interface SuiteReport {
  kind: 'rampart.suite-report';
  schemaVersion: 1;
  suite: SuiteDefinition;
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
    threats: string[];
    batchSize: number;
    execution: { workers: number; shardRows?: number };
  };
  clean: { accuracy: number; correct: number; count: number };
  results: SuiteEpsilonResult[];
}

interface BatchOutcome {
  adversarial: Float32Array;
  success: Uint8Array;
  perturbation: Float32Array;
  queries: Int32Array;
}

/**
 * Runs a suite (default: `standard`, full budgets) on a dataset at each epsilon.
 *
 * @throws UsageError `E_BATCH_SIZE`; whatever the attacks throw (InputError for data that
 *   does not fit the model, GradientError for a model without gradients).
 * @throws ThreatError `E_EPSILON_RANGE` for an epsilon out of range.
 * @example
 * const report = await runSuite({ model, data: test, threats: threatsAt('linf', [0.1]), suite: suiteDefinition('standard', 'quick') });
 */
export async function runSuite(options: SuiteEvalOptions): Promise<SuiteReport> {
  const started = Date.now();
  const engine = engineInfo() ?? (await initEngine());
  const { model, data, onProgress } = options;
  const suite = options.suite ?? suiteDefinition('standard');
  const seed = options.seed ?? 0;
  suite.stages.forEach((s) => createAttack(s.attack, s.options));

  const run = await openAttackRun({ ...options, passes: suite.passes });
  const { norm, threats, epsilons, batchSize, predicted, candidates, session } = run;
  const runBatch = (rows: number[], stage: SuiteStage, threat: ThreatModel, batchSeed: number, progress: (fraction: number) => void) =>
    run.attackRows(rows, threat, { id: stage.attack, options: stage.options }, batchSeed, progress);

  /** A fresh prediction at the returned points: a break counts only if it is confirmed. */
  const confirm = async (rows: number[], outcome: BatchOutcome): Promise<Int32Array> => {
    const x = tf.tensor(outcome.adversarial, [rows.length, ...data.shape], 'float32');
    try {
      return await predictBatch(model, x, suite.passes);
    } finally {
      x.dispose();
    }
  };

  try {
    const results: SuiteEpsilonResult[] = [];
    for (const [e, threat] of threats.entries()) {
      const examples = Array.from({ length: data.count }, (_, i) => ({
        outcome: predicted[i] === data.y[i] ? 'robust' : 'misclassified',
        perturbation: 0,
      }));
      let standing = [...candidates];
      const stages: SuiteStageOutcome[] = [];
      for (const [s, stage] of suite.stages.entries()) {
        const stageStarted = Date.now();
        const attacked = standing.length;
        let broken = 0;
        let queries = 0;
        let unconfirmed = 0;
        if (threat.epsilon > 0) {
          for (const [start, end] of ranges(standing.length, batchSize)) {
            const rows = standing.slice(start, end);
            const outcome = await runBatch(rows, stage, threat, seed + 1_000_003 * e + 10_007 * s + start, (fraction) =>
              onProgress?.({ stage: stage.id, epsilon: threat.epsilon, done: start + rows.length * fraction, total: attacked }),
            );
            const classes = await confirm(rows, outcome);
            rows.forEach((row, k) => {
              queries += outcome.queries[k] as number;
              if (!outcome.success[k]) return;
              if (classes[k] === data.y[row]) {
                unconfirmed++;
                return;
              }
              broken++;
              examples[row] = { outcome: stage.id, perturbation: outcome.perturbation[k] as number };
            });
            onProgress?.({ stage: stage.id, epsilon: threat.epsilon, done: end, total: attacked });
          }
          standing = standing.filter((row) => examples[row]?.outcome === 'robust');
        }
        stages.push({
          stage: stage.id,
          attack: stage.attack,
          attacked,
          broken,
          robustAccuracy: data.count === 0 ? 0 : standing.length / data.count,
          queries,
          meanQueries: attacked === 0 ? 0 : queries / attacked,
          unconfirmed,
          durationMs: Date.now() - stageStarted,
        });
      }
      results.push({
        threat: threat.id,
        epsilon: threat.epsilon,
        stages,
        robustAccuracy: data.count === 0 ? 0 : standing.length / data.count,
        robustCount: standing.length,
        examples,
      });
    }
    return {
      kind: 'rampart.suite-report',
      schemaVersion: 1,
      suite,
      rampartVersion: RAMPART_VERSION,
      createdAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      engine,
      seed,
      model: { id: model.id, inputShape: model.inputShape, numClasses: model.numClasses, bounds: model.bounds },
      data: { name: data.name, count: data.count, sha256: hashDataset(data) },
      config: { norm, epsilons, threats: threats.map((t) => t.id), batchSize, execution: session.execution },
      clean: { accuracy: accuracyOf(predicted, data.y), correct: candidates.length, count: data.count },
      results,
    };
  } finally {
    await session.close();
  }
}
