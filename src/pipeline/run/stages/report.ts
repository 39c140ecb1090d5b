/**
 * Stage `report`: the self-contained HTML report of the run (plots, examples, risk
 * register, gate verdict), built only from upstream outputs and the plan.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeTextFile } from '../../../core/files.js';
import { renderHtmlReport, type HtmlReportData, type ModelSummary } from '../../../report/html/report.js';
import type { AdversarialExampleSet } from '../../../eval/adversarial-examples.js';
import { planChannels } from '../../plan/channels.js';
import { riskRows } from '../risk-register.js';
import { stageRef, type Stage, type StageContext, type StageRef } from '../types.js';
import { imageModelStage as imageModelRef } from './model-source.js';
import { dataStage } from './data.js';
import { attackStage, evaluateRef, type EvaluateOutputs } from './evaluate.js';
import { gateStage } from './gate.js';
import { baselineStage, hardenStage, type TrainOutputs } from './train.js';
import { textAttackStage } from './text.js';
import { tabularStage } from './tabular.js';
import type { TextAttackSet } from '../../../report/html/text-diff.js';
import { filesExist } from './common.js';

export interface ReportOutputs {
  html: string;
}

/** The outputs of a stage the plan may not run; undefined when it did not. */
function optional<O>(ctx: StageContext, stage: StageRef<O>): O | undefined {
  try {
    return ctx.output(stage);
  } catch {
    return undefined;
  }
}

async function readTextAttacks(ctx: StageContext): Promise<TextAttackSet[]> {
  const text = optional(ctx, textAttackStage);
  return text ? (JSON.parse(await readFile(ctx.resolve(text.examples), 'utf8')) as TextAttackSet[]) : [];
}

async function readExamples(ctx: StageContext, path: string | undefined): Promise<AdversarialExampleSet[]> {
  if (path === undefined) return [];
  return [JSON.parse(await readFile(ctx.resolve(path), 'utf8')) as AdversarialExampleSet];
}

function summary(name: string, train: TrainOutputs, evaluation: EvaluateOutputs): ModelSummary {
  return {
    name,
    results: evaluation.results,
    training: {
      method: train.method,
      epochs: train.epochs,
      testAccuracy: train.testAccuracy,
      trainingMs: train.trainingMs,
      selection: train.selection,
    },
  };
}

