/**
 * Evaluating one model against a plan, as the library's functions do it for `rampart eval`:
 * the plan's image threats keep their ids through `evaluateThreats` (the standard suite
 * unless the plan opts out, plus the plan's attacks; the per-example worst case counts),
 * the gradient-masking checks at each threat's epsilon (candidate only), calibration,
 * latency p99 and a few adversarial examples for the report. Every rate carries its n and
 * 95% interval. Text threats are measured by their own stage and passed in; a threat no
 * stage measured is listed with the reason, so the gate fails it visibly.
 */
import { join } from 'node:path';
import { writeJsonFile } from '../../core/files.js';
import type { Dataset } from '../../core/types.js';
import { hashDataset } from '../../data/hash.js';
import type { WorkerPool } from '../../execution/pool/index.js';
import { adversarialExamples, type AdversarialExampleSet } from '../../eval/adversarial-examples.js';
import { calibrationFromLogits, datasetLogits } from '../../eval/calibration.js';
import { latencyUnderAttackP99Ms, measureLatency } from '../../eval/latency.js';
import { createAttack } from '../../attacks/registry.js';
import type { MaskingReport } from '../../eval/masking/index.js';
import { attackSuccessOf, type Rate } from '../../eval/rate.js';
import type { EvaluationResults, MaskingSummary } from '../../eval/results.js';
import type { RobustnessReport } from '../../eval/robustness.js';
import { suiteDefinition, type SuiteDefinition, type SuiteReport } from '../../eval/suite.js';
import { evaluateThreats, type ThreatResult } from '../../eval/threat-evaluation.js';
import { maskingAt } from '../../eval/trust.js';
import { attacksForTarget, blackBoxNote, hasGradients, suiteForTarget } from '../../eval/black-box.js';
import { accessOf, type Classifier } from '../../models/classifier.js';
import { threatModel, type ThreatTechnique, type ThreatModel } from '../../threats/threat-model.js';
import type { ImageThreatScenario, Plan } from '../plan/schema.js';
import { planDefendedStack } from './defended-stack.js';
import { needsSurrogate, trainSurrogate } from './surrogate.js';

export type { AdversarialExample, AdversarialExampleSet } from '../../eval/adversarial-examples.js';

export interface ModelEvaluation {
  results: EvaluationResults;
  reports: RobustnessReport[];
  suites: SuiteReport[];
  masking: MaskingReport[];
  examples?: AdversarialExampleSet;
}

export interface EvaluateModelOptions {
  plan: Plan;
  model: Classifier;
  /** Registry-style name and the digest of the model's files. */
  name: string;
  sha256: string;
  data: Dataset;
  pool?: WorkerPool;
  /** The temperature the model ships with; ECE is measured with it. Default 1. */
  temperature?: number;
  /** Certified accuracy per threat id, from the certification stage. */
  certified?: Record<string, Rate>;
  /** Robust accuracy per text threat id, from the text-attack stage, and its clean accuracy over the same texts. */
  text?: ChannelRates;
  /** Robust accuracy per tabular threat id, from the tabular stage, and its clean accuracy over the same rows. */
  tabular?: ChannelRates;
  /**
   * Held-out data the evaluation may fit on (the validation split): the transfer threats'
   * surrogate trains on it and the defended stack's OOD layer is fitted on it. Without it
   * neither runs (transfer threats are then evaluated white-box, the note says so).
   */
  fitData?: Dataset;
  /** Run the plan's gradient-masking checks (the candidate's evaluation); default false. */
  masking?: boolean;
  onProgress?: (done: number, total: number, label: string) => void;
}

/** A channel measured by its own stage: robust accuracy per threat id and clean accuracy over the same examples. */
export interface ChannelRates {
  robust: Record<string, Rate>;
  clean: Rate;
}

/** Robust accuracy and attack success per threat id of the channels measured by their own stages. */
function otherChannels(options: { text?: ChannelRates; tabular?: ChannelRates }): {
  robust: Record<string, Rate>;
  attackSuccess: Record<string, Rate>;
} {
  const robust: Record<string, Rate> = {};
  const attackSuccess: Record<string, Rate> = {};
  for (const channel of [options.text, options.tabular]) {
    if (!channel) continue;
    for (const [id, r] of Object.entries(channel.robust)) {
      robust[id] = r;
      attackSuccess[id] = attackSuccessOf(channel.clean, r);
    }
  }
  return { robust, attackSuccess };
}

