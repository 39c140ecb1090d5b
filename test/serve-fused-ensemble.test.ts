/**
 * Serving a fused ensemble (defenses/ensemble/fused.ts): the members' labels come from the
 * served model's one forward pass, and the fused ensemble layer flags disagreement inside
 * the ensemble without a second model.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { FastifyInstance } from 'fastify';
import { engine } from './fixtures.js';
import { buildFusedEnsemble } from '../src/defenses/ensemble/fused.js';
import { buildModel } from '../src/models/architectures.js';
import { saveClassifierModel } from '../src/models/store.js';
import { buildServer } from '../src/serve/app.js';
import { directorySource } from '../src/serve/model-source.js';

const INFO = { architecture: 'linear', inputShape: [2, 2, 1], numClasses: 3, bounds: { min: 0, max: 1 } };
const apps: FastifyInstance[] = [];
let fusedDir: string;
let plainDir: string;

before(async () => {
  await engine();
  const root = await mkdtemp(join(tmpdir(), 'rampart-fused-'));
  // Member 0 always says class 0 (bias 5), member 1 always class 1 (bias 10): the mean says 1, half the members disagree.
  const { model, members } = buildFusedEnsemble('linear', { inputShape: [2, 2, 1], numClasses: 3, seed: 1, members: 2 });
  const dense = model.layers.filter((l) => l.getClassName() === 'Dense');
  dense.forEach((layer, i) => layer.setWeights([tf.zeros([4, 3]), tf.tensor1d(i === 0 ? [5, 0, 0] : [0, 10, 0])]));
  fusedDir = join(root, 'fused');
  await saveClassifierModel(model, fusedDir, INFO);
  members.dispose();
  model.dispose();
  const plain = buildModel('linear', { inputShape: [2, 2, 1], numClasses: 3, seed: 1 });
  plainDir = join(root, 'plain');
  await saveClassifierModel(plain, plainDir, INFO);
  plain.dispose();
});

after(async () => {
  for (const a of apps) await a.close();
});

async function predict(
  dir: string,
  flagAt: number,
): Promise<{ label: number; trace: { layer: string; decision: string; score?: number; reason?: string }[] }> {
  const a = await buildServer({
    source: directorySource({ dir }),
    config: { disclosure: 'full', layers: { queryPattern: false, ood: false, abstain: false, ensemble: { fused: true, flagAt } } },
    timers: false,
  });
  apps.push(a);
  const res = await a.inject({ method: 'POST', url: '/v1/predict', payload: { inputs: [[0.1, 0.2, 0.3, 0.4]] } });
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json();
  return { label: body.predictions[0].label, trace: body.trace };
}

test('a fused ensemble is served as one model whose members are judged from the same pass', async () => {
  const flagged = await predict(fusedDir, 0.5);
  assert.equal(flagged.label, 1);
  const layer = flagged.trace.find((t) => t.layer === 'ensemble');
  assert.equal(layer?.decision, 'flag');
  assert.equal(layer?.score, 0.5);
  const passed = await predict(fusedDir, 0.6);
  assert.equal(passed.trace.find((t) => t.layer === 'ensemble')?.decision, 'pass');
});

test('a model that is not a fused ensemble passes the fused layer, saying why', async () => {
  const res = await predict(plainDir, 0.5);
  const layer = res.trace.find((t) => t.layer === 'ensemble');
  assert.equal(layer?.decision, 'pass');
  assert.match(layer?.reason ?? '', /not a fused ensemble/);
});
