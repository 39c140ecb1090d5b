/**
 * Rampart's public library API: what a user needs to attack, harden, evaluate, gate, govern and
 * serve a model. Each area's full surface (advanced options, building blocks) is a subpath
 * export: `rampart/attacks`, `rampart/eval`, `rampart/train`, `rampart/defenses`, `rampart/serve`,
 * `rampart/governance`, `rampart/data`, `rampart/models`, `rampart/threats`, `rampart/execution`,
 * `rampart/report`, `rampart/pipeline`, `rampart/core`, `rampart/engine`.
 */
export * from './core/errors.js';
export { createRng, type Rng } from './core/rng.js';
export type { Bounds, Dataset } from './core/types.js';
export { initEngine, engineInfo, type BackendName, type EngineInfo } from './engine/backend.js';
export { loadBundledMnist, loadIdxDataset, splitDataset, takeFirst } from './data/index.js';
export type { Classifier } from './models/classifier.js';
export { TfjsClassifier } from './models/tfjs-classifier.js';
export { buildModel, ARCHITECTURES, type ArchitectureId } from './models/architectures.js';
export { saveClassifierModel, loadClassifierModel, type ModelInfo, type StoredClassifier } from './models/store.js';
export { predictClasses, accuracyOf } from './models/predict.js';
export { threatModel, threatsAt, type ThreatModel, type ThreatModelSpec } from './threats/threat-model.js';
export { textThreatModel, type TextThreatSpec, type TextThreatModel } from './threats/text-threat.js';
export type { Attack, AttackGoal, AttackResult, AttackRunOptions } from './attacks/types.js';
export { attackIds, createAttack, describeAttack } from './attacks/registry.js';
export { textAttackIds, createTextAttack } from './attacks/text/registry.js';
export { fgsm } from './attacks/image/fgsm.js';
export { pgd } from './attacks/image/pgd.js';
export { apgdCe, apgdDlr, apgdT } from './attacks/image/apgd.js';
export { square } from './attacks/image/square.js';
export { trainModel, type TrainOptions, type TrainReport } from './training/trainer.js';
export { createObjective, objectiveIds } from './training/objectives/registry.js';
export { createWorkerPool, localExecutor, type Executor } from './execution/index.js';
export { attackDataset } from './execution/attack-dataset.js';
export { evaluateRobustness, type RobustnessReport } from './eval/robustness.js';
export { runSuite, type SuiteReport } from './eval/suite.js';
export { evaluateThreats, type ThreatEvaluation } from './eval/threat-evaluation.js';
export { trustEvidence } from './eval/trust.js';
export { certifiedAccuracy } from './eval/smoothing.js';
export { calibrationReport } from './eval/calibration.js';
export { runMaskingChecks } from './eval/masking/index.js';
export { evaluateGate, type GateResult } from './eval/gate.js';
export { loadResults, type EvaluationResults } from './eval/results.js';
export { openGovernance, type Governance } from './governance/index.js';
export { renderHtmlReport } from './report/html/report.js';
export { loadPlan, parsePlan, type PlanIssue } from './pipeline/plan/load.js';
export type { Plan } from './pipeline/plan/schema.js';
export { runPlan, type RunPlanOptions, type RunPlanResult } from './pipeline/run/run-plan.js';
export { runTraining } from './pipeline/train-run.js';
export { selectData } from './pipeline/data-selection.js';
export { buildServer, type BuildServerOptions } from './serve/app.js';
export { directorySource, registrySource } from './serve/model-source.js';
export { parseServeConfig, readServeConfig, type ServeConfig } from './serve/config.js';
