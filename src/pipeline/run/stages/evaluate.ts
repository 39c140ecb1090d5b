/**
 * Stages `attack` (the baseline under the plan's threats: what an adversary gets today)
 * and `evaluate` (the candidate, whose results the gate reads). The candidate is the
 * hardened model Rampart trained, or the plan's external model as is; the text and tabular
 * channels are measured by their own stages and join its results. A plan without an image
 * channel has results from those stages alone.
 */
import { adversarialStageInputs, measurePlanSets } from './evaluate-adversarial.js';
import { rateFromFraction, type Rate } from '../../../eval/rate.js';
import type { EvaluationResults } from '../../../eval/results.js';
import type { Classifier } from '../../../models/classifier.js';
import { loadClassifierModel } from '../../../models/store.js';
import { channelResults, evaluateModel, writeModelEvaluation, type ChannelRates } from '../evaluate-model.js';
import { needsSurrogate } from '../surrogate.js';
import type { Plan } from '../../plan/schema.js';
import { stageRef, type Stage, type StageContext, type StageRef } from '../types.js';
import { evaluationData, filesExist } from './common.js';
import { dataStage } from './data.js';
import { imageModelStage, loadImageSource } from './model-source.js';
import { baselineStage, type TrainOutputs } from './train.js';
import { calibrateStage } from './calibrate.js';
import { certifyStage } from './certify.js';
import { tabularStage, type TabularOutputs } from './tabular.js';
import { textAttackStage, textTrainStage } from './text.js';

export interface EvaluateOutputs {
  model: string;
  /** results.json, relative to the run directory. */
  resultsPath: string;
  reports: string[];
  examples?: string;
  results: EvaluationResults;
}

/** What the candidate's evaluation reads besides its model: each stage only when the plan runs it. */
export interface EvaluationInputs {
  calibrate?: boolean;
  certify?: boolean;
  text?: boolean;
  /** The text filter is one Rampart trained (stage `text-train`), not the plan's own. */
  textTrained?: boolean;
  tabular?: boolean;
  /** Run the gradient-masking checks (the candidate, not the baseline). */
  masking?: boolean;
}

/** The image model an evaluation stage measures: the stage that names it and how to load it. */
export interface ImageModelRef {
  readonly stage: StageRef<unknown>;
  load(ctx: StageContext): Promise<{ classifier: Classifier; sha256: string; dispose(): void }>;
}

/** A model a training stage saved. */
export function trainedModel(stage: StageRef<TrainOutputs>): ImageModelRef {
  return {
    stage,
    async load(ctx) {
      const trained = ctx.output(stage);
      const stored = await loadClassifierModel(ctx.resolve(trained.modelDir));
      return { classifier: stored.classifier, sha256: trained.sha256, dispose: () => stored.model.dispose() };
    },
  };
}

/** The plan's external image model (`model.source`), evaluated as is. */
export const externalImageModel: ImageModelRef = {
  stage: imageModelStage,
  async load(ctx) {
    const described = ctx.output(imageModelStage);
    const loaded = await loadImageSource(ctx);
    return { classifier: loaded.classifier, sha256: described.sha256, dispose: () => loaded.dispose() };
  },
};

/** The candidate's evaluation, for stages that read it. */
export const evaluateRef: StageRef<EvaluateOutputs> = stageRef('evaluate');

const rates = (values: Record<string, number>, n: number): Record<string, Rate> =>
  Object.fromEntries(Object.entries(values).map(([threat, value]) => [threat, rateFromFraction(value, n)]));

function textRates(ctx: StageContext): ChannelRates {
  const text = ctx.output(textAttackStage);
  return { robust: rates(text.robustAccuracy, text.count), clean: rateFromFraction(text.cleanAccuracy, text.count) };
}

function tabularRates(tabular: TabularOutputs): ChannelRates {
  return { robust: tabular.robust, clean: tabular.clean };
}

/**
 * An evaluation stage for `image` (none: the plan has no image channel). With `calibrate`,
 * ECE is measured at the fitted temperature; with `certify`, certified accuracy joins the
 * results; with `text` and `tabular`, those channels' robust accuracy per threat.
 */
