/**
 * Gradient-masking checks: the sanity checks that tell a real robustness result from an
 * attack that was fooled. After "Obfuscated Gradients Give a False Sense of Security",
 * Athalye, Carlini, Wagner, ICML 2018, https://arxiv.org/abs/1802.00420, and "On
 * Evaluating Adversarial Robustness", Carlini et al. 2019, https://arxiv.org/abs/1902.06705.
 *
 * Each check is one file returning `{ id, status, measured, explanation }`; this runner
 * picks the examples (the first clean-correct ones), shares attack runs between checks,
 * and rolls the statuses up. A `fail` means the robustness numbers for this model cannot
 * be trusted as they are; a `warn` means they need a stronger attack to be trusted.
 */
import * as tf from '@tensorflow/tfjs';
import { InputError, UsageError, listChoices } from '../../core/errors.js';
import { gatherRows, ranges } from '../../core/tensors.js';
import type { Dataset } from '../../core/types.js';
import type { Classifier } from '../../models/classifier.js';
import { predictClasses } from '../../models/predict.js';
import { attackIds, createAttack } from '../../attacks/registry.js';
import type { Attack } from '../../attacks/types.js';
import type { NormId, ThreatNormId } from '../../threats/norms.js';
import { threatModel, type ThreatModel } from '../../threats/threat-model.js';
import { gradientHealth } from './gradient-health.js';
import { iterationsPlateau } from './iterations-plateau.js';
import { iterativeBeatsSingleStep } from './iterative-beats-single-step.js';
import { randomSampling } from './random-sampling-attack.js';
import { randomSearchFindsNothingNew } from './random-search-vs-pgd.js';
import { successGrowsWithEpsilon } from './success-grows-with-epsilon.js';
import type { CheckStatus, MaskingCheck, MaskingCheckResult, MaskingContext } from './types.js';
import { unboundedAttack } from './unbounded-attack.js';
import { whiteBoxBeatsBlackBox } from './white-box-beats-black-box.js';
import { whiteBoxBeatsTransfer } from './white-box-beats-transfer.js';

export type { CheckStatus, MaskingCheck, MaskingCheckResult, MaskingContext } from './types.js';
export { randomSampling, type RandomSamplingOptions } from './random-sampling-attack.js';

/** Every check, in report order. */
export const MASKING_CHECKS: readonly MaskingCheck[] = [
  iterativeBeatsSingleStep,
  whiteBoxBeatsBlackBox,
  whiteBoxBeatsTransfer,
  successGrowsWithEpsilon,
  unboundedAttack,
  iterationsPlateau,
  gradientHealth,
  randomSearchFindsNothingNew,
];

export const MASKING_CHECK_IDS = MASKING_CHECKS.map((c) => c.id);

export interface MaskingCheckOptions {
  model: Classifier;
  data: Dataset;
  /** The named threat the robustness claim is made at (its id is carried into the report). */
  threat?: ThreatModel;
  /** Without `threat`: the norm and epsilon the claim is made at. */
  norm?: NormId;
  epsilon?: number;
  /** Attack the first `limit` clean-correct examples; default 100. */
  limit?: number;
  seed?: number;
  batchSize?: number;
  /** Run only these checks (ids from MASKING_CHECK_IDS); default all. */
  checks?: readonly string[];
  /**
   * Score-based attack for the black-box comparison; default the registry's `square` (1000 queries)
   * when registered, else random sampling.
   */
  blackBox?: Attack;
  /** A different model to craft transfer attacks on; the transfer check is skipped without one. */
  surrogate?: Classifier;
  /** Steps of the reference PGD; default 20. */
  pgdSteps?: number;
  /** Step counts compared by the plateau check; default 10 and 100. */
  shortSteps?: number;
  longSteps?: number;
  /** Multiples of epsilon for the growth check; default [0.25, 0.5, 1, 2]. */
  epsilonFactors?: readonly number[];
  /** Random points per example for the random-sampling check; default 64. */
  randomSamples?: number;
  /** Slack between success rates, on top of a floor of two examples; default 0.03. */
  tolerance?: number;
}

