/**
 * The evidence that robustness numbers can be trusted, as library functions shared by
 * `rampart eval --suite` and the plan's evaluate stage: the suite against PGD alone, the
 * gradient-masking checks at a threat, calibration before and after temperature scaling,
 * certified accuracy from randomized smoothing, and latency.
 */
import { takeFirst } from '../data/index.js';
import type { Dataset } from '../core/types.js';
import type { Executor } from '../execution/index.js';
import { createAttack } from '../attacks/registry.js';
import type { Classifier } from '../models/classifier.js';
import type { ThreatModel } from '../threats/threat-model.js';
import { adversarialLogits, calibrationFromLogits, datasetLogits, type CalibrationMetrics } from './calibration.js';
import { measureLatency, type LatencyReport } from './latency.js';
import { runMaskingChecks, type MaskingReport } from './masking/index.js';
import { evaluateRobustness, type RobustnessReport } from './robustness.js';
import { certifiedAccuracy, type CertifiedAccuracyReport } from './smoothing.js';
import type { SuiteReport } from './suite.js';
import { temperatureScaling, type TemperatureFit } from './temperature-scaling.js';

/** The suite's robust accuracy next to PGD alone at the same threat, on the same examples. */
export interface SuiteVsPgd {
  norm: string;
  pgd: { attack: string; config: Readonly<object> };
  /** Where the PGD numbers come from: the per-attack table (`--attacks` with pgd) or a run of their own. */
  source: 'attacks-table' | 'separate-run';
  results: { threat: string; epsilon: number; pgdRobustAccuracy: number; suiteRobustAccuracy: number; suiteNoHigher: boolean }[];
  /** True when the suite is no higher than PGD at every epsilon, as a stronger evaluation must be. */
  suiteNoHigher: boolean;
}

export interface CalibrationPair {
  before: CalibrationMetrics;
  after: CalibrationMetrics;
}

export interface CalibrationSection {
  bins: number;
  /** Temperature scaling, fitted by NLL on `fittedOn` and applied to the evaluated data. */
  temperature: TemperatureFit & {
    fittedOn: { split: string; name: string; count: number };
    /** True when the fit data overlaps the evaluated data (`--subset validation` or `all`): the "after" numbers are then optimistic. */
    overlapsEvaluatedData: boolean;
    /** The temperature already saved with the model, if any (the "before" numbers ignore it: T = 1). */
    savedWithModel?: number;
  };
  clean: CalibrationPair & { data: { name: string; count: number } };
  /** On adversarial inputs crafted against the uncalibrated model (calibration never changes the class). */
  adversarial?: CalibrationPair & {
    data: { name: string; count: number };
    attack: { id: string; config: Readonly<object> };
    threat: { id: string; norm: string; epsilon: number };
  };
}

/** Everything `eval --suite` adds to the suite report; each part is absent when turned off. */
export interface EvalExtras {
  suiteVsPgd?: SuiteVsPgd;
  masking?: MaskingReport;
  /** Why the masking checks did not run (e.g. no epsilon > 0). */
  maskingSkipped?: string;
  calibration?: CalibrationSection;
  /**
   * With the largest radius `n` samples can certify at `alpha` (σ·Φ⁻¹(α^(1/n))): rows above it are 0
   * by construction, not by measurement.
   */
  certification?: CertifiedAccuracyReport;
  latency?: LatencyReport;
}

/** Runs one part of the evidence, reporting its progress under a title (a progress bar per part in the CLI). */
export type PhaseRunner = <T>(
  title: string,
  label: string,
  work: (progress: (done: number, total: number, label: string) => void) => Promise<T>,
) => Promise<T>;

const silentPhase: PhaseRunner = (_title, _label, work) => work(() => undefined);

export interface CompareWithPgdOptions {
  model: Classifier;
  data: Dataset;
  suiteReport: SuiteReport;
  /** The per-attack report on the same threats, when one ran: its PGD rows are reused. */
  attacksReport?: RobustnessReport | undefined;
  pgdOptions: Record<string, unknown>;
  batchSize: number;
  seed: number;
  pool?: Executor;
  onProgress?: (done: number, total: number, label: string) => void;
}