/** Why the plan's threats without a number were not measured (the gate fails them visibly). */
function unmeasuredOf(plan: Plan, robust: Record<string, Rate>): Record<string, string> {
  const unmeasured: Record<string, string> = {};
  for (const t of plan.threats) {
    if (robust[t.id]) continue;
    unmeasured[t.id] =
      t.channel === 'text'
        ? 'text threats need a text model: add a text section to the plan'
        : t.channel === 'tabular'
          ? 'tabular threats need a tabular section with a model'
          : 'image threats need an image section (data and model)';
  }
  return unmeasured;
}

/**
 * The results of a plan without an image channel: the numbers its text and tabular stages
 * measured. Clean accuracy, calibration and latency are the tabular model's when there is
 * one, else the text model's clean accuracy (the text channel measures neither calibration
 * nor latency).
 */
export function channelResults(options: {
  plan: Plan;
  name: string;
  sha256: string;
  text?: ChannelRates;
  tabular?: ChannelRates & {
    ece: number;
    reliability: EvaluationResults['reliability'];
    latencyP99Ms: number;
    evaluated: { name: string; sha256: string; count: number };
  };
}): EvaluationResults {
  const { plan, tabular } = options;
  const primary = tabular ?? options.text;
  const clean = primary?.clean ?? { count: 0, n: 0, value: 0, lower: 0, upper: 1 };
  const { robust, attackSuccess } = otherChannels(options);
  return {
    kind: 'rampart.evaluation-results',
    schemaVersion: 1,
    model: { name: options.name, sha256: options.sha256 },
    ...(tabular ? { data: tabular.evaluated } : {}),
    cleanAccuracy: clean.value,
    robustAccuracy: Object.fromEntries(Object.entries(robust).map(([id, r]) => [id, r.value])),
    ...(tabular ? { ece: tabular.ece, temperature: 1, latencyP99Ms: tabular.latencyP99Ms } : {}),
    ...(tabular?.reliability ? { reliability: tabular.reliability } : {}),
    curves: [],
    unmeasured: unmeasuredOf(plan, robust),
    rates: { clean, robust, attackSuccess },
    // Only the tabular channel has attacks weaker than a suite would be; the text searches are the text channel's evaluation.
    method: {
      suite: null,
      attacks: [...(plan.tabular?.attacks.map((a) => a.id) ?? []), ...(options.text && plan.text ? [plan.text.attack.id] : [])],
      upperBound: tabular !== undefined,
    },
  };
}
/** The plan's suite choice as a definition; undefined when the plan opts out. */
export function planSuite(plan: Plan): SuiteDefinition | undefined {
  const choice = plan.evaluation.suite;
  if (choice === 'none') return undefined;
  return suiteDefinition('standard', choice === 'standard' ? 'full' : choice === 'standard:rand' ? 'rand' : 'quick');
}

/** The plan's image threats as named threat models. */
export function planImageThreats(plan: Plan, model: Classifier): ThreatModel[] {
  return plan.threats
    .filter((t): t is ImageThreatScenario => t.channel === 'image')
    .map((t) =>
      threatModel({
        id: t.id,
        norm: t.norm,
        epsilon: t.epsilon,
        bounds: model.bounds,
        // The technique and goal pick the attacks (attacksForThreat); text techniques do not apply to images.
        ...(isImageTechnique(t.technique) ? { technique: t.technique } : {}),
        ...(t.goal === 'targeted' && t.target !== undefined ? { goal: { kind: 'targeted' as const, target: t.target } } : {}),
      }),
    );
}

const IMAGE_TECHNIQUES: readonly string[] = ['gradient', 'score-based', 'decision-based', 'transfer'];
function isImageTechnique(technique: string): technique is ThreatTechnique {
  return IMAGE_TECHNIQUES.includes(technique);
}

function maskingSummary(report: MaskingReport): MaskingSummary {
  return {
    status: report.status,
    examples: report.examples,
    checks: report.checks.map((c) => ({ id: c.id, title: c.title, status: c.status, explanation: c.explanation })),
  };
}

/**
 * Evaluates a model on every threat of the plan.
 *
 * @throws UsageError for a bad attack spec in the plan; InputError when the data does not fit the model.
 * @example const { results } = await evaluateModel({ plan, model, name: 'hardened', sha256, data: test });
 */
