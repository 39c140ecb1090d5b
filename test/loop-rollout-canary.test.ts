/**
 * The rollout's canary-accuracy criterion with real probes: a server listening on loopback
 * generates its canary probes (PGD at a small epsilon on held-out digits) against the
 * production model, and runs a one-phase canary rollout on its own timer. A candidate whose
 * labels are shifted by one (its last layer's columns rolled: a model that loads and
 * answers, wrongly) scores far below production on the probes and is rolled back, the
 * criterion named in the audit entry; a candidate that differs from production only by a
 * 1e-4 bias nudge scores the same and is promoted. The threshold is half of production's
 * own probe accuracy, measured first.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import * as tf from '@tensorflow/tfjs';
import { engine, smallMnist, trainedMlp } from './fixtures.js';
import { saveClassifierModel } from '../src/models/store.js';
import { openGovernance } from '../src/governance/index.js';
import { buildServer } from '../src/serve/app.js';
import { KeyStore, generateApiKey, hashApiKey } from '../src/serve/auth.js';
import { registrySource } from '../src/serve/model-source.js';
import { takeFirst } from '../src/data/index.js';

const info = { architecture: 'mlp', inputShape: [28, 28, 1], numClasses: 10, bounds: { min: 0, max: 1 } };
const admin = generateApiKey();
const client = generateApiKey();
let dir: string;
let registry: string;
const digests: Record<string, string> = {};
let keys: KeyStore;
const apps: FastifyInstance[] = [];

/** Saves the trained MLP with its last layer changed by `edit`, then restores the shared fixture's weights. */
async function saveEdited(name: string, edit: (w: tf.Tensor, b: tf.Tensor) => [tf.Tensor, tf.Tensor]): Promise<void> {
  const model = (await trainedMlp()).model;
  const last = model.layers[model.layers.length - 1]!;
  const [w, b] = last.getWeights() as [tf.Tensor, tf.Tensor];
  const edited = edit(w, b);
  last.setWeights(edited);
  try {
    await saveClassifierModel(model, join(dir, name), info);
  } finally {
    last.setWeights([w, b]);
    for (const t of edited) if (t !== w && t !== b) t.dispose();
  }
}

before(async () => {
  await engine();
  dir = await mkdtemp(join(tmpdir(), 'rampart-loop-rollout-canary-'));
  registry = join(dir, '.rampart');
  await saveEdited('production', (w, b) => [w, b]);
  await saveEdited('nudged', (w, b) => [w, tf.add(b, 1e-4)]);
  // Column j of the shifted kernel is column j-1 of the real one: it answers (true class + 1) where production is right.
  await saveEdited('shifted', (w, b) => [
    tf.concat([w.slice([0, 9], [-1, 1]), w.slice([0, 0], [-1, 9])], 1),
    tf.concat([b.slice([9], [1]), b.slice([0], [9])]),
  ]);
  const gov = openGovernance(registry, { actor: 'ci' });
  try {
    for (const name of ['production', 'nudged', 'shifted'])
      digests[name] = gov.registry.put({ kind: 'model', name, path: join(dir, name) }).digest;
  } finally {
    gov.close();
  }
  keys = new KeyStore([
    { id: admin.id, role: 'admin', hash: await hashApiKey(admin.key) },
    { id: client.id, role: 'operator', hash: await hashApiKey(client.key) },
  ]);
});

after(async () => {
  for (const app of apps) await app.close();
  await rm(dir, { recursive: true, force: true });
});

/** A listening server on the production tag, its canary probes generated from 32 held-out digits, its timers running. */
async function serve(): Promise<{ app: FastifyInstance; url: string }> {
  const gov = openGovernance(registry, { actor: 'rampart-serve' });
  if (gov.registry.resolveTag('production') !== digests.production)
    gov.registry.promote(digests.production as string, 'production', { reason: 'reset for the test' });
  const app = await buildServer({
    source: registrySource({ governance: gov, tag: 'production' }),
    keys,
    probeData: takeFirst(smallMnist().test, 32),
    config: {
      layers: { ood: false, queryPattern: false, rateLimit: false },
      // intervalMs 0: no periodic canary; the rollout measures the candidate on the probes itself.
      canary: { intervalMs: 0, count: 32, epsilon: 0.03, attackOptions: { steps: 5 } },
      rollback: false,
      monitor: false,
    },
  });
  apps.push(app);
  return { app, url: await app.listen({ port: 0, host: '127.0.0.1' }) };
}