/**
 * PGD alone at the suite's threats on the same examples. The suite includes stronger
 * attacks, so a suite number above PGD's means a stage failed where PGD did not: the
 * comparison says so instead of letting the higher number stand as the result.
 *
 * @throws whatever evaluateRobustness throws for the PGD options.
 */
export async function compareWithPgd(o: CompareWithPgdOptions): Promise<SuiteVsPgd> {
  const attacked = o.suiteReport.results.filter((r) => r.epsilon > 0);
  const fromTable = o.attacksReport?.results.filter((r) => r.attack === 'pgd') ?? [];
  const covered = attacked.every((r) => fromTable.some((p) => p.threat === r.threat));
  let pgdRows: { threat: string; robustAccuracy: number }[] = fromTable;
  let config: Readonly<object> =
    o.attacksReport?.config.attacks.find((a) => a.id === 'pgd')?.config ?? createAttack('pgd', o.pgdOptions).config;
  if (!covered && attacked.length > 0) {
    const bounds = o.suiteReport.model.bounds;
    const own = await evaluateRobustness({
      model: o.model,
      data: o.data,
      threats: attacked.map((r) => ({ id: r.threat, norm: o.suiteReport.config.norm, epsilon: r.epsilon, bounds })),
      attacks: [{ id: 'pgd', options: o.pgdOptions }],
      batchSize: o.batchSize,
      seed: o.seed,
      ...(o.pool ? { pool: o.pool } : {}),
      onProgress: (p) => o.onProgress?.(p.done, p.total, p.attack ? `pgd alone eps ${p.epsilon}` : 'pgd alone: clean'),
    });
    pgdRows = own.results;
    config = own.config.attacks[0]?.config ?? config;
  }
  const results = attacked.map((r) => {
    const pgdRobustAccuracy = pgdRows.find((p) => p.threat === r.threat)?.robustAccuracy ?? Number.NaN;
    return {
      threat: r.threat,
      epsilon: r.epsilon,
      pgdRobustAccuracy,
      suiteRobustAccuracy: r.robustAccuracy,
      suiteNoHigher: r.robustAccuracy <= pgdRobustAccuracy,
    };
  });
  return {
    norm: o.suiteReport.config.norm,
    pgd: { attack: 'pgd', config },
    source: covered ? 'attacks-table' : 'separate-run',
    results,
    suiteNoHigher: results.every((r) => r.suiteNoHigher),
  };
}

export interface MaskingAtOptions {
  /** Clean-correct examples attacked; default 100, 50 with `quick`. */
  limit?: number;
  /** The quick suite's budgets for the black-box (Square, 300 queries) and plateau (50 steps) checks. */
  quick: boolean;
  surrogate?: Classifier | undefined;
  seed: number;
  batchSize: number;
}

/**
 * The gradient-masking checks at one named threat, sized like the suite that measured it.
 *
 * @throws as runMaskingChecks (E_NO_CORRECT_EXAMPLES when the model gets nothing right).
 */
export function maskingAt(model: Classifier, data: Dataset, threat: ThreatModel, o: MaskingAtOptions): Promise<MaskingReport> {
  return runMaskingChecks({
    model,
    data,
    threat,
    limit: o.limit ?? (o.quick ? 50 : 100),
    seed: o.seed,
    batchSize: o.batchSize,
    // The quick suite's Square budget; the library default (1000 queries) otherwise.
    ...(o.quick ? { blackBox: createAttack('square', { queries: 300 }), longSteps: 50 } : {}),
    ...(o.surrogate ? { surrogate: o.surrogate } : {}),
  });
}

export interface TrustEvidenceOptions {
  model: Classifier;
  data: Dataset;
  /** The threat the robustness claim is made at; undefined when nothing > 0 was evaluated. */
  threat: ThreatModel | undefined;
  seed: number;
  batchSize: number;
  /** Options of the PGD that crafts adversarial calibration and latency inputs. */
  pgdOptions: Record<string, unknown>;
  masking?: Omit<MaskingAtOptions, 'seed' | 'batchSize'>;
  calibration?: {
    bins: number;
    validation: Dataset;
    /** True when the validation data overlaps the evaluated data. */
    overlapsEvaluatedData: boolean;
    savedWithModel?: number | undefined;
    /** Calibration on PGD adversarials of the first N examples (0: clean only). */
    adversarialLimit: number;
  };
  certification?: { sigma: number; n0: number; n: number; alpha: number; radii: number[]; limit: number };
  latency?: { batchSizes: number[]; repeats: number };
  phase?: PhaseRunner;
  /** Where certification's shards of examples run (a pool or a queue); default this thread. Same numbers on any. */
  executor?: Executor;
}

