import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { takeFirst } from '../data/index.js';
import { buildModel } from '../models/architectures.js';
import { TfjsClassifier } from '../models/tfjs-classifier.js';
import { trainModel } from '../training/trainer.js';
import { threatModel } from '../threats/threat-model.js';
import { attacksForThreat } from './attacks-for-threat.js';
import { evaluateThreats } from './threat-evaluation.js';
import { engine, smallMnist, trainedMlp } from '../../test/fixtures.js';

before(engine);

const ids = (threat: Parameters<typeof attacksForThreat>[0], options = {}): string[] =>
  attacksForThreat(threat, options).attacks.map((a) => a.id);

test('the technique picks the adversary: white-box, score-based, decision-based, transfer', async () => {
  const base = { norm: 'linf', epsilon: 0.1 };
  assert.deepEqual(ids(threatModel(base), { gradient: [{ id: 'fgsm' }] }), ['fgsm']);
  assert.deepEqual(ids(threatModel({ ...base, technique: 'gradient' })), ['pgd'], 'PGD by default');
  assert.deepEqual(ids(threatModel({ ...base, technique: 'score-based' })), ['square']);
  assert.deepEqual(ids(threatModel({ ...base, technique: 'decision-based' })), ['hsj']);
  const surrogate = await trainedMlp();
  assert.deepEqual(ids(threatModel({ ...base, technique: 'transfer' }), { surrogate }), ['transfer:pgd']);
  assert.match(attacksForThreat(threatModel({ ...base, technique: 'transfer' })).note, /lower bound/);
});

test('sparse threats get the attacks that search under their norm', () => {
  assert.deepEqual(ids(threatModel({ norm: 'patch', epsilon: 6 })), ['patch', 'occlusion']);
  assert.deepEqual(ids(threatModel({ norm: 'patch', epsilon: 6, technique: 'score-based' })), ['occlusion']);
  assert.deepEqual(ids(threatModel({ norm: 'l0', epsilon: 10 })), ['sparse-l0']);
  assert.deepEqual(ids(threatModel({ norm: 'occlusion', epsilon: 8 })), ['occlusion', 'occlusion']);
  assert.throws(() => attacksForThreat(threatModel({ norm: 'l0', epsilon: 10, technique: 'decision-based' })), {
    code: 'E_THREAT_NO_ATTACK',
  });
  assert.deepEqual(ids(threatModel({ norm: 'linf', epsilon: 0.1 }), { gradient: [{ id: 'fgsm' }, { id: 'patch' }] }), ['fgsm']);
});

test('a targeted threat is evaluated with targeted attacks and reported as targeted success', async () => {
  const model = await trainedMlp();
  const data = takeFirst(smallMnist().test, 40);
  const tensors = tf.memory().numTensors;
  const r = await evaluateThreats({
    model,
    data,
    threats: [
      threatModel({ id: 'any', norm: 'linf', epsilon: 0.15 }),
      threatModel({ id: 'to-3', norm: 'linf', epsilon: 0.15, goal: { kind: 'targeted', target: 3 } }),
      threatModel({ id: 'box', norm: 'occlusion', epsilon: 10 }),
    ],
    attacks: [{ id: 'pgd', options: { steps: 10 } }],
    seed: 1,
  });
  assert.equal(tf.memory().numTensors, tensors);
  const [any, to3, box] = r.threats;
  assert.equal(any?.targetedSuccess, undefined);
  const success = to3?.targetedSuccess;
  assert.ok(success && success.target === 3);
  const correctNot3 = r.clean.count - Array.from(data.y).filter((y, i) => y === 3 && i >= 0).length;
  assert.ok(success.n <= correctNot3 && success.n > 0, 'attacked: clean-correct examples not already of class 3');
  assert.ok(success.count > 0, 'PGD towards 3 reaches it sometimes');
  // Reaching one class is harder than reaching any wrong one.
  assert.ok((to3?.robust.count as number) >= (any?.robust.count as number));
  assert.match(to3?.note ?? '', /targeted at class 3/);
  assert.ok(box && box.norm === 'occlusion' && box.robust.count <= r.clean.count);
  assert.deepEqual(
    r.curves.map((c) => c.norm),
    ['linf'],
    'threats evaluated on their own add no curve',
  );
});

test('a transfer threat from a surrogate is never stronger than the same attack white-box', async () => {
  const target = await trainedMlp();
  const net = buildModel('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 11 });
  await trainModel({
    model: net,
    train: takeFirst(smallMnist().train, 600),
    epochs: 1,
    batchSize: 64,
    optimizer: 'adam',
    learningRate: 2e-3,
    seed: 11,
  });
  const surrogate = new TfjsClassifier(net, { id: 'surrogate' });
  const data = takeFirst(smallMnist().test, 40);
  const r = await evaluateThreats({
    model: target,
    data,
    surrogate,
    threats: [
      threatModel({ id: 'white', norm: 'linf', epsilon: 0.2, technique: 'gradient' }),
      threatModel({ id: 'transfer', norm: 'linf', epsilon: 0.2, technique: 'transfer' }),
    ],
    attacks: [{ id: 'pgd', options: { steps: 20 } }],
    seed: 2,
  });
  const [white, transfer] = r.threats;
  assert.match(transfer?.note ?? '', /surrogate 'surrogate'/);
  assert.ok((transfer?.robust.count as number) >= (white?.robust.count as number), 'white-box PGD is the stronger adversary');
  assert.ok((transfer?.robust.count as number) < r.clean.count, 'some examples transfer');
  net.dispose();
});