export async function evaluateModel(options: EvaluateModelOptions): Promise<ModelEvaluation> {
  const { plan, model, data } = options;
  const threats = planImageThreats(plan, model);
  // A target without gradients (onnxruntime, HTTP) runs what it can answer: the suite's Square stage and the
  // plan's score- or label-based attacks (Square when none is), so its numbers are black-box upper bounds.
  const whiteBox = hasGradients(model);
  const planned = planSuite(plan);
  const suite = planned && !whiteBox ? suiteForTarget(planned, model).suite : planned;
  const attacks = whiteBox ? plan.evaluation.attacks : blackBoxAttacks(plan, model);
  const surrogate = options.fitData && needsSurrogate(plan) ? await trainSurrogate(plan, options.fitData) : undefined;
  const measured = await evaluateThreats({
    model,
    data,
    threats,
    attacks,
    ...(suite ? { suite } : {}),
    ...(plan.evaluation.curve ? { curve: plan.evaluation.curve } : {}),
    batchSize: plan.evaluation.batchSize,
    seed: plan.seed,
    ...(surrogate ? { surrogate } : {}),
    ...(options.pool ? { pool: options.pool } : {}),
    ...(options.onProgress ? { onProgress: (done, total, label) => options.onProgress?.(done, total + 1, label) } : {}),
  }).finally(() => surrogate?.model.dispose());
  const masking: MaskingReport[] = [];
  const maskingPlan = plan.evaluation.masking;
  // The masking checks compare gradient attacks with others: a model without gradients has none to mask.
  if (options.masking && maskingPlan !== false && accessOf(model) === 'gradients') {
    // The checks compare L∞/L2 gradient attacks with others; sparse threats have their own attacks.
    for (const threat of threats.filter((t) => t.norm === 'linf' || t.norm === 'l2')) {
      options.onProgress?.(1, 1, `gradient-masking checks at ${threat.id}`);
      masking.push(
        await maskingAt(model, data, threat, {
          limit: maskingPlan.limit,
          quick: suite?.variant !== 'full',
          seed: plan.seed,
          batchSize: plan.evaluation.batchSize,
        }),
      );
    }
  }
  const stack = options.fitData
    ? await planDefendedStack({
        plan,
        model,
        data,
        fitData: options.fitData,
        threats,
        ...(options.temperature === undefined ? {} : { temperature: options.temperature }),
      })
    : undefined;
  const others = otherChannels(options);
  const robust: Record<string, Rate> = others.robust;
  const attackSuccess: Record<string, Rate> = others.attackSuccess;
  for (const t of measured.threats) {
    robust[t.threat] = t.robust;
    attackSuccess[t.threat] = attackSuccessOf(measured.clean, t.robust);
  }
  const unmeasured = unmeasuredOf(plan, robust);
  const temperature = options.temperature ?? 1;
  const calibration = calibrationFromLogits(await datasetLogits(model, data, plan.evaluation.batchSize), data.y, model.numClasses, {
    bins: plan.evaluation.calibrationBins,
    temperature,
  });
  const latencyReport = await measureLatency({ model, data, batchSizes: [1], repeats: plan.evaluation.latencySamples, warmup: 10 });
  const latency = latencyReport.series[0]?.stats[0]?.p99Ms ?? 0;
  const underAttack = plan.criteria.latencyUnderAttackP99Ms === undefined ? undefined : await attackLatency(options, threats);
  const examples = await examplesFor(options, threats, attacks);
  options.onProgress?.(1, 1, 'done');
  const certified = options.certified;
  const results: EvaluationResults = {
    kind: 'rampart.evaluation-results',
    schemaVersion: 1,
    model: { name: options.name, sha256: options.sha256 },
    data: { name: data.name, sha256: hashDataset(data), count: data.count },
    cleanAccuracy: measured.clean.value,
    robustAccuracy: Object.fromEntries(Object.entries(robust).map(([id, r]) => [id, r.value])),
    ece: calibration.ece,
    temperature,
    reliability: calibration.reliability.map((b) => ({
      lower: b.lower,
      upper: b.upper,
      count: b.count,
      confidence: b.meanConfidence,
      accuracy: b.accuracy,
    })),
    latencyP99Ms: latency,
    ...(underAttack === undefined ? {} : { latencyUnderAttackP99Ms: underAttack }),
    ...(certified ? { certifiedAccuracy: Object.fromEntries(Object.entries(certified).map(([id, r]) => [id, r.value])) } : {}),
    curves: measured.curves,
    unmeasured,
    rates: { clean: measured.clean, robust, attackSuccess, ...(certified ? { certified } : {}) },
    method: {
      suite: suite ? `${suite.id}:${suite.variant}` : null,
      attacks: attacks.map((a) => a.id),
      upperBound: suite === undefined || !whiteBox,
      ...(whiteBox ? {} : { note: blackBoxNote(model) }),
    },
    ...(masking.length > 0 ? { masking: Object.fromEntries(masking.map((m) => [m.threat.id, maskingSummary(m)])) } : {}),
    ...threatDetails(measured.threats),
    ...(stack ? { defendedStack: stack, defendedStackRobustAccuracy: stack.robustAccuracy.value } : {}),
  };
  return { results, reports: measured.reports, suites: measured.suites, masking, ...(examples ? { examples } : {}) };
}

