/** `rampart/train`: training: trainer, schedules, objectives, text training. */
export * from './training/text/index.js';
export { trainModel, type TrainOptions, type TrainReport, type TrainConfig } from './training/trainer.js';
export { makeSchedule, parseSchedule, type ScheduleSpec } from './training/schedules.js';
export type { Objective } from './training/objectives/types.js';
export { standardObjective } from './training/objectives/standard.js';
export { createObjective, objectiveIds, type ObjectiveOptions } from './training/objectives/registry.js';
export { pgdAt } from './training/objectives/pgd-at.js';
export { patchAt } from './training/objectives/patch-at.js';
export { tabularPgdAt, type TabularPgdAtOptions } from './training/objectives/tabular-pgd-at.js';
export { trades } from './training/objectives/trades.js';
export { fgsmRs } from './training/objectives/fgsm-rs.js';
export { noise } from './training/objectives/noise.js';
export { diversified } from './training/objectives/diversified.js';
export { awp } from './training/objectives/awp.js';
