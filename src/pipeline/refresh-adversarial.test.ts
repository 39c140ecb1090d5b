import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateGate } from '../eval/gate.js';
import type { EvaluationResults } from '../eval/results.js';
import type { Dataset } from '../core/types.js';
import { engine, linearModel } from '../../test/fixtures.js';
import type { TextClassifier } from '../models/text/text-classifier.js';
import { textSetScorer } from './adversarial-text.js';
import { imageSetScorer, measureAdversarialSets, mixAdversarial, type ResolvedAdversarialSet } from './refresh-adversarial.js';

const like = { shape: [2], numClasses: 2, bounds: { min: 0, max: 1 } };
const resolved = (weight: number): ResolvedAdversarialSet => ({
  digest: 'd'.repeat(64),
  name: 's',
  weight,
  set: {
    kind: 'rampart.adversarial-set',
    schemaVersion: 1,
    channel: 'image',
    shape: [2],
    items: [
      { digest: 'a'.repeat(64), label: 0, threat: 't1', source: 'flag', x: [0.9, 0.1] },
      { digest: 'b'.repeat(64), label: 1, threat: 't1', source: 'flag', x: [0.8, 0.2] },
      { digest: 'c'.repeat(64), label: 1, threat: 't2', source: 'canary', x: [0.1, 0.9] },
    ],
  },
});

test('mixing appends each set example round(weight) times', () => {
  const train: Dataset = { name: 'tr', ...like, x: new Float32Array([0, 1]), y: new Int32Array([1]), count: 1 };
  const mixed = mixAdversarial(train, [resolved(2)]);
  assert.equal(mixed.count, 1 + 3 * 2);
  assert.deepEqual([...mixed.y], [1, 0, 1, 1, 0, 1, 1]);
  assert.deepEqual(
    [...mixed.x.subarray(2, 4)].map((v) => Math.round(v * 10) / 10),
    [0.9, 0.1],
  );
  assert.throws(() => mixAdversarial({ ...train, shape: [3] }, [resolved(1)]), { code: 'E_ADVSET_SHAPE' });
});

test('the candidate is measured on the confirmed attacks per threat, and the gate checks each threat', async () => {
  await engine();
  // Predicts class 0 when x0 > x1: right on the first and third examples, wrong on the second.
  const model = linearModel(
    [
      [1, -1],
      [-1, 1],
    ],
    [0, 0],
  );
  const result = await measureAdversarialSets([resolved(1)], { image: imageSetScorer(model, like) });
  assert.equal(result.n, 3);
  assert.ok(Math.abs(result.accuracy - 2 / 3) < 1e-9);
  assert.deepEqual(result.byThreat, { t1: { accuracy: 0.5, n: 2 }, t2: { accuracy: 1, n: 1 } });
  const candidate = { robustAccuracy: {}, cleanAccuracy: 1, unmeasured: {}, adversarialSet: result } as unknown as EvaluationResults;
  const gate = evaluateGate({ adversarialSet: { minAccuracy: 0.6 } }, candidate);
  assert.deepEqual(
    gate.checks.map((c) => [c.id, c.passed]),
    [
      ['adversarial-set', true],
      ['adversarial-set:t1', false],
      ['adversarial-set:t2', true],
    ],
  );
  assert.equal(gate.checks[1]?.threat, 't1');
  const missing = evaluateGate({ adversarialSet: { minAccuracy: 0.6 } }, { ...candidate, adversarialSet: undefined });
  assert.equal(missing.passed, false);
  assert.match(missing.checks[0]?.message ?? '', /data\.adversarial/);
});

