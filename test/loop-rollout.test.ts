/**
 * The staged rollout carried out on a compressed schedule (1-second phases, ticked by the
 * test): shadow scoring records agreement without touching answers, the canary share is
 * sticky per key, pause stops the clock, and after the last phase the candidate is
 * promoted in the registry; a candidate that disagrees with production is rolled back in
 * its shadow phase. Every step is in the audit log, whose chain verifies.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import * as tf from '@tensorflow/tfjs';
import { engine, smallMnist, trainedMlp } from './fixtures.js';
import { saveClassifierModel } from '../src/models/store.js';
import { buildModel } from '../src/models/architectures.js';
import { openGovernance } from '../src/governance/index.js';
import { buildServer } from '../src/serve/app.js';
import { KeyStore, generateApiKey, hashApiKey } from '../src/serve/auth.js';
import { registrySource } from '../src/serve/model-source.js';

const info = { architecture: 'mlp', inputShape: [28, 28, 1], numClasses: 10, bounds: { min: 0, max: 1 } };
const admin = generateApiKey();
const clients = Array.from({ length: 8 }, () => generateApiKey());
let dir: string;
let registry: string;
const digests: Record<string, string> = {};
let keys: KeyStore;
const apps: FastifyInstance[] = [];

before(async () => {
  await engine();
  dir = await mkdtemp(join(tmpdir(), 'rampart-loop-rollout-'));
  registry = join(dir, '.rampart');
  const trained = (await trainedMlp()).model;
  await saveClassifierModel(trained, join(dir, 'production'), info);
  // A bias nudged by 1e-4: another model (another id) that agrees with production on every input here.
  const last = trained.layers[trained.layers.length - 1]!;
  const [w, b] = last.getWeights() as [tf.Tensor, tf.Tensor];
  const nudged = tf.add(b, 1e-4);
  last.setWeights([w, nudged]);
  await saveClassifierModel(trained, join(dir, 'candidate'), info);
  last.setWeights([w, b]);
  nudged.dispose();
  const random = buildModel('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 99 });
  await saveClassifierModel(random, join(dir, 'random'), info);
  random.dispose();
  const gov = openGovernance(registry, { actor: 'ci' });
  for (const name of ['production', 'candidate', 'random'])
    digests[name] = gov.registry.put({ kind: 'model', name, path: join(dir, name) }).digest;
  gov.close();
  keys = new KeyStore([
    { id: admin.id, role: 'admin', hash: await hashApiKey(admin.key) },
    ...(await Promise.all(clients.map(async (c) => ({ id: c.id, role: 'operator' as const, hash: await hashApiKey(c.key) })))),
  ]);
});

after(async () => {
  for (const app of apps) await app.close();
});

async function serve(): Promise<FastifyInstance> {
  const gov = openGovernance(registry, { actor: 'rampart-serve' });
  const current = gov.registry.resolveTag('production');
  if (current !== digests.production) gov.registry.promote(digests.production as string, 'production', { reason: 'reset for the test' });
  const app = await buildServer({
    source: registrySource({ governance: gov, tag: 'production' }),
    keys,
    timers: false,
    config: { layers: { ood: false, queryPattern: false, rateLimit: false }, canary: false, rollback: false, monitor: false },
  });
  apps.push(app);
  return app;
}

const as = (key: string) => ({ authorization: `Bearer ${key}` });
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pixels = (i: number) => Array.from(smallMnist().test.x.subarray(i * 784, (i + 1) * 784));

async function predict(app: FastifyInstance, key: string, i: number): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/v1/predict', headers: as(key), payload: { inputs: [pixels(i)] } });
  assert.equal(res.statusCode, 200, res.body);
  return res.json<{ model: { id: string } }>().model.id;
}

async function measured(app: FastifyInstance): Promise<{ state: string; phase: string; measured: Record<string, number | null> }> {
  return (await app.inject({ method: 'GET', url: '/v1/rollout', headers: as(clients[0]!.key) })).json<{ rollout: never }>().rollout;
}

test('shadow → canary → full promotes the candidate; canary routing is sticky; pause stops the clock', async () => {
  const app = await serve();
  const production = app.rampart.holder.current.view.id;
  const start = await app.inject({
    method: 'POST',
    url: '/v1/rollout',
    headers: as(admin.key),
    payload: {
      ref: digests.candidate,
      reason: 'refresh passed its gate',
      phases: [
        { name: 'shadow', traffic: 0, duration: '1s', criteria: { minAgreement: 0.9, minSamples: 4 } },
        { name: 'canary', traffic: 0.5, duration: '1s', criteria: { maxAnomalyRate: 1, maxLatencyP99Ms: 10_000 } },
        { name: 'full', traffic: 1, duration: '1s' },
      ],
    },
  });
  assert.equal(start.statusCode, 200, start.body);
  assert.equal((await app.inject({ method: 'POST', url: '/v1/rollout', headers: as(clients[0]!.key), payload: {} })).statusCode, 403);

  // Shadow: production answers everything; the candidate scores copies afterwards.
  for (let i = 0; i < 6; i++) assert.equal(await predict(app, clients[i % 8]!.key, i), production);
  for (let tries = 0; tries < 100 && ((await measured(app)).measured.requests ?? 0) < 6; tries++) await wait(20);
  assert.equal((await measured(app)).measured.agreement, 1);
  assert.equal(await app.rollout.tick(), undefined, 'decided before the phase time was up');
  await wait(1050);
  assert.equal((await app.rollout.tick())?.kind, 'advance');

  // Canary: about half the keys go to the candidate, each always to the same side.
  const sides = await Promise.all(clients.map((c, i) => predict(app, c.key, i)));
  assert.ok(sides.some((id) => id !== production) && sides.some((id) => id === production), sides.join(' '));
  for (const [i, c] of clients.entries()) assert.equal(await predict(app, c.key, i + 8), sides[i]);
  await wait(1050);
  assert.equal((await app.rollout.tick())?.kind, 'advance');
  assert.equal((await measured(app)).phase, 'full');

  // Paused, the phase's clock stops: no decision however long it waits.
  const pause = await app.inject({
    method: 'POST',
    url: '/v1/rollout/pause',
    headers: as(clients[0]!.key),
    payload: { reason: 'looking at a dashboard' },
  });
  assert.equal(pause.statusCode, 200, pause.body);
  await wait(1100);
  assert.equal(await app.rollout.tick(), undefined);
  await app.inject({ method: 'POST', url: '/v1/rollout/resume', headers: as(clients[0]!.key), payload: { reason: 'fine' } });
  await wait(1050);
  assert.equal((await app.rollout.tick())?.kind, 'promote');
  assert.equal((await measured(app)).state, 'promoted');
  assert.notEqual(app.rampart.holder.current.view.id, production);

  const gov = openGovernance(registry, { mustExist: true });
  try {
    assert.equal(gov.registry.resolveTag('production'), digests.candidate);
    const steps = gov.audit
      .list()
      .filter((e) => e.action.startsWith('rollout.'))
      .map((e) => e.action);
    assert.deepEqual(steps, ['rollout.start', 'rollout.advance', 'rollout.advance', 'rollout.pause', 'rollout.resume', 'rollout.promote']);
    assert.ok(gov.audit.verify().ok);
  } finally {
    gov.close();
  }
});

test('a candidate that disagrees with production is rolled back in shadow; abort ends a rollout', async () => {
  const app = await serve();
  const production = app.rampart.holder.current.view.id;
  const start = (ref: string) =>
    app.inject({
      method: 'POST',
      url: '/v1/rollout',
      headers: as(admin.key),
      payload: { ref, reason: 'try it', phases: [{ name: 'shadow', traffic: 0, duration: '1s', criteria: { minAgreement: 0.9 } }] },
    });
  assert.equal((await start(digests.random as string)).statusCode, 200);
  for (let i = 0; i < 10; i++) await predict(app, clients[0]!.key, i);
  for (let tries = 0; tries < 100 && ((await measured(app)).measured.requests ?? 0) < 10; tries++) await wait(20);
  await wait(1050);
  const decision = await app.rollout.tick();
  assert.equal(decision?.kind, 'rollback');
  assert.match(decision?.kind === 'rollback' ? decision.failed.join() : '', /agreement/);
  assert.equal(app.rampart.holder.current.view.id, production);

  assert.equal((await start(digests.random as string)).statusCode, 200);
  assert.equal((await start(digests.random as string)).statusCode, 422);
  const aborted = await app.inject({
    method: 'POST',
    url: '/v1/rollout/abort',
    headers: as(clients[1]!.key),
    payload: { reason: 'wrong model' },
  });
  assert.equal(aborted.json<{ rollout: { state: string } }>().rollout.state, 'aborted');
  const gov = openGovernance(registry, { mustExist: true });
  try {
    assert.equal(gov.registry.resolveTag('production'), digests.production);
    const actions = gov.audit.list().map((e) => e.action);
    assert.ok(actions.includes('rollout.rollback') && actions.includes('rollout.abort'));
    assert.ok(gov.audit.verify().ok);
  } finally {
    gov.close();
  }
});
