/**
 * The guarded server in-process (`app.inject`): routes, auth, every defence layer both
 * ways, canary- and anomaly-driven rollback with real models, the registry source, hot
 * swap under concurrent requests, and the text channel.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { smallMnist, trainedMlp } from './fixtures.js';
import { createRng } from '../src/core/rng.js';
import { RampartError } from '../src/core/errors.js';
import { takeFirst } from '../src/data/index.js';
import { buildModel } from '../src/models/architectures.js';
import { saveClassifierModel } from '../src/models/store.js';
import { openGovernance } from '../src/governance/index.js';
import { buildHashedTextModel, HashedTextClassifier } from '../src/models/text/hashed-classifier.js';
import { spamAssassinSplits } from '../src/data/text/spam-assassin.js';
import { sampleTexts } from '../src/data/text/text-dataset.js';
import { trainTextClassifier } from '../src/training/text/train.js';
import { saveDecisionThreshold, saveTextClassifier } from '../src/models/text/store.js';
import { withDecisionThreshold } from '../src/models/text/decision-threshold.js';
import { normalizedClassifier } from '../src/defenses/normalize-text/normalized-classifier.js';
import { OBFUSCATION_MARKER_PREFIX } from '../src/defenses/normalize-text/normalize.js';
import {
  saveVocabulary,
  trainingVocabulary,
  VOCABULARY_FILE,
  vocabularyDefence,
} from '../src/defenses/normalize-text/vocabulary-defence.js';
import { buildServer, type BuildServerOptions } from '../src/serve/app.js';
import { addApiKey, KeyStore } from '../src/serve/auth.js';
import type { ProbeSet } from '../src/serve/canary.js';
import type { ServeConfigInput } from '../src/serve/config.js';
import { directorySource, memorySource, registrySource } from '../src/serve/model-source.js';
import { textServedModel } from '../src/serve/served-model.js';

const INFO = { architecture: 'mlp', inputShape: [28, 28, 1], numClasses: 10, bounds: { min: 0, max: 1 } };

let root: string;
let good: string;
let bad: string;
const { train, test: testSet } = smallMnist();
const fitData = takeFirst(train, 1000);
const digit = (i: number): number[] => Array.from(testSet.x.subarray(i * 784, (i + 1) * 784));
const cleanProbes = (n: number): ProbeSet => ({
  kind: 'image',
  x: testSet.x.slice(0, n * 784),
  shape: [28, 28, 1],
  labels: testSet.y.slice(0, n),
  source: 'clean test digits',
});
const apps: FastifyInstance[] = [];

/**
 * Builds an app with quiet defaults: no timers, small data, a small probe set. These tests
 * read the decision trace, so every caller sees it (`disclosure: 'full'`); the default,
 * least disclosure, is tested in test/security/serve-disclosure.test.ts.
 */
async function app(config: ServeConfigInput = {}, extra: Partial<BuildServerOptions> = {}): Promise<FastifyInstance> {
  const a = await buildServer({
    source: directorySource({ dir: good }),
    config: { disclosure: 'full', ...config },
    oodData: fitData,
    probes: cleanProbes(32),
    timers: false,
    ...extra,
  });
  apps.push(a);
  return a;
}

function post(a: FastifyInstance, url: string, payload: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return a.inject({ method: 'POST', url, payload: payload as Record<string, unknown>, headers });
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'rampart-serve-'));
  good = join(root, 'good');
  bad = join(root, 'bad');
  await saveClassifierModel((await trainedMlp()).model, good, INFO);
  const untrained = buildModel('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 99 });
  await saveClassifierModel(untrained, bad, INFO);
  untrained.dispose();
});

after(async () => {
  for (const a of apps) await a.close();
});

