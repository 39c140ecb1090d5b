/**
 * Governance: an embedded SQLite registry of immutable, content-addressed artifacts with
 * lineage and tags, a risk register, vulnerability records, and a hash-chained audit log
 * of every state change, all under one `.rampart/` directory.
 *
 * @example
 * const gov = openGovernance('.rampart', { actor: 'ci' });
 * const model = gov.registry.put({ kind: 'model', name: 'mnist-mlp', path: 'runs/x/model', meta: {}, parents: [plan.digest] });
 * gov.registry.promote(model.digest, 'production', { reason: 'gate passed' });
 * gov.close();
 */
export { openGovernance, DEFAULT_GOVERNANCE_DIR } from './governance.js';
export { canonicalJson, sha256Hex } from './canonical-json.js';
export { riskBand, residualScore, inherentScore, RISK_BANDS } from './risk-score.js';
export { renderVulnerabilityReport } from './vulnerability-template.js';
export { createAuditKeyPair, loadAuditPrivateKey, loadAuditPublicKey, auditKeyId, defaultAuditKeyPath } from './audit-signing.js';
export { RegistryStorageError } from './storage-error.js';
export * from './types.js';
export { redactText } from './capture-redact.js';
export { createCaptureQueue, type CaptureQueue, type CaptureQueueOptions } from './capture-queue.js';
export { importEvaluationExamples, type ImportExamplesOptions } from './review-import.js';
export { decideReview, listReview, showReview, reviewDecisionSchema, type ReviewDecision, type ReviewItem } from './review.js';
export * from './capture-types.js';
export { applyProductionEvidence, productionEvidence, type ThreatEvidence } from './review-evidence.js';
export { buildAdversarialSet, readAdversarialSet, adversarialSetSchema, type AdversarialSet } from './adversarial-set.js';
