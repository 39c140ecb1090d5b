import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { MASKING_CHECK_IDS, randomSampling, runMaskingChecks } from './index.js';
import { engine, smallMnist, trainedMlp } from '../../../test/fixtures.js';
import { takeFirst } from '../../data/index.js';
import { buildModel } from '../../models/architectures.js';
import { trainModel } from '../../training/trainer.js';
import { TfjsClassifier } from '../../models/tfjs-classifier.js';
import { attackIds, createAttack } from '../../attacks/registry.js';
import type { Classifier } from '../../models/classifier.js';
import { threatModel } from '../../threats/threat-model.js';
import { UsageError } from '../../core/errors.js';

before(engine);

/**
 * The textbook masked model: a quantising front end round(x·16)/16 before a trained MLP.
 * It barely changes predictions, but TF.js gives round() a zero gradient, so every
 * gradient attack sees a flat loss while the model stays as breakable as before.
 */
function quantised(base: Classifier, levels = 16): Classifier {
  return {
    id: `${base.id}+round${levels}`,
    inputShape: base.inputShape,
    numClasses: base.numClasses,
    bounds: base.bounds,
    differentiable: true,
    logits: (x) => tf.tidy(() => base.logits(tf.div(tf.round(tf.mul(x, levels)), levels))),
  };
}

let linear: TfjsClassifier | undefined;
/** A linear model trained briefly: a different surrogate for transfer attacks on the plain MLP. */
async function linearSurrogate(): Promise<TfjsClassifier> {
  if (!linear) {
    const model = buildModel('linear', { inputShape: [28, 28, 1], numClasses: 10, seed: 5 });
    await trainModel({
      model,
      train: takeFirst(smallMnist().train, 1000),
      epochs: 2,
      batchSize: 64,
      optimizer: 'adam',
      learningRate: 5e-3,
      seed: 5,
    });
    linear = new TfjsClassifier(model, { id: 'linear-surrogate' });
  }
  return linear;
}

// The square attack when the registry has it (the standard score-based check), else random sampling.
const blackBox = () => (attackIds().includes('square') ? createAttack('square', { queries: 300 }) : randomSampling({ samples: 256 }));
const common = { norm: 'linf' as const, epsilon: 0.15, limit: 40, seed: 1, longSteps: 50 };

test('a plain trained model passes every check', async () => {
  const model = await trainedMlp();
  const data = takeFirst(smallMnist().test, 60);
  const surrogate = await linearSurrogate();
  const tensors = tf.memory().numTensors;
  const report = await runMaskingChecks({ model, data, surrogate, blackBox: blackBox(), ...common });
  assert.equal(tf.memory().numTensors, tensors, 'masking checks leaked tensors');
  assert.deepEqual(
    report.checks.map((c) => c.id),
    MASKING_CHECK_IDS,
  );
  assert.deepEqual(report.skipped, []);
  for (const c of report.checks) assert.equal(c.status, 'pass', `${c.id}: ${c.explanation} ${JSON.stringify(c.measured)}`);
  assert.equal(report.status, 'pass');
  assert.equal(report.examples, 40);
  assert.deepEqual(JSON.parse(JSON.stringify(report)), report, 'plain serialisable');
});

test('a quantised (masked) model fails the gradient-masking checks that target it', async () => {
  const plain = await trainedMlp();
  const model = quantised(plain);
  const data = takeFirst(smallMnist().test, 60);
  // The unmasked model is the natural surrogate: the same function with working gradients.
  const report = await runMaskingChecks({ model, data, surrogate: plain, blackBox: blackBox(), ...common });
  const status = Object.fromEntries(report.checks.map((c) => [c.id, c.status]));
  const byId = (id: string) => report.checks.find((c) => c.id === id)!;
  assert.equal(status['gradients-nonzero-finite'], 'fail');
  assert.equal(byId('gradients-nonzero-finite').measured.zeroFractionMargin, 1);
  assert.equal(status['white-box-beats-black-box'], 'fail', JSON.stringify(byId('white-box-beats-black-box').measured));
  assert.equal(status['white-box-beats-transfer'], 'fail', JSON.stringify(byId('white-box-beats-transfer').measured));
  assert.equal(
    status['random-search-finds-nothing-pgd-missed'],
    'fail',
    JSON.stringify(byId('random-search-finds-nothing-pgd-missed').measured),
  );
  assert.notEqual(status['unbounded-attack'], 'pass', JSON.stringify(byId('unbounded-attack').measured));
  assert.equal(report.status, 'fail');
  assert.ok(report.summary.fail >= 5);
  for (const c of report.checks.filter((r) => r.status !== 'pass')) assert.match(c.explanation, /gradient|attack/i);
  assert.match(byId('gradients-nonzero-finite').explanation, /BPDA/);
});