export interface MaskingReport {
  kind: 'rampart.masking-report';
  model: { id: string };
  threat: { id: string; norm: ThreatNormId; epsilon: number };
  /** Clean-correct examples the checks attacked. */
  examples: number;
  config: {
    seed: number;
    pgdSteps: number;
    shortSteps: number;
    longSteps: number;
    epsilonFactors: number[];
    randomSamples: number;
    margin: number;
    blackBox: string;
    blackBoxConfig: Readonly<object>;
  };
  /** Worst status over the checks that ran. */
  status: CheckStatus;
  summary: Record<CheckStatus, number>;
  checks: MaskingCheckResult[];
  skipped: { id: string; reason: string }[];
  durationMs: number;
}

/** A small stable number from a string, so each memoised run gets its own seed. */
function keySeed(key: string): number {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (Math.imul(h, 31) + key.charCodeAt(i)) >>> 0;
  return h % 1_000_003;
}

function defaultBlackBox(): { attack: Attack; source: string } {
  // The square attack is the standard score-based check; fall back to random sampling where it is not registered.
  if (attackIds().includes('square')) return { attack: createAttack('square', { queries: 1000 }), source: 'square' };
  return { attack: randomSampling({ samples: 256 }), source: 'random-sampling' };
}

function wholeAtLeast(name: string, value: number | undefined, fallback: number, min: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min)
    throw new UsageError('E_MASKING_OPTION', `Masking-check option '${name}' must be a whole number >= ${min}; got ${String(value)}.`, {
      details: { option: name, value },
    });
  return v;
}

/**
 * Runs the gradient-masking checks against a model at one threat.
 *
 * @throws UsageError `E_MASKING_OPTION` for bad options or unknown check ids; `E_UNKNOWN_NORM`.
 * @throws ThreatError `E_EPSILON_RANGE` for an epsilon out of range.
 * @throws InputError `E_NO_CORRECT_EXAMPLES` when the model gets no example right; `E_INPUT_SHAPE`.
 * @example
 * const report = await runMaskingChecks({ model, data: test, norm: 'linf', epsilon: 0.1, surrogate });
 * for (const c of report.checks) console.log(c.id, c.status, c.explanation);
 */
