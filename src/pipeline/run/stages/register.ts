/**
 * Stage `register`: the run's artifacts into governance with their lineage (plan → data
 * → models → evaluations → report), the plan's threats into the risk register with the
 * hardened model's measured attack success, an audit entry per step, and one
 * vulnerability per failed criterion. Content addressing makes re-registration a no-op.
 */
import { readFileSync } from 'node:fs';
import { ADVERSARIAL_SETS, adversarialInputs, setsOfChannel, type ResolvedAdversarialSet } from '../../refresh-adversarial.js';
import { dirname } from 'node:path';
import type { AdversarialExampleSet } from '../../../eval/adversarial-examples.js';
import { imageExplanationEvidence, textExplanationEvidence, type ExplanationEvidence } from '../../../eval/explain/evidence.js';
import type { TextAttackSet } from '../../../report/html/text-diff.js';
import { openGovernance } from '../../../governance/index.js';
import type { Governance, Json, Severity } from '../../../governance/index.js';
import { attackSuccessRate, impactScore, likelihoodScore } from '../risk-register.js';
import type { Stage, StageContext } from '../types.js';
import { dataStage } from './data.js';
import type { EvaluationResults } from '../../../eval/results.js';
import type { ModelIdentity } from '../../../models/sources/types.js';
import { attackStage, evaluateRef } from './evaluate.js';
import { gateStage } from './gate.js';
import { imageModelStage, type SourceModelOutputs } from './model-source.js';
import { reportRef } from './report.js';
import { tabularStage } from './tabular.js';
import { textAttackStage, textTrainStage } from './text.js';
import { baselineStage, hardenStage, type TrainOutputs } from './train.js';

