/**
 * Adversarial sets in a plan run: resolving `data.adversarial` against the registry,
 * mixing the sets into the training data (each example repeated `weight` times), and
 * measuring a candidate on the confirmed attacks for the gate's `adversarialSet`
 * criterion. Text sets are mixed into text training, and scored by the text filter, in
 * adversarial-text.ts; `measureAdversarialSets` is the one loop over both channels.
 */
import type { Dataset } from '../core/types.js';
import { ConfigError } from '../core/errors.js';
import { readAdversarialSet, type AdversarialSet } from '../governance/adversarial-set.js';
import type { Governance } from '../governance/types.js';
import type { AdversarialSetResult } from '../eval/results.js';
import type { Classifier } from '../models/classifier.js';
import { predictClasses } from '../models/predict.js';
import type { Plan } from './plan/schema.js';

/** The key under `RunEnvironment.extras` holding the resolved sets. */
export const ADVERSARIAL_SETS = 'adversarialSets';

export interface ResolvedAdversarialSet {
  digest: string;
  name: string;
  weight: number;
  set: AdversarialSet;
}

/**
 * Reads every set the plan names: `data.adversarial` (image sets go to image training,
 * text sets to text training) and `text.adversarial`. A ref `since:TAG` (e.g.
 * `since:production`) stands for every set of the list's channel (image under `data`, text
 * under `text`) registered since the model on that tag, so `rampart run` on such a plan
 * does what `rampart refresh` does, without building a new set: the sets are resolved at
 * run time and their digests key the training stages' caches.
 *
 * @throws RegistryError for a ref that names nothing or not a set, or a tag that points nowhere; ConfigError
 *   `E_ADVSET_CHANNEL` for a set of a channel the plan does not train.
 */
export function resolveAdversarialSets(gov: Governance, plan: Plan): ResolvedAdversarialSet[] {
  const out: ResolvedAdversarialSet[] = [];
  const seen = new Set<string>();
  const lists = [
    { channel: 'image' as const, refs: plan.data?.adversarial ?? [] },
    { channel: 'text' as const, refs: plan.text?.adversarial ?? [] },
  ];
  for (const { channel, refs: list } of lists) {
    for (const { ref, weight } of list) {
      const refs = ref.startsWith('since:') ? setsSince(gov, ref.slice('since:'.length), channel) : [ref];
      for (const r of refs) {
        const read = readAdversarialSet(gov.registry, r);
        if (seen.has(read.digest)) continue;
        seen.add(read.digest);
        if (read.set.channel === 'text' && !plan.text) {
          throw new ConfigError(
            'E_ADVSET_CHANNEL',
            `Adversarial set '${read.name}' holds text inputs, and plan '${plan.name}' trains no text model; add a text section or remove the set from data.adversarial.`,
          );
        }
        if (read.set.channel === 'image' && !plan.data) {
          throw new ConfigError(
            'E_ADVSET_CHANNEL',
            `Adversarial set '${read.name}' holds image inputs, and plan '${plan.name}' trains no image model; list it under data.adversarial of a plan with an image section.`,
          );
        }
        out.push({ ...read, weight });
      }
    }
  }
  return out;
}

/** The sets of one channel (each training stage takes its own). */
export function setsOfChannel(sets: readonly ResolvedAdversarialSet[] | undefined, channel: 'image' | 'text'): ResolvedAdversarialSet[] {
  return (sets ?? []).filter((s) => s.set.channel === channel);
}

/** Sets of `channel` registered at or after the model `tag` points to, oldest first. */
function setsSince(gov: Governance, tag: string, channel: 'image' | 'text'): string[] {
  const since = gov.registry.get(`tag:${tag}`).createdAt;
  return gov.registry
    .list({ kind: 'adversarial-set' })
    .filter((a) => a.createdAt >= since && a.meta.channel === channel)
    .map((a) => a.digest);
}

/** What stages hash: digests and weights only, so a cached stage reruns when a set changes. */
export function adversarialInputs(sets: readonly ResolvedAdversarialSet[] | undefined): Array<{ digest: string; weight: number }> {
  return (sets ?? []).map((s) => ({ digest: s.digest, weight: s.weight }));
}

/**
 * The image examples of `set` as a dataset shaped like `like`.
 *
 * @throws ConfigError `E_ADVSET_SHAPE` when the set's inputs do not fit the model's input shape.
 */
