/**
 * Refresh: the next candidate from what production has seen. Takes the plan the model on
 * the production tag was built from, adds every adversarial set reviewed since that model
 * was registered, for each channel the plan trains (image sets to `data.adversarial`, text
 * sets to `text.adversarial`; a set is built per channel from attacks confirmed since), requires
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
  /** The set built from newly confirmed attacks, when there were any (the first channel's, image before text). */
  built?: string;
  /** Every set built from newly confirmed attacks: one per channel the plan trains that had any. */
  builtSets: string[];
  /** The tagged candidate: the hardened image model, or the text filter when the plan trains no image model. */
  candidate: string;
  /** Every model the refresh trained (hardened image model, text filter), each descending from production. */
  candidates: string[];
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

type Channel = 'image' | 'text';

/** The channels whose model the plan trains, and so can mix adversarial sets into: image first. */
export function trainedChannels(plan: Plan): Channel[] {
  return [
    ...(plan.data && plan.training ? ['image' as const] : []),
    ...(plan.text && plan.text.source === undefined ? ['text' as const] : []),
  ];
}

/**
 * The refreshed plan: `plan` plus the image sets in `data.adversarial` and the text sets in
 * `text.adversarial`, with an adversarialSet criterion (one share for both channels).
 *
 * @throws UsageError `E_REFRESH_CHANNEL` when sets are given for a channel the plan does not train; ConfigError
 *   when the result is not a valid plan.
 */
export function refreshedPlan(plan: Plan, sets: Partial<Record<Channel, readonly string[]>>, weight: number, minAccuracy: number): Plan {
  const trained = trainedChannels(plan);
  for (const channel of ['image', 'text'] as const) {
    if ((sets[channel]?.length ?? 0) > 0 && !trained.includes(channel)) {
      throw new UsageError(
        'E_REFRESH_CHANNEL',
        `Plan '${plan.name}' trains no ${channel} model, and refresh mixes ${channel} adversarial sets into ${channel} training; ` +
          (channel === 'image'
            ? 'refresh needs a plan with data, model.architecture and training.'
            : 'refresh needs a text section without text.source.'),
      );
    }
  }
  const merged = (list: ReadonlyArray<{ ref: string; weight: number }> | undefined, add: readonly string[] | undefined) => {
    const known = new Set((list ?? []).map((a) => a.ref));
    return [...(list ?? []), ...(add ?? []).filter((d) => !known.has(d)).map((ref) => ({ ref, weight }))];
  };
  return parsePlan(
    {
      ...plan,
      ...(plan.data && sets.image?.length ? { data: { ...plan.data, adversarial: merged(plan.data.adversarial, sets.image) } } : {}),
      ...(plan.text && sets.text?.length ? { text: { ...plan.text, adversarial: merged(plan.text.adversarial, sets.text) } } : {}),
      criteria: { ...plan.criteria, adversarialSet: plan.criteria.adversarialSet ?? { minAccuracy } },
    },
    'the refreshed plan',
  );
}

/**
 * Per channel the plan trains: the set built from attacks confirmed since `since` (when any)
 * and every set of that channel registered since, the built one included.
 */
function setsSince(
  gov: Governance,
  channels: readonly Channel[],
  since: string,
  name: string,
): { sets: Record<Channel, string[]>; built: string[] } {
  const sets: Record<Channel, string[]> = { image: [], text: [] };
  const built: string[] = [];
  for (const channel of channels) {
    try {
      // Two channels, two sets: each named for its channel so neither replaces the other.
      const setName = channels.length > 1 ? `${name}-${channel}` : name;
      built.push(buildAdversarialSet(gov, { name: setName, decidedAfter: since, channel }).artifact.digest);
    } catch (error) {
      if (!(error instanceof RampartError && error.code === 'E_ADVSET_EMPTY')) throw error;
    }
    sets[channel] = gov.registry
      .list({ kind: 'adversarial-set' })
      .filter((a) => a.createdAt >= since && a.meta.channel === channel)
      .map((a) => a.digest);
  }
  return { sets, built };
}

