/**
 * `rampart refresh` on a plan with both channels: attacks confirmed since production are
 * built into one set per channel, the image set goes into the image model's training
 * (`data.adversarial`) and the text set into the text filter's (`text.adversarial`), the
 * gate measures each with its own channel's model (a check per set), and each trained
 * model descends from production and from its own channel's set only. Real training (300
 * digits, 200 SpamAssassin messages), gate and registry.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { engine, smallMnist, TINY_IMAGE_PLAN_PART } from './fixtures.js';
import { openGovernance } from '../src/governance/index.js';
import { decideReview } from '../src/governance/review.js';
import { parsePlanText } from '../src/pipeline/plan/load.js';
import { runPlan } from '../src/pipeline/run/run-plan.js';
import { refresh } from '../src/pipeline/refresh.js';

const PLAN = `
name: mixed
seed: 5
threats:
  - { id: linf-0.1, channel: image, technique: gradient, norm: linf, epsilon: 0.1, likelihood: likely, impact: moderate, owner: t }
  - { id: spam-typo, channel: text, technique: character, budget: { maxWordFraction: 0.2 }, families: [char-edit, typo], likelihood: likely, impact: minor, owner: t }
${TINY_IMAGE_PLAN_PART}text:
  dataset: spam-assassin
  trainLimit: 200
  maxChars: 600
  model: { hidden: 8, epochs: 4, learningRate: 0.01 }
  attack: { id: greedy, options: { maxQueries: 60 } }
  limit: 4
  examples: 1
criteria:
  cleanAccuracy: 0.1
`;

const TEXTS = ['Cl4im y0ur fr33 pr1ze n0w', 'zorblat quintex vexillum marplot snood', 'L0w r4te l0ans, 4pply n0w'];
const limits = { maxItems: 100, maxBytes: 1 << 22, maxAge: 365 * 86_400_000 * 100, maxInputBytes: 1 << 16 };

let dir: string;
before(async () => {
  await engine();
  dir = await mkdtemp(join(tmpdir(), 'rampart-loop-mixed-refresh-'));
});
after(() => rm(dir, { recursive: true, force: true }));

test('refresh on a mixed plan builds, mixes and gates one set per channel', async () => {
  const registry = join(dir, '.rampart');
  const first = await runPlan(parsePlanText(PLAN, 'mixed.yaml'), { dir: registry });
  const production = first.governance?.models.hardened as string;
  assert.ok(production && first.governance?.models.text);

  const digits = smallMnist().test;
  const gov = openGovernance(registry, { actor: 'ci' });
  try {
    gov.registry.tag(production, 'production', { reason: 'first release' });
    const at = new Date().toISOString();
    const { ids } = gov.captures.write(
      [
        ...[0, 1, 2, 3].map((i) => ({
          source: 'flag' as const,
          model: 'mlp',
          client: 'key:k1',
          at,
          decisions: [],
          x: [...digits.x.subarray(i * 784, (i + 1) * 784)],
          shape: [28, 28, 1],
          threat: 'linf-0.1',
        })),
        ...TEXTS.map((text) => ({
          source: 'flag' as const,
          model: 'text-filter',
          client: 'key:k1',
          at,
          decisions: [],
          text,
          threat: 'spam-typo',
        })),
      ],
      { limits },
    );
    ids.forEach((id, i) =>
      decideReview(gov, id, { verdict: 'attack', label: i < 4 ? (digits.y[i] as number) : 1, reason: 'review' }, 'alice'),
    );
  } finally {
    gov.close();
  }

  const r = await refresh({ dir: registry, weight: 4, minAccuracy: 0.1 });
  assert.equal(r.builtSets.length, 2);
  const [imageSet, textSet] = r.builtSets as [string, string];
  assert.deepEqual(r.plan.data?.adversarial, [{ ref: imageSet, weight: 4 }]);
  assert.deepEqual(r.plan.text?.adversarial, [{ ref: textSet, weight: 4 }]);
  const adv = r.run.candidate.results.adversarialSet;
  assert.deepEqual(
    Object.entries(adv?.bySet ?? {}).map(([d, s]) => [d, s.channel, s.n]),
    [
      [imageSet, 'image', 4],
      [textSet, 'text', TEXTS.length],
    ],
  );
  assert.deepEqual(Object.keys(adv?.byThreat ?? {}).sort(), ['linf-0.1', 'spam-typo']);
  const perSet = r.run.gate.checks.filter((c) => c.id.startsWith('adversarial-set@')).map((c) => c.id);
  assert.deepEqual(perSet, [`adversarial-set@${imageSet.slice(0, 12)}`, `adversarial-set@${textSet.slice(0, 12)}`]);

  const models = r.run.governance?.models ?? {};
  assert.equal(r.candidate, models.hardened);
  assert.deepEqual(r.candidates, [models.hardened, models.text]);
  const check = openGovernance(registry, { mustExist: true });
  try {
    assert.deepEqual(
      [imageSet, textSet].map((d) => check.registry.get(d).name),
      ['mixed-confirmed-image', 'mixed-confirmed-text'],
    );
    const hardened = check.registry.get(models.hardened as string).parents;
    const text = check.registry.get(models.text as string).parents;
    assert.ok(hardened.includes(production) && text.includes(production), 'a refreshed model does not descend from production');
    assert.ok(hardened.includes(imageSet) && !hardened.includes(textSet), 'the image model descends from the wrong sets');
    assert.ok(text.includes(textSet) && !text.includes(imageSet), 'the text filter descends from the wrong sets');
  } finally {
    check.close();
  }
});
