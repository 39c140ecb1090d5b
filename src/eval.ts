/** `rampart/eval`: evaluation: robustness, suites, calibration, certification, masking checks, results and the gate. */
export { evaluateRobustness, type RobustnessReport, type RobustnessEvalOptions, type AttackSpec } from './eval/robustness.js';
export { attackStatsMetric, type Metric } from './eval/metrics.js';
export {
  runSuite,
  suiteDefinition,
  parseSuiteSpec,
  SUITE_IDS,
  SUITE_VARIANTS,
  type SuiteDefinition,
  type SuiteReport,
  type SuiteStage,
  type SuiteEvalOptions,
  type SuiteStageOutcome,
  type SuiteEpsilonResult,
} from './eval/suite.js';
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
export {
  fitTemperature,
  temperatureScaling,
  temperatureNll,
  type TemperatureFit,
  type TemperatureScalingOptions,
  type TemperatureScalingReport,
} from './eval/temperature-scaling.js';
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
export { measureLatency, latencyUnderAttackP99Ms, type LatencyOptions, type LatencyReport } from './eval/latency.js';
export { attacksForThreat, suiteFitsThreat, type AttacksForThreatOptions, type ThreatAttacks } from './eval/attacks-for-threat.js';
export * from './eval/adaptive/index.js';
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
export { loadResults, evaluationResultsSchema, type EvaluationResults } from './eval/results.js';
export { adversarialExamples, type AdversarialExampleSet } from './eval/adversarial-examples.js';
export { evaluateGate, gateCriteriaSchema, type GateCriteria, type GateResult, type GateCheck } from './eval/gate.js';
export { evaluateThreats, type ThreatEvaluation, type ThreatEvaluationOptions, type ThreatResult } from './eval/threat-evaluation.js';
export { compareWithPgd, maskingAt, trustEvidence, type EvalExtras, type SuiteVsPgd, type TrustEvidenceOptions } from './eval/trust.js';
export { rateOf, formatRate, type Rate } from './eval/rate.js';
export * from './eval/explain/index.js';
