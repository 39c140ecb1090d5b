/**
 * Serving a multi-head model (defenses/ensemble/heads.ts) through `rampart serve`'s app:
 * the heads' labels come from the served model's one trunk pass, and the fused ensemble
 * layer flags their disagreement.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { FastifyInstance } from 'fastify';
import { engine } from './fixtures.js';
import { buildMultiHead } from '../src/defenses/ensemble/heads.js';
import { saveClassifierModel } from '../src/models/store.js';
import { buildServer } from '../src/serve/app.js';
import { directorySource } from '../src/serve/model-source.js';

let dir: string;
const apps: FastifyInstance[] = [];

before(async () => {
  await engine();
  dir = await mkdtemp(join(tmpdir(), 'rampart-serve-heads-'));
  // Three heads on a linear trunk (the flattened input): heads 0 and 1 say class 1, head 2 says class 2 (bias 30 outvotes them).
  const { model, members } = buildMultiHead('linear', { inputShape: [2, 2, 1], numClasses: 3, seed: 1, heads: 3 });
  const heads = model.layers.filter((l) => l.getClassName() === 'Dense');
  assert.equal(heads.length, 3);
  heads.forEach((layer, i) => layer.setWeights([tf.zeros([4, 3]), tf.tensor1d(i === 2 ? [0, 0, 30] : [0, 10, 0])]));
  await saveClassifierModel(model, dir, { architecture: 'linear', inputShape: [2, 2, 1], numClasses: 3, bounds: { min: 0, max: 1 } });
  members.dispose();
  model.dispose();
});

after(async () => {
  for (const a of apps) await a.close();
  await rm(dir, { recursive: true, force: true });
});

test("a multi-head model is served as one model whose heads' votes the fused ensemble layer judges", async () => {
  const app = await buildServer({
    source: directorySource({ dir }),
    config: { disclosure: 'full', layers: { queryPattern: false, ood: false, abstain: false, ensemble: { fused: true, flagAt: 0.5 } } },
    timers: false,
  });
  apps.push(app);
  const res = await app.inject({ method: 'POST', url: '/v1/predict', payload: { inputs: [[0.1, 0.2, 0.3, 0.4]] } });
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json();
  // The mean of the heads' logits: class 2 (30/3 against 20/3); two of three heads disagree with it.
  assert.equal(body.predictions[0].label, 2);
  const layer = body.trace.find((t: { layer: string }) => t.layer === 'ensemble');
  assert.equal(layer?.decision, 'flag');
  assert.equal(layer?.score, 0.667);
});
