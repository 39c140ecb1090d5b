import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { engine, smallMnist } from '../../../test/fixtures.js';
import { takeFirst } from '../../data/index.js';
import { evaluateRobustness } from '../../eval/robustness.js';
import { threatsAt } from '../../threats/threat-model.js';
import { buildModel } from '../../models/architectures.js';
import { TfjsClassifier } from '../../models/tfjs-classifier.js';
import { trainModel } from '../trainer.js';
import { pgdAt } from './pgd-at.js';
import type { Objective } from './types.js';

before(engine);

test('PGD adversarial training makes an MLP measurably more robust than standard training on the same data and seed', async (t) => {
  const epsilon = 0.1;
  const train = takeFirst(smallMnist().train, 1000);
  const heldOut = smallMnist().test;
  const robustAccuracy = async (objective?: Objective): Promise<{ clean: number; robust: number }> => {
    const model = buildModel('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 11 });
    await trainModel({
      model,
      train,
      epochs: 3,
      batchSize: 64,
      optimizer: 'adam',
      learningRate: 2e-3,
      seed: 11,
      ...(objective ? { objective } : {}),
    });
    const report = await evaluateRobustness({
      model: new TfjsClassifier(model),
      data: heldOut,
      threats: threatsAt('linf', [epsilon]),
      attacks: [{ id: 'pgd', options: { steps: 20 } }],
      seed: 1,
    });
    model.dispose();
    return { clean: report.clean.accuracy, robust: report.worstCase[0]?.robustAccuracy ?? NaN };
  };
  const standard = await robustAccuracy();
  const adversarial = await robustAccuracy(pgdAt({ threat: { norm: 'linf', epsilon }, steps: 5 }));
  const margin = adversarial.robust - standard.robust;
  const summary = `standard clean ${standard.clean} robust ${standard.robust}; pgd-at clean ${adversarial.clean} robust ${adversarial.robust}`;
  t.diagnostic(`${summary}; margin ${margin.toFixed(3)}`);
  assert.ok(margin >= 0.15, `PGD-AT should add >= 15 points of robust accuracy at L∞ ${epsilon}: ${summary}`);
  assert.ok(adversarial.clean >= 0.7, `PGD-AT keeps a usable clean accuracy: ${summary}`);
});
