/**
 * `runPlan`: a robustness plan end to end as cached stages — data, baseline training,
 * attack evaluation of the baseline, adversarial training, calibration, certification,
 * evaluation of the hardened model, gate, report and (with governance) registration. The stable files of the latest
 * run are copied to the run directory's top level: `results.json`, `gate.xml`, `gate.md`,
 * `report.html` and `run.json`.
 */
import { copyFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeJsonFile } from '../../core/files.js';
import type { WorkerPool } from '../../execution/pool/index.js';
import { openGovernance } from '../../governance/index.js';
import { ADVERSARIAL_SETS, resolveAdversarialSets, type ResolvedAdversarialSet } from '../refresh-adversarial.js';
import type { GateResult } from '../../eval/gate.js';
import type { Plan } from '../plan/schema.js';
import { evaluationResultsSchema, type EvaluationResults } from '../../eval/results.js';
import { runStages } from './runner.js';
import { dataStage, type DataOutputs } from './stages/data.js';
import { calibrateStage, type CalibrateOutputs } from './stages/calibrate.js';
import { certifyStage, type CertifyOutputs } from './stages/certify.js';
import { attackStage, evaluateRef, evaluationStage, type EvaluateOutputs } from './stages/evaluate.js';
import { gateStage, PRODUCTION_RESULTS, type GateOutputs } from './stages/gate.js';
import { productionResultsFrom, registerStage, type RegisterOutputs } from './stages/register.js';
import { reportStage, type ReportOutputs } from './stages/report.js';
import { textAttackStage, textTrainStage, type TextAttackOutputs, type TextTrainOutputs } from './stages/text.js';
import { baselineStage, hardenStage, type TrainOutputs } from './stages/train.js';
import type { RunEvent, Stage, StageSummary } from './types.js';

export const DEFAULT_RUN_ROOT = '.rampart';

export interface RunPlanOptions {
  /** The `.rampart` directory: runs go to `<dir>/runs/<plan-name>/`, governance to `<dir>/`. Default `.rampart`. */
  dir?: string;
  /** Rerun every stage. */
  force?: boolean;
  backend?: string;
  /** Worker threads for training steps and attacks. */
  pool?: WorkerPool;
  /**
   * The production model's results for the regression check. Default: from governance,
   * the newest evaluation of the model tagged `production` (none on a first release).
   */
  production?: EvaluationResults;
  /** Record artifacts, risks, audit entries and vulnerabilities in `<dir>`; default true. */
  governance?: boolean;
  onEvent?: (event: RunEvent) => void;
}

export interface RunPlanResult {
  plan: Plan;
  runDir: string;
  stages: StageSummary[];
  data: DataOutputs;
  baseline: { training: TrainOutputs; evaluation: EvaluateOutputs };
  hardened: { training: TrainOutputs; evaluation: EvaluateOutputs; calibration?: CalibrateOutputs; certification?: CertifyOutputs };
  text?: { training: TextTrainOutputs; attack: TextAttackOutputs };
  gate: GateResult;
  production?: EvaluationResults;
  files: { results: string; baselineResults: string; junit: string; markdown: string; report: string; run: string };
  governance?: RegisterOutputs;
}

/**
 * The plan's stages in order. Calibration and certification run between adversarial
 * training and the candidate's evaluation when the plan asks for them.
 */
export function planStages(plan: Plan, options: { governance: boolean }): Stage[] {
  const calibrate = plan.evaluation.temperatureScaling;
  const certify = plan.evaluation.certification !== undefined;
  const text = plan.text !== undefined && plan.threats.some((t) => t.channel === 'text');
  const stages: Stage[] = [dataStage, baselineStage, attackStage, hardenStage];
  if (calibrate) stages.push(calibrateStage as Stage);
  if (certify) stages.push(certifyStage as Stage);
  if (text) stages.push(textTrainStage as Stage, textAttackStage as Stage);
  const evaluate = evaluationStage(evaluateRef.id, 'evaluation (hardened)', hardenStage, 'hardened', {
    calibrate,
    certify,
    text,
    masking: true,
  });
  stages.push(evaluate as Stage, gateStage as Stage, reportStage(text ? [textAttackStage.id] : []) as Stage);
  if (options.governance) stages.push(registerStage as Stage);
  return stages;
}

