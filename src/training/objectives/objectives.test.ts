import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { engine, smallMnist, tensorsAfter } from '../../../test/fixtures.js';
import { RampartError, ThreatError, UsageError } from '../../core/errors.js';
import { batchTensor } from '../../core/tensors.js';
import { takeFirst } from '../../data/index.js';
import { buildModel } from '../../models/architectures.js';
import { trainModel } from '../trainer.js';
import { awp } from './awp.js';
import { diversified } from './diversified.js';
import { fgsmRs } from './fgsm-rs.js';
import { klPerExample } from './losses.js';
import { noise } from './noise.js';
import { pgdAt } from './pgd-at.js';
import { patchAt } from './patch-at.js';
import { createObjective, objectiveIds } from './registry.js';
import { standardObjective } from './standard.js';
import { trades } from './trades.js';
import type { Objective, ObjectiveBatch } from './types.js';

before(engine);

const LINF = { norm: 'linf', epsilon: 0.1 } as const;
const L2 = { norm: 'l2', epsilon: 1.5 } as const;

function mlp(seed = 3): tf.Sequential {
  return buildModel('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed });
}

/** A batch of the first `n` training digits (the caller disposes x and y). */
function digits(n: number, seed = 1, start = 0): ObjectiveBatch {
  const data = smallMnist().train;
  return { x: batchTensor(data, start, start + n), y: tf.tensor1d(data.y.slice(start, start + n), 'int32'), epoch: 0, step: 0, seed };
}

function dispose(batch: ObjectiveBatch): void {
  batch.x.dispose();
  batch.y.dispose();
}

async function prepared(objective: Objective, model: tf.LayersModel, batch: ObjectiveBatch): Promise<tf.Tensor> {
  return objective.prepare ? objective.prepare(model, batch) : tf.clone(batch.x);
}

function lossValue(objective: Objective, model: tf.LayersModel, batch: ObjectiveBatch, input: tf.Tensor): number {
  const loss = objective.loss(model, batch, input);
  const value = loss.dataSync()[0] as number;
  loss.dispose();
  return value;
}

/** Per-example L∞ and L2 distances and the min/max value of `a`. */
function geometry(a: tf.Tensor, x: tf.Tensor): { linf: number; l2: number; min: number; max: number } {
  return tf.tidy(() => {
    const d = tf.sub(a, x).reshape([x.shape[0] as number, -1]);
    return {
      linf: tf.max(tf.abs(d)).dataSync()[0] as number,
      l2: tf.max(tf.sqrt(tf.sum(tf.square(d), 1))).dataSync()[0] as number,
      min: tf.min(a).dataSync()[0] as number,
      max: tf.max(a).dataSync()[0] as number,
    };
  });
}

function sameValues(a: tf.Tensor, b: tf.Tensor): boolean {
  const x = a.dataSync();
  const y = b.dataSync();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

function weightsOf(model: tf.LayersModel): Float32Array[] {
  return model.getWeights().map((w) => Float32Array.from(w.dataSync()));
}

function euclidean(values: Float32Array): number {
  let sum = 0;
  for (const v of values) sum += v * v;
  return Math.sqrt(sum);
}

function maxDifference(a: Float32Array[], b: Float32Array[]): number {
  let max = 0;
  a.forEach((w, i) => w.forEach((v, j) => (max = Math.max(max, Math.abs(v - (b[i]?.[j] ?? NaN))))));
  return max;
}

describe('every objective', () => {
  const objectives: [string, () => Objective][] = [
    ['pgd-at linf', () => pgdAt({ threat: LINF, steps: 3 })],
    ['pgd-at l2 mixed', () => pgdAt({ threat: L2, steps: 3, mixRatio: 0.5 })],
    ['trades', () => trades({ threat: LINF, steps: 3 })],
    ['fgsm-rs', () => fgsmRs({ threat: LINF })],
    ['noise', () => noise({ sigma: 0.3 })],
    [
      'diversified',
      () =>
        diversified({
          members: [
            { objective: pgdAt({ threat: LINF, steps: 3 }), weight: 1 },
            { objective: noise({ sigma: 0.3 }), weight: 1 },
          ],
        }),
    ],
    ['awp(pgd-at)', () => awp(pgdAt({ threat: LINF, steps: 3 }))],
    ['patch-at', () => patchAt({ size: 6, steps: 2 })],
  ];

  for (const [name, make] of objectives) {
    test(`${name}: the loss falls over three epochs of the trainer`, async () => {
      const model = mlp(5);
      const report = await trainModel({
        model,
        train: takeFirst(smallMnist().train, 256),
        epochs: 3,
        batchSize: 64,
        optimizer: 'adam',
        learningRate: 2e-3,
        seed: 5,
        objective: make(),
      });
      const losses = report.epochs.map((e) => e.loss);
      assert.ok((losses[2] as number) < (losses[0] as number) * 0.85, `loss should fall: ${losses.map((l) => l.toFixed(3))}`);
      assert.equal(report.config.objective.id, make().id);
      model.dispose();
    });
  }

  test('prepare + loss (+ afterUpdate) leak no tensors', async () => {
    const model = mlp();
    const batch = digits(32);
    for (const [name, make] of objectives) {
      const objective = make();
      const step = async (): Promise<void> => {
        const input = await prepared(objective, model, batch);
        const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
        const { value, grads } = tf.variableGrads(() => objective.loss(model, batch, input), variables);
        [value, ...Object.values(grads)].forEach((t) => t.dispose());
        objective.afterUpdate?.(model, batch);
        input.dispose();
      };
      await step(); // first call may create lazily-held state
      for (let i = 0; i < 3; i++) assert.equal(await tensorsAfter(step), 0, `${name} leaked tensors`);
    }
    dispose(batch);
    model.dispose();
  });
});

describe('adversarial examples of the inner maximisation', () => {
  let model: tf.Sequential;
  before(async () => {
    model = mlp();
    await trainModel({
      model,
      train: takeFirst(smallMnist().train, 256),
      epochs: 1,
      batchSize: 64,
      optimizer: 'adam',
      learningRate: 2e-3,
      seed: 3,
    });
  });
  after(() => model.dispose());

  const cases: [string, () => Objective, 'linf' | 'l2', number][] = [
    ['pgd-at linf', () => pgdAt({ threat: LINF, steps: 5 }), 'linf', LINF.epsilon],
    ['pgd-at l2', () => pgdAt({ threat: L2, steps: 5 }), 'l2', L2.epsilon],
    ['trades linf', () => trades({ threat: LINF, steps: 5 }), 'linf', LINF.epsilon],
    ['trades l2', () => trades({ threat: L2, steps: 5 }), 'l2', L2.epsilon],
    ['fgsm-rs', () => fgsmRs({ threat: LINF }), 'linf', LINF.epsilon],
  ];
  for (const [name, make, norm, epsilon] of cases) {
    test(`${name}: inside the ball and the bounds, moved, seeded`, async () => {
      const objective = make();
      const batch = digits(64, 11);
      const a = await prepared(objective, model, batch);
      const g = geometry(a, batch.x);
      assert.ok(g[norm] <= epsilon * (1 + 1e-5), `${norm} distance ${g[norm]} > ${epsilon}`);
      assert.ok(g[norm] > 0.5 * epsilon, `the search should move towards the edge of the ball: ${g[norm]}`);
      assert.ok(g.min >= 0 && g.max <= 1, `outside the bounds: [${g.min}, ${g.max}]`);
      const again = await prepared(objective, model, batch);
      assert.ok(sameValues(a, again), 'same seed, same adversarial batch');
      const other = await prepared(objective, model, { ...batch, seed: 12 });
      assert.ok(!sameValues(a, other), 'another seed, another random start');
      [a, again, other].forEach((t) => t.dispose());
      dispose(batch);
    });
  }

  test('pgd-at raises the cross-entropy; mixRatio blends clean and adversarial loss', async () => {
    const batch = digits(64, 2);
    const full = pgdAt({ threat: LINF, steps: 5 });
    const half = pgdAt({ threat: LINF, steps: 5, mixRatio: 0.25 });
    const a = await prepared(full, model, batch);
    const adv = lossValue(full, model, batch, a);
    const clean = lossValue(standardObjective(), model, batch, batch.x);
    assert.ok(adv > clean * 1.5, `adversarial CE ${adv} should exceed clean CE ${clean}`);
    const b = await prepared(half, model, batch);
    assert.ok(sameValues(a, b), 'the mix ratio does not change the attack');
    assert.ok(Math.abs(lossValue(half, model, batch, b) - (0.75 * clean + 0.25 * adv)) < 1e-5);
    [a, b].forEach((t) => t.dispose());
    dispose(batch);
  });

  test('trades finds a larger KL than a random point of the ball and adds β·KL to the clean CE', async () => {
    const batch = digits(64, 4);
    const objective = trades({ threat: LINF, steps: 5, beta: 6 });
    const a = await prepared(objective, model, batch);
    const kl = (input: tf.Tensor): number =>
      tf.tidy(() => {
        const logP = tf.logSoftmax(model.predict(batch.x) as tf.Tensor2D) as tf.Tensor2D;
        return tf.mean(klPerExample(logP, model.predict(input) as tf.Tensor2D)).dataSync()[0] as number;
      });
    const random = tf.tidy(() => tf.clipByValue(tf.add(batch.x, tf.randomUniform(batch.x.shape, -0.1, 0.1, 'float32', 9)), 0, 1));
    assert.ok(kl(a) > 3 * kl(random), `KL at the TRADES point ${kl(a)} vs random ${kl(random)}`);
    const clean = lossValue(standardObjective(), model, batch, batch.x);
    assert.ok(Math.abs(lossValue(objective, model, batch, a) - (clean + 6 * kl(a))) < 1e-4);
    [a, random].forEach((t) => t.dispose());
    dispose(batch);
  });
});

describe('no adversary reproduces standard training exactly', () => {
  const run = async (objective: Objective): Promise<Float32Array[]> => {
    const model = mlp(9);
    await trainModel({
      model,
      train: takeFirst(smallMnist().train, 128),
      epochs: 1,
      batchSize: 32,
      optimizer: 'sgd',
      learningRate: 0.05,
      seed: 9,
      objective,
    });
    const w = weightsOf(model);
    model.dispose();
    return w;
  };
  test('trades with β = 0 and pgd-at with mixRatio 0 give the standard weights', async () => {
    const standard = await run(standardObjective());
    assert.equal(maxDifference(await run(trades({ threat: LINF, beta: 0 })), standard), 0);
    assert.equal(maxDifference(await run(pgdAt({ threat: LINF, mixRatio: 0 })), standard), 0);
  });
  test('their loss is the standard cross-entropy on the clean batch', async () => {
    const model = mlp();
    const batch = digits(32);
    const clean = lossValue(standardObjective(), model, batch, batch.x);
    for (const objective of [trades({ threat: LINF, beta: 0 }), pgdAt({ threat: LINF, mixRatio: 0 })]) {
      const input = await prepared(objective, model, batch);
      assert.ok(sameValues(input, batch.x));
      assert.equal(lossValue(objective, model, batch, input), clean);
      input.dispose();
    }
    dispose(batch);
    model.dispose();
  });
});

describe('noise', () => {
  test('adds seeded N(0, σ²) noise, unclipped unless bounds are given', async () => {
    const model = mlp();
    const batch = digits(64, 3);
    const sigma = 0.3;
    const objective = noise({ sigma });
    const a = await prepared(objective, model, batch);
    const [mean, std] = tf.tidy(() => {
      const moments = tf.moments(tf.sub(a, batch.x));
      return [moments.mean.dataSync()[0] as number, Math.sqrt(moments.variance.dataSync()[0] as number)];
    });
    assert.ok(Math.abs(mean as number) < 0.01 && Math.abs((std as number) - sigma) < 0.01, `noise mean ${mean}, std ${std}`);
    const g = geometry(a, batch.x);
    assert.ok(g.min < 0 && g.max > 1, 'unclipped by default');
    const again = await prepared(objective, model, batch);
    assert.ok(sameValues(a, again));
    const clipped = await prepared(noise({ sigma, bounds: { min: 0, max: 1 } }), model, batch);
    const c = geometry(clipped, batch.x);
    assert.ok(c.min >= 0 && c.max <= 1);
    [a, again, clipped].forEach((t) => t.dispose());
    dispose(batch);
    model.dispose();
  });
});

describe('diversified', () => {
  /** An objective that records which hook ran with which seed. */
  const spy = (id: string, log: string[]): Objective => ({
    id,
    config: {},
    prepare: async (_model, batch) => {
      log.push(`${id}:prepare:${batch.seed}`);
      return tf.clone(batch.x);
    },
    loss: (model, batch, input) => {
      log.push(`${id}:loss:${batch.seed}`);
      return standardObjective().loss(model, batch, input);
    },
    afterUpdate: (_model, batch) => {
      log.push(`${id}:after:${batch.seed}`);
    },
  });

  test('draws one member per batch in proportion to the weights, from the batch seed alone', async () => {
    const model = buildModel('linear', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
    const log: string[] = [];
    const objective = diversified({
      members: [
        { objective: spy('a', log), weight: 3 },
        { objective: spy('b', log), weight: 1 },
        { objective: spy('never', log), weight: 0 },
      ],
    });
    const counts: Record<string, number> = { a: 0, b: 0, never: 0 };
    const batch = digits(2);
    for (let seed = 0; seed < 400; seed++) {
      log.length = 0;
      const b = { ...batch, seed };
      const input = await prepared(objective, model, b);
      objective.loss(model, b, input).dispose();
      objective.afterUpdate?.(model, b);
      input.dispose();
      const [first, ...rest] = log;
      const [id, , memberSeed] = (first as string).split(':');
      assert.deepEqual(
        rest,
        [`${id}:loss:${memberSeed}`, `${id}:after:${memberSeed}`],
        'prepare, loss and afterUpdate agree on the member',
      );
      counts[id as string]! += 1;
    }
    assert.equal(counts.never, 0);
    assert.ok(Math.abs((counts.a as number) / 400 - 0.75) < 0.07, `draws ${JSON.stringify(counts)}`);
    log.length = 0;
    (await prepared(objective, model, { ...batch, seed: 7 })).dispose();
    (await prepared(objective, model, { ...batch, seed: 7 })).dispose();
    assert.equal(log[0], log[1], 'same seed, same member and member seed');
    assert.deepEqual(objective.config, {
      members: [
        { id: 'a', weight: 3, config: {} },
        { id: 'b', weight: 1, config: {} },
        { id: 'never', weight: 0, config: {} },
      ],
    });
    dispose(batch);
    model.dispose();
  });

  test('rejects empty member lists and bad weights', () => {
    const isOptionError = (e: unknown) => e instanceof UsageError && e.code === 'E_OBJECTIVE_OPTION';
    const member = (weight: number) => ({ objective: standardObjective(), weight });
    assert.throws(() => diversified({ members: [] }), isOptionError);
    assert.throws(() => diversified({ members: [member(1), member(-1)] }), /entry 1 \('standard'\) has weight -1/);
    assert.throws(() => diversified({ members: [member(NaN)] }), isOptionError);
    assert.throws(() => diversified({ members: [member(0), member(0)] }), /weights sum to 0/);
  });
});

describe('awp', () => {
  /** Kernels (rank >= 2) as AWP sees them. */
  const kernels = (model: tf.LayersModel): tf.Variable[] =>
    model.trainableWeights.map((w) => w.read() as tf.Variable).filter((v) => v.rank >= 2);

  test('perturbs each kernel by γ‖w‖ g/‖g‖ and removes it exactly: a step at learning rate 0 changes nothing', async () => {
    const model = mlp();
    const batch = digits(32, 5);
    const gamma = 0.05;
    const inner = pgdAt({ threat: LINF, steps: 3 });
    const objective = awp(inner, { gamma });
    const before = weightsOf(model);

    // The expected offsets, from the same (seeded) adversarial batch at the unperturbed weights.
    const adv = await prepared(inner, model, batch);
    const expected = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => inner.loss(model, batch, adv), kernels(model));
      value.dispose();
      return kernels(model).map((v) => {
        const g = grads[v.name] as tf.Tensor;
        return tf.mul(g, tf.div(tf.mul(gamma, tf.norm(v)), tf.norm(g)));
      });
    });

    const input = await prepared(objective, model, batch);
    assert.ok(sameValues(input, adv), "AWP trains on the inner objective's batch");
    const perturbed = weightsOf(model);
    const kernelIndex = model.trainableWeights
      .map((w, i) => [w.shape.length, i] as const)
      .filter(([rank]) => rank >= 2)
      .map(([, i]) => i);
    kernelIndex.forEach((index, k) => {
      const moved = Float32Array.from(perturbed[index] as Float32Array, (v, j) => v - (before[index]?.[j] ?? NaN));
      const want = expected[k]?.dataSync() as Float32Array;
      assert.ok(maxDifference([moved], [want]) < 1e-6, `kernel ${index} moved by the wrong offset`);
      const norm = euclidean(moved);
      const weightNorm = euclidean(before[index] as Float32Array);
      assert.ok(Math.abs(norm - gamma * weightNorm) < 1e-3 * weightNorm, `‖v‖ = ${norm}, γ‖w‖ = ${gamma * weightNorm}`);
    });
    const biases = model.trainableWeights
      .map((w, i) => [w.shape.length, i] as const)
      .filter(([rank]) => rank < 2)
      .map(([, i]) => i);
    for (const index of biases) assert.deepEqual(perturbed[index], before[index], 'biases are not perturbed');

    const optimizer = tf.train.sgd(0);
    tf.tidy(() => {
      optimizer.minimize(
        () => objective.loss(model, batch, input),
        false,
        model.trainableWeights.map((w) => w.read() as tf.Variable),
      );
    });
    objective.afterUpdate?.(model, batch);
    assert.ok(maxDifference(weightsOf(model), before) < 1e-6, `perturbation left over: ${maxDifference(weightsOf(model), before)}`);
    optimizer.dispose();
    [adv, input, ...expected].forEach((t) => t.dispose());
    dispose(batch);
    model.dispose();
  });

  test("the step is the optimizer's update taken at the perturbed weights, applied to the unperturbed ones", async () => {
    const model = mlp();
    const batch = digits(32, 6);
    const objective = awp(standardObjective(), { gamma: 0.1 });
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const before = weightsOf(model);
    const input = await prepared(objective, model, batch);
    // The gradient the optimizer will see: at w + v.
    const gradients = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => objective.loss(model, batch, input), variables);
      value.dispose();
      return variables.map((v) => grads[v.name] as tf.Tensor);
    });
    const rate = 0.5;
    const optimizer = tf.train.sgd(rate);
    tf.tidy(() => {
      optimizer.minimize(() => objective.loss(model, batch, input), false, variables);
    });
    objective.afterUpdate?.(model, batch);
    const want = before.map((w, i) => {
      const g = gradients[i]?.dataSync() as Float32Array;
      return Float32Array.from(w, (v, j) => v - rate * (g[j] as number));
    });
    assert.ok(maxDifference(weightsOf(model), want) < 1e-6, `off by ${maxDifference(weightsOf(model), want)}`);
    assert.ok(maxDifference(weightsOf(model), before) > 1e-3, 'the step did something');
    optimizer.dispose();
    [input, ...gradients].forEach((t) => t.dispose());
    dispose(batch);
    model.dispose();
  });

  test('the trainer removes the perturbation after every step (near-zero learning rate leaves the weights)', async () => {
    const model = mlp();
    const before = weightsOf(model);
    await trainModel({
      model,
      train: takeFirst(smallMnist().train, 128),
      epochs: 1,
      batchSize: 32,
      optimizer: 'sgd',
      momentum: 0,
      learningRate: 1e-9,
      seed: 2,
      objective: awp(standardObjective(), { gamma: 0.5 }),
    });
    assert.ok(maxDifference(weightsOf(model), before) < 1e-6, `weights drifted by ${maxDifference(weightsOf(model), before)}`);
    model.dispose();
  });

  test('a step whose afterUpdate never ran is undone at the next prepare; warm-up epochs skip AWP', async () => {
    const model = mlp();
    const batch = digits(16);
    const before = weightsOf(model);
    const objective = awp(standardObjective(), { gamma: 0.1, warmupEpochs: 1 });
    (await prepared(objective, model, batch)).dispose();
    assert.ok(maxDifference(weightsOf(model), before) < 1e-6, 'epoch 0 is a warm-up epoch');
    const later = { ...batch, epoch: 1 };
    (await prepared(objective, model, later)).dispose();
    assert.ok(maxDifference(weightsOf(model), before) > 1e-4, 'perturbed after the warm-up');
    (await prepared(objective, model, later)).dispose();
    objective.afterUpdate?.(model, later);
    assert.ok(maxDifference(weightsOf(model), before) < 1e-6, 'no offset accumulates');
    assert.equal(objective.id, 'standard+awp');
    assert.deepEqual(objective.config, { gamma: 0.1, warmupEpochs: 1, inner: { id: 'standard', config: {} } });
    dispose(batch);
    model.dispose();
  });
});