export function evaluationStage(
  id: string,
  title: string,
  image: ImageModelRef | undefined,
  name: string,
  inputs: EvaluationInputs = {},
): Stage<EvaluateOutputs> {
  const extra = [
    ...(inputs.calibrate ? [calibrateStage.id] : []),
    ...(inputs.certify ? [certifyStage.id] : []),
    ...(inputs.text ? [...(inputs.textTrained ? [textTrainStage.id] : []), textAttackStage.id] : []),
    ...(inputs.tabular ? [tabularStage.id] : []),
  ];
  return {
    id,
    title,
    version: 3,
    dependsOn: [...(image ? [dataStage.id, image.stage.id] : []), ...extra],
    // Only what changes the numbers: owners, likelihoods and criteria do not.
    inputs: ({ plan, backend, extras }) => ({
      ...adversarialStageInputs(plan, extras, { image: image !== undefined, text: inputs.text === true }),
      threats: plan.threats.map((t) =>
        t.channel === 'text' ? { id: t.id, channel: t.channel } : { id: t.id, channel: t.channel, norm: t.norm, epsilon: t.epsilon },
      ),
      evaluation: plan.evaluation,
      image: image !== undefined,
      masking: inputs.masking === true,
      seed: plan.seed,
      backend: backend ?? 'default',
    }),
    async run(ctx: StageContext) {
      const text = inputs.text ? textRates(ctx) : undefined;
      const tabular = inputs.tabular ? ctx.output(tabularStage) : undefined;
      // The text filter this evaluation measures, for the confirmed text attacks: the one trained, or the plan's own.
      const textDir = !inputs.text
        ? undefined
        : inputs.textTrained
          ? ctx.resolve(ctx.output(textTrainStage).modelDir)
          : ctx.plan.text?.source;
      if (!image) {
        const textModel = inputs.text
          ? inputs.textTrained
            ? ctx.output(textTrainStage).sha256
            : ctx.output(textAttackStage).model?.sha256
          : undefined;
        const sha256 = tabular?.model.sha256 ?? textModel ?? '';
        const measured = channelResults({
          plan: ctx.plan,
          name: `${ctx.plan.name}/${name}`,
          sha256,
          ...(text ? { text } : {}),
          ...(tabular ? { tabular: { ...tabularRates(tabular), ...tabular } } : {}),
        });
        const adversarialSet = await measurePlanSets(ctx.extras, textDir === undefined ? {} : { textDir });
        const results = adversarialSet ? { ...measured, adversarialSet } : measured;
        const files = await writeModelEvaluation(ctx.workDir, { results, reports: [], suites: [], masking: [] });
        return { model: name, resultsPath: ctx.relative(files.results), reports: [], results };
      }
      const loaded = await image.load(ctx);
      try {
        const certify = inputs.certify ? ctx.output(certifyStage) : undefined;
        const evaluation = await evaluateModel({
          plan: ctx.plan,
          model: loaded.classifier,
          name: `${ctx.plan.name}/${name}`,
          sha256: loaded.sha256,
          data: evaluationData(ctx.plan).selected,
          // The validation split: the transfer surrogate trains on it, the defended stack's OOD layer is fitted on it.
          ...(needsFitData(ctx.plan) ? { fitData: evaluationData(ctx.plan).splits.validation } : {}),
          ...(ctx.pool ? { pool: ctx.pool } : {}),
          ...(inputs.calibrate ? { temperature: ctx.output(calibrateStage).temperature } : {}),
          ...(certify ? { certified: rates(certify.certifiedAccuracy, certify.count) } : {}),
          ...(text ? { text } : {}),
          ...(tabular ? { tabular: tabularRates(tabular) } : {}),
          masking: inputs.masking === true,
          onProgress: (done, total, label) => ctx.progress(done, total, label),
        });
        // The confirmed attacks of the plan's adversarial sets (every channel measured here), for the gate's adversarialSet criterion.
        const adversarialSet = await measurePlanSets(ctx.extras, {
          image: { classifier: loaded.classifier, like: evaluationData(ctx.plan).selected },
          ...(textDir === undefined ? {} : { textDir }),
        });
        if (adversarialSet) evaluation.results = { ...evaluation.results, adversarialSet };
        const files = await writeModelEvaluation(ctx.workDir, evaluation);
        return {
          model: name,
          resultsPath: ctx.relative(files.results),
          reports: files.reports.map((r) => ctx.relative(r)),
          ...(files.examples ? { examples: ctx.relative(files.examples) } : {}),
          results: evaluation.results,
        };
      } finally {
        loaded.dispose();
      }
    },
    stillValid: (o, ctx) => filesExist(ctx, [o.resultsPath, ...o.reports, o.examples]),
  };
}

/** True when the evaluation fits something on held-out data (a transfer surrogate, the defended stack's OOD layer). */
function needsFitData(plan: Plan): boolean {
  return needsSurrogate(plan) || plan.evaluation.defendedStack !== undefined;
}

export const attackStage = evaluationStage('attack', 'attack evaluation (baseline)', trainedModel(baselineStage), 'baseline');