describe('routes', () => {
  test('health, readiness, models, metrics and a coded 404', async () => {
    const a = await app({ auth: { metricsPublic: true } });
    assert.deepEqual((await a.inject({ url: '/healthz' })).json(), { status: 'ok' });
    assert.equal((await a.inject({ url: '/readyz' })).statusCode, 200);
    const models = (await a.inject({ url: '/v1/models' })).json();
    assert.equal(models.models[0].kind, 'image');
    assert.deepEqual(models.models[0].inputShape, [28, 28, 1]);
    assert.ok(models.models[0].ood.threshold > 0);
    assert.deepEqual(models.layers, ['rate-limit', 'validate', 'query-pattern', 'ood', 'abstain']);
    const res = await post(a, '/v1/predict', { inputs: [digit(0)] });
    assert.equal(res.statusCode, 200);
    const metrics = (await a.inject({ url: '/metrics' })).body;
    assert.match(metrics, /rampart_http_requests_total\{route="\/v1\/predict",method="POST",status="200"\} 1/);
    assert.match(metrics, /rampart_layer_decisions_total\{layer="ood",decision="pass"\} 1/);
    assert.match(metrics, /rampart_model_info\{model="mlp:.*good",source="dir"\} 1/);
    const missing = await a.inject({ url: '/nope' });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error.code, 'E_NOT_FOUND');
  });

  test('predict: labels, calibrated probabilities and the decision trace in layer order', async () => {
    const a = await app();
    const res = await post(a, '/v1/predict', { inputs: [0, 1, 2, 3, 4, 5, 6, 7].map(digit) });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    const right = body.predictions.filter((p: { label: number | null }, i: number) => p.label === testSet.y[i]).length;
    assert.ok(right >= 6, `${right} of 8 right`);
    for (const p of body.predictions) assert.ok(Math.abs(p.probabilities.reduce((s: number, v: number) => s + v, 0) - 1) < 1e-4);
    assert.deepEqual(
      body.trace.map((t: { layer: string }) => t.layer),
      ['rate-limit', 'validate', 'query-pattern', 'model', 'ood', 'abstain'],
    );
    for (const t of body.trace) assert.ok(t.ms >= 0 && ['pass', 'flag'].includes(t.decision));
  });
});

describe('auth', () => {
  test('401 without or with a wrong key, 403 below the role, admin routes only for admins', async () => {
    const file = join(root, 'keys.json');
    const keys = {
      predict: (await addApiKey(file, { role: 'predict' })).key,
      operator: (await addApiKey(file, { role: 'operator' })).key,
      admin: (await addApiKey(file, { role: 'admin' })).key,
    };
    const a = await app({}, { keys: await KeyStore.fromFile(file), source: directorySource({ dir: good, fallbacks: [good] }) });
    const bearer = (k: string): Record<string, string> => ({ authorization: `Bearer ${k}` });
    const none = await post(a, '/v1/predict', { inputs: [digit(0)] });
    assert.equal(none.statusCode, 401);
    assert.equal(none.json().error.code, 'E_AUTH_REQUIRED');
    const wrong = await post(a, '/v1/predict', { inputs: [digit(0)] }, bearer(`${keys.predict.slice(0, -2)}xx`));
    assert.equal(wrong.statusCode, 401);
    assert.equal(wrong.json().error.code, 'E_AUTH_INVALID');
    const ok = await post(a, '/v1/predict', { inputs: [digit(0)] }, { 'x-api-key': keys.predict });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.json().trace[0].layer, 'auth');
    assert.equal((await a.inject({ url: '/v1/admin/status', headers: bearer(keys.predict) })).statusCode, 403);
    assert.equal((await a.inject({ url: '/v1/admin/status', headers: bearer(keys.operator) })).statusCode, 200);
    const opRollback = await post(a, '/v1/admin/rollback', { reason: 'test' }, bearer(keys.operator));
    assert.equal(opRollback.statusCode, 403);
    assert.equal(opRollback.json().error.code, 'E_FORBIDDEN');
    assert.equal((await post(a, '/v1/admin/rollback', { reason: 'test' })).statusCode, 401);
    const adminRollback = await post(a, '/v1/admin/rollback', { reason: 'drill' }, bearer(keys.admin));
    assert.equal(adminRollback.statusCode, 200, adminRollback.body);
    assert.equal(adminRollback.json().rolledBack, true);
    const again = await post(a, '/v1/admin/rollback', { reason: 'drill' }, bearer(keys.admin));
    assert.equal(again.json().error.code, 'E_NO_PREVIOUS');
    assert.equal((await post(a, '/v1/admin/promote', { ref: bad }, bearer(keys.admin))).json().error.code, 'E_BODY_SHAPE');
  });

  test('without a keys file, predict is open and admin routes are refused', async () => {
    const a = await app();
    const res = await post(a, '/v1/admin/rollback', { reason: 'x' });
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().error.code, 'E_FORBIDDEN');
    assert.equal((await a.inject({ url: '/v1/admin/status' })).statusCode, 403);
  });
});

