/**
 * Text adversarial sets in text training: texts the filter got wrong are captured, a
 * reviewer gives their true labels, they become a registered text adversarial set, and a
 * plan that names it (`text.adversarial`) trains a text candidate that classifies them
 * better than the same plan without it. Real training (the plan's text-train stage on 200
 * SpamAssassin messages), a real registry.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { engine, TINY_IMAGE_PLAN_PART } from './fixtures.js';
import { openGovernance } from '../src/governance/index.js';
import { decideReview } from '../src/governance/review.js';
import { buildAdversarialSet } from '../src/governance/adversarial-set.js';
import { parsePlanText } from '../src/pipeline/plan/load.js';
import { runStages } from '../src/pipeline/run/runner.js';
import { textTrainStage, type TextTrainOutputs } from '../src/pipeline/run/stages/text.js';
import { ADVERSARIAL_SETS, resolveAdversarialSets } from '../src/pipeline/refresh-adversarial.js';
import { loadSavedTextFilter } from '../src/defenses/normalize-text/saved-filter.js';
import type { Plan } from '../src/pipeline/plan/schema.js';

// Obfuscated and odd texts: the clean filter has seen none of their words.
const ATTACKS = [
  'Cl4im y0ur fr33 pr1ze n0w, w1re the f33 t0day',
  'W1N B1G at our c4sino, cl1ck h3re f0r b0nus c0ins',
  'Ch3ap m3ds w1thout pr3scr1ption, 0rder t0day',
  'Y0u h4ve b33n s3lected f0r a c4sh r3ward',
  'zorblat quintex vexillum marplot snood',
  'gribble wimbly ferrule scrivener quoin',
  'L0w r4te l0ans, n0 cr3dit ch3ck, 4pply n0w',
  'Hot s1ngles 1n y0ur 4rea w4nt t0 m33t',
];

const plan = (adversarial: string | undefined): Plan =>
  parsePlanText(
    `
name: text-advset
seed: 4
threats:
  - { id: spam-typo, channel: text, technique: character, budget: { maxWordFraction: 0.2 }, families: [char-edit, typo], likelihood: likely, impact: minor, owner: t }
text:
  dataset: spam-assassin
  maxChars: 600
  trainLimit: 200
  model: { hidden: 8, epochs: 6, learningRate: 0.01 }
${adversarial ? `  adversarial: [{ ref: ${adversarial}, weight: 4 }]\n` : ''}criteria:
  cleanAccuracy: 0.3
`,
    'text-advset.yaml',
  );

let dir: string;
before(async () => {
  await engine();
  dir = await mkdtemp(join(tmpdir(), 'rampart-loop-text-advset-'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** Captures ATTACKS, has a reviewer relabel them with `labels`, and registers them as a text adversarial set. */
function registerTextSet(registry: string, labels: number[]): string {
  const gov = openGovernance(registry, { actor: 'ci' });
  try {
    const { ids } = gov.captures.write(
      ATTACKS.map((text, i) => ({
        source: 'flag' as const,
        model: 'text-filter',
        client: 'key:k1',
        at: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
        decisions: [{ layer: 'normalize-text', decision: 'flag' as const, score: 1 }],
        text,
        predicted: 1 - (labels[i] as number),
      })),
      { limits: { maxItems: 100, maxBytes: 1 << 20, maxAge: 365 * 86_400_000 * 100, maxInputBytes: 4096 } },
    );
    ids.forEach((id, i) => decideReview(gov, id, { verdict: 'relabel', label: labels[i], reason: 'review' }, 'alice'));
    return buildAdversarialSet(gov, { name: 'text-confirmed', channel: 'text' }).artifact.digest;
  } finally {
    gov.close();
  }
}

