/**
 * Alerts: the rules are edge-triggered (drift after N windows over the threshold, canary
 * below, anomaly above, each once until it re-arms); a real server posts the documented
 * payload to a loopback webhook for a canary drop and for rollout steps; and the shipped
 * Prometheus rules pass `promtool check rules` when promtool is installed.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { smallMnist, trainedMlp } from './fixtures.js';
import { saveClassifierModel } from '../src/models/store.js';
import { buildServer } from '../src/serve/app.js';
import { directorySource } from '../src/serve/model-source.js';
import { alertRules, alertRulesSchema } from '../src/serve/plugins/rollout-alerts.js';

const root = fileURLToPath(new URL('..', import.meta.url));
let hook: Server | undefined;
after(() => hook?.close());

test('alert rules fire once per episode', () => {
  const rules = alertRules(alertRulesSchema.parse({ drift: { psi: 0.2, windows: 2 }, canaryBelow: 0.5, anomalyAbove: 0.3 }));
  assert.deepEqual(
    [0.3, 0.1, 0.3, 0.3, 0.4].map((v) => rules.psi('confidence', v)?.kind ?? null),
    [null, null, null, 'drift', null],
  );
  assert.equal(rules.psi('ood', 0.5), undefined, 'windows are counted per signal');
  assert.deepEqual(
    [0.9, 0.4, 0.3, 0.8, 0.2].map((a) => rules.canary(a, 'm')?.kind ?? null),
    [null, 'canary-accuracy', null, null, 'canary-accuracy'],
  );
  assert.deepEqual(
    [0.1, 0.5, 0.6, 0.1].map((r) => rules.anomaly(r)?.details.rate ?? null),
    [null, 0.5, null, null],
  );
  assert.equal(alertRules(alertRulesSchema.parse({})).canary(0, 'm'), undefined, 'no threshold, no alert');
});

test('a real server posts the documented payload to the webhook', async () => {
  const received: Array<Record<string, unknown>> = [];
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push(JSON.parse(body) as Record<string, unknown>);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => hook!.listen(0, '127.0.0.1', () => r()));
  const port = (hook.address() as { port: number }).port;
  const dir = await mkdtemp(join(tmpdir(), 'rampart-loop-alerts-'));
  await saveClassifierModel((await trainedMlp()).model, join(dir, 'model'), {
    architecture: 'mlp',
    inputShape: [28, 28, 1],
    numClasses: 10,
    bounds: { min: 0, max: 1 },
  });
  const { test: data } = smallMnist();
  const app = await buildServer({
    source: directorySource({ dir: join(dir, 'model') }),
    timers: false,
    // Every probe labelled wrong: accuracy 0, below any threshold.
    probes: {
      kind: 'image',
      x: data.x.slice(0, 4 * 784),
      shape: [28, 28, 1],
      labels: Int32Array.from(data.y.subarray(0, 4), (y) => (y + 1) % 10),
      source: 't',
    },
    config: {
      layers: { ood: false, queryPattern: false, rateLimit: false },
      canary: { intervalMs: 0 },
      rollback: false,
      alerts: { webhook: `http://127.0.0.1:${port}/hook`, rules: { canaryBelow: 0.5 } },
    },
  });
  try {
    await app.rampart.canary?.run();
    const alert = received.find((a) => a.kind === 'canary-accuracy');
    assert.ok(alert, JSON.stringify(received));
    assert.equal(alert.source, 'rampart-serve');
    assert.equal(typeof alert.at, 'string');
    assert.deepEqual([alert.accuracy, alert.threshold], [0, 0.5]);
    await app.rollout.start(
      { ref: join(dir, 'model'), reason: 'alert test', phases: [{ name: 'shadow', traffic: 0, duration: '1h' }] },
      'test',
    );
    await app.rollout.abort('done', 'test');
    assert.deepEqual(
      received.map((a) => a.kind).filter((k) => String(k).startsWith('rollout')),
      ['rollout-start', 'rollout-abort'],
    );
  } finally {
    await app.close();
  }
});

test('the shipped Prometheus rules pass promtool', { skip: !existsSync('/usr/bin/promtool') && 'promtool not installed' }, () => {
  const r = spawnSync('/usr/bin/promtool', ['check', 'rules', join(root, 'examples/alerts.yml')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /SUCCESS: 5 rules found/);
});