describe('defence layers in the server', () => {
  test('rate limit per address: 429 with Retry-After once the budget is spent', async () => {
    const a = await app({ layers: { rateLimit: { perAddress: { max: 3, timeWindowMs: 60_000 } }, queryPattern: false } });
    const codes = [];
    for (let i = 0; i < 5; i++) codes.push((await post(a, '/v1/predict', { inputs: [digit(i)] })).statusCode);
    assert.deepEqual(codes, [200, 200, 200, 429, 429]);
    const res = await post(a, '/v1/predict', { inputs: [digit(0)] });
    assert.equal(res.json().error.code, 'E_RATE_LIMITED');
    assert.ok(Number(res.headers['retry-after']) >= 1);
    assert.equal(res.json().trace[0].decision, 'deny');
  });

  test('rate limit per API key holds across addresses', async () => {
    const file = join(root, 'keys-rate.json');
    const key = (await addApiKey(file, { role: 'predict' })).key;
    const a = await app(
      {
        layers: {
          rateLimit: { perKey: { max: 2, timeWindowMs: 60_000 }, perAddress: { max: 100, timeWindowMs: 60_000 } },
          queryPattern: false,
        },
      },
      { keys: await KeyStore.fromFile(file) },
    );
    const codes = [];
    for (let i = 0; i < 3; i++) {
      codes.push(
        (
          await a.inject({
            method: 'POST',
            url: '/v1/predict',
            payload: { inputs: [digit(i)] },
            headers: { 'x-api-key': key },
            remoteAddress: `10.0.0.${i + 1}`,
          })
        ).statusCode,
      );
    }
    assert.deepEqual(codes, [200, 200, 429]);
  });

  test('query pattern: near-duplicate probing is flagged, then refused with 429', async () => {
    const a = await app({ layers: { queryPattern: { flagAt: 2, denyAt: 4 } } });
    const rng = createRng(5);
    const base = digit(3);
    const statuses: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await post(a, '/v1/predict', { inputs: [base.map((v) => Math.min(1, Math.max(0, v + 0.05 * (rng.next() - 0.5))))] });
      statuses.push(res.statusCode === 200 ? (res.json().flagged ? 'flag' : 'pass') : `${res.statusCode}:${res.json().error.code}`);
    }
    assert.deepEqual(statuses.slice(0, 3), ['pass', 'pass', 'flag']);
    assert.equal(statuses[4], '429:E_QUERY_PATTERN');
    // Ordinary traffic (distinct digits) from another address is untouched.
    const other = await a.inject({ method: 'POST', url: '/v1/predict', payload: { inputs: [digit(10)] }, remoteAddress: '10.1.1.1' });
    assert.equal(other.json().trace.find((t: { layer: string }) => t.layer === 'query-pattern').decision, 'pass');
  });

  test('OOD: uniform noise is flagged, digits are not; deny when configured', async () => {
    const a = await app({ layers: { queryPattern: false, abstain: false } });
    const rng = createRng(6);
    const noise = Array.from({ length: 784 }, () => rng.next());
    const res = (await post(a, '/v1/predict', { inputs: [noise, digit(1)] })).json();
    const ood = res.trace.find((t: { layer: string }) => t.layer === 'ood');
    assert.equal(ood.decision, 'flag');
    assert.deepEqual(res.predictions[0].flags, ['ood']);
    assert.equal(res.predictions[1].flags, undefined);
    const digits = (await post(a, '/v1/predict', { inputs: [2, 3, 4, 5].map(digit) })).json();
    assert.equal(digits.trace.find((t: { layer: string }) => t.layer === 'ood').decision, 'pass');
    const strict = await app({ layers: { queryPattern: false, ood: { denyAt: 2 } } });
    const denied = await post(strict, '/v1/predict', { inputs: [noise] });
    assert.equal(denied.statusCode, 422);
    assert.equal(denied.json().error.code, 'E_OUT_OF_DISTRIBUTION');
  });

  test('ensemble: a member that disagrees flags the request', async () => {
    const a = await app({ layers: { queryPattern: false, ensemble: { models: [bad], flagAt: 1 } } });
    const res = (await post(a, '/v1/predict', { inputs: [0, 1, 2, 3, 4, 5, 6, 7].map(digit) })).json();
    const e = res.trace.find((t: { layer: string }) => t.layer === 'ensemble');
    assert.equal(e.decision, 'flag');
    assert.equal(e.score, 1);
    const agreeing = await app({ layers: { queryPattern: false, ensemble: { models: [good] } } });
    const ok = (await post(agreeing, '/v1/predict', { inputs: [0, 1, 2].map(digit) })).json();
    assert.equal(ok.trace.find((t: { layer: string }) => t.layer === 'ensemble').decision, 'pass');
  });

  test('abstain: below the calibrated threshold the label is withheld', async () => {
    const a = await app({ layers: { queryPattern: false, abstain: { threshold: 0.999999 } } });
    const res = (await post(a, '/v1/predict', { inputs: [digit(0), new Array(784).fill(0.5)] })).json();
    const abstained = res.predictions.filter((p: { abstained: boolean; label: number | null }) => p.abstained && p.label === null);
    assert.ok(abstained.length >= 1);
    assert.equal(res.trace.find((t: { layer: string }) => t.layer === 'abstain').decision, 'flag');
  });
});

