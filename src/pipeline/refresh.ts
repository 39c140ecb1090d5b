/**
 * Refresh: the next candidate from what production has seen. Takes the plan the model on
 * the production tag was built from, adds every adversarial set reviewed since that model
 * was registered (building one from attacks confirmed since, when there are any), requires
 * the candidate to classify the confirmed attacks (`criteria.adversarialSet`), and runs the
 * plan: training with the sets mixed in, evaluation, gate, registration. The candidate's
 * lineage names the production model and the sets; a passing candidate gets the
 * `candidate` tag, ready for a staged rollout. Every refresh is audited.
 */
import { join } from 'node:path';
import { UsageError, RampartError } from '../core/errors.js';
import { buildAdversarialSet } from '../governance/adversarial-set.js';
import { applyProductionEvidence } from '../governance/review-evidence.js';
import { openGovernance } from '../governance/index.js';
import type { Artifact, Governance } from '../governance/types.js';
import { parsePlan } from './plan/load.js';
import type { Plan } from './plan/schema.js';
import { runPlan, type RunPlanOptions, type RunPlanResult } from './run/run-plan.js';

export interface RefreshOptions extends Omit<RunPlanOptions, 'governance' | 'production'> {
  /** The tag production serves (default `production`). */
  tag?: string;
  /** Name for the set built from attacks confirmed since (default `<plan>-confirmed`). */
  setName?: string;
  /** Weight of each new set in training (default 4). */
  weight?: number;
  /** `criteria.adversarialSet.minAccuracy` when the plan has none (default 0.8). */
  minAccuracy?: number;
  /** Tag a passing candidate gets (default `candidate`). */
  candidateTag?: string;
}

export interface RefreshResult {
  production: string;
  plan: Plan;
  /** Sets added by this refresh (digests), the new one included. */
  added: string[];
  /** The set built from newly confirmed attacks, when there were any. */
  built?: string;
  candidate: string;
  passed: boolean;
  run: RunPlanResult;
}

/** The plan a model was built from: its `plan` ancestor in the registry. */
function planOf(gov: Governance, model: Artifact): { digest: string; plan: Plan } {
  const node = gov.registry.lineage(model.digest).ancestors.find((n) => n.kind === 'plan');
  if (!node) {
    throw new UsageError(
      'E_REFRESH_NO_PLAN',
      `Model ${model.digest.slice(0, 12)} has no plan in its lineage; refresh works on models 'rampart run' registered.`,
    );
  }
  return { digest: node.digest, plan: parsePlan(gov.registry.readJson(node.digest), `plan ${node.digest.slice(0, 12)}`) };
}

/**
 * The refreshed plan: `plan` plus `sets` in `data.adversarial`, with an adversarialSet criterion.
 *
 * @throws ConfigError when the result is not a valid plan.
 */
export function refreshedPlan(plan: Plan, sets: readonly string[], weight: number, minAccuracy: number): Plan {
  const known = new Set((plan.data.adversarial ?? []).map((a) => a.ref));
  const adversarial = [...(plan.data.adversarial ?? []), ...sets.filter((d) => !known.has(d)).map((ref) => ({ ref, weight }))];
  return parsePlan(
    {
      ...plan,
      data: { ...plan.data, adversarial },
      criteria: { ...plan.criteria, adversarialSet: plan.criteria.adversarialSet ?? { minAccuracy } },
    },
    'the refreshed plan',
  );
}

/**
 * Builds, evaluates, gates and registers the next candidate.
 *
 * @throws UsageError `E_REFRESH_NOTHING` when nothing was reviewed since the production model; `E_REFRESH_NO_PLAN`;
 *   RegistryError when the tag points nowhere; whatever the plan run throws.
 * @example const r = await refresh({ dir: '.rampart' }); if (r.passed) console.log('candidate', r.candidate);
 */
export async function refresh(options: RefreshOptions = {}): Promise<RefreshResult> {
  const dir = options.dir ?? '.rampart';
  const tag = options.tag ?? 'production';
  const gov = openGovernance(dir, { mustExist: true });
  let production: Artifact;
  let plan: Plan;
  let added: string[];
  let built: string | undefined;
  try {
    production = gov.registry.get(`tag:${tag}`);
    // Production evidence first: the risk register reflects what was seen before the candidate is judged.
    applyProductionEvidence(gov);
    const source = planOf(gov, production);
    const since = production.createdAt;
    try {
      const set = buildAdversarialSet(gov, {
        name: options.setName ?? `${source.plan.name}-confirmed`,
        decidedAfter: since,
        channel: 'image',
      });
      built = set.artifact.digest;
    } catch (error) {
      if (!(error instanceof RampartError && error.code === 'E_ADVSET_EMPTY')) throw error;
    }
    // Image sets only: the plan's training mixes image inputs; a set of another shape fails the run, naming it.
    added = gov.registry
      .list({ kind: 'adversarial-set' })
      .filter((a) => a.createdAt >= since && a.meta.channel === 'image')
      .map((a) => a.digest);
    if (built && !added.includes(built)) added.push(built);
    if (added.length === 0) {
      throw new UsageError(
        'E_REFRESH_NOTHING',
        `Nothing was reviewed since the ${tag} model (${production.digest.slice(0, 12)}, ${since}): confirm captured attacks first (rampart review ls, rampart review decide).`,
      );
    }
    plan = refreshedPlan(source.plan, added, options.weight ?? 4, options.minAccuracy ?? 0.8);
  } finally {
    gov.close();
  }
  const { tag: _t, setName: _s, weight: _w, minAccuracy: _m, candidateTag, ...runOptions } = options;
  const run = await runPlan(plan, { ...runOptions, dir, governance: true });
  const candidate = run.governance?.models.hardened as string;
  const after = openGovernance(dir, { mustExist: true });
  try {
    after.transaction(() => {
      // The candidate descends from the model it replaces.
      const model = after.registry.get(candidate);
      after.registry.put({
        kind: 'model',
        name: model.name,
        path: join(run.runDir, run.hardened.training.modelDir),
        parents: [production.digest],
      });
      if (run.gate.passed) after.registry.tag(candidate, candidateTag ?? 'candidate', { reason: 'refresh: gate passed' });
      after.audit.append({
        action: 'refresh',
        subject: candidate,
        details: { production: production.digest, plan: plan.name, sets: added, built: built ?? null, passed: run.gate.passed },
      });
    });
  } finally {
    after.close();
  }
  return { production: production.digest, plan, added, ...(built ? { built } : {}), candidate, passed: run.gate.passed, run };
}
