import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { measureLatency } from './latency.js';
import { engine, smallMnist, trainedMlp } from '../../test/fixtures.js';
import { takeFirst } from '../data/index.js';
import { createAttack } from '../attacks/registry.js';
import { threatModel } from '../threats/threat-model.js';
import type { Classifier } from '../models/classifier.js';

before(engine);

/** A stand-in defence that does real extra work: it averages the logits of three shifted copies. */
function averaged(base: Classifier): Classifier {
  return {
    id: `${base.id}+avg3`,
    inputShape: base.inputShape,
    numClasses: base.numClasses,
    bounds: base.bounds,
    differentiable: true,
    logits: (x) =>
      tf.tidy(() => tf.div(tf.addN([base.logits(x), base.logits(tf.add(x, 0.01)), base.logits(tf.sub(x, 0.01))]), 3) as tf.Tensor2D),
  };
}

test('latency report: clean and adversarial series, bare and defended, as data', async () => {
  const model = await trainedMlp();
  const data = takeFirst(smallMnist().test, 64);
  const tensors = tf.memory().numTensors;
  const report = await measureLatency({
    model,
    defended: averaged(model),
    data,
    attack: createAttack('fgsm'),
    threat: threatModel({ norm: 'linf', epsilon: 0.1 }),
    batchSizes: [1, 16],
    repeats: 5,
    warmup: 1,
  });
  assert.equal(tf.memory().numTensors, tensors, 'latency measurement leaked tensors');
  assert.deepEqual(
    report.series.map((s) => `${s.model}/${s.inputs}`),
    ['mlp-fixture/clean', 'mlp-fixture+avg3/clean', 'mlp-fixture/adversarial', 'mlp-fixture+avg3/adversarial'],
  );
  for (const s of report.series) {
    assert.deepEqual(
      s.stats.map((t) => t.batchSize),
      [1, 16],
    );
    for (const t of s.stats) {
      assert.equal(t.repeats, 5);
      assert.ok(Number.isFinite(t.p50Ms) && t.p50Ms > 0 && t.p99Ms >= t.p50Ms);
      assert.ok(Math.abs(t.perExampleP50Ms - t.p50Ms / t.batchSize) < 1e-12);
    }
  }
  assert.equal(report.overhead?.length, 4);
  for (const o of report.overhead!) assert.ok(Number.isFinite(o.addedP50Ms) && o.ratioP50 > 0);
  assert.equal(report.config.attack, 'fgsm');
  assert.equal(report.engine?.backend, 'wasm');
  assert.deepEqual(JSON.parse(JSON.stringify(report)), report);
});

test('bad latency options are named', async () => {
  const model = await trainedMlp();
  const data = takeFirst(smallMnist().test, 8);
  await assert.rejects(
    measureLatency({ model, data, batchSizes: [16] }),
    /Batch sizes must be whole numbers in \[1, 8\] \(the data size\); got \[16\]/,
  );
  await assert.rejects(measureLatency({ model, data, batchSizes: [1], repeats: 0 }), /repeats must be/);
  await assert.rejects(measureLatency({ model, data, batchSizes: [1], attack: createAttack('fgsm') }), /both an attack and a threat/);
});