/** What the rollout's rollback and promote entries carry (see plugins/rollout.ts). */
interface RolloutAudit {
  phase?: string;
  failed?: string[];
  measured: { canaryAccuracy: number | null };
}

const headers = (key: string) => ({ authorization: `Bearer ${key}`, 'content-type': 'application/json' });

async function call(
  url: string,
  key: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: { rollout: { state: string } } }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: headers(key),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as { rollout: { state: string } } };
}

/** Production's accuracy on the server's own probes (the canary run), the reference for the threshold. */
async function productionProbeAccuracy(app: FastifyInstance): Promise<number> {
  const result = await app.rampart.canary?.run();
  assert.ok(result, 'the server has no canary: probes were not generated');
  return result.accuracy;
}

/** Starts a one-phase canary rollout of `ref` and waits (polling over HTTP) for the server's timer to end it. */
async function rollOut(url: string, ref: string, minCanaryAccuracy: number): Promise<{ state: string }> {
  const start = await call(url, admin.key, 'POST', '/v1/rollout', {
    ref,
    reason: 'canary criterion test',
    phases: [{ name: 'canary', traffic: 0.5, duration: '1s', criteria: { minCanaryAccuracy } }],
  });
  assert.equal(start.status, 200, JSON.stringify(start.json));
  const pixels = Array.from(smallMnist().test.x.subarray(0, 784));
  for (let i = 0; i < 4; i++) assert.equal((await call(url, client.key, 'POST', '/v1/predict', { inputs: [pixels] })).status, 200);
  for (let tries = 0; tries < 300; tries++) {
    const { json } = await call(url, client.key, 'GET', '/v1/rollout');
    if (json.rollout.state !== 'running') return json.rollout;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the rollout did not end within 30 s');
}

function auditOf(action: string): Array<{ details: RolloutAudit }> {
  const gov = openGovernance(registry, { mustExist: true });
  try {
    assert.ok(gov.audit.verify().ok);
    return gov.audit.list().filter((e) => e.action === action) as never;
  } finally {
    gov.close();
  }
}

/** The newest `action` entry once there are more than `before` (the decision is audited just after the state changes). */
async function nextAudit(action: string, before: number): Promise<{ details: RolloutAudit }> {
  for (let tries = 0; tries < 300; tries++) {
    const entries = auditOf(action);
    if (entries.length > before) return entries[entries.length - 1]!;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no new ${action} audit entry within 30 s`);
}

test('a candidate that fails the canary probes is rolled back, the canary-accuracy criterion named in the audit', async () => {
  const { app, url } = await serve();
  const production = app.rampart.holder.current.view.id;
  const reference = await productionProbeAccuracy(app);
  assert.ok(reference >= 0.4, `production gets only ${reference} of its probes right; the test needs a margin`);
  const threshold = reference / 2;

  const before = auditOf('rollout.rollback').length;
  const ended = await rollOut(url, digests.shifted as string, threshold);
  assert.equal(ended.state, 'rolled-back');
  const entry = await nextAudit('rollout.rollback', before);
  assert.equal(app.rampart.holder.current.view.id, production);
  assert.equal(entry.details.phase, 'canary');
  assert.ok(
    (entry.details.failed ?? []).some((f) => f.startsWith('canary accuracy') && f.endsWith(`< ${threshold}`)),
    JSON.stringify(entry.details),
  );
  assert.ok((entry.details.measured.canaryAccuracy ?? 1) < threshold, JSON.stringify(entry.details.measured));
  const gov = openGovernance(registry, { mustExist: true });
  try {
    assert.equal(gov.registry.resolveTag('production'), digests.production);
  } finally {
    gov.close();
  }
});

test('a candidate that holds up on the canary probes is promoted, its canary accuracy in the audit', async () => {
  const { app, url } = await serve();
  const production = app.rampart.holder.current.view.id;
  const reference = await productionProbeAccuracy(app);
  assert.ok(reference >= 0.4, `production gets only ${reference} of its probes right; the test needs a margin`);
  const threshold = reference / 2;

  const before = auditOf('rollout.promote').length;
  const ended = await rollOut(url, digests.nudged as string, threshold);
  assert.equal(ended.state, 'promoted');
  const entry = await nextAudit('rollout.promote', before);
  assert.notEqual(app.rampart.holder.current.view.id, production);
  assert.ok((entry.details.measured.canaryAccuracy ?? 0) >= threshold, JSON.stringify(entry.details.measured));
  const gov = openGovernance(registry, { mustExist: true });
  try {
    assert.equal(gov.registry.resolveTag('production'), digests.nudged);
  } finally {
    gov.close();
  }
});
