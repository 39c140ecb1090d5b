/** `rampart/pipeline`: plans and the stage runner. */
export { runTraining, type TrainRunOptions, type TrainRunReport } from './pipeline/train-run.js';
export { selectData, DEFAULT_SPLIT, type DataSelection, type SelectedData } from './pipeline/data-selection.js';
// The data layer's spec parser (every source kind), re-exported where older code found it.
export { parseDataSpec } from './data/index.js';
export { runMnistExample, type MnistExampleOptions } from './pipeline/mnist-example.js';
export { loadPlan, parsePlan, parsePlanText, PlanError, type PlanIssue } from './pipeline/plan/load.js';
export { planSchema, type Plan, type PlanInput, type PlanCriteria, type ThreatScenario } from './pipeline/plan/schema.js';
export { runPlan, planStages, type RunPlanOptions, type RunPlanResult } from './pipeline/run/run-plan.js';
export { runStages, type RunStagesOptions } from './pipeline/run/runner.js';
export type { Stage, StageContext, StageRecord, StageSummary, RunEvent, RunEnvironment } from './pipeline/run/types.js';
export { evaluateModel, type ModelEvaluation } from './pipeline/run/evaluate-model.js';
export { planChannels, imageSectionOf, type PlanChannel, type ImageSection } from './pipeline/plan/channels.js';