async function trainAndScore(p: Plan, extras: Record<string, unknown>, runDir: string) {
  const { outputs } = await runStages([textTrainStage], { plan: p, runDir, extras });
  const out = outputs[textTrainStage.id] as TextTrainOutputs;
  const { model, filter } = await loadSavedTextFilter(join(runDir, out.modelDir));
  try {
    const probs = await filter.predictProba(ATTACKS);
    const predicted = probs.map((row) => row.indexOf(Math.max(...row)));
    return { out, predicted };
  } finally {
    model.dispose();
  }
}

test('a text candidate trained with a text adversarial set classifies its confirmed attacks better than without', async () => {
  const without = await trainAndScore(plan(undefined), {}, join(dir, 'runs', 'without'));
  assert.equal(without.out.adversarialTexts, undefined);

  // The reviewer's true label for each capture is the class the filter did not give it: every one is a miss.
  const registry = join(dir, '.rampart');
  const digest = registerTextSet(
    registry,
    without.predicted.map((p) => 1 - p),
  );

  const withPlan = plan(digest);
  const reader = openGovernance(registry, { mustExist: true });
  const sets = (() => {
    try {
      return resolveAdversarialSets(reader, withPlan);
    } finally {
      reader.close();
    }
  })();
  assert.deepEqual(
    sets.map((s) => [s.set.channel, s.set.items.length, s.weight]),
    [['text', ATTACKS.length, 4]],
  );
  const withSet = await trainAndScore(withPlan, { [ADVERSARIAL_SETS]: sets }, join(dir, 'runs', 'with'));
  assert.equal(withSet.out.adversarialTexts, ATTACKS.length * 4);
  assert.equal(withSet.out.counts.train, without.out.counts.train + ATTACKS.length * 4);

  const truth = sets[0]!.set.items.map((item) => [item.text, item.label] as const);
  const label = new Map(truth);
  const correct = (predicted: number[]) => ATTACKS.filter((t, i) => predicted[i] === label.get(t)).length;
  // By construction (each label is the class the filter did not give), a guard that the comparison starts from all misses.
  assert.equal(correct(without.predicted), 0);
  assert.ok(
    correct(withSet.predicted) >= ATTACKS.length * 0.75,
    `with the set: ${correct(withSet.predicted)} of ${ATTACKS.length} confirmed attacks right`,
  );
});

test('a set of a channel the plan does not train is refused with the fix', async () => {
  const registry = join(dir, 'image-only');
  const digest = registerTextSet(
    registry,
    ATTACKS.map(() => 1),
  );
  const gov = openGovernance(registry, { mustExist: true });
  try {
    const imageOnly = parsePlanText(
      `
name: image-only
seed: 1
threats:
  - { id: linf-0.1, channel: image, technique: gradient, norm: linf, epsilon: 0.1, likelihood: likely, impact: moderate, owner: t }
${TINY_IMAGE_PLAN_PART.replace('trainLimit: 300 }', `trainLimit: 300, adversarial: [{ ref: ${digest} }] }`)}criteria: { cleanAccuracy: 0.1 }
`,
      'image-only.yaml',
    );
    assert.throws(() => resolveAdversarialSets(gov, imageOnly), { code: 'E_ADVSET_CHANNEL' });

    // And the other way round: an image set under text.adversarial of a plan that trains no image model.
    const { ids } = gov.captures.write(
      [
        {
          source: 'flag',
          model: 'mlp',
          client: 'key:k1',
          at: '2026-01-01T00:00:00.000Z',
          decisions: [],
          x: [0, 0.5, 1, 0.5],
          shape: [2, 2],
        },
      ],
      { limits: { maxItems: 100, maxBytes: 1 << 20, maxAge: 365 * 86_400_000 * 100, maxInputBytes: 4096 } },
    );
    decideReview(gov, ids[0]!, { verdict: 'attack', label: 3, reason: 'review' }, 'alice');
    const imageSet = buildAdversarialSet(gov, { name: 'image-confirmed', channel: 'image' }).artifact.digest;
    assert.throws(() => resolveAdversarialSets(gov, plan(imageSet)), { code: 'E_ADVSET_CHANNEL' });
  } finally {
    gov.close();
  }
});
