/**
 * Stage `register`: the run's artifacts into governance with their lineage (plan → data
 * → models → evaluations → report), the plan's threats into the risk register with the
 * hardened model's measured attack success, an audit entry per step, and one
 * vulnerability per failed criterion. Content addressing makes re-registration a no-op.
 */
import { readFileSync } from 'node:fs';
import { ADVERSARIAL_SETS, adversarialInputs, type ResolvedAdversarialSet } from '../../refresh-adversarial.js';
import { dirname } from 'node:path';
import type { AdversarialExampleSet } from '../../../eval/adversarial-examples.js';
import { imageExplanationEvidence, textExplanationEvidence, type ExplanationEvidence } from '../../../eval/explain/evidence.js';
import type { TextAttackSet } from '../../../report/html/text-diff.js';
import { openGovernance } from '../../../governance/index.js';
import type { Governance, Json, Severity } from '../../../governance/index.js';
import { attackSuccessRate, impactScore, likelihoodScore } from '../risk-register.js';
import type { Stage, StageContext } from '../types.js';
import { dataStage } from './data.js';
import { attackStage, evaluateRef } from './evaluate.js';
import { gateStage } from './gate.js';
import { reportRef } from './report.js';
import { baselineStage, hardenStage } from './train.js';
import { textAttackStage } from './text.js';

export interface RegisterOutputs {
  governanceDir: string;
  plan: string;
  dataset: string;
  models: { baseline: string; hardened: string };
  evaluations: { baseline: string; hardened: string };
  report: string;
  /** Risk ids per threat id. */
  risks: Record<string, string>;
  /** Vulnerabilities filed by this run. */
  vulnerabilities: string[];
}

/** Where governance lives for a run directory `<dir>/runs/<plan>`. */
export function governanceDirOf(runDir: string): string {
  return dirname(dirname(runDir));
}

function severityOf(band: string): Severity {
  return band === 'critical' || band === 'high' || band === 'medium' ? band : 'low';
}

/** Where attacks moved the hardened model's attribution for `threatId`, from the explained examples, if any. */
function explanationFor(ctx: StageContext, examplesPath: string | undefined, threatId: string): ExplanationEvidence | undefined {
  const read = <T>(path: string | undefined): T | undefined => {
    try {
      return path === undefined ? undefined : (JSON.parse(readFileSync(ctx.resolve(path), 'utf8')) as T);
    } catch {
      return undefined;
    }
  };
  const images = read<AdversarialExampleSet>(examplesPath);
  if (images?.threat === threatId && images.explanation)
    return imageExplanationEvidence(images.explanation.summary, images.explanation.settings as Record<string, unknown>);
  let textPath: string | undefined;
  try {
    textPath = ctx.output(textAttackStage).examples;
  } catch {
    return undefined;
  }
  const text = read<TextAttackSet[]>(textPath)?.find((set) => set.threat === threatId)?.explanation;
  return text ? textExplanationEvidence(text) : undefined;
}