/** The threats' notes (how each was evaluated) and targeted success rates, for the results. */
function threatDetails(threats: readonly ThreatResult[]): Pick<EvaluationResults, 'threatNotes' | 'targetedSuccess'> {
  const notes = Object.fromEntries(threats.flatMap((t) => (t.note ? [[t.threat, t.note]] : [])));
  const targeted = Object.fromEntries(threats.flatMap((t) => (t.targetedSuccess ? [[t.threat, t.targetedSuccess]] : [])));
  return {
    ...(Object.keys(notes).length > 0 ? { threatNotes: notes } : {}),
    ...(Object.keys(targeted).length > 0 ? { targetedSuccess: targeted } : {}),
  };
}

/**
 * Single-example p99 latency on adversarial inputs, crafted with the plan's PGD (or first attack) at its
 * strongest L∞ threat (else the strongest threat): measured only when the plan's criteria ask for it.
 */
async function attackLatency(options: EvaluateModelOptions, threats: ThreatModel[]): Promise<number | undefined> {
  const { plan } = options;
  const linf = threats.filter((t) => t.norm === 'linf');
  const threat = [...(linf.length > 0 ? linf : threats)].sort((a, b) => b.epsilon - a.epsilon)[0];
  const spec = plan.evaluation.attacks.find((a) => a.id === 'pgd') ?? plan.evaluation.attacks[0] ?? { id: 'pgd' };
  if (!threat) return undefined;
  const attack = createAttack(spec.id, spec.options ?? {});
  return latencyUnderAttackP99Ms({
    model: options.model,
    data: options.data,
    attack,
    threat,
    repeats: plan.evaluation.latencySamples,
    warmup: 10,
    seed: plan.seed,
  });
}

/** The plan's attacks a target without gradients can answer, or Square (its queries capped for the evaluation) when none. */
function blackBoxAttacks(plan: Plan, model: Classifier): Plan['evaluation']['attacks'] {
  const { runnable } = attacksForTarget(
    plan.evaluation.attacks.map((a) => a.id),
    model,
  );
  const kept = plan.evaluation.attacks.filter((a) => runnable.includes(a.id));
  return kept.length > 0 ? kept : [{ id: 'square' }];
}

/** The plan's PGD (or first attack) at the strongest L∞ threat (else the strongest threat) on the first examples. */
async function examplesFor(
  options: EvaluateModelOptions,
  threats: ThreatModel[],
  attacks: Plan['evaluation']['attacks'],
): Promise<AdversarialExampleSet | undefined> {
  const { plan } = options;
  const count = plan.evaluation.examples;
  const linf = threats.filter((t) => t.norm === 'linf');
  const threat = [...(linf.length > 0 ? linf : threats)].sort((a, b) => b.epsilon - a.epsilon)[0];
  const attack = attacks.find((a) => a.id === 'pgd') ?? attacks[0];
  if (count === 0 || !threat || !attack) return undefined;
  return adversarialExamples({ model: options.model, name: options.name, data: options.data, threat, attack, count, seed: plan.seed });
}

/**
 * Writes an evaluation's files into `dir`: results.json, robustness-<norm>.json, suite-<norm>.json,
 * masking-<threat>.json, examples.json.
 */
export async function writeModelEvaluation(
  dir: string,
  evaluation: ModelEvaluation,
): Promise<{ results: string; reports: string[]; examples?: string }> {
  const results = join(dir, 'results.json');
  await writeJsonFile(results, evaluation.results);
  const reports: string[] = [];
  const write = async (name: string, value: unknown): Promise<void> => {
    const path = join(dir, name);
    await writeJsonFile(path, value);
    reports.push(path);
  };
  for (const report of evaluation.reports) await write(`robustness-${report.config.norm}.json`, report);
  for (const report of evaluation.suites) await write(`suite-${report.config.norm}.json`, report);
  for (const report of evaluation.masking) await write(`masking-${report.threat.id}.json`, report);
  let examples: string | undefined;
  if (evaluation.examples) {
    examples = join(dir, 'examples.json');
    await writeJsonFile(examples, evaluation.examples);
  }
  return { results, reports, ...(examples ? { examples } : {}) };
}