/**
 * The masking checks, calibration, certification and latency, each when its options are given.
 *
 * @throws whatever the parts throw (UsageError for bad options, InputError for data that does not fit).
 * @example
 * const latency = { batchSizes: [1], repeats: 30 };
 * const extras = await trustEvidence({ model, data, threat, seed: 0, batchSize: 256, pgdOptions: {}, latency });
 */
export async function trustEvidence(o: TrustEvidenceOptions): Promise<Omit<EvalExtras, 'suiteVsPgd'>> {
  const { model, data, threat } = o;
  const phase = o.phase ?? silentPhase;
  const out: Omit<EvalExtras, 'suiteVsPgd'> = {};
  const claim = threat?.epsilon ?? 0;
  const pgd = createAttack('pgd', o.pgdOptions);

  const masking = o.masking;
  if (masking) {
    if (!threat) out.maskingSkipped = 'no epsilon > 0 to check at: give --epsilons or --masking-epsilon';
    else
      out.masking = await phase('masking', `gradient-masking checks at eps ${claim}`, () =>
        maskingAt(model, data, threat, { ...masking, seed: o.seed, batchSize: o.batchSize }),
      );
  }

  const calibration = o.calibration;
  if (calibration)
    out.calibration = await phase('calibration', 'fitting T on the validation split', async (progress) => {
      const { validation, bins } = calibration;
      const fit = await temperatureScaling({ model, validation, bins, batchSize: o.batchSize });
      const T = fit.fit.temperature;
      const pair = (logits: Float32Array, ds: Dataset): CalibrationPair => ({
        before: calibrationFromLogits(logits, ds.y, model.numClasses, { bins }),
        after: calibrationFromLogits(logits, ds.y, model.numClasses, { bins, temperature: T }),
      });
      const section: CalibrationSection = {
        bins,
        temperature: {
          ...fit.fit,
          fittedOn: { split: 'validation', name: validation.name, count: validation.count },
          overlapsEvaluatedData: calibration.overlapsEvaluatedData,
          ...(calibration.savedWithModel === undefined ? {} : { savedWithModel: calibration.savedWithModel }),
        },
        clean: { data: { name: data.name, count: data.count }, ...pair(await datasetLogits(model, data, o.batchSize), data) },
      };
      const advCount = Math.min(calibration.adversarialLimit, data.count);
      if (threat && advCount > 0) {
        progress(0, 1, `pgd adversarials of ${advCount} examples at eps ${claim}`);
        const adv = takeFirst(data, advCount);
        const logits = await adversarialLogits(model, adv, pgd, threat, { batchSize: o.batchSize, seed: o.seed });
        section.adversarial = {
          data: { name: adv.name, count: adv.count },
          attack: { id: pgd.id, config: pgd.config },
          threat: { id: threat.id, norm: threat.norm, epsilon: threat.epsilon },
          ...pair(logits, adv),
        };
      }
      return section;
    });

  const cert = o.certification;
  if (cert) {
    out.certification = await phase('certify', `randomized smoothing, sigma ${cert.sigma}`, (progress) =>
      certifiedAccuracy({
        model,
        data,
        ...cert,
        seed: o.seed,
        onProgress: (p) => progress(p.done, p.total, `randomized smoothing, sigma ${cert.sigma}`),
        ...(o.executor ? { executor: o.executor } : {}),
      }),
    );
  }

  const latency = o.latency;
  if (latency) {
    out.latency = await phase(
      'latency',
      `batch sizes ${latency.batchSizes.join(', ')}${threat ? ', clean and pgd adversarial inputs' : ''}`,
      () =>
        measureLatency({
          model,
          data,
          batchSizes: latency.batchSizes,
          repeats: latency.repeats,
          seed: o.seed,
          ...(threat ? { attack: pgd, threat } : {}),
        }),
    );
  }
  return out;
}
