/**
 * The queue from the command line, against a real redis-server and a real `rampart worker`:
 * `rampart eval --suite --queue redis://...` sends attack and certification shards to the
 * worker and reports the numbers of the same command without a queue, and a plan with
 * `execution: { queue: redis://... }` runs its attacks and certification on the worker.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { saveClassifierModel } from '../src/models/store.js';
import { engine, trainedMlp, TINY_IMAGE_PLAN_PART } from './fixtures.js';
import { redisMissing, startRedis, startWorker, type RedisProcess, type WorkerProcess } from './queue-support.js';

const skip = redisMissing();
if (skip) console.log(`# SKIP queue CLI tests: ${skip}`);

const root = fileURLToPath(new URL('..', import.meta.url));
const main = join(root, 'src/cli/main.ts');

/** `rampart ...args` in a child process (asynchronously: the worker's output keeps flowing meanwhile). */
function rampart(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', main, ...args], { cwd: root, env: { ...process.env, RAMPART_BACKEND: '' } });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    proc.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('queue from the CLI', { skip }, () => {
  let redis: RedisProcess;
  let worker: WorkerProcess;
  let dir: string;
  let modelDir: string;

  before(async () => {
    await engine();
    dir = await mkdtemp(join(tmpdir(), 'rampart-queue-cli-'));
    modelDir = join(dir, 'model');
    const model = await trainedMlp();
    await saveClassifierModel(model.model, modelDir, {
      architecture: 'mlp',
      inputShape: [28, 28, 1],
      numClasses: 10,
      bounds: { min: 0, max: 1 },
    });
    redis = await startRedis();
    worker = await startWorker(redis.url, ['--lock-duration', '8000', '--stalled-interval', '2000']);
  });
  after(async () => {
    worker?.kill();
    await worker?.exited;
    await redis?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('rampart eval --suite --queue: attack and certification shards on the worker, the numbers of a local run', async () => {
    const args = (out: string): string[] => [
      'eval',
      '--model',
      modelDir,
      '--suite',
      'standard:quick',
      '--epsilons',
      '0.1',
      '--limit',
      '8',
      '--no-masking',
      '--no-calibration',
      '--no-latency',
      '--certify-limit',
      '3',
      '--n0',
      '10',
      '--n',
      '40',
      '--radii',
      '0,0.25',
      '--seed',
      '2',
      '--workers',
      '1',
      '--out',
      out,
    ];
    const localOut = join(dir, 'local.json');
    const queuedOut = join(dir, 'queued.json');
    const [local, queued] = await Promise.all([rampart(...args(localOut)), rampart(...args(queuedOut), '--queue', redis.url)]);
    assert.equal(local.code, 0, local.stderr);
    assert.equal(queued.code, 0, queued.stderr);
    assert.match(queued.stderr, /queue: redis:\/\/127\.0\.0\.1:\d+ \(1 workers connected\)/);
    const a = JSON.parse(await readFile(localOut, 'utf8'));
    const b = JSON.parse(await readFile(queuedOut, 'utf8'));
    const strip = (r: { suite: unknown; certification?: { examples: unknown; curve: unknown } }): unknown => ({
      suite: JSON.stringify(r.suite, (k, v: unknown) => (/ms$|Ms$|duration|seconds/i.test(k) ? undefined : v)),
      certification: [r.certification?.examples, r.certification?.curve],
    });
    assert.ok(a.certification?.examples?.length === 3, 'certified 3 examples');
    assert.deepEqual(strip(b), strip(a));
    const log = worker.stdout();
    assert.match(log, /start attack rows/);
    assert.match(log, /start certify rows/);
  });

  it('a plan with execution.queue runs its attacks and certification on the worker', async () => {
    const from = worker.stdout().length;
    const plan = join(dir, 'plan.yaml');
    await writeFile(
      plan,
      `name: tiny-queue
seed: 3
threats:
  - { id: linf-0.1, channel: image, technique: gradient, norm: linf, epsilon: 0.1, likelihood: likely, impact: moderate, owner: team-a }
  - { id: l2-1, channel: image, technique: gradient, norm: l2, epsilon: 1, likelihood: possible, impact: minor, owner: team-a }
${TINY_IMAGE_PLAN_PART}  certification: { sigma: 0.25, samples: 40, selectionSamples: 10, limit: 3 }
criteria:
  cleanAccuracy: 0.05
execution: { queue: '${redis.url}' }
`,
    );
    const r = await rampart('run', plan, '--dir', join(dir, 'runs'), '--no-governance');
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const log = worker.stdout().slice(from);
    assert.match(log, /start attack rows/);
    assert.match(log, /start certify rows/);
  });
});
