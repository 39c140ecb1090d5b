import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { RampartError, UsageError } from '../core/errors.js';
import { threatModel } from '../threats/threat-model.js';
import { engine, linearModel } from '../../test/fixtures.js';
import { attackIds, attackOptionNames, createAttack } from './registry.js';
import { attackOf, wrapAttack } from './wrapper.js';

before(engine);

const model = () =>
  linearModel(
    [
      [1, 0],
      [0, 1],
    ],
    [0, 0],
  );
const threat = threatModel({ norm: 'linf', epsilon: 0.1 });

test('the wrapper refuses a search that leaves the ball, and leaks nothing', async () => {
  const m = model();
  const escaping = attackOf(
    'escape',
    { shift: 0.5 },
    wrapAttack('escape', 'scores', async (context, config: { shift: number }) => ({
      adversarial: tf.tidy(() => tf.clipByValue(tf.add(context.x, config.shift), 0, 1)),
      success: new Uint8Array(context.labels.length),
      queries: new Int32Array(context.labels.length),
    })),
  );
  const x = tf.tensor2d([[0.2, 0.3]]);
  const before = tf.memory().numTensors;
  const contractError = (e: unknown) =>
    e instanceof RampartError && e.code === 'E_ATTACK_CONTRACT' && /largest perturbation 0\.5/.test(e.message);
  await assert.rejects(escaping.run(m, x, Int32Array.from([1]), threat), contractError);
  assert.equal(tf.memory().numTensors, before, 'the rejected result was disposed');
  x.dispose();
  m.model.dispose();
});

test('the wrapper measures the perturbation and hands the search its resolved context', async () => {
  const m = model();
  let seen: { targeted: boolean; goalClasses: number[]; seed: number; norm: string } | undefined;
  const nudge = wrapAttack('nudge', 'gradients', async (context) => {
    seen = { targeted: context.targeted, goalClasses: [...context.goalClasses], seed: context.seed, norm: context.norm.id };
    const adversarial = tf.tidy(() => tf.add(context.x, tf.tensor2d([[0.05, -0.1]])));
    return { adversarial, success: new Uint8Array(1), queries: Int32Array.from([1]) };
  });
  const x = tf.tensor2d([[0.5, 0.5]]);
  const goal = { kind: 'targeted' as const, targets: Int32Array.from([1]) };
  const result = await nudge(m, x, Int32Array.from([0]), threat, {}, { goal, seed: 9 });
  assert.deepEqual(seen, { targeted: true, goalClasses: [1], seed: 9, norm: 'linf' });
  assert.ok(Math.abs((result.perturbation[0] as number) - 0.1) < 1e-6);
  result.adversarial.dispose();
  x.dispose();
  m.model.dispose();
});

test('every attack parses its options: unknown names list the valid ones, bad values say what they must be', () => {
  for (const id of attackIds()) {
    const valid = attackOptionNames(id);
    assert.ok(valid.length > 0, `${id} declares its options`);
    const names = (e: unknown) => e instanceof UsageError && e.code === 'E_ATTACK_OPTION';
    const expected = `${id} has no option 'nonsense'; its options are '${valid[0]}'`;
    const listed = (e: unknown) => names(e) && (e as Error).message.includes(expected);
    assert.throws(() => createAttack(id, { nonsense: 1 }), listed);
  }
  assert.throws(() => createAttack('pgd', { steps: 0 }), /pgd option 'steps' must be a whole number >= 1; got 0\./);
  assert.throws(() => createAttack('pgd', { loss: 'hinge' }), /pgd option 'loss' must be 'ce' or 'margin'; got "hinge"\./);
  assert.throws(() => createAttack('cw', { abortEarly: 'yes' }), /cw option 'abortEarly' must be true or false/);
  assert.throws(() => createAttack('apgd-ce', { targetClasses: 3 }), /apgd-ce has no option 'targetClasses'/);
  assert.deepEqual(createAttack('deepfool', { overshoot: 0, steps: undefined }).config, { steps: 50, overshoot: 0, candidates: 10 });
});

test('a row window that does not fit the batch is refused with E_ATTACK_WINDOW', async () => {
  const m = model();
  const x = tf.tensor2d([
    [0.2, 0.3],
    [0.4, 0.1],
  ]);
  const labels = Int32Array.from([1, 0]);
  const refused = (e: unknown) => e instanceof UsageError && e.code === 'E_ATTACK_WINDOW';
  for (const window of [
    { offset: 3, of: 4 },
    { offset: -1, of: 4 },
    { offset: 0.5, of: 4 },
  ])
    await assert.rejects(createAttack('pgd', { steps: 1 }).run(m, x, labels, threat, { window }), refused);
  const fits = await createAttack('pgd', { steps: 1 }).run(m, x, labels, threat, { window: { offset: 2, of: 4 }, seed: 1 });
  fits.adversarial.dispose();
  x.dispose();
  m.model.dispose();
});
