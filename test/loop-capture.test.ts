/**
 * Capture in a real `rampart serve` process: flagged requests are answered at once, their
 * inputs reach the registry's capture store later in batches, and SIGTERM writes every
 * accepted item before the process exits (the flush timer is set far beyond the test, so
 * only the shutdown drain can have written them).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { smallMnist, trainedMlp } from './fixtures.js';
import { startServe, type ServeProcess } from './serve-process.js';
import { saveClassifierModel } from '../src/models/store.js';
import { openGovernance } from '../src/governance/index.js';
import { buildServer } from '../src/serve/app.js';
import { directorySource } from '../src/serve/model-source.js';

let dir: string;
let server: ServeProcess | undefined;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rampart-loop-capture-'));
  await saveClassifierModel((await trainedMlp()).model, join(dir, 'model'), {
    architecture: 'mlp',
    inputShape: [28, 28, 1],
    numClasses: 10,
    bounds: { min: 0, max: 1 },
  });
  // The abstain layer flags every answer less sure than 99.99%: most of them, on a tiny model.
  await writeFile(
    join(dir, 'serve.yaml'),
    [
      'layers: { ood: false, queryPattern: false, rateLimit: false, abstain: { threshold: 0.9999, action: flag } }',
      'canary: false',
      `capture: { dir: ${JSON.stringify(join(dir, '.rampart'))}, flushMs: 60000, batchSize: 1024, redact: { numbers: true } }`,
    ].join('\n'),
  );
});

after(() => server?.kill());

test('SIGTERM drains the capture queue: every flagged example answered before it is in the registry', async () => {
  server = await startServe(['--model', join(dir, 'model'), '--config', join(dir, 'serve.yaml')]);
  const { test: data } = smallMnist();
  const size = 28 * 28;
  let expected = 0;
  for (let r = 0; r < 12; r++) {
    const inputs = [0, 1].map((k) => Array.from(data.x.subarray((r * 2 + k) * size, (r * 2 + k + 1) * size)));
    const res = await fetch(`${server.url}/v1/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { flagged: boolean };
    if (body.flagged) expected += inputs.length;
  }
  assert.ok(expected > 0, 'the abstain layer flagged nothing; the test would prove nothing');
  assert.equal(await server.stop(), 0, server.stderr());
  const gov = openGovernance(join(dir, '.rampart'), { mustExist: true });
  try {
    const stats = gov.captures.stats();
    assert.equal(stats.items, expected);
    const item = gov.captures.list({ limit: 1 })[0];
    assert.equal(item?.source, 'flag');
    assert.match(item?.client ?? '', /^ip:/);
    assert.ok(item?.decisions.some((d) => d.layer === 'abstain' && d.decision === 'flag'));
    assert.equal(typeof item?.predicted, 'number');
    const input = gov.captures.input(item!.id);
    assert.equal(input.kind === 'image' && input.x.length, size);
    assert.ok(gov.check().ok);
  } finally {
    gov.close();
  }
});

test('probes the canary breaks are captured with their true labels and the run counts', async () => {
  const { test: data } = smallMnist();
  const count = 6;
  const registry = join(dir, 'canary-registry');
  // Labels shifted by one: every probe is a miss, so the test knows exactly what must be stored.
  const labels = Int32Array.from(data.y.subarray(0, count), (y) => (y + 1) % 10);
  const app = await buildServer({
    source: directorySource({ dir: join(dir, 'model') }),
    probes: { kind: 'image', x: data.x.slice(0, count * 784), shape: [28, 28, 1], labels, source: 'test' },
    config: {
      layers: { ood: false, queryPattern: false, rateLimit: false },
      canary: { intervalMs: 0 },
      rollback: false,
      capture: { dir: registry, perRequest: 4, canaryThreat: 'linf-0.2' },
    },
  });
  const result = await app.rampart.canary?.run();
  assert.equal(result?.accuracy, 0);
  await app.close();
  const gov = openGovernance(registry, { mustExist: true });
  try {
    const items = gov.captures.list({ source: 'canary' });
    assert.equal(items.length, 4);
    for (const item of items) {
      assert.equal(item.threat, 'linf-0.2');
      assert.deepEqual(item.note, { misses: count, probes: count });
      assert.ok(Array.from(labels).includes(item.label as number));
    }
  } finally {
    gov.close();
  }
});
