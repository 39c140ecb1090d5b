/**
 * Stage `report`: the self-contained HTML report of the run (plots, examples, risk
 * register, gate verdict), built only from upstream outputs and the plan.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeTextFile } from '../../../core/files.js';
import { renderHtmlReport, type HtmlReportData, type ModelSummary } from '../../../report/html/report.js';
import type { AdversarialExampleSet } from '../../../eval/adversarial-examples.js';
import { riskRows } from '../risk-register.js';
import { stageRef, type Stage, type StageContext, type StageRef } from '../types.js';
import { dataStage } from './data.js';
import { attackStage, evaluateRef, type EvaluateOutputs } from './evaluate.js';
import { gateStage } from './gate.js';
import { baselineStage, hardenStage, type TrainOutputs } from './train.js';
import { textAttackStage, type TextAttackOutputs } from './text.js';
import type { TextAttackSet } from '../../../report/html/text-diff.js';
import { filesExist } from './common.js';

export interface ReportOutputs {
  html: string;
}

async function readTextAttacks(ctx: StageContext): Promise<TextAttackSet[]> {
  let text: TextAttackOutputs | undefined;
  try {
    text = ctx.output(textAttackStage);
  } catch {
    return [];
  }
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
  const data = ctx.output(dataStage);
  const baseline = ctx.output(attackStage);
  const hardened = ctx.output(evaluateRef);
  const gate = ctx.output(gateStage);
  const reliability = [baseline, hardened]
    .filter((e) => e.results.reliability)
    .map((e) => ({ model: e.model, bins: e.results.reliability ?? [], ...(e.results.ece === undefined ? {} : { ece: e.results.ece }) }));
  const notes = Object.entries(hardened.results.unmeasured).map(([id, why]) => `Threat ${id} was not measured: ${why}.`);
  const temperature = hardened.results.temperature;
  if (temperature !== undefined && temperature !== 1)
    notes.push(
      `The hardened model ships with temperature T = ${temperature.toFixed(3)} (fitted on the validation split); its ECE is measured with it.`,
    );
  const suite = plan.evaluation.suite;
  if (suite === 'none') {
    notes.push(
      "Weaker evaluation: upper bound. The plan switched the standard suite off (evaluation.suite: none), so every robust accuracy is from the plan's attacks alone and may overstate what the model holds.",
    );
  } else {
    const variant = suite === 'standard' || suite === 'standard:rand' ? suite : 'standard:quick';
    notes.push(
      `Robust accuracy per threat is the worst case per example over the ${variant} suite and the plan's attacks; each rate shows its 95% Clopper-Pearson interval and n.`,
    );
  }
  for (const t of plan.threats)
    if (t.channel === 'image' && t.goal === 'targeted')
      notes.push(
        `Threat ${t.id} is targeted; it was evaluated with untargeted attacks, which succeed at least as often, so its robust accuracy is a lower bound.`,
      );
  return {
    title: `Robustness report: ${plan.name}`,
    planName: plan.name,
    ...(plan.description === undefined ? {} : { description: plan.description }),
    createdAt: new Date().toISOString(),
    data: { name: data.name, sha256: data.sha256, evaluationCount: hardened.results.data?.count ?? 0 },
    models: [summary('baseline', ctx.output(baselineStage), baseline), summary('hardened', ctx.output(hardenStage), hardened)],
    reliability,
    examples: [...(await readExamples(ctx, baseline.examples)), ...(await readExamples(ctx, hardened.examples))],
    textAttacks: await readTextAttacks(ctx),
    risks: riskRows(plan, hardened.results),
    ...(plan.criteria.robustAccuracy ? { robustCriteria: plan.criteria.robustAccuracy } : {}),
    threatEpsilons: plan.threats.flatMap((t) => (t.channel === 'image' ? [{ id: t.id, norm: t.norm, epsilon: t.epsilon }] : [])),
    gate: gate.gate,
    ...(plan.rollout ? { rollout: plan.rollout.phases } : {}),
    notes,
  };
}

/** The report stage's outputs, for stages that read them. */
export const reportRef: StageRef<ReportOutputs> = stageRef('report');

/** The report stage; `extra` names optional upstream stages whose outputs it shows (the text channel). */
export function reportStage(extra: readonly string[] = []): Stage<ReportOutputs> {
  return {
    id: 'report',
    title: 'report',
    version: 1,
    dependsOn: [dataStage.id, baselineStage.id, hardenStage.id, attackStage.id, evaluateRef.id, gateStage.id, ...extra],
    inputs: ({ plan }) => ({ plan }),
    async run(ctx) {
      const html = join(ctx.workDir, 'report.html');
      await writeTextFile(html, renderHtmlReport(await reportData(ctx)));
      return { html: ctx.relative(html) };
    },
    stillValid: (o, ctx) => filesExist(ctx, [o.html]),
  };
}
