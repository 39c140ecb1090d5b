/** Rampart's public library API. The CLI is a thin shell over these functions. */
export * from './core/errors.js';
export { createRng, type Rng } from './core/rng.js';
export { sizeOf, type Bounds, type Dataset } from './core/types.js';
export { batchTensor, gatherRows } from './core/tensors.js';
export { RAMPART_VERSION } from './core/version.js';
export { initEngine, engineInfo, BACKEND_NAMES, type BackendName, type EngineInfo } from './engine/backend.js';
export * from './data/index.js';
export type { Classifier } from './models/classifier.js';
export { TfjsClassifier } from './models/tfjs-classifier.js';
export { buildModel, ARCHITECTURES, type ArchitectureId } from './models/architectures.js';
export { saveModel, loadModel, readModelMetadata } from './models/io/index.js';
export { saveClassifierModel, loadClassifierModel, type ModelInfo, type StoredClassifier } from './models/store.js';
export { predictClasses, accuracyOf } from './models/predict.js';
export { getNorm, linf, l2, NORM_IDS, type Norm, type NormId } from './threats/norms.js';
export { threatModel, threatsAt, parseEpsilons, type ThreatModel, type ThreatModelSpec } from './threats/threat-model.js';
export { textThreatModel, maxChangedWords, TEXT_FAMILIES, MAX_CHAR_EDITS_PER_WORD, type TextThreatSpec, type TextFamily, type TextBudget, type TextThreatModel } from './threats/text-threat.js';
export type { TextTransformation, TextChange, TextAttack, TextAttackResult, TextAttackRunOptions, TextAttackProgress } from './attacks/text/types.js';
export { tokenize as tokenizeText, joinTokens as joinTextTokens, wordTokenIndices, countWords as countTextWords, protectedMask, charEditDistance, type TextToken } from './attacks/text/tokens.js';
export { textTransformations, textTransformationIds, getTextTransformation, transformationsOf, textAttackIds, describeTextAttack, createTextAttack, type TextAttackId } from './attacks/text/registry.js';
export { randomPerturbation, randomPerturbationDetailed } from './attacks/text/perturb.js';
export { synonymsOf, likelyPos, lookupLemma, releaseWordNet, type WordNetPos, type SynonymResult } from './attacks/text/wordnet.js';
export { homoglyphsOf, keyboardNeighbours, INVISIBLE_CHARACTERS, LEET_MAP } from './attacks/text/transformations/index.js';
export { greedyWir, type GreedyWirOptions } from './attacks/text/search/greedy-wir.js';
export { beamSearch, type BeamSearchOptions } from './attacks/text/search/beam.js';
export { gradientGuided, type GradientGuidedOptions } from './attacks/text/search/gradient.js';
export { textAttackMetrics, measureTextAttack, type TextAttackMetrics } from './attacks/text/metrics.js';
export * from './data/text/index.js';
export * from './models/text/index.js';
export * from './training/text/index.js';
export * from './defenses/normalize-text/index.js';
export type { Attack, AttackGoal, AttackResult, AttackRunOptions, AttackProgress } from './attacks/types.js';
export { fgsm, type FgsmOptions } from './attacks/image/fgsm.js';
export { pgd, type PgdOptions } from './attacks/image/pgd.js';
export { apgdCe, apgdDlr, apgdT, apgdAttack, apgdCheckpoints, type ApgdOptions, type ApgdTOptions, type ApgdConfig } from './attacks/image/apgd.js';
export { square, squareAttack, type SquareOptions, type SquareConfig } from './attacks/image/square.js';
export { deepFool, deepFoolAttack, type DeepFoolOptions, type DeepFoolConfig } from './attacks/image/deepfool.js';
export { cw, cwAttack, type CwOptions, type CwConfig } from './attacks/image/cw.js';
export { hopSkipJump, hopSkipJumpAttack, type HopSkipJumpOptions, type HopSkipJumpConfig } from './attacks/image/hop-skip-jump.js';
export { dlrLoss, targetedDlrLoss } from './attacks/losses.js';
export { gradientDescentAttack, type GradientDescentConfig } from './attacks/image/gradient-descent.js';
export { attackIds, attackOptionNames, createAttack, describeAttack } from './attacks/registry.js';
export { wrapAttack, attackOf, type AttackAccess, type AttackContext, type AttackOutcome, type AttackSearch } from './attacks/wrapper.js';
export { attackDataset, type DatasetAttackOptions, type DatasetAttackResult } from './execution/attack-dataset.js';
export { evaluateRobustness, type RobustnessReport, type RobustnessEvalOptions, type AttackSpec } from './eval/robustness.js';
export { attackStatsMetric, type Metric } from './eval/metrics.js';
export { runSuite, suiteDefinition, parseSuiteSpec, SUITE_IDS, SUITE_VARIANTS, type SuiteDefinition, type SuiteReport, type SuiteStage, type SuiteEvalOptions, type SuiteStageOutcome, type SuiteEpsilonResult } from './eval/suite.js';
export { suiteText, suiteMarkdown } from './report/suite-table.js';
export {
  calibrationReport,
  calibrationFromLogits,
  calibrationFromProbabilities,
  calibrationMetric,
  datasetLogits,
  adversarialLogits,
  type CalibrationMetrics,
  type CalibrationReport,
  type CalibrationReportOptions,
  type ReliabilityBin,
} from './eval/calibration.js';
export { fitTemperature, temperatureScaling, temperatureNll, type TemperatureFit, type TemperatureScalingOptions, type TemperatureScalingReport } from './eval/temperature-scaling.js';
export {
  CalibratedClassifier,
  saveTemperature,
  loadCalibratedClassifier,
  predictWithAbstention,
  selectiveMetrics,
  chooseAbstentionThreshold,
  abstentionReport,
  type AbstentionResult,
  type AbstentionReport,
  type AbstentionTarget,
  type SelectiveMetrics,
} from './models/calibrated-classifier.js';
export {
  clopperPearsonLower,
  clopperPearsonUpper,
  clopperPearsonInterval,
  binomialTestHalf,
  normalCdf,
  normalInverseCdf,
  regularizedIncompleteBeta,
  inverseRegularizedIncompleteBeta,
} from './eval/binomial.js';
export {
  certify,
  predictSmoothed,
  certifiedAccuracy,
  type Certificate,
  type CertifyOptions,
  type PredictOptions,
  type SmoothedPrediction,
  type CertifiedAccuracyOptions,
  type CertifiedAccuracyReport,
} from './eval/smoothing.js';
export { measureLatency, type LatencyOptions, type LatencyReport } from './eval/latency.js';
export {
  runMaskingChecks,
  MASKING_CHECKS,
  MASKING_CHECK_IDS,
  randomSampling,
  type MaskingCheckOptions,
  type MaskingReport,
  type MaskingCheckResult,
  type MaskingCheck,
  type CheckStatus,
} from './eval/masking/index.js';
export { trainModel, type TrainOptions, type TrainReport, type TrainConfig } from './training/trainer.js';
export { makeSchedule, parseSchedule, type ScheduleSpec } from './training/schedules.js';
export type { Objective } from './training/objectives/types.js';
export { standardObjective } from './training/objectives/standard.js';
export { runTraining, type TrainRunOptions, type TrainRunReport } from './pipeline/train-run.js';
export { selectData, parseDataSpec, DEFAULT_SPLIT, type DataSelection } from './pipeline/data-selection.js';
export { runMnistExample, type MnistExampleOptions } from './pipeline/mnist-example.js';
export { robustnessText, robustnessMarkdown } from './report/robustness-table.js';
export { createObjective, objectiveIds, type ObjectiveOptions } from './training/objectives/registry.js';
export { pgdAt } from './training/objectives/pgd-at.js';
export { trades } from './training/objectives/trades.js';
export { fgsmRs } from './training/objectives/fgsm-rs.js';
export { noise } from './training/objectives/noise.js';
export { diversified } from './training/objectives/diversified.js';
export { awp } from './training/objectives/awp.js';
export { perturb, type PerturbOptions } from './attacks/image/ascent.js';
export { createWorkerPool, localExecutor, WorkerPool, applyPoolGradients, type WorkerPoolOptions, type Executor, type ExecutorSession, type RowsWork } from './execution/index.js';
export {
  openGovernance,
  DEFAULT_GOVERNANCE_DIR,
  canonicalJson,
  residualScore,
  inherentScore,
  riskBand,
  ARTIFACT_KINDS,
  createAuditKeyPair,
  loadAuditPrivateKey,
  loadAuditPublicKey,
  type Governance,
  type GovernanceOptions,
  type Registry,
  type Artifact,
  type ArtifactKind,
  type PutInput,
  type PutResult,
  type EvaluationMeta,
  type Lineage,
  type TagEvent,
  type TagMove,
  type TagCheck,
  type SignedHead,
  type ArtifactDiff,
  type AuditLog,
  type AuditEntry,
  type AuditVerifyResult,
  type RiskRegister,
  type Risk,
  type RiskBand,
  type RiskStatus,
  type ThreatLike,
  type VulnerabilityRegister,
  type Vulnerability,
  type VulnerabilityInput,
  type VulnStatus,
  type Severity,
} from './governance/index.js';
export { loadPlan, parsePlan, parsePlanText, PlanError, type PlanIssue } from './pipeline/plan/load.js';
export { planSchema, type Plan, type PlanInput, type PlanCriteria, type ThreatScenario } from './pipeline/plan/schema.js';
export { runPlan, planStages, type RunPlanOptions, type RunPlanResult } from './pipeline/run/run-plan.js';
export { runStages, type RunStagesOptions } from './pipeline/run/runner.js';
export type { Stage, StageContext, StageRecord, StageSummary, RunEvent, RunEnvironment } from './pipeline/run/types.js';
export { loadResults, evaluationResultsSchema, type EvaluationResults } from './eval/results.js';
export { evaluateModel, type ModelEvaluation } from './pipeline/run/evaluate-model.js';
export { adversarialExamples, type AdversarialExampleSet } from './eval/adversarial-examples.js';
export { evaluateGate, gateCriteriaSchema, type GateCriteria, type GateResult, type GateCheck } from './eval/gate.js';
export { evaluateThreats, type ThreatEvaluation, type ThreatEvaluationOptions, type ThreatResult } from './eval/threat-evaluation.js';
export { compareWithPgd, maskingAt, trustEvidence, type EvalExtras, type SuiteVsPgd, type TrustEvidenceOptions } from './eval/trust.js';
export { rateOf, formatRate, type Rate } from './eval/rate.js';
export { gateJunit } from './report/junit.js';
export { gateMarkdown } from './report/gate-markdown.js';
export { renderHtmlReport, type HtmlReportData } from './report/html/report.js';
export { linePlot } from './report/svg/line-plot.js';
export { reliabilityDiagram } from './report/svg/reliability.js';
export { buildServer, errorResponse, type BuildServerOptions, type ServerState } from './serve/app.js';
export { directorySource, registrySource, memorySource, loadServedModel, type ModelSource, type StagedMove } from './serve/model-source.js';
export { imageServedModel, textServedModel, type ServedModel, type ModelRef } from './serve/served-model.js';
export { KeyStore, AuthFailures, authenticateFrom, addApiKey, generateApiKey, hashApiKey, authorize, ROLES, type Role, type Principal, type FailureBudget } from './serve/auth.js';
export { parseServeConfig, readServeConfig, type ServeConfig, type ServeConfigInput } from './serve/config.js';
export { DriftMonitor, psi } from './serve/monitor.js';
export { Canary, generateProbeSet, readProbeFile, probeAccuracy, type ProbeSet } from './serve/canary.js';
export { RollbackController, createAlerter, type RollbackPolicy } from './serve/rollback.js';
export { ModelHolder } from './serve/model-holder.js';
export type { DefenseLayer, LayerVerdict, GuardContext, TraceEntry, Decision } from './defenses/layer.js';
export { validateLayer, parseImageBody, parseTextBody } from './defenses/validate/index.js';
export { queryPatternLayer } from './defenses/query-pattern/index.js';
export { fitOodDetector, saveOodDetector, loadOodDetector, oodLayer, OodDetector } from './defenses/ood/index.js';
export { ensembleLayer, type EnsembleMember } from './defenses/ensemble/index.js';
export { abstainLayer } from './defenses/abstain/index.js';
export { registerRateLimits, addressGroup } from './defenses/rate-limit/index.js';
