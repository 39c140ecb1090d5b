/** Helpers the plan's stages share: the plan's data selections and output-file checks. */
import { access } from 'node:fs/promises';
import type { DataSourceSpec } from '../../../data/index.js';
import { selectData, type SelectedData } from '../../data-selection.js';
import { requireImageSection } from '../../plan/channels.js';
import type { Plan } from '../../plan/schema.js';
import type { StageContext } from '../types.js';

/** The image channel's data set (parsed by the plan schema). */
export function dataSpecOf(plan: Plan): DataSourceSpec {
  return requireImageSection(plan).data.dataset;
}

/** The evaluation set: the first `evaluation.limit` examples of the held-out test split. */
export function evaluationData(plan: Plan): SelectedData {
  return selectData({
    spec: dataSpecOf(plan),
    splitSeed: requireImageSection(plan).data.splitSeed,
    subset: 'test',
    ...(plan.evaluation.limit === undefined ? {} : { limit: plan.evaluation.limit }),
  });
}

/** True when every path (relative to the run directory) still exists. */
export async function filesExist(ctx: StageContext, paths: readonly (string | undefined)[]): Promise<boolean> {
  try {
    for (const p of paths) if (p !== undefined) await access(ctx.resolve(p));
    return true;
  } catch {
    return false;
  }
}
