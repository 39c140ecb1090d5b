/**
 * The HTTP target against `rampart serve` itself, in a child process on loopback, with an API
 * key taken from the environment: the Square attack finds adversarial examples through it
 * with the query count equal to the requests the server answered, robustness evaluation runs
 * on it (clean predictions and confirmation through queries), gradient attacks are refused
 * naming the ones that can run, and a label-only mapping runs HopSkipJump.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { smallMnist, trainedMlp } from './fixtures.js';
import { startServe, type ServeProcess } from './serve-process.js';
import { saveClassifierModel } from '../src/models/store.js';
import { describeServeTarget, loadHttpModel, type HttpTargetSpecInput } from '../src/models/http/index.js';
import { predictClasses, predictBatch } from '../src/models/predict.js';
import { createAttack } from '../src/attacks/registry.js';
import { threatModel } from '../src/threats/threat-model.js';
import { evaluateRobustness } from '../src/eval/robustness.js';
import { evaluateThreats } from '../src/eval/threat-evaluation.js';
import { adversarialExamples } from '../src/eval/adversarial-examples.js';
import { takeFirst } from '../src/data/index.js';
import { RampartError } from '../src/core/errors.js';
import type { Dataset } from '../src/core/types.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const KEY_ENV = 'RAMPART_HTTP_TARGET_E2E_KEY';

/** Requests the server answered with 200 on /v1/predict, from its own metrics. */
async function servedPredictions(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith('rampart_http_requests_total{') && l.includes('route="/v1/predict"') && l.includes('status="200"'));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('HTTP target against rampart serve', () => {
  let server: ServeProcess;
  let key = '';
  const threat = threatModel({ norm: 'linf', epsilon: 0.3 });

  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rampart-http-target-'));
    await saveClassifierModel((await trainedMlp()).model, join(dir, 'model'), {
      architecture: 'mlp',
      inputShape: [28, 28, 1],
      numClasses: 10,
      bounds: { min: 0, max: 1 },
    });
    // The defences that would (rightly) stop an attacker are off: this measures the model through the API.
    await writeFile(
      join(dir, 'serve.yaml'),
      'layers: { rateLimit: false, queryPattern: false, ood: false, ensemble: false, abstain: false, normalizeText: false }\n' +
        'monitor: false\ncanary: false\nrollback: false\nauth: { metricsPublic: true }\n',
    );
    const keysFile = join(dir, 'keys.json');
    const added = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'keys', 'add', '--file', keysFile, '--role', 'predict'],
      {
        cwd: root,
        encoding: 'utf8',
      },
    );
    assert.equal(added.status, 0, added.stderr);
    key = added.stdout.trim();
    process.env[KEY_ENV] = key;
    server = await startServe([
      '--model',
      join(dir, 'model'),
      '--keys',
      keysFile,
      '--config',
      join(dir, 'serve.yaml'),
      '--log-level',
      'warn',
    ]);
  });

  after(async () => {
    delete process.env[KEY_ENV];
    await server?.stop();
  });

  const spec = (over: Partial<HttpTargetSpecInput> = {}): HttpTargetSpecInput => ({
    url: `${server.url}/v1/predict`,
    output: 'scores',
    inputShape: [28, 28, 1],
    numClasses: 10,
    authHeader: 'authorization',
    authEnv: KEY_ENV,
    authPrefix: 'Bearer ',
    batchSize: 1,
    concurrency: 8,
    ...over,
  });

  /** The first examples the served model classifies correctly. */
  async function correct(model: Parameters<typeof predictClasses>[0], count: number): Promise<Dataset> {
    const pool = takeFirst(smallMnist().test, 40);
    const predicted = await predictClasses(model, pool);
    const rows = Array.from({ length: pool.count }, (_, i) => i)
      .filter((i) => predicted[i] === pool.y[i])
      .slice(0, count);
    const size = 784;
    const x = new Float32Array(rows.length * size);
    rows.forEach((r, k) => x.set(pool.x.subarray(r * size, (r + 1) * size), k * size));
    return { ...pool, name: 'correct', x, y: Int32Array.from(rows, (r) => pool.y[r] as number), count: rows.length };
  }

  test('Square finds adversarial examples through the API, with the query count the server saw', async () => {
    const servedBefore = await servedPredictions(server.url);
    const { classifier, identity } = await loadHttpModel(spec());
    // The same target from the server's own description: its address and key are enough.
    const described = await describeServeTarget({
      url: server.url,
      output: 'scores',
      authHeader: 'authorization',
      authEnv: KEY_ENV,
      authPrefix: 'Bearer ',
      batchSize: 1,
    });
    assert.deepEqual(
      [described.url, described.inputShape, described.numClasses, described.bounds],
      [`${server.url}/v1/predict`, [28, 28, 1], 10, { min: 0, max: 1 }],
    );
    const again = await loadHttpModel(described);
    assert.deepEqual(again.identity, identity, 'the fingerprint is stable');
    assert.match(identity.kind === 'endpoint' ? identity.fingerprint : '', /^[0-9a-f]{64}$/);
    const data = await correct(classifier, 6);
    assert.ok(data.count >= 4, `the served model gets ${data.count} of 40 right`);
    const x = tf.tensor(data.x, [data.count, 28, 28, 1]);
    const result = await createAttack('square', { queries: 150 }).run(classifier, x, data.y, threat, { seed: 3 });
    const broken = result.success.reduce((a, s) => a + s, 0);
    assert.ok(broken >= 1, `square broke ${broken} of ${data.count}`);
    // Success is confirmed by a fresh prediction through the API.
    const confirmed = await predictBatch(classifier, result.adversarial);
    result.success.forEach((s, i) => assert.equal(s === 1, confirmed[i] !== data.y[i], `example ${i}`));
    const stats = classifier.stats();
    assert.equal(stats.retries, 0);
    assert.equal(
      stats.queries,
      8 + 40 + result.queries.reduce((a, q) => a + q, 0) + data.count,
      'probes + clean predictions + the attack + the confirmation',
    );
    const served = (await servedPredictions(server.url)) - servedBefore;
    assert.equal(
      served,
      stats.queries + again.classifier.stats().queries,
      'one row per request: the server answered exactly the queries counted',
    );
    result.adversarial.dispose();
    x.dispose();
  });

  test('robustness evaluation runs black-box attacks on the endpoint and refuses gradient ones', async () => {
    const { classifier } = await loadHttpModel(spec({ batchSize: 16 }));
    const data = takeFirst(smallMnist().test, 8);
    const report = await evaluateRobustness({
      model: classifier,
      data,
      threats: [threat],
      attacks: [{ id: 'square', options: { queries: 100 } }],
    });
    assert.ok(report.clean.accuracy > 0.5);
    const worst = report.worstCase[0];
    assert.ok(worst && worst.robustAccuracy < report.clean.accuracy, `robust ${worst?.robustAccuracy} < clean ${report.clean.accuracy}`);
    // The plan's path: the stochasticity probe and the adversarial examples query the endpoint too.
    const named = threatModel({ id: 'linf-0.3', norm: 'linf', epsilon: 0.3 });
    const measured = await evaluateThreats({
      model: classifier,
      data,
      threats: [named],
      attacks: [{ id: 'square', options: { queries: 50 } }],
    });
    assert.equal(measured.threats[0]?.threat, 'linf-0.3');
    assert.ok((measured.threats[0]?.robust.value ?? 1) <= measured.clean.value);
    const shown = await adversarialExamples({
      model: classifier,
      name: 'served',
      data,
      threat: named,
      attack: { id: 'square' },
      count: 2,
      seed: 1,
    });
    assert.deepEqual(
      shown.items.map((e) => e.cleanPrediction),
      Array.from(await predictClasses(classifier, takeFirst(data, 2))),
    );
    await assert.rejects(
      evaluateRobustness({ model: classifier, data, threats: [threat], attacks: [{ id: 'pgd' }] }),
      (e: unknown) => e instanceof RampartError && e.code === 'E_NOT_DIFFERENTIABLE' && /'square'/.test(e.message),
    );
  });

  test('a label-only mapping runs HopSkipJump and refuses Square; a wrong key is a coded error without the key', async () => {
    const { classifier } = await loadHttpModel(spec({ output: 'label', batchSize: 32 }));
    assert.equal(classifier.access, 'labels');
    const data = await correct(classifier, 2);
    const x = tf.tensor(data.x, [data.count, 28, 28, 1]);
    const l2 = threatModel({ norm: 'l2', epsilon: 4 });
    const result = await createAttack('hsj', { queries: 300, steps: 4, initialEvals: 20 }).run(classifier, x, data.y, l2, { seed: 1 });
    assert.ok(
      result.minNorm?.every((d) => Number.isFinite(d)),
      'HSJ found an adversarial point for every example',
    );
    result.adversarial.dispose();
    await assert.rejects(
      createAttack('square').run(classifier, x, data.y, threat),
      (e: unknown) => e instanceof RampartError && e.code === 'E_LABELS_ONLY',
    );
    x.dispose();
    process.env[KEY_ENV] = `${key}x`;
    await assert.rejects(
      loadHttpModel(spec()),
      (e: unknown) => e instanceof RampartError && e.code === 'E_TARGET_STATUS' && /HTTP 401/.test(e.message) && !e.message.includes(key),
    );
    process.env[KEY_ENV] = key;
  });
});