export interface RegisterOutputs {
  governanceDir: string;
  plan: string;
  /** The image channel's data set (absent without one); every channel's data sets are in `datasets`. */
  dataset?: string;
  /** Data set digests per channel: image, text, tabular. */
  datasets: Record<string, string>;
  /**
   * Model digests by role: `baseline` and `hardened` (an image model Rampart trained), `image`
   * (an external image model), `text`, `tabular`. The candidate is every one but the baseline.
   */
  models: Record<string, string>;
  /** The candidate's evaluation (`hardened` too when Rampart trained it) and the baseline's, when there is one. */
  evaluations: { candidate: string; hardened?: string; baseline?: string };
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

/** What a model is registered from: its files, or (an endpoint) its identity as JSON. */
function modelContent(identity: ModelIdentity): { path: string } | { json: Json } {
  return identity.kind === 'file' ? { path: identity.path } : { json: { url: identity.url, fingerprint: identity.fingerprint } };
}

function register(ctx: StageContext, gov: Governance, stages: ReadonlySet<string>): RegisterOutputs {
  const { plan } = ctx;
  const has = (id: string): boolean => stages.has(id);
  const gate = ctx.output(gateStage).gate;
  const candidate = ctx.output(evaluateRef);
  const sets = ctx.extras[ADVERSARIAL_SETS] as ResolvedAdversarialSet[] | undefined;
  return gov.transaction(() => {
    const planArtifact = gov.registry.put({
      kind: 'plan',
      name: plan.name,
      json: plan as unknown as Json,
      meta: { version: plan.version },
    });
    const datasets: Record<string, string> = {};
    const putDataset = (channel: string, name: string, json: object, sha256?: string): string => {
      const stored = gov.registry.put({
        kind: 'dataset',
        name,
        json,
        meta: { channel, ...(sha256 === undefined ? {} : { sha256 }) },
        parents: [planArtifact.digest],
      });
      datasets[channel] = stored.digest;
      return stored.digest;
    };
    if (has(dataStage.id)) {
      const data = ctx.output(dataStage);
      putDataset('image', data.name, data, data.sha256);
    }
    const text = has(textTrainStage.id) ? ctx.output(textTrainStage) : undefined;
    if (text) putDataset('text', text.dataset, { name: text.dataset, counts: text.counts, dataset: plan.text?.dataset ?? null });
    else if (has(textAttackStage.id) && plan.text)
      putDataset('text', plan.text.dataset, { dataset: plan.text.dataset, splitSeed: plan.text.splitSeed });
    const tabular = has(tabularStage.id) ? ctx.output(tabularStage) : undefined;
    if (tabular) putDataset('tabular', tabular.data.name, tabular.data, tabular.data.sha256);

    const models: Record<string, string> = {};
    const evaluations: Record<string, string> = {};
    // Which channel's adversarial sets each trained role took in (none for the rest).
    const trainedOn: Record<string, 'image' | 'text' | undefined> = { hardened: 'image', ...(text ? { text: 'text' } : {}) };
    const trainedFrom = (role: string): string[] => {
      const channel = trainedOn[role];
      return channel ? adversarialInputs(setsOfChannel(sets, channel)).map((s) => s.digest) : [];
    };
    const putModel = (role: string, channel: string, content: { path: string } | { json: Json }, meta: Record<string, Json>): string => {
      const dataset = datasets[channel];
      const model = gov.registry.put({
        kind: 'model',
        name: `${plan.name}/${role}`,
        ...content,
        meta,
        // A model trained on the plan's adversarial sets descends from them too: the hardened image model from the
        // image sets, the trained text filter from the text sets.
        parents: [planArtifact.digest, ...(dataset ? [dataset] : []), ...trainedFrom(role)],
      });
      models[role] = model.digest;
      return model.digest;
    };
    const trained = (role: 'baseline' | 'hardened', train: TrainOutputs): string => {
      const digest = putModel(
        role,
        'image',
        { path: ctx.resolve(train.modelDir) },
        {
          method: train.method,
          epochs: train.epochs,
          testAccuracy: train.testAccuracy,
          selection: train.selection,
          filesSha256: train.sha256,
        },
      );
      gov.audit.append({
        action: 'train',
        subject: digest,
        details: { plan: plan.name, model: role, method: train.method, epochs: train.epochs },
      });
      return digest;
    };
    // An external model is named by its content (its file's digest) or, behind an endpoint, by URL and probe fingerprint.
    const external = (role: string, channel: string, source: SourceModelOutputs): string =>
      putModel(role, channel, modelContent(source.identity), {
        source: source.source,
        kind: source.kind,
        identity: source.identity as unknown as Json,
        access: source.access,
      });
    if (has(baselineStage.id)) trained('baseline', ctx.output(baselineStage));
    if (has(hardenStage.id)) trained('hardened', ctx.output(hardenStage));
    if (has(imageModelStage.id)) external('image', 'image', ctx.output(imageModelStage));
    if (text)
      putModel(
        'text',
        'text',
        { path: ctx.resolve(text.modelDir) },
        { testAccuracy: text.testAccuracy, testF1: text.testF1, filesSha256: text.sha256 },
      );
    // The plan's own text filter (text.source): named by the digest of its files, as any external model.
    const ownFilter = has(textAttackStage.id) && !text ? ctx.output(textAttackStage).model : undefined;
    if (ownFilter)
      putModel(
        'text',
        'text',
        { path: ownFilter.source },
        { source: ownFilter.source, kind: 'built', identity: { kind: 'file', digest: ownFilter.sha256, path: ownFilter.source } },
      );
    // A tabular model Rampart trained: its baseline too, with what it measured; the candidate is the hardened one.
    const tabularBaseline = tabular?.training?.baseline;
    if (tabularBaseline)
      putModel(
        'tabular-baseline',
        'tabular',
        { path: ctx.resolve(tabularBaseline.modelDir) },
        {
          method: 'standard',
          filesSha256: tabularBaseline.sha256,
          cleanAccuracy: tabularBaseline.numbers.clean.value,
          balancedAccuracy: tabularBaseline.numbers.balancedAccuracy,
          robustAccuracy: Object.fromEntries(Object.entries(tabularBaseline.numbers.robust).map(([id, r]) => [id, r.value])),
        },
      );
    if (tabular) external('tabular', 'tabular', tabular.model);

    const evaluationMeta = (
      results: EvaluationResults,
      passed: boolean | undefined,
      model: string[],
      isCandidate: boolean,
    ): Record<string, Json> => {
      const threats: Record<string, { passed: boolean; attackSuccessRate?: number }> = {};
      for (const [threat, required] of Object.entries(plan.criteria.robustAccuracy ?? {})) {
        const measured = results.robustAccuracy[threat];
        const success = attackSuccessRate(results, threat);
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
      return {
        passed: passed ?? Object.values(threats).every((t) => t.passed),
        threats,
        metrics: {
          cleanAccuracy: results.cleanAccuracy,
          ...(results.ece === undefined ? {} : { ece: results.ece }),
          ...(results.latencyP99Ms === undefined ? {} : { latencyP99Ms: results.latencyP99Ms }),
        },
        model: model[0] ?? null,
        models: model,
        candidate: isCandidate,
        ...(Object.keys(adversarial).length > 0
          ? { adversarialSet: { sets: results.adversarialSet?.sets ?? [], threats: adversarial } }
          : {}),
      };
    };
    const putEvaluation = (role: string, results: EvaluationResults, model: string[], isCandidate: boolean): string => {
      const stored = gov.registry.put({
        kind: 'evaluation',
        name: `${plan.name}/${role}`,
        json: results as unknown as Json,
        meta: evaluationMeta(results, isCandidate ? gate.passed : undefined, model, isCandidate),
        parents: [...model, ...Object.values(datasets), planArtifact.digest],
      });
      gov.audit.append({
        action: 'evaluate',
        subject: stored.digest,
        details: { plan: plan.name, model: model[0] ?? null, cleanAccuracy: results.cleanAccuracy },
      });
      evaluations[role] = stored.digest;
      return stored.digest;
    };
    if (has(attackStage.id) && models.baseline) putEvaluation('baseline', ctx.output(attackStage).results, [models.baseline], false);
    const candidateModels = Object.entries(models)
      .filter(([role]) => role !== 'baseline' && role !== 'tabular-baseline')
      .map(([, digest]) => digest);
    const candidateRole = models.hardened ? 'hardened' : 'candidate';
    putEvaluation(candidateRole, candidate.results, candidateModels, true);
    const hardenedEval = evaluations[candidateRole] as string;
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
      parents: [hardenedEval, ...(evaluations.baseline ? [evaluations.baseline] : [])],
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
    for (const t of plan.threats) {
      const success = attackSuccessRate(candidate.results, t.id);
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
      const attacks = (scenario?.channel === 'tabular' && plan.tabular ? plan.tabular.attacks : plan.evaluation.attacks)
        .map((a) => `${a.id}${a.options ? ` ${JSON.stringify(a.options)}` : ''}`)
        .join(', ');
      const vuln = gov.vulnerabilities.file({
        threatId,
        title: `${plan.name}: ${check.criterion} not met`,
        attack: scenario && scenario.channel !== 'text' ? `${attacks} at ${scenario.norm} ε=${scenario.epsilon}` : `criterion ${check.id}`,
        evidence: ((explanation) => ({
          metric: check.id,
          measured: check.measured ?? -1,
          required: check.criterion,
          ...(explanation ? { explanation } : {}),
        }))(explanationFor(ctx, candidate.examples, threatId)),
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
      ...(datasets.image ? { dataset: datasets.image } : {}),
      datasets,
      models,
      evaluations: {
        candidate: hardenedEval,
        ...(models.hardened ? { hardened: hardenedEval } : {}),
        ...(evaluations.baseline ? { baseline: evaluations.baseline } : {}),
      },
      report: report.digest,
      risks,
      vulnerabilities,
    };
  });
}

/** The register stage; `upstream` names the plan's stages before it (it registers what they made). */
export function registerStage(upstream: readonly string[]): Stage<RegisterOutputs> {
  const stages = new Set(upstream);
  return {
    id: 'register',
    title: 'registry, risks and audit',
    version: 2,
    dependsOn: [...new Set([...upstream, evaluateRef.id, gateStage.id, reportRef.id])],
    inputs: ({ runDir }) => ({ governanceDir: governanceDirOf(runDir) }),
    async run(ctx) {
      const gov = openGovernance(governanceDirOf(ctx.runDir));
      try {
        return register(ctx, gov, stages);
      } finally {
        gov.close();
      }
    },
    async stillValid(o, ctx) {
      const gov = openGovernance(governanceDirOf(ctx.runDir));
      try {
        return gov.registry.find(o.evaluations.candidate) !== undefined && gov.registry.find(o.report) !== undefined;
      } finally {
        gov.close();
      }
    },
  };
}

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