function register(ctx: StageContext, gov: Governance): RegisterOutputs {
  const { plan } = ctx;
  const data = ctx.output(dataStage);
  const gate = ctx.output(gateStage).gate;
  const outputs = {
    baseline: { train: ctx.output(baselineStage), evaluation: ctx.output(attackStage) },
    hardened: { train: ctx.output(hardenStage), evaluation: ctx.output(evaluateRef) },
  };
  const sets = ctx.extras[ADVERSARIAL_SETS] as ResolvedAdversarialSet[] | undefined;
  return gov.transaction(() => {
    const planArtifact = gov.registry.put({
      kind: 'plan',
      name: plan.name,
      json: plan as unknown as Json,
      meta: { version: plan.version },
    });
    const dataset = gov.registry.put({
      kind: 'dataset',
      name: data.name,
      json: data as unknown as Json,
      meta: { sha256: data.sha256 },
      parents: [planArtifact.digest],
    });
    const models: Record<string, string> = {};
    const evaluations: Record<string, string> = {};
    for (const [name, { train, evaluation }] of Object.entries(outputs)) {
      const model = gov.registry.put({
        kind: 'model',
        name: `${plan.name}/${name}`,
        path: ctx.resolve(train.modelDir),
        meta: {
          method: train.method,
          epochs: train.epochs,
          testAccuracy: train.testAccuracy,
          selection: train.selection,
          filesSha256: train.sha256,
        },
        // The hardened model was trained on the plan's adversarial sets too: they are its parents.
        parents: [planArtifact.digest, dataset.digest, ...(name === 'hardened' ? adversarialInputs(sets).map((s) => s.digest) : [])],
      });
      gov.audit.append({
        action: 'train',
        subject: model.digest,
        details: { plan: plan.name, model: name, method: train.method, epochs: train.epochs },
      });
      const isCandidate = name === 'hardened';
      const threats: Record<string, { passed: boolean; attackSuccessRate?: number }> = {};
      for (const [threat, required] of Object.entries(plan.criteria.robustAccuracy ?? {})) {
        const measured = evaluation.results.robustAccuracy[threat];
        const success = attackSuccessRate(evaluation.results, threat);
        threats[threat] = {
          passed: measured !== undefined && measured + 1e-9 >= required,
          ...(success === undefined ? {} : { attackSuccessRate: success }),
        };
      }
      // Confirmed attacks: a threat passes only if its adversarial-set check passed too (what a vulnerability verifies on).
      const adversarial: Record<string, { passed: boolean; accuracy: number | null }> = {};
      for (const check of isCandidate ? gate.checks : []) {
        if (!check.id.startsWith('adversarial-set:') || check.threat === undefined) continue;
        adversarial[check.threat] = { passed: check.passed, accuracy: check.measured };
        threats[check.threat] = { ...threats[check.threat], passed: (threats[check.threat]?.passed ?? true) && check.passed };
      }
      const stored = gov.registry.put({
        kind: 'evaluation',
        name: `${plan.name}/${name}`,
        json: evaluation.results as unknown as Json,
        meta: {
          passed: isCandidate ? gate.passed : Object.values(threats).every((t) => t.passed),
          threats,
          metrics: {
            cleanAccuracy: evaluation.results.cleanAccuracy,
            ...(evaluation.results.ece === undefined ? {} : { ece: evaluation.results.ece }),
            ...(evaluation.results.latencyP99Ms === undefined ? {} : { latencyP99Ms: evaluation.results.latencyP99Ms }),
          },
          model: model.digest,
          candidate: isCandidate,
          ...(Object.keys(adversarial).length > 0
            ? { adversarialSet: { sets: evaluation.results.adversarialSet?.sets ?? [], threats: adversarial } }
            : {}),
        },
        parents: [model.digest, dataset.digest, planArtifact.digest],
      });
      gov.audit.append({
        action: 'evaluate',
        subject: stored.digest,
        details: { plan: plan.name, model: model.digest, cleanAccuracy: evaluation.results.cleanAccuracy },
      });
      models[name] = model.digest;
      evaluations[name] = stored.digest;
    }
    const hardenedEval = evaluations.hardened as string;
    gov.audit.append({
      action: 'gate',
      subject: hardenedEval,
      details: { plan: plan.name, passed: gate.passed, failed: gate.checks.filter((c) => c.status === 'failed').map((c) => c.id) },
    });
    const report = gov.registry.put({
      kind: 'report',
      name: `${plan.name}/report`,
      path: ctx.resolve(ctx.output(reportRef).html),
      mediaType: 'text/html',
      meta: { passed: gate.passed },
      parents: [hardenedEval, evaluations.baseline as string],
    });

    const synced = gov.risks.syncFromThreats(
      plan.threats.map((t) => ({
        id: t.id,
        title: t.description ?? `${t.channel} ${t.technique} threat ${t.id}`,
        likelihood: likelihoodScore(t),
        impact: impactScore(t),
        owner: t.owner,
      })),
    );
    const risks: Record<string, string> = {};
    for (const risk of [...synced.created, ...synced.existing]) if (risk.threatId) risks[risk.threatId] = risk.id;
    const candidate = outputs.hardened.evaluation.results;
    for (const t of plan.threats) {
      const success = attackSuccessRate(candidate, t.id);
      if (success !== undefined) gov.risks.recordMeasurement(t.id, success, { evaluationDigest: hardenedEval });
    }

    const vulnerabilities: string[] = [];
    for (const check of gate.checks.filter((c) => c.status === 'failed')) {
      const threatId = check.threat ?? check.id;
      // One open record per failing criterion and evaluation, even if this stage reruns.
      const open = gov.vulnerabilities
        .list({ status: 'open', threatId })
        .find((v) => v.evaluationDigest === gov.registry.get(hardenedEval).digest);
      if (open) continue;
      const scenario = plan.threats.find((t) => t.id === check.threat);
      const risk = scenario ? gov.risks.find(scenario.id) : undefined;
      const attacks = plan.evaluation.attacks.map((a) => `${a.id}${a.options ? ` ${JSON.stringify(a.options)}` : ''}`).join(', ');
      const vuln = gov.vulnerabilities.file({
        threatId,
        title: `${plan.name}: ${check.criterion} not met`,
        attack: scenario && scenario.channel === 'image' ? `${attacks} at ${scenario.norm} ε=${scenario.epsilon}` : `criterion ${check.id}`,
        evidence: ((explanation) => ({
          metric: check.id,
          measured: check.measured ?? -1,
          required: check.criterion,
          ...(explanation ? { explanation } : {}),
        }))(explanationFor(ctx, outputs.hardened.evaluation.examples, threatId)),
        severity: severityOf(risk?.residualBand ?? (check.id.startsWith('regression') ? 'high' : 'medium')),
        owner: scenario?.owner ?? 'unassigned',
        remediation: scenario
          ? `Harden against ${scenario.id} (e.g. more adversarial-training epochs or steps at this budget), then rerun the plan; the gate verifies the fix.`
          : `Bring ${check.id} within the plan's criterion, then rerun the plan.`,
        evaluationDigest: hardenedEval,
      });
      vulnerabilities.push(vuln.id);
    }
    return {
      governanceDir: gov.dir,
      plan: planArtifact.digest,
      dataset: dataset.digest,
      models: { baseline: models.baseline as string, hardened: models.hardened as string },
      evaluations: { baseline: evaluations.baseline as string, hardened: hardenedEval },
      report: report.digest,
      risks,
      vulnerabilities,
    };
  });
}

