/**
 * The review loop over HTTP and the CLI: a server captures what its abstain layer flags,
 * an operator lists and decides items through `/v1/review` (a predict key may not), and
 * `rampart review` reads and decides the same queue from the registry, every decision in
 * the audit log under the reviewer's name.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { smallMnist, trainedMlp } from './fixtures.js';
import { saveClassifierModel } from '../src/models/store.js';
import { buildServer } from '../src/serve/app.js';
import { KeyStore, generateApiKey, hashApiKey } from '../src/serve/auth.js';
import { directorySource } from '../src/serve/model-source.js';
import { openGovernance } from '../src/governance/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
let dir: string;
let registry: string;
let app: FastifyInstance;
const operator = generateApiKey();
const predictor = generateApiKey();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rampart-loop-review-'));
  registry = join(dir, '.rampart');
  await saveClassifierModel((await trainedMlp()).model, join(dir, 'model'), {
    architecture: 'mlp',
    inputShape: [28, 28, 1],
    numClasses: 10,
    bounds: { min: 0, max: 1 },
  });
  const keys = new KeyStore([
    { id: operator.id, role: 'operator', name: 'alice', hash: await hashApiKey(operator.key) },
    { id: predictor.id, role: 'predict', hash: await hashApiKey(predictor.key) },
  ]);
  app = await buildServer({
    source: directorySource({ dir: join(dir, 'model') }),
    keys,
    config: {
      layers: { ood: false, queryPattern: false, rateLimit: false, abstain: { threshold: 0.9999, action: 'flag' } },
      canary: false,
      capture: { dir: registry, flushMs: 20, batchSize: 4 },
    },
  });
});

after(async () => app?.close());

const as = (key: string) => ({ authorization: `Bearer ${key}` });

test('an operator reviews captured requests over HTTP; a predict key cannot', async () => {
  const { test: data } = smallMnist();
  let flagged = 0;
  for (let i = 0; i < 6; i++) {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/predict',
      headers: as(predictor.key),
      payload: { inputs: [Array.from(data.x.subarray(i * 784, (i + 1) * 784))] },
    });
    assert.equal(res.statusCode, 200);
    if (res.json<{ flagged: boolean }>().flagged) flagged++;
  }
  assert.ok(flagged > 0);
  // The writer thread stores them shortly after; wait for it (bounded), then review.
  let items: Array<{ id: string; client: string; source: string }> = [];
  for (let tries = 0; tries < 200 && items.length < flagged; tries++) {
    await new Promise((r) => setTimeout(r, 25));
    items = (await app.inject({ method: 'GET', url: '/v1/review', headers: as(operator.key) })).json<{ items: typeof items }>().items;
  }
  assert.equal(items.length, flagged);
  assert.equal(items[0]?.client, `key:${predictor.id}`);
  assert.equal((await app.inject({ method: 'GET', url: '/v1/review', headers: as(predictor.key) })).statusCode, 403);
  assert.equal((await app.inject({ method: 'GET', url: '/v1/review?status=nope', headers: as(operator.key) })).statusCode, 400);

  const id = items[0]?.id as string;
  const shown = (await app.inject({ method: 'GET', url: `/v1/review/${id}`, headers: as(operator.key) })).json<{
    input: { kind: string; x: number[] };
  }>();
  assert.equal(shown.input.kind, 'image');
  assert.equal(shown.input.x.length, 784);
  const bad = await app.inject({
    method: 'POST',
    url: `/v1/review/${id}/decision`,
    headers: as(operator.key),
    payload: { verdict: 'attack', reason: 'no label' },
  });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json<{ error: { code: string } }>().error.code, 'E_REVIEW_DECISION');
  const ok = await app.inject({
    method: 'POST',
    url: `/v1/review/${id}/decision`,
    headers: as(operator.key),
    payload: { verdict: 'attack', label: 3, reason: 'speckle noise on a 3' },
  });
  assert.equal(ok.statusCode, 200, ok.body);
  assert.equal(ok.json<{ item: { review: { status: string } } }>().item.review.status, 'attack');
  const missing = await app.inject({ method: 'GET', url: '/v1/review/cap_0000000000000000', headers: as(operator.key) });
  assert.equal(missing.statusCode, 404);

  // The CLI sees the same queue.
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'review', ...args, '--dir', registry], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, RAMPART_ACTOR: 'bob' },
    });
  const ls = cli('ls', '--json');
  assert.equal(ls.status, 0, ls.stderr);
  const pending = JSON.parse(ls.stdout) as Array<{ id: string }>;
  assert.equal(pending.length, flagged - 1);
  const next = pending[0]?.id as string;
  const show = cli('show', next);
  assert.equal(show.status, 0, show.stderr);
  assert.match(show.stdout, /flag at .* by key:/);
  assert.equal(cli('decide', next, '--verdict', 'attack', '--reason', 'x').status, 1);
  const decided = cli('decide', next, '--verdict', 'benign', '--reason', 'a plain digit');
  assert.equal(decided.status, 0, decided.stderr);
  assert.equal(cli('decide', next, '--verdict', 'sure', '--reason', 'x').status, 2);

  const gov = openGovernance(registry, { mustExist: true });
  try {
    const log = gov.audit.list({ action: 'review.decide' });
    assert.deepEqual(
      log.map((e) => [e.actor, e.subject, e.details.verdict]),
      [
        [`alice (key:${operator.id})`, id, 'attack'],
        ['bob', next, 'benign'],
      ],
    );
    assert.ok(gov.audit.verify().ok);
  } finally {
    gov.close();
  }
});
