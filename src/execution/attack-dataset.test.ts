import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { takeFirst } from '../data/index.js';
import { createWorkerPool, type WorkerPool } from './pool/index.js';
import { threatModel } from '../threats/threat-model.js';
import { engine, smallMnist, trainedMlp } from '../../test/fixtures.js';
import { fgsm } from '../attacks/image/fgsm.js';
import { attackDataset } from './attack-dataset.js';

let pool: WorkerPool;
before(async () => {
  await engine();
  pool = await createWorkerPool({ workers: 2, backend: 'wasm' });
});
after(async () => {
  await pool.close();
});

test('a deterministic attack gives the same per-example record on a worker pool as in this thread', async () => {
  const model = await trainedMlp();
  const data = takeFirst(smallMnist().test, 90);
  const threat = threatModel({ norm: 'linf', epsilon: 0.1 });
  const options = { model, data, attack: fgsm(), threat, batchSize: 40, keepAdversarial: true };
  const here = await attackDataset(options);
  const pooled = await attackDataset({ ...options, pool, attackOptions: {} });
  await assert.rejects(attackDataset({ ...options, pool }), /E_POOL_ATTACK|needs attackOptions/);
  assert.deepEqual(here.execution, { workers: 1, shardRows: 64 });
  assert.equal(pooled.execution.workers, 2);
  assert.ok(here.summary.succeeded > 0 && here.summary.succeeded < here.summary.attacked, 'a batch with both outcomes');
  assert.deepEqual(
    pooled.examples.map(({ perturbation: _perturbation, ...rest }) => rest),
    here.examples.map(({ perturbation: _perturbation, ...rest }) => rest),
  );
  pooled.examples.forEach((e, i) => assert.ok(Math.abs(e.perturbation - (here.examples[i]?.perturbation ?? NaN)) <= 1e-6));
  const a = pooled.adversarial as Float32Array;
  const b = here.adversarial as Float32Array;
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
  assert.ok(worst <= 1e-6, `max difference ${worst}`);
});