export function adversarialDataset(set: AdversarialSet, like: Pick<Dataset, 'shape' | 'numClasses' | 'bounds'>, name: string): Dataset {
  const size = like.shape.reduce((a, b) => a * b, 1);
  if (set.channel !== 'image' || JSON.stringify(set.shape) !== JSON.stringify(like.shape)) {
    throw new ConfigError(
      'E_ADVSET_SHAPE',
      `Adversarial set '${name}' holds ${set.channel} inputs shaped ${JSON.stringify(set.shape)}; the model takes [${like.shape.join(', ')}]. Use a set captured from this model's inputs.`,
    );
  }
  const x = new Float32Array(set.items.length * size);
  const y = new Int32Array(set.items.length);
  set.items.forEach((item, i) => {
    x.set(
      (item.x ?? []).map((v) => Math.min(like.bounds.max, Math.max(like.bounds.min, v))),
      i * size,
    );
    y[i] = Math.min(item.label, like.numClasses - 1);
  });
  return { name: `adversarial-set/${name}`, shape: like.shape, x, y, numClasses: like.numClasses, bounds: like.bounds, count: y.length };
}

/** `train` with every set's examples appended `round(weight)` times (at least once). */
export function mixAdversarial(train: Dataset, sets: readonly ResolvedAdversarialSet[]): Dataset {
  const parts = sets.map((s) => ({ data: adversarialDataset(s.set, train, s.name), times: Math.max(1, Math.round(s.weight)) }));
  const extra = parts.reduce((n, p) => n + p.data.count * p.times, 0);
  if (extra === 0) return train;
  const size = train.x.length / Math.max(1, train.count);
  const x = new Float32Array((train.count + extra) * size);
  const y = new Int32Array(train.count + extra);
  x.set(train.x);
  y.set(train.y);
  let at = train.count;
  for (const p of parts) {
    for (let t = 0; t < p.times; t++) {
      x.set(p.data.x, at * size);
      y.set(p.data.y, at);
      at += p.data.count;
    }
  }
  return { ...train, name: `${train.name}+adversarial`, x, y, count: train.count + extra };
}

/** One confirmed attack as the candidate saw it: the threat it belongs to and whether it was classified right. */
export interface AttackVerdict {
  threat: string;
  correct: boolean;
}

/** How one channel's candidate scores a set: a verdict per item it holds an input for. */
export type SetScorer = (s: ResolvedAdversarialSet) => Promise<AttackVerdict[]>;

/**
 * Scores image sets with `model`.
 *
 * @throws ConfigError `E_ADVSET_SHAPE` (when scoring) for a set that does not fit the model.
 */
export function imageSetScorer(model: Classifier, like: Pick<Dataset, 'shape' | 'numClasses' | 'bounds'>): SetScorer {
  return async (s) => {
    const data = adversarialDataset(s.set, like, s.name);
    const predicted = await predictClasses(model, data);
    return s.set.items.map((item, i) => ({ threat: item.threat ?? 'unknown', correct: predicted[i] === data.y[i] }));
  };
}

const share = (correct: number, n: number): number => (n === 0 ? 0 : correct / n);

/**
 * The candidate's accuracy on the sets' confirmed attacks, overall, per threat and per set,
 * over every channel: each set is scored by its channel's scorer (image sets by the image
 * model, text sets by the text filter), so one gate criterion covers both.
 *
 * @throws ConfigError `E_ADVSET_CHANNEL` for a set whose channel has no scorer (the plan measures no model of it);
 *   whatever a scorer throws.
 */
export async function measureAdversarialSets(
  sets: readonly ResolvedAdversarialSet[],
  scorers: Partial<Record<AdversarialSet['channel'], SetScorer>>,
): Promise<AdversarialSetResult> {
  let correct = 0;
  let n = 0;
  const byThreat: Record<string, { correct: number; n: number }> = {};
  const bySet: AdversarialSetResult['bySet'] = {};
  for (const s of sets) {
    const score = scorers[s.set.channel];
    if (!score) {
      throw new ConfigError(
        'E_ADVSET_CHANNEL',
        `Adversarial set '${s.name}' holds ${s.set.channel} inputs, and this evaluation measures no ${s.set.channel} model; list the set under the plan section that trains one.`,
      );
    }
    const verdicts = await score(s);
    const right = verdicts.filter((v) => v.correct).length;
    for (const v of verdicts) {
      const t = (byThreat[v.threat] ??= { correct: 0, n: 0 });
      t.n++;
      if (v.correct) t.correct++;
    }
    correct += right;
    n += verdicts.length;
    bySet[s.digest] = { name: s.name, channel: s.set.channel, accuracy: share(right, verdicts.length), n: verdicts.length };
  }
  return {
    sets: sets.map((s) => s.digest),
    accuracy: share(correct, n),
    n,
    byThreat: Object.fromEntries(Object.entries(byThreat).map(([t, r]) => [t, { accuracy: r.correct / r.n, n: r.n }])),
    bySet,
  };
}
