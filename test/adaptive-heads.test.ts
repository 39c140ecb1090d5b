/**
 * A multi-head ensemble evaluated adaptively: the stack attack sees every head, through the
 * model's mean and through the fused ensemble layer's disagreement margin, and the margin's
 * pass/flag agrees with the layer `rampart serve` runs on the same points.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { engine, smallMnist } from './fixtures.js';
import { takeFirst } from '../src/data/index.js';
import { batchTensor } from '../src/core/tensors.js';
import { buildMultiHead } from '../src/defenses/ensemble/heads.js';
import { fusedHeads } from '../src/defenses/ensemble/fused-serve.js';
import { fusedEnsembleLayer } from '../src/defenses/ensemble/index.js';
import { fusedMemberClassifiers } from '../src/defenses/ensemble/member-classifiers.js';
import { attackStack, ensembleDetector, stackVerdicts } from '../src/eval/adaptive/index.js';
import { TfjsClassifier } from '../src/models/tfjs-classifier.js';
import { trainModel } from '../src/training/trainer.js';
import { ensembleDiversity } from '../src/training/objectives/ensemble-diversity.js';
import { standardObjective } from '../src/training/objectives/standard.js';
import { threatModel } from '../src/threats/threat-model.js';
import { parsePlanText } from '../src/pipeline/plan/load.js';
import { planDefendedStack } from '../src/pipeline/run/defended-stack.js';
import { readFileSync } from 'node:fs';

before(engine);

test('the stack attack on a multi-head model sees every head, and its ensemble margin agrees with the served layer', async () => {
  const built = buildMultiHead('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 8, heads: 3 });
  await trainModel({
    model: built.model,
    train: takeFirst(smallMnist().train, 512),
    epochs: 2,
    batchSize: 64,
    optimizer: 'adam',
    learningRate: 2e-3,
    seed: 8,
    objective: ensembleDiversity({ base: standardObjective(), members: built.members, lambda: 0.5 }),
  });
  const model = new TfjsClassifier(built.model, { id: 'heads' });
  const members = fusedMemberClassifiers(built.model, model.bounds);
  assert.equal(members?.length, 3);
  assert.equal(fusedMemberClassifiers(built.members, model.bounds), undefined, 'a model without an Average on top has no members');
  const data = takeFirst(smallMnist().test, 32);
  const x = batchTensor(data, 0, data.count);
  // Each member classifier is its head: the graph's per-head output.
  const gap = tf.tidy(() => {
    const heads = built.members.predict(x) as tf.Tensor[];
    return Math.max(...(members ?? []).map((m, i) => tf.max(tf.abs(tf.sub(m.logits(x), heads[i] as tf.Tensor))).dataSync()[0] as number));
  });
  assert.ok(gap < 1e-6, `member logits differ from the heads' by ${gap}`);

  const tensors = tf.memory().numTensors;
  const detector = ensembleDetector(members ?? [], { flagAt: 0.5 });
  const threat = threatModel({ norm: 'linf', epsilon: 0.15 });
  const stack = await attackStack({ model, detectors: [detector] }, x, data.y, threat, { steps: 10, seed: 1 });
  assert.ok(
    stack.misclassified.some((m) => m === 1),
    'the attack should misclassify some digits at 0.15',
  );
  // The served layer on the same points (and on the clean ones, which mostly pass): the heads' labels from one trunk pass.
  const served = fusedHeads(built.model, { threads: false });
  assert.ok(served);
  const clean = await stackVerdicts({ model, detectors: [detector] }, x, data.y);
  const layer = fusedEnsembleLayer({ flagAt: 0.5 });
  const seen = new Set<string>();
  for (const [points, passes] of [
    [(await stack.adversarial.data()) as Float32Array, stack.passes.ensemble],
    [data.x, clean.passes.ensemble],
  ] as const)
    for (let e = 0; e < data.count; e++) {
      const batch = { x: points.slice(e * 784, (e + 1) * 784), count: 1, shape: [28, 28, 1] };
      const run = served.runInline(batch);
      const labels = Int32Array.from(run.logits, (row) => row.indexOf(Math.max(...row)));
      const verdict = await layer.check({
        clientId: 'test',
        address: '127.0.0.1',
        model: { id: 'heads', kind: 'image', inputShape: [28, 28, 1], bounds: model.bounds, numClasses: 10 },
        body: null,
        batch,
        output: { logits: run.logits, probabilities: run.logits, labels, memberLabels: run.memberLabels },
      });
      seen.add(verdict.decision);
      assert.equal(verdict.decision === 'pass' ? 1 : 0, passes?.[e], `example ${e}: layer ${verdict.decision}`);
    }
  assert.deepEqual([...seen].sort(), ['flag', 'pass'], 'both verdicts should occur, else the agreement checks one side only');
  served.dispose();
  stack.adversarial.dispose();
  assert.equal(tf.memory().numTensors, tensors, 'the stack attack leaked tensors');

  // The plan's defended stack adds the ensemble layer for a fused model, and reports what it adds.
  const example = readFileSync(new URL('../examples/rampart.yaml', import.meta.url), 'utf8');
  const plan = parsePlanText(
    example.replace(
      'evaluation:\n',
      'evaluation:\n  defendedStack: { threat: linf-0.1, limit: 16, steps: 3, layers: { abstain: false, ood: false, ensemble: { flagAt: 0.5 } } }\n',
    ),
    'heads.yaml',
  );
  const report = await planDefendedStack({
    plan,
    model,
    data,
    fitData: data,
    threats: [threatModel({ id: 'linf-0.1', norm: 'linf', epsilon: 0.1 })],
  });
  assert.deepEqual(Object.keys(report?.added ?? {}), ['ensemble']);
  x.dispose();
  built.members.dispose();
  built.model.dispose();
});