export const registerStage: Stage<RegisterOutputs> = {
  id: 'register',
  title: 'registry, risks and audit',
  version: 1,
  dependsOn: [dataStage.id, baselineStage.id, hardenStage.id, attackStage.id, evaluateRef.id, gateStage.id, reportRef.id],
  inputs: ({ runDir }) => ({ governanceDir: governanceDirOf(runDir) }),
  async run(ctx) {
    const gov = openGovernance(governanceDirOf(ctx.runDir));
    try {
      return register(ctx, gov);
    } finally {
      gov.close();
    }
  },
  async stillValid(o, ctx) {
    const gov = openGovernance(governanceDirOf(ctx.runDir));
    try {
      return gov.registry.find(o.evaluations.hardened) !== undefined && gov.registry.find(o.report) !== undefined;
    } finally {
      gov.close();
    }
  },
};

/**
 * The stored results of the model tagged `production`: its newest evaluation artifact.
 * Undefined when nothing is tagged or the model has no evaluation.
 */
export function productionResultsFrom(gov: Governance, tag = 'production'): { model: string; results: unknown } | undefined {
  const digest = gov.registry.resolveTag(tag);
  if (!digest) return undefined;
  const artifact = gov.registry.get(digest);
  const evaluationDigest =
    artifact.kind === 'evaluation'
      ? artifact.digest
      : gov.registry
          .lineage(digest, { depth: 1 })
          .descendants.filter((d) => d.kind === 'evaluation')
          .map((d) => gov.registry.get(d.digest))
          .sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1))[0]?.digest;
  if (!evaluationDigest) return undefined;
  return { model: digest, results: gov.registry.readJson(evaluationDigest) };
}