test('a since:TAG ref resolves to every set registered since the tagged model, each once', async () => {
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { openGovernance } = await import('../governance/index.js');
  const { resolveAdversarialSets } = await import('./refresh-adversarial.js');
  const gov = openGovernance(mkdtempSync(join(tmpdir(), 'rampart-since-')), { actor: 'ci' });
  try {
    const setJson = (v: number) => ({
      ...resolved(1).set,
      items: [{ digest: 'e'.repeat(64), label: 1, threat: 't', source: 'flag', x: [v, v] }],
    });
    const old = gov.registry.put({ kind: 'adversarial-set', name: 's', json: setJson(0.1), meta: { channel: 'image' } });
    await new Promise((r) => setTimeout(r, 5));
    const model = gov.registry.put({ kind: 'model', name: 'm', bytes: 'w' });
    gov.registry.tag(model.digest, 'production');
    await new Promise((r) => setTimeout(r, 5));
    const fresh = gov.registry.put({ kind: 'adversarial-set', name: 's', json: setJson(0.2), meta: { channel: 'image' } });
    const plan = {
      data: {
        adversarial: [
          { ref: 'since:production', weight: 3 },
          { ref: fresh.digest, weight: 1 },
        ],
      },
    };
    const sets = resolveAdversarialSets(gov, plan as never);
    assert.deepEqual(
      sets.map((s) => [s.digest, s.weight]),
      [[fresh.digest, 3]],
    );
    assert.ok(!sets.some((s) => s.digest === old.digest));
    assert.throws(() => resolveAdversarialSets(gov, { data: { adversarial: [{ ref: 'since:nope', weight: 1 }] } } as never), {
      code: 'E_REGISTRY_NOT_FOUND',
    });
  } finally {
    gov.close();
  }
});

test('one loop measures image and text sets, each by its channel model; several sets get a check each', async () => {
  await engine();
  const image = linearModel(
    [
      [1, -1],
      [-1, 1],
    ],
    [0, 0],
  );
  // A rule filter over two classes: spam (1) when the text has a digit in it.
  const filter: TextClassifier = {
    id: 'digits',
    classes: ['ham', 'spam'],
    predictProba: async (texts) => texts.map((t) => Float32Array.from(/\d/.test(t) ? [0.1, 0.9] : [0.9, 0.1])),
  };
  const text: ResolvedAdversarialSet = {
    digest: 'e'.repeat(64),
    name: 'texts',
    weight: 1,
    set: {
      kind: 'rampart.adversarial-set',
      schemaVersion: 1,
      channel: 'text',
      shape: null,
      items: [
        { digest: 'f'.repeat(64), label: 1, threat: 't3', source: 'flag', text: 'fr33 m0ney' },
        { digest: '1'.repeat(64), label: 1, threat: 't3', source: 'flag', text: 'free money' },
      ],
    },
  };
  const result = await measureAdversarialSets([resolved(1), text], { image: imageSetScorer(image, like), text: textSetScorer(filter) });
  assert.equal(result.n, 5);
  assert.deepEqual(result.bySet, {
    ['d'.repeat(64)]: { name: 's', channel: 'image', accuracy: 2 / 3, n: 3 },
    ['e'.repeat(64)]: { name: 'texts', channel: 'text', accuracy: 0.5, n: 2 },
  });
  assert.deepEqual(result.byThreat.t3, { accuracy: 0.5, n: 2 });
  const candidate = { robustAccuracy: {}, cleanAccuracy: 1, unmeasured: {}, adversarialSet: result } as unknown as EvaluationResults;
  const gate = evaluateGate({ adversarialSet: { minAccuracy: 0.6 } }, candidate);
  assert.deepEqual(
    gate.checks.filter((c) => c.id.startsWith('adversarial-set@')).map((c) => [c.id, c.passed]),
    [
      [`adversarial-set@${'d'.repeat(12)}`, true],
      [`adversarial-set@${'e'.repeat(12)}`, false],
    ],
  );
  // A text set where the evaluation measures no text model is refused, not skipped.
  await assert.rejects(measureAdversarialSets([text], { image: imageSetScorer(image, like) }), { code: 'E_ADVSET_CHANNEL' });
});