/**
 * Builds, evaluates, gates and registers the next candidate.
 *
 * @throws UsageError `E_REFRESH_NOTHING` when nothing was reviewed since the production model; `E_REFRESH_NO_PLAN`;
 *   `E_REFRESH_CHANNEL` when the plan trains neither an image nor a text model; RegistryError when the tag points
 *   nowhere; whatever the plan run throws.
 * @example const r = await refresh({ dir: '.rampart' }); if (r.passed) console.log('candidate', r.candidate);
 */
export async function refresh(options: RefreshOptions = {}): Promise<RefreshResult> {
  const dir = options.dir ?? '.rampart';
  const tag = options.tag ?? 'production';
  const gov = openGovernance(dir, { mustExist: true });
  let production: Artifact;
  let plan: Plan;
  let added: string[];
  let built: string[];
  try {
    production = gov.registry.get(`tag:${tag}`);
    // Production evidence first: the risk register reflects what was seen before the candidate is judged.
    applyProductionEvidence(gov);
    const source = planOf(gov, production);
    const channels = trainedChannels(source.plan);
    if (channels.length === 0) {
      throw new UsageError(
        'E_REFRESH_CHANNEL',
        `Plan '${source.plan.name}' trains no model refresh can mix adversarial sets into; refresh needs a plan that trains an image model (data, model.architecture, training) or a text model (a text section without text.source).`,
      );
    }
    const since = production.createdAt;
    const found = setsSince(gov, channels, since, options.setName ?? `${source.plan.name}-confirmed`);
    built = found.built;
    added = [...found.sets.image, ...found.sets.text];
    if (added.length === 0) {
      throw new UsageError(
        'E_REFRESH_NOTHING',
        `Nothing was reviewed since the ${tag} model (${production.digest.slice(0, 12)}, ${since}): confirm captured attacks first (rampart review ls, rampart review decide).`,
      );
    }
    plan = refreshedPlan(source.plan, found.sets, options.weight ?? 4, options.minAccuracy ?? 0.8);
  } finally {
    gov.close();
  }
  const { tag: _t, setName: _s, weight: _w, minAccuracy: _m, candidateTag, ...runOptions } = options;
  const run = await runPlan(plan, { ...runOptions, dir, governance: true });
  // The models refresh trained, each with the directory it was registered from: the hardened image model, the text filter.
  const trainedModels = [
    ...(run.hardened && run.governance?.models.hardened
      ? [{ digest: run.governance.models.hardened, path: join(run.runDir, run.hardened.training.modelDir) }]
      : []),
    ...(run.text && run.governance?.models.text
      ? [{ digest: run.governance.models.text, path: join(run.runDir, run.text.training.modelDir) }]
      : []),
  ];
  const candidate = trainedModels[0]?.digest;
  if (candidate === undefined)
    throw new UsageError('E_REFRESH_CHANNEL', `The refreshed plan '${plan.name}' trained no model to be a candidate.`);
  const after = openGovernance(dir, { mustExist: true });
  try {
    after.transaction(() => {
      // Each candidate descends from the model it replaces.
      for (const m of trainedModels)
        after.registry.put({ kind: 'model', name: after.registry.get(m.digest).name, path: m.path, parents: [production.digest] });
      if (run.gate.passed) after.registry.tag(candidate, candidateTag ?? 'candidate', { reason: 'refresh: gate passed' });
      after.audit.append({
        action: 'refresh',
        subject: candidate,
        details: {
          production: production.digest,
          plan: plan.name,
          sets: added,
          built: built[0] ?? null,
          builtSets: built,
          candidates: trainedModels.map((m) => m.digest),
          passed: run.gate.passed,
        },
      });
    });
  } finally {
    after.close();
  }
  return {
    production: production.digest,
    plan,
    added,
    ...(built[0] ? { built: built[0] } : {}),
    builtSets: built,
    candidate,
    candidates: trainedModels.map((m) => m.digest),
    passed: run.gate.passed,
    run,
  };
}