describe('rollback', () => {
  test('canary: promoting a weak model drops probe accuracy; the server rolls back, alerts the webhook and audits it', async () => {
    const hooks: Array<{ kind: string }> = [];
    const webhook = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        hooks.push(JSON.parse(body) as { kind: string });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
    const port = (webhook.address() as { port: number }).port;
    const auditLog = join(root, 'audit.jsonl');
    try {
      const a = await app(
        {
          layers: { queryPattern: false },
          rollback: { canary: { maxDrop: 0.2 }, consecutive: 2, cooldownMs: 0 },
          alerts: { webhook: `http://127.0.0.1:${port}/hook` },
          auth: { metricsPublic: true },
        },
        { source: directorySource({ dir: good, auditLog }), probes: cleanProbes(64) },
      );
      const canary = a.rampart.canary;
      assert.ok(canary);
      const first = await canary.run();
      assert.ok(first.accuracy > 0.7, `baseline ${first.accuracy}`);
      const promoted = await a.rampart.promote(bad, 'try the new model');
      assert.match(promoted.to, /bad$/);
      const r1 = await canary.run();
      assert.ok(r1.accuracy < 0.5, `weak model accuracy ${r1.accuracy}`);
      assert.match(a.rampart.holder.current.view.id, /bad$/, 'one breach is not enough');
      await canary.run();
      assert.match(a.rampart.holder.current.view.id, /good$/, 'rolled back after two breaches');
      const after = await canary.run();
      assert.ok(after.accuracy > 0.7);
      const metrics = (await a.inject({ url: '/metrics' })).body;
      assert.match(metrics, /rampart_rollbacks_total\{trigger="canary"\} 1/);
      const audit = (await readFile(auditLog, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { action: string; details: { trigger?: string } });
      assert.deepEqual(
        audit.map((e) => e.action),
        ['promote', 'rollback'],
      );
      assert.equal(audit[1]?.details.trigger, 'canary');
      assert.ok(hooks.some((h) => h.kind === 'rollback'));
      assert.ok(hooks.some((h) => h.kind === 'canary'));
    } finally {
      webhook.close();
    }
  });

  test('anomaly rate: ordinary traffic from many clients that the live model abstains on rolls back to the fallback model', async () => {
    // The live model is untrained: it abstains on most real digits; the fallback answers them
    // confidently. A uniform-noise flood, flagged by both, must not roll back (test/security).
    const a = await app(
      {
        layers: { queryPattern: false },
        monitor: { anomalyWindow: 20 },
        rollback: { canary: false, anomaly: { above: 0.5, rearmBelow: 0.2, minSamples: 10, minClients: 3 }, consecutive: 1, cooldownMs: 0 },
      },
      { source: directorySource({ dir: bad, fallbacks: [good] }) },
    );
    assert.equal(await a.rampart.tick(), undefined);
    for (let i = 0; i < 12; i++)
      await a.inject({ method: 'POST', url: '/v1/predict', payload: { inputs: [digit(i)] }, remoteAddress: `10.2.0.${i + 1}` });
    assert.ok((a.rampart.monitor?.anomalyRate() ?? 0) > 0.5);
    const outcome = await a.rampart.tick();
    assert.equal(outcome?.rolledBack, true);
    assert.match(a.rampart.holder.current.view.id, /good$/);
    // Disarmed until the rate recovers: a second tick does nothing even though the window is still bad.
    assert.equal(await a.rampart.tick(), undefined);
  });

  test('registry source: promote and rollback move the tag and land in the audit chain', async () => {
    const gov = openGovernance(join(root, 'gov'), { actor: 'test' });
    const g = gov.registry.put({ kind: 'model', name: 'mnist-mlp', path: good });
    const b = gov.registry.put({ kind: 'model', name: 'mnist-mlp-untrained', path: bad });
    gov.registry.promote(g.digest, 'production', { reason: 'first release' });
    const a = await app({}, { source: registrySource({ governance: gov, tag: 'production' }) });
    assert.equal(a.rampart.holder.current.view.id, `mlp@${g.digest.slice(0, 12)}`);
    await a.rampart.promote(b.digest, 'second release');
    assert.equal(gov.registry.resolveTag('production'), b.digest);
    assert.equal((await a.inject({ url: '/v1/models' })).json().previous, g.digest);
    const outcome = await a.rampart.rollback('canary says no', 'manual');
    assert.equal(outcome.rolledBack, true);
    assert.equal(gov.registry.resolveTag('production'), g.digest);
    const actions = gov.audit.list().map((e) => e.action);
    assert.ok(actions.includes('rollback') && actions.includes('serve.rollback'), actions.join(','));
    assert.equal(gov.audit.verify().ok, true);
  });
});

describe('canary probe set in the registry', () => {
  test('the first start stores the generated probe set beside the served model; later starts reuse it', async () => {
    const gov = openGovernance(join(root, 'gov-probes'), { actor: 'test' });
    const g = gov.registry.put({ kind: 'model', name: 'mnist-mlp', path: good });
    gov.registry.promote(g.digest, 'production', { reason: 'first release' });
    const config: ServeConfigInput = { canary: { intervalMs: 0, count: 12, attackOptions: { steps: 2 } } };
    const start = () =>
      app(config, { source: registrySource({ governance: gov, tag: 'production' }), probes: undefined, probeData: takeFirst(testSet, 12) });
    const first = await start();
    const stored = gov.registry.lineage(g.digest, { depth: 1 }).descendants.filter((n) => n.kind === 'probe-set');
    assert.equal(stored.length, 1);
    const digest = stored[0]?.digest as string;
    const json = gov.registry.readJson<{ adversarialShape: number[]; examples: unknown[] }>(digest);
    assert.deepEqual(json.adversarialShape, [12, 28, 28, 1]);
    assert.equal(json.examples.length, 12);
    const firstRun = await first.rampart.canary?.run();
    // A second start (a restart or a replica) finds the stored set: nothing new in the registry, the same accuracy.
    const second = await start();
    assert.equal(gov.registry.lineage(g.digest, { depth: 1 }).descendants.filter((n) => n.kind === 'probe-set').length, 1);
    const secondRun = await second.rampart.canary?.run();
    assert.ok(firstRun && secondRun);
    assert.equal(secondRun.accuracy, firstRun.accuracy);
    assert.match(second.rampart.canary?.probes.source ?? '', new RegExp(`registry probe-set ${digest.slice(0, 12)}`));
  });
});

describe('hot swap', () => {
  test('concurrent requests during promote and rollback all succeed; no tensors leak', async () => {
    const a = await app({ layers: { queryPattern: false, rateLimit: false } }, { source: directorySource({ dir: good }) });
    await post(a, '/v1/predict', { inputs: [digit(0)] });
    const before = tf.memory().numTensors;
    const requests = Array.from({ length: 40 }, (_, i) => post(a, '/v1/predict', { inputs: [digit(i % 20)] }));
    const swaps = (async () => {
      await a.rampart.promote(bad, 'swap under load');
      await a.rampart.rollback('swap back under load', 'manual');
    })();
    const responses = await Promise.all(requests);
    await swaps;
    assert.deepEqual([...new Set(responses.map((r) => r.statusCode))], [200]);
    assert.equal(a.rampart.holder.inFlight(), 0);
    assert.equal(a.rampart.holder.generation, 2);
    assert.equal(tf.memory().numTensors, before);
  });
});

describe('text channel', () => {
  test('texts are normalised (and flagged when obfuscated) before a text model', async () => {
    const featurizer = { buckets: 512, maxWordNgram: 1, charNgrams: [3, 3] as const, markerPrefix: '', markerWeight: 0 };
    const model = buildHashedTextModel(featurizer, 8, 2, 1);
    const text = new HashedTextClassifier(model, {
      id: 'spam-tiny',
      classes: ['ham', 'spam'],
      info: { architecture: 'hashed-mlp', hidden: 8, featurizer, trainedOnNormalizedText: true },
    });
    const a = await buildServer({
      source: memorySource({
        load: async () => textServedModel(text, { id: 'spam-tiny', ref: { source: 'dir', dir: 'memory' }, dispose: () => text.dispose() }),
      }),
      config: { canary: false, disclosure: 'full' },
      timers: false,
    });
    apps.push(a);
    const res = await post(a, '/v1/predict', { texts: ['fr\u200Bee m\u043Eney', 'see you at lunch'] });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.predictions.length, 2);
    const norm = body.trace.find((t: { layer: string }) => t.layer === 'normalize-text');
    assert.equal(norm.decision, 'flag');
    assert.match(norm.reason, /invisible|confusables/);
    assert.equal((await post(a, '/v1/predict', { inputs: [[1, 2]] })).json().error.code, 'E_BODY_SHAPE');
    assert.equal(
      (await post(a, '/v1/predict', { texts: ['ok'] })).json().trace.find((t: { layer: string }) => t.layer === 'normalize-text').decision,
      'pass',
    );
  });

  test('a saved text filter is served as it was trained: its own vocabulary defence (applied once) and its decision threshold', async () => {
    const splits = spamAssassinSplits({ seed: 3, maxChars: 600 });
    const train = sampleTexts(splits.train, 240, 1);
    const vocabulary = trainingVocabulary(train.texts);
    const normalize = vocabularyDefence(vocabulary, { synonyms: false });
    const { classifier } = await trainTextClassifier(train, {
      epochs: 2,
      seed: 1,
      id: 'spam-served',
      normalize,
      featurizer: { buckets: 2048, markerPrefix: OBFUSCATION_MARKER_PREFIX },
    });
    const dir = join(root, 'text-filter');
    await saveTextClassifier(classifier, dir);
    await saveVocabulary(dir, { vocabulary, synonyms: false });
    await saveDecisionThreshold(dir, { positiveClass: 'spam', threshold: 0.3 });
    const texts = ['Fr\u200Bee m\u043Eney!!! Click here to claim your prize now', 'Are we still on for the meeting tomorrow at ten?'];
    // The filter as evaluated: the model behind the vocabulary defence, flagging spam from 0.3.
    const expected = await withDecisionThreshold(normalizedClassifier(classifier, normalize), {
      positiveClass: 1,
      threshold: 0.3,
    }).predictProba(texts);
    classifier.dispose();

    const a = await buildServer({ source: directorySource({ dir }), config: { canary: false, disclosure: 'full' }, timers: false });
    apps.push(a);
    const models = (await a.inject({ url: '/v1/models' })).json();
    assert.equal(models.models[0].kind, 'text');
    const res = await post(a, '/v1/predict', { texts });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    body.predictions.forEach((p: { probabilities: number[] }, i: number) => {
      p.probabilities.forEach((v, k) =>
        assert.ok(Math.abs(v - (expected[i]?.[k] as number)) < 1e-4, `text ${i} class ${k}: served ${v}, filter ${expected[i]?.[k]}`),
      );
    });
    // The layer reports what the model's own normaliser undid, without rewriting the text first.
    const norm = body.trace.find((t: { layer: string }) => t.layer === 'normalize-text');
    assert.equal(norm.decision, 'flag');
    assert.match(norm.reason, /invisible/);

    // The same directory without its vocabulary would read text differently from training: refused at startup.
    await rm(join(dir, VOCABULARY_FILE));
    await assert.rejects(
      () => buildServer({ source: directorySource({ dir }), config: { canary: false }, timers: false }),
      (e: unknown) => e instanceof RampartError && e.code === 'E_VOCABULARY_MISSING' && e.message.includes(VOCABULARY_FILE),
    );
  });
});
