/**
 * Sanity checks for attribution methods (Adebayo et al. 2018, "Sanity Checks for Saliency
 * Maps", https://arxiv.org/abs/1810.03292): an attribution that barely changes when the
 * model's weights are replaced by random ones explains the input, not the model. Here a
 * small MNIST model is trained for a few hundred steps and its maps are compared with those of
 * the same architecture at random initial weights.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildModel } from '../../models/architectures.js';
import { TfjsClassifier } from '../../models/tfjs-classifier.js';
import { trainModel } from '../../training/trainer.js';
import { engine, smallMnist } from '../../../test/fixtures.js';
import { explainInput } from './explain.js';
import { spearman } from './stats.js';
import type { AttributionMethod } from './types.js';

const THRESHOLD = 0.5;

async function models(): Promise<{ trained: TfjsClassifier; random: TfjsClassifier }> {
  await engine();
  const { train } = smallMnist();
  const trainedModel = buildModel('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 5 });
  // 2,000 digits in batches of 8: 250 steps.
  await trainModel({ model: trainedModel, train, epochs: 1, batchSize: 8, optimizer: 'adam', learningRate: 1e-3, seed: 5 });
  const randomModel = buildModel('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 6 });
  return { trained: new TfjsClassifier(trainedModel, { id: 'trained' }), random: new TfjsClassifier(randomModel, { id: 'random' }) };
}

test('model randomisation: attributions of the trained model differ from those of random weights (rank correlation below 0.5)', async (t) => {
  const { trained, random } = await models();
  const { test: data } = smallMnist();
  const methods: AttributionMethod[] = ['gradient', 'smoothgrad', 'ig', 'occlusion'];
  for (const method of methods) {
    const correlations: number[] = [];
    for (let i = 0; i < 5; i++) {
      const x = data.x.slice(i * 784, (i + 1) * 784);
      const target = data.y[i] as number;
      const options = { method, target, steps: 32, samples: 16, window: 4, stride: 2, seed: 3 };
      const a = await explainInput(trained, x, options);
      const b = await explainInput(random, x, options);
      // Where x equals the baseline (IG) or the fill (occlusion), both maps are 0 on any model,
      // and those ties alone would correlate them; compare where the input has signal.
      const keep = [...x.keys()].filter((j) => method === 'gradient' || method === 'smoothgrad' || (x[j] as number) !== 0);
      const pick = (v: Float32Array): Float32Array => Float32Array.from(keep, (j) => Math.abs(v[j] as number));
      correlations.push(spearman(pick(a.values), pick(b.values)));
    }
    const mean = correlations.reduce((s, c) => s + c, 0) / correlations.length;
    t.diagnostic(`${method}: mean rank correlation trained vs random ${mean.toFixed(3)}`);
    assert.ok(mean < THRESHOLD, `${method}: mean rank correlation ${mean.toFixed(3)} between trained and random weights`);
  }
  trained.model.dispose();
  random.model.dispose();
});