test('options: skipped transfer without a surrogate, a subset of checks, named errors', async () => {
  const model = await trainedMlp();
  const data = takeFirst(smallMnist().test, 30);
  const report = await runMaskingChecks({
    model,
    data,
    norm: 'linf',
    epsilon: 0.1,
    limit: 10,
    checks: ['white-box-beats-transfer', 'gradients-nonzero-finite'],
    blackBox: randomSampling({ samples: 4 }),
  });
  assert.deepEqual(
    report.checks.map((c) => c.id),
    ['gradients-nonzero-finite'],
  );
  assert.equal(report.skipped[0]?.id, 'white-box-beats-transfer');
  assert.match(report.skipped[0]!.reason, /surrogate/);
  assert.equal(report.config.blackBox, 'random-sampling');
  await assert.rejects(
    runMaskingChecks({ model, data, norm: 'linf', epsilon: 0.1, checks: ['psychic'] }),
    (e: unknown) => e instanceof UsageError && e.code === 'E_MASKING_OPTION' && /'psychic'.*'iterative-beats-single-step'/.test(e.message),
  );
  await assert.rejects(runMaskingChecks({ model, data, norm: 'linf', epsilon: 0 }), /epsilon > 0/);
  await assert.rejects(runMaskingChecks({ model, data, norm: 'linf', epsilon: 0.1, epsilonFactors: [1] }), /'epsilonFactors'/);
  const l2 = await runMaskingChecks({
    model,
    data,
    norm: 'l2',
    epsilon: 1.5,
    limit: 15,
    checks: ['unbounded-attack', 'random-search-finds-nothing-pgd-missed'],
  });
  assert.deepEqual(
    l2.checks.map((c) => c.status),
    ['pass', 'pass'],
    JSON.stringify(l2.checks.map((c) => c.measured)),
  );
  assert.equal(l2.checks[0]!.measured.epsilon, 28, 'L2 unbounded: the diagonal of the 28x28 unit box');
  const blind: Classifier = { ...quantised(model), id: 'black-box', differentiable: false };
  const none = await runMaskingChecks({ model: blind, data, norm: 'linf', epsilon: 0.1, limit: 5 });
  assert.equal(none.checks.length, 0);
  assert.match(none.skipped[0]!.reason, /no gradients/);
});

test('random sampling stays in the ball and reports success honestly', async () => {
  const model = await trainedMlp();
  const data = takeFirst(smallMnist().test, 20);
  const x = tf.tensor(data.x, [20, 28, 28, 1]);
  const threat = threatModel({ norm: 'linf', epsilon: 0.3 });
  const result = await randomSampling({ samples: 16 }).run(model, x, data.y, threat, { seed: 4 });
  const [pred, dist, min, max] = tf.tidy(() => [
    tf.argMax(model.logits(result.adversarial), 1),
    tf.max(tf.abs(tf.sub(result.adversarial, x)).reshape([20, -1]), 1),
    tf.min(result.adversarial),
    tf.max(result.adversarial),
  ]);
  const p = await pred!.data();
  const d = await dist!.data();
  for (let i = 0; i < 20; i++) {
    if (result.success[i]) assert.notEqual(p[i], data.y[i]);
    assert.ok(d[i]! <= 0.3 + 1e-6);
    assert.ok(result.queries[i]! >= 1 && result.queries[i]! <= 16);
  }
  assert.ok((await min!.data())[0]! >= 0 && (await max!.data())[0]! <= 1);
  assert.ok(
    result.success.some((s) => s === 1),
    'random vertices at 0.3 break some digits',
  );
  tf.dispose([pred!, dist!, min!, max!, x, result.adversarial]);
  assert.throws(() => randomSampling({ samples: 0 }), /'samples' must be a whole number/);
});