/** The report's data from the stage outputs; exported so `rampart report` can rebuild it. */
export async function reportData(ctx: StageContext): Promise<HtmlReportData> {
  const { plan } = ctx;
  const data = optional(ctx, dataStage);
  const tabular = optional(ctx, tabularStage);
  const baseline = optional(ctx, attackStage);
  const candidate = ctx.output(evaluateRef);
  const gate = ctx.output(gateStage);
  const channels = planChannels(plan);
  const evaluations = [...(baseline ? [baseline] : []), candidate];
  const reliability = evaluations
    .filter((e) => e.results.reliability)
    .map((e) => ({ model: e.model, bins: e.results.reliability ?? [], ...(e.results.ece === undefined ? {} : { ece: e.results.ece }) }));
  const notes = Object.entries(candidate.results.unmeasured).map(([id, why]) => `Threat ${id} was not measured: ${why}.`);
  const temperature = candidate.results.temperature;
  if (temperature !== undefined && temperature !== 1)
    notes.push(
      `The hardened model ships with temperature T = ${temperature.toFixed(3)} (fitted on the validation split); its ECE is measured with it.`,
    );
  const suite = plan.evaluation.suite;
  for (const t of plan.threats)
    if (t.channel === 'tabular' && t.features !== undefined)
      notes.push(
        `Threat ${t.id} lists the features an adversary may change; every feature was allowed to move (feature constraints come later), so its robust accuracy is a lower bound.`,
      );
  if (!channels.includes('image')) {
    // Nothing below applies to the image suite.
  } else if (suite === 'none') {
    notes.push(
      "Weaker evaluation: upper bound. The plan switched the standard suite off (evaluation.suite: none), so every robust accuracy is from the plan's attacks alone and may overstate what the model holds.",
    );
  } else {
    const variant = suite === 'standard' || suite === 'standard:rand' ? suite : 'standard:quick';
    notes.push(
      `Robust accuracy per image threat is the worst case per example over the ${variant} suite and the plan's attacks; each rate shows its 95% Clopper-Pearson interval and n.`,
    );
  }
  const external = optional(ctx, imageModelRef);
  if (external)
    notes.push(`The image model is ${external.source} (${external.access} access), evaluated as is: no baseline, no adversarial training.`);
  if (tabular) {
    const constrained = plan.threats.flatMap((t) => (t.channel === 'tabular' && t.constraints ? [t.id] : []));
    const constraintNote =
      constrained.length > 0
        ? `every adversarial example of ${constrained.join(', ')} was checked against the threat's feature constraints`
        : 'feature constraints were not applied';
    notes.push(
      `The tabular model ${tabular.model.source} was attacked on ${tabular.evaluated.count} test rows of ${tabular.data.name} with ${(plan.tabular?.attacks ?? []).map((a) => a.id).join(', ')} in the features' own units, inside the data's range [${tabular.data.bounds.min}, ${tabular.data.bounds.max}]; ${constraintNote}, and without the suite its robust accuracy is an upper bound.`,
    );
    const training = tabular.training;
    if (training?.hardened && training.lift)
      notes.push(
        `Tabular hardening (constrained PGD-AT): clean accuracy ${(100 * training.baseline.numbers.clean.value).toFixed(1)}% → ${(100 * training.hardened.numbers.clean.value).toFixed(1)}%; ` +
          Object.entries(training.hardened.numbers.robust)
            .map(
              ([id, r]) =>
                `${id} ${(100 * (training.baseline.numbers.robust[id]?.value ?? 0)).toFixed(1)}% → ${(100 * r.value).toFixed(1)}%`,
            )
            .join(', ') +
          '.',
      );
  }
  if (!channels.includes('image'))
    notes.push(
      `Clean accuracy${tabular ? ', calibration and latency are the tabular model' : ' is the text filter'}'s: the plan has no image channel.`,
    );
  for (const t of plan.threats)
    if (t.channel === 'image' && t.goal === 'targeted')
      notes.push(
        `Threat ${t.id} is targeted; it was evaluated with untargeted attacks, which succeed at least as often, so its robust accuracy is a lower bound.`,
      );
  const count = candidate.results.data?.count ?? 0;
  const models = [
    ...(baseline ? [summary('baseline', ctx.output(baselineStage), baseline)] : []),
    optional(ctx, hardenStage)
      ? summary('hardened', ctx.output(hardenStage), candidate)
      : { name: candidate.model, results: candidate.results },
  ];
  return {
    title: `Robustness report: ${plan.name}`,
    planName: plan.name,
    ...(plan.description === undefined ? {} : { description: plan.description }),
    createdAt: new Date().toISOString(),
    ...(data
      ? { data: { name: data.name, sha256: data.sha256, evaluationCount: count } }
      : tabular
        ? { data: { name: tabular.data.name, sha256: tabular.data.sha256, evaluationCount: tabular.evaluated.count } }
        : {}),
    models,
    reliability,
    examples: [...(await readExamples(ctx, baseline?.examples)), ...(await readExamples(ctx, candidate.examples))],
    textAttacks: await readTextAttacks(ctx),
    risks: riskRows(plan, candidate.results),
    ...(plan.criteria.robustAccuracy ? { robustCriteria: plan.criteria.robustAccuracy } : {}),
    threatEpsilons: plan.threats.flatMap((t) => (t.channel === 'image' ? [{ id: t.id, norm: t.norm, epsilon: t.epsilon }] : [])),
    threatIds: plan.threats.map((t) => t.id),
    channels,
    gate: gate.gate,
    ...(plan.rollout ? { rollout: plan.rollout.phases } : {}),
    notes,
  };
}

/** The report stage's outputs, for stages that read them. */
export const reportRef: StageRef<ReportOutputs> = stageRef('report');

/**
 * The report stage; `upstream` names the plan's stages before it whose outputs it may show
 * (it reads only those it was given).
 */
export function reportStage(upstream: readonly string[]): Stage<ReportOutputs> {
  return {
    id: 'report',
    title: 'report',
    version: 2,
    dependsOn: [...new Set([...upstream, evaluateRef.id, gateStage.id])],
    inputs: ({ plan }) => ({ plan }),
    async run(ctx) {
      const html = join(ctx.workDir, 'report.html');
      await writeTextFile(html, renderHtmlReport(await reportData(ctx)));
      return { html: ctx.relative(html) };
    },
    stillValid: (o, ctx) => filesExist(ctx, [o.html]),
  };
}
