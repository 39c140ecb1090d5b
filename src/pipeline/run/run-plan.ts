/**
 * `runPlan`: a robustness plan end to end as cached stages, only for the channels the plan
 * has. Image with a model Rampart builds: data, baseline training, attack evaluation of the
 * baseline, adversarial training, calibration, certification; image with an external model:
 * data and the model's identity. Then the text stages, the tabular stage, the candidate's
 * evaluation, gate, report and (with governance) registration. The stable files of the
 * latest run are copied to the run directory's top level: `results.json`, `gate.xml`,
 * `gate.md`, `report.html` and `run.json` (and `baseline-results.json` when there is a baseline).
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
import { imageSectionOf } from '../plan/channels.js';
import { attackStage, evaluateRef, evaluationStage, externalImageModel, trainedModel, type EvaluateOutputs } from './stages/evaluate.js';
import { imageModelStage, type SourceModelOutputs } from './stages/model-source.js';
import { tabularStage, type TabularOutputs } from './stages/tabular.js';
import { externalTextAttackStage } from './stages/text-source.js';
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
  /** The image channel's data (absent without an image channel). */
  data?: DataOutputs;
  /** The baseline Rampart trained and attacked (only when the plan builds its image model). */
  baseline?: { training: TrainOutputs; evaluation: EvaluateOutputs };
  /** The hardened model (only when the plan builds its image model). */
  hardened?: { training: TrainOutputs; evaluation: EvaluateOutputs; calibration?: CalibrateOutputs; certification?: CertifyOutputs };
  /** The plan's external image model (`model.source`), as loaded. */
  imageModel?: SourceModelOutputs;
  /** The candidate's evaluation: every channel's numbers, which the gate read. */
  candidate: EvaluateOutputs;
  /** The text filter Rampart trained, and its attack. */
  text?: { training: TextTrainOutputs; attack: TextAttackOutputs };
  /** The text channel's attack, whether on a filter Rampart trained or on the plan's own (`text.source`). */
  textAttack?: TextAttackOutputs;
  tabular?: TabularOutputs;
  gate: GateResult;
  production?: EvaluationResults;
  files: { results: string; baselineResults?: string; junit: string; markdown: string; report: string; run: string };
  governance?: RegisterOutputs;
}

/**
 * The plan's stages in order, for the channels it has. Calibration and certification run
 * between adversarial training and the candidate's evaluation when the plan asks for them
 * (a model Rampart trains only).
 */
export function planStages(plan: Plan, options: { governance: boolean }): Stage[] {
  const image = imageSectionOf(plan);
  const built = image?.kind === 'built';
  const calibrate = built && plan.evaluation.temperatureScaling;
  const certify = built && plan.evaluation.certification !== undefined;
  const text = plan.text !== undefined && plan.threats.some((t) => t.channel === 'text');
  const tabular = plan.tabular !== undefined;
  const stages: Stage[] = [];
  if (image) stages.push(dataStage as Stage);
  if (built) stages.push(baselineStage as Stage, attackStage as Stage, hardenStage as Stage);
  if (image?.kind === 'external') stages.push(imageModelStage as Stage);
  if (calibrate) stages.push(calibrateStage as Stage);
  if (certify) stages.push(certifyStage as Stage);
  if (text && plan.text?.source !== undefined) stages.push(externalTextAttackStage as Stage);
  else if (text) stages.push(textTrainStage as Stage, textAttackStage as Stage);
  if (tabular) stages.push(tabularStage as Stage);
  const candidate = built ? trainedModel(hardenStage) : image ? externalImageModel : undefined;
  const evaluate = evaluationStage(
    evaluateRef.id,
    built ? 'evaluation (hardened)' : 'evaluation',
    candidate,
    built ? 'hardened' : 'candidate',
    {
      calibrate,
      certify,
      text,
      textTrained: text && plan.text?.source === undefined,
      tabular,
      masking: image !== undefined,
    },
  );
  // The report shows every stage's outputs but calibration's and certification's, which reach it through the evaluation.
  const shown = stages.map((s) => s.id).filter((id) => id !== calibrateStage.id && id !== certifyStage.id);
  stages.push(evaluate as Stage, gateStage as Stage, reportStage(shown) as Stage);
  if (options.governance) stages.push(registerStage(stages.map((s) => s.id)) as Stage);
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
        ...(plan.data?.adversarial || plan.text?.adversarial ? { [ADVERSARIAL_SETS]: adversarialSetsFrom(dir, plan) } : {}),
      },
    },
    { ...(options.force ? { force: true } : {}), ...(options.onEvent ? { onEvent: options.onEvent } : {}) },
  );
  const at = (p: string): string => join(runDir, p);
  const evaluate = outputs.evaluate as EvaluateOutputs;
  const attack = outputs.attack as EvaluateOutputs | undefined;
  const gate = outputs.gate as GateOutputs;
  const report = outputs.report as ReportOutputs;
  const files = {
    results: at('results.json'),
    ...(attack ? { baselineResults: at('baseline-results.json') } : {}),
    junit: at('gate.xml'),
    markdown: at('gate.md'),
    report: at('report.html'),
    run: at('run.json'),
  };
  // The latest run's files at stable paths, for CI and people; the cached originals stay in work/.
  await copyFile(at(evaluate.resultsPath), files.results);
  if (attack && files.baselineResults) await copyFile(at(attack.resultsPath), files.baselineResults);
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
  const harden = outputs.harden as TrainOutputs | undefined;
  return {
    plan,
    runDir,
    stages: summaries,
    ...(outputs.data ? { data: outputs.data as DataOutputs } : {}),
    ...(attack ? { baseline: { training: outputs.baseline as TrainOutputs, evaluation: attack } } : {}),
    ...(harden
      ? {
          hardened: {
            training: harden,
            evaluation: evaluate,
            ...(outputs.calibrate ? { calibration: outputs.calibrate as CalibrateOutputs } : {}),
            ...(outputs.certify ? { certification: outputs.certify as CertifyOutputs } : {}),
          },
        }
      : {}),
    ...(outputs['image-model'] ? { imageModel: outputs['image-model'] as SourceModelOutputs } : {}),
    candidate: evaluate,
    ...(outputs['text-train']
      ? { text: { training: outputs['text-train'] as TextTrainOutputs, attack: outputs['text-attack'] as TextAttackOutputs } }
      : {}),
    ...(outputs['text-attack'] ? { textAttack: outputs['text-attack'] as TextAttackOutputs } : {}),
    ...(outputs.tabular ? { tabular: outputs.tabular as TabularOutputs } : {}),
    gate: gate.gate,
    ...(production ? { production } : {}),
    files,
    ...(registered ? { governance: registered } : {}),
  };
}