/** The plan's adversarial sets, read from the registry in `dir`. */
function adversarialSetsFrom(dir: string, plan: Plan): ResolvedAdversarialSet[] {
  const gov = openGovernance(dir, { mustExist: true });
  try {
    return resolveAdversarialSets(gov, plan);
  } finally {
    gov.close();
  }
}

function productionFromGovernance(dir: string): EvaluationResults | undefined {
  const gov = openGovernance(dir);
  try {
    const found = productionResultsFrom(gov);
    if (!found) return undefined;
    const parsed = evaluationResultsSchema.safeParse(found.results);
    return parsed.success ? parsed.data : undefined;
  } finally {
    gov.close();
  }
}

/**
 * Runs a plan, skipping every stage whose inputs are unchanged since it last ran.
 *
 * @throws Whatever a stage throws (UsageError for bad options, DataError for missing data,
 *   GradientError for diverged training); finished stages stay cached for the rerun.
 * @example
 * const plan = await loadPlan('examples/rampart.yaml');
 * const result = await runPlan(plan, { onEvent: (e) => console.log(e) });
 * console.log(result.gate.passed);
 */
export async function runPlan(plan: Plan, options: RunPlanOptions = {}): Promise<RunPlanResult> {
  const dir = resolve(options.dir ?? DEFAULT_RUN_ROOT);
  const runDir = join(dir, 'runs', plan.name);
  const governance = options.governance ?? true;
  const production = options.production ?? (governance ? productionFromGovernance(dir) : undefined);
  const { outputs, summaries } = await runStages(
    planStages(plan, { governance }),
    {
      plan,
      runDir,
      ...(options.backend === undefined ? {} : { backend: options.backend }),
      ...(options.pool ? { pool: options.pool } : {}),
      extras: {
        ...(production ? { [PRODUCTION_RESULTS]: production } : {}),
        ...(plan.data.adversarial ? { [ADVERSARIAL_SETS]: adversarialSetsFrom(dir, plan) } : {}),
      },
    },
    { ...(options.force ? { force: true } : {}), ...(options.onEvent ? { onEvent: options.onEvent } : {}) },
  );
  const at = (p: string): string => join(runDir, p);
  const evaluate = outputs.evaluate as EvaluateOutputs;
  const attack = outputs.attack as EvaluateOutputs;
  const gate = outputs.gate as GateOutputs;
  const report = outputs.report as ReportOutputs;
  const files = {
    results: at('results.json'),
    baselineResults: at('baseline-results.json'),
    junit: at('gate.xml'),
    markdown: at('gate.md'),
    report: at('report.html'),
    run: at('run.json'),
  };
  // The latest run's files at stable paths, for CI and people; the cached originals stay in work/.
  await copyFile(at(evaluate.resultsPath), files.results);
  await copyFile(at(attack.resultsPath), files.baselineResults);
  await copyFile(at(gate.junit), files.junit);
  await copyFile(at(gate.markdown), files.markdown);
  await copyFile(at(report.html), files.report);
  const registered = outputs.register as RegisterOutputs | undefined;
  await writeJsonFile(files.run, {
    kind: 'rampart.run',
    schemaVersion: 1,
    plan: plan.name,
    finishedAt: new Date().toISOString(),
    passed: gate.gate.passed,
    stages: summaries,
    ...(production ? { production: production.model } : {}),
    ...(registered ? { governance: registered } : {}),
  });
  return {
    plan,
    runDir,
    stages: summaries,
    data: outputs.data as DataOutputs,
    baseline: { training: outputs.baseline as TrainOutputs, evaluation: attack },
    hardened: {
      training: outputs.harden as TrainOutputs,
      evaluation: evaluate,
      ...(outputs.calibrate ? { calibration: outputs.calibrate as CalibrateOutputs } : {}),
      ...(outputs.certify ? { certification: outputs.certify as CertifyOutputs } : {}),
    },
    ...(outputs['text-attack']
      ? { text: { training: outputs['text-train'] as TextTrainOutputs, attack: outputs['text-attack'] as TextAttackOutputs } }
      : {}),
    gate: gate.gate,
    ...(production ? { production } : {}),
    files,
    ...(registered ? { governance: registered } : {}),
  };
}
