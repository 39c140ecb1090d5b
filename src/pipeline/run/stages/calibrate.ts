/**
 * Stage `calibrate`: temperature scaling of the hardened model on the validation split
 * (never the test split), stored in the model's metadata so the model ships with it and
 * its ECE in the evaluation is the ECE of what ships.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { temperatureScaling } from '../../../eval/temperature-scaling.js';
import { saveTemperature } from '../../../models/calibrated-classifier.js';
import { loadClassifierModel } from '../../../models/store.js';
import { selectData } from '../../data-selection.js';
import type { Stage } from '../types.js';
import { requireImageSection } from '../../plan/channels.js';
import { dataSpecOf } from './common.js';
import { dataStage } from './data.js';
import { hardenStage } from './train.js';

export interface CalibrateOutputs {
  temperature: number;
  validation: { count: number; eceBefore: number; eceAfter: number; nllBefore: number; nllAfter: number };
}

export const calibrateStage: Stage<CalibrateOutputs> = {
  id: 'calibrate',
  title: 'calibration (temperature scaling)',
  version: 1,
  dependsOn: [dataStage.id, hardenStage.id],
  inputs: ({ plan }) => ({ bins: plan.evaluation.calibrationBins, batchSize: plan.evaluation.batchSize }),
  async run(ctx) {
    const { plan } = ctx;
    const modelDir = ctx.resolve(ctx.output(hardenStage).modelDir);
    const validation = selectData({
      spec: dataSpecOf(plan),
      splitSeed: requireImageSection(plan).data.splitSeed,
      subset: 'validation',
    }).selected;
    const stored = await loadClassifierModel(modelDir);
    let report;
    try {
      ctx.progress(0, 1, 'fitting T');
      report = await temperatureScaling({
        model: stored.classifier,
        validation,
        bins: plan.evaluation.calibrationBins,
        batchSize: plan.evaluation.batchSize,
      });
    } finally {
      stored.model.dispose();
    }
    await saveTemperature(modelDir, report.fit.temperature);
    ctx.progress(1, 1, `T = ${report.fit.temperature.toFixed(3)}`);
    const { before, after } = report.validation;
    return {
      temperature: report.fit.temperature,
      validation: { count: validation.count, eceBefore: before.ece, eceAfter: after.ece, nllBefore: before.nll, nllAfter: after.nll },
    };
  },
  // A rerun of training (after a crash) rewrites the model without its temperature: refit then.
  async stillValid(outputs, ctx) {
    try {
      const json = JSON.parse(await readFile(join(ctx.resolve(ctx.output(hardenStage).modelDir), 'model.json'), 'utf8')) as {
        userDefinedMetadata?: { rampart?: { temperature?: number } };
      };
      return json.userDefinedMetadata?.rampart?.temperature === outputs.temperature;
    } catch {
      return false;
    }
  },
};