export async function runMaskingChecks(options: MaskingCheckOptions): Promise<MaskingReport> {
  const started = Date.now();
  const { model, data } = options;
  if (!options.threat && (options.norm === undefined || options.epsilon === undefined)) {
    throw new UsageError('E_MASKING_OPTION', 'Masking checks need a threat: pass `threat`, or `norm` and `epsilon`.');
  }
  const threat = options.threat ?? threatModel({ norm: options.norm as string, epsilon: options.epsilon as number, bounds: model.bounds });
  if (threat.epsilon === 0)
    throw new UsageError('E_MASKING_OPTION', 'Masking checks need an epsilon > 0: with no budget there is nothing to attack.');
  const seed = options.seed ?? 0;
  const limit = wholeAtLeast('limit', options.limit, 100, 1);
  const batchSize = wholeAtLeast('batchSize', options.batchSize, 256, 1);
  const pgdSteps = wholeAtLeast('pgdSteps', options.pgdSteps, 20, 1);
  const shortSteps = wholeAtLeast('shortSteps', options.shortSteps, 10, 1);
  const longSteps = wholeAtLeast('longSteps', options.longSteps, 100, 1);
  const randomSamples = wholeAtLeast('randomSamples', options.randomSamples, 64, 1);
  const epsilonFactors = [...(options.epsilonFactors ?? [0.25, 0.5, 1, 2])];
  if (epsilonFactors.length < 2 || epsilonFactors.some((f) => !(f > 0 && Number.isFinite(f)))) {
    throw new UsageError(
      'E_MASKING_OPTION',
      `Masking-check option 'epsilonFactors' needs at least two finite numbers > 0; got [${epsilonFactors.join(', ')}].`,
    );
  }
  const tolerance = options.tolerance ?? 0.03;
  if (!(tolerance >= 0 && tolerance < 1))
    throw new UsageError('E_MASKING_OPTION', `Masking-check option 'tolerance' must be in [0, 1); got ${tolerance}.`);
  const wanted = options.checks ?? MASKING_CHECK_IDS;
  for (const id of wanted) {
    if (!MASKING_CHECK_IDS.includes(id))
      throw new UsageError('E_MASKING_OPTION', `Unknown masking check '${id}'; use ${listChoices(MASKING_CHECK_IDS)}.`, {
        details: { value: id, valid: MASKING_CHECK_IDS },
      });
  }
  const blackBox = options.blackBox ? { attack: options.blackBox, source: options.blackBox.id } : defaultBlackBox();

  const predicted = await predictClasses(model, data, batchSize);
  const rows: number[] = [];
  for (let i = 0; i < data.count && rows.length < limit; i++) if (predicted[i] === data.y[i]) rows.push(i);
  if (rows.length === 0)
    throw new InputError(
      'E_NO_CORRECT_EXAMPLES',
      `Model '${model.id}' classifies none of the ${data.count} examples of '${data.name}' correctly; masking checks attack correct examples only.`,
    );
  const x = gatherRows(data, rows);
  const labels = Int32Array.from(rows, (r) => data.y[r] as number);
  const count = rows.length;
  const memo = new Map<string, Promise<Uint8Array>>();
  const range = threat.bounds.max - threat.bounds.min;
  const threatAt = (epsilon: number): ThreatModel =>
    threatModel({ norm: threat.norm, epsilon: threat.norm === 'linf' ? Math.min(epsilon, range) : epsilon, bounds: threat.bounds });

  const attackSuccess = async (attack: Attack, t: ThreatModel, craftOn: Classifier, key: string): Promise<Uint8Array> => {
    const success = new Uint8Array(count);
    let k = 0;
    for (const [start, end] of ranges(count, batchSize)) {
      const xb = tf.slice(x, [start], [end - start]);
      try {
        const result = await attack.run(craftOn, xb, labels.slice(start, end), t, { seed: seed + 7_919 * k++ + keySeed(key) });
        // Judged by a fresh prediction of the model under test: transfer points were crafted on another model.
        const wrong = tf.tidy(() =>
          tf.notEqual(tf.argMax(model.logits(result.adversarial), 1), tf.tensor1d(labels.subarray(start, end), 'int32')),
        );
        result.adversarial.dispose();
        success.set(await wrong.data(), start);
        wrong.dispose();
      } finally {
        xb.dispose();
      }
    }
    return success;
  };

  const ctx: MaskingContext = {
    model,
    x,
    labels,
    count,
    threat,
    seed,
    margin: Math.max(tolerance, 2 / count),
    pgdSteps,
    shortSteps,
    longSteps,
    epsilonFactors,
    randomSamples,
    blackBox,
    surrogate: options.surrogate,
    threatAt,
    success(key, attack, t, craftOn = model) {
      const full = `${key}|${craftOn.id}|${t.id}`;
      let entry = memo.get(full);
      if (!entry) {
        entry = attackSuccess(attack, t, craftOn, key);
        memo.set(full, entry);
      }
      return entry;
    },
  };

  const checks: MaskingCheckResult[] = [];
  const skipped: { id: string; reason: string }[] = [];
  try {
    for (const check of MASKING_CHECKS) {
      if (!wanted.includes(check.id)) continue;
      const reason = !model.differentiable
        ? `model '${model.id}' exposes no gradients, so there is no white-box attack to check`
        : check.skipReason?.(ctx);
      if (reason) {
        skipped.push({ id: check.id, reason });
        continue;
      }
      checks.push(await check.run(ctx));
    }
  } finally {
    x.dispose();
  }
  const summary: Record<CheckStatus, number> = { pass: 0, warn: 0, fail: 0 };
  for (const c of checks) summary[c.status]++;
  return {
    kind: 'rampart.masking-report',
    model: { id: model.id },
    threat: { id: threat.id, norm: threat.norm, epsilon: threat.epsilon },
    examples: count,
    config: {
      seed,
      pgdSteps,
      shortSteps,
      longSteps,
      epsilonFactors,
      randomSamples,
      margin: ctx.margin,
      blackBox: blackBox.source,
      blackBoxConfig: blackBox.attack.config,
    },
    status: summary.fail > 0 ? 'fail' : summary.warn > 0 ? 'warn' : 'pass',
    summary,
    checks,
    skipped,
    durationMs: Date.now() - started,
  };
}
