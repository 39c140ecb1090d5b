import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../core/errors.js';
import { takeFirst } from '../data/index.js';
import { threatModel } from '../threats/threat-model.js';
import { suiteDefinition, type SuiteDefinition } from './suite.js';
import { evaluateThreats } from './threat-evaluation.js';
import { engine, smallMnist, trainedMlp } from '../../test/fixtures.js';

before(engine);

const TINY: SuiteDefinition = {
  ...suiteDefinition('standard', 'quick'),
  stages: [
    { id: 'apgd-ce', attack: 'apgd-ce', options: { steps: 5 } },
    { id: 'square', attack: 'square', options: { queries: 30 } },
  ],
};

test('named threats keep their ids; the worst case per example is no higher than either source', async () => {
  const model = await trainedMlp();
  const data = takeFirst(smallMnist().test, 40);
  const threats = [
    threatModel({ id: 'scan-noise', norm: 'linf', epsilon: 0.1 }),
    threatModel({ id: 'strokes', norm: 'l2', epsilon: 1 }),
    threatModel({ id: 'heavy-noise', norm: 'linf', epsilon: 0.2 }),
  ];
  const tensors = tf.memory().numTensors;
  const r = await evaluateThreats({
    model,
    data,
    threats,
    attacks: [{ id: 'fgsm' }],
    suite: TINY,
    curve: { linf: [0.05] },
    seed: 3,
    batchSize: 20,
  });
  assert.equal(tf.memory().numTensors, tensors);
  assert.deepEqual(
    r.threats.map((t) => t.threat),
    ['scan-noise', 'strokes', 'heavy-noise'],
    'in the order given, by id',
  );
  assert.equal(r.reports.length, 2, 'one report per norm');
  assert.deepEqual(r.reports[0]?.config.threats, ['curve:linf-0', 'curve:linf-0.05', 'scan-noise', 'heavy-noise']);
  assert.deepEqual(r.suites[0]?.config.threats, ['scan-noise', 'heavy-noise'], 'the suite runs on the named threats only');
  for (const t of r.threats) {
    assert.equal(t.robust.n, 40);
    assert.ok(t.sources.suite && t.sources.attacks);
    assert.ok(t.robust.count <= Math.min(t.sources.suite.count, t.sources.attacks.count), `${t.threat}: worst case above a source`);
    assert.ok(t.robust.lower <= t.robust.value && t.robust.value <= t.robust.upper);
    assert.ok(t.robust.upper - t.robust.lower > 0.05, 'an interval on 40 examples is wide');
  }
  assert.equal(r.clean.n, 40);
  const linf = r.curves.find((c) => c.norm === 'linf');
  assert.deepEqual(
    linf?.points.map((p) => p.epsilon),
    [0, 0.05, 0.1, 0.2],
  );
  assert.equal(linf?.points[0]?.robustAccuracy, r.clean.value);
  assert.equal(linf?.points[2]?.robustAccuracy, r.threats[0]?.robust.value);
});

test('needs a suite or an attack', async () => {
  const model = await trainedMlp();
  const data = takeFirst(smallMnist().test, 5);
  await assert.rejects(
    evaluateThreats({ model, data, threats: [threatModel({ norm: 'linf', epsilon: 0.1 })], attacks: [] }),
    (e: unknown) => e instanceof UsageError && e.code === 'E_NO_ATTACKS',
  );
});