describe('registry', () => {
  const code = (c: string) => (e: unknown) => e instanceof RampartError && e.code === c;

  test('builds every id with resolved configs', () => {
    assert.deepEqual(objectiveIds(), [
      'standard',
      'pgd-at',
      'trades',
      'fgsm-rs',
      'noise',
      'diversified',
      'patch-at',
      'tabular-pgd-at',
      'sparse-at',
      'occlusion-at',
    ]);
    const pgd = createObjective('pgd-at', { threat: { norm: 'linf', epsilon: 0.3 }, steps: 10 });
    assert.equal(pgd.id, 'pgd-at');
    assert.deepEqual(pgd.config, {
      threat: { id: 'linf-0.3', norm: 'linf', epsilon: 0.3, bounds: { min: 0, max: 1 } },
      steps: 10,
      stepSize: 0.075,
      randomStart: true,
      mixRatio: 1,
    });
    assert.equal(createObjective('trades', { threat: LINF }).config.beta, 6);
    assert.equal(createObjective('fgsm-rs', { threat: { norm: 'linf', epsilon: 0.2 } }).config.stepSize, 0.25);
    assert.deepEqual(createObjective('noise').config, { sigma: 0.25 });
    assert.equal(createObjective('standard').id, 'standard');
    const wrapped = createObjective('trades', { threat: LINF, awp: { gamma: 0.01 } });
    assert.equal(wrapped.id, 'trades+awp');
    assert.equal(wrapped.config.gamma, 0.01);
    assert.equal(createObjective('pgd-at', { threat: LINF, awp: true }).config.gamma, 5e-3);
    const mix = createObjective('diversified', {
      members: [
        { id: 'pgd-at', weight: 2, options: { threat: LINF } },
        { id: 'noise', weight: 1 },
      ],
    });
    assert.deepEqual(
      (mix.config.members as { id: string }[]).map((m) => m.id),
      ['pgd-at', 'noise'],
    );
    // Configs are plain JSON: the trainer hashes them to recognise a run when resuming.
    assert.deepEqual(JSON.parse(JSON.stringify(mix.config)), mix.config);
  });

  test('unknown ids and bad options fail with codes and the valid choices', () => {
    assert.throws(
      () => createObjective('mart'),
      (e: unknown) =>
        e instanceof UsageError &&
        e.code === 'E_UNKNOWN_OBJECTIVE' &&
        /'standard', 'pgd-at', 'trades', 'fgsm-rs', 'noise', 'diversified', 'patch-at', 'tabular-pgd-at', 'sparse-at' or 'occlusion-at'/.test(
          e.message,
        ),
    );
    assert.throws(
      () => createObjective('pgd-at', { threat: LINF, mixRatio: 1.5 }),
      /pgd-at option 'mixRatio' must be a number in \[0, 1\]; got 1.5/,
    );
    assert.throws(() => createObjective('trades', { threat: LINF, beta: -1 }), /trades option 'beta' must be a number >= 0; got -1/);
    assert.throws(() => createObjective('pgd-at', { threat: LINF, steps: 0 }), code('E_OBJECTIVE_OPTION'));
    assert.throws(() => createObjective('pgd-at', { threat: LINF, stepSize: -0.1 }), code('E_OBJECTIVE_OPTION'));
    assert.throws(() => createObjective('noise', { sigma: -0.5 }), code('E_OBJECTIVE_OPTION'));
    assert.throws(() => createObjective('noise', { bounds: { min: 1, max: 0 } }), code('E_OBJECTIVE_OPTION'));
    assert.throws(() => createObjective('pgd-at'), /pgd-at option 'threat' must be a threat such as \{ norm: 'linf', epsilon: 0.3 \}/);
    assert.throws(
      () => createObjective('fgsm-rs', { threat: { norm: 'linf', epsilon: 2 } }),
      (e: unknown) =>
        e instanceof UsageError &&
        e.code === 'E_OBJECTIVE_OPTION' &&
        e.cause instanceof ThreatError &&
        e.cause.code === 'E_EPSILON_RANGE' &&
        /fgsm-rs option 'threat' is invalid: L∞ epsilon 2 exceeds/.test(e.message),
    );
    assert.throws(
      () => createObjective('trades', { threat: { norm: 'l7', epsilon: 1 } }),
      (e: unknown) => e instanceof UsageError && (e.cause as RampartError).code === 'E_UNKNOWN_NORM',
    );
    assert.throws(
      () => createObjective('pgd-at', { threat: LINF, beta: 6 }),
      /pgd-at has no option 'beta'; its options are 'threat', 'steps', 'stepSize', 'randomStart', 'mixRatio' or 'awp'/,
    );
    assert.throws(() => createObjective('standard', { sigma: 1 } as never), /standard has no option 'sigma'; its options are 'awp'/);
    assert.throws(
      () => createObjective('standard', { awp: 'yes' } as never),
      /standard option 'awp' must be true, false or \{ gamma, warmupEpochs \}/,
    );
    assert.throws(() => createObjective('standard', { awp: { gamma: -1 } }), /awp option 'gamma' must be a number >= 0/);
    assert.throws(() => createObjective('standard', { awp: { gama: 1 } as never }), /awp has no option 'gama'/);
    assert.throws(() => createObjective('diversified', { members: [{ id: 'noise', weight: -1 }] }), /weights must be finite numbers >= 0/);
    assert.throws(() => createObjective('diversified', { members: [{ id: 'pgd', weight: 1 }] }), code('E_UNKNOWN_OBJECTIVE'));
    assert.throws(() => createObjective('diversified', {}), code('E_OBJECTIVE_OPTION'));
  });
});
