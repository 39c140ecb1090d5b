/**
 * `npm run bench:http`: how many queries per second the HTTP target sustains against a local
 * `rampart serve` (started here as a child process, defences off, an API key from the
 * environment), and that its query count is exact: the rows it reports equal the requests
 * the server answered (from the server's own /metrics) times the rows per request. The
 * reference is a bare fetch loop sending the same bodies at the same concurrency, in
 * alternating rounds, so the ratio shows what the target's mapping, validation and counting
 * cost. Target: >= 500 queries/s with the count exact. Flags:
 *   --rows 4096 (per round)   --rounds 3   --batch 32   --concurrency 4   --arch mlp|cnn
 *   --out bench/results/http-target.json
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initEngine } from '../src/engine/backend.js';
import { writeJsonFile } from '../src/core/files.js';
import { buildModel } from '../src/models/architectures.js';
import { saveClassifierModel } from '../src/models/store.js';
import { loadHttpModel } from '../src/models/http/index.js';
import { selectData } from '../src/pipeline/data-selection.js';
import { takeFirst } from '../src/data/index.js';
import { startServe } from '../test/serve-process.js';
import { median, option, positiveFlag } from './support.js';

const rowsPerRound = positiveFlag('rows', 4096);
const rounds = positiveFlag('rounds', 3);
const batch = positiveFlag('batch', 32);
const concurrency = positiveFlag('concurrency', 4);
const arch = option('arch') ?? 'mlp';
const out = option('out') ?? 'bench/results/http-target.json';
if (rowsPerRound % batch !== 0) {
  console.error(`--rows must be a multiple of --batch so every request is full (the exact count check); got ${rowsPerRound} and ${batch}.`);
  process.exit(2);
}

const engine = await initEngine();
const root = fileURLToPath(new URL('..', import.meta.url));
const work = await mkdtemp(join(tmpdir(), 'rampart-bench-http-'));
const model = buildModel(arch, { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
await saveClassifierModel(model, join(work, 'model'), {
  architecture: arch,
  inputShape: [28, 28, 1],
  numClasses: 10,
  bounds: { min: 0, max: 1 },
});
model.dispose();
await writeFile(
  join(work, 'serve.yaml'),
  'layers: { rateLimit: false, queryPattern: false, ood: false, ensemble: false, abstain: false, normalizeText: false }\n' +
    `limits: { bodyBytes: ${16 * 1024 * 1024} }\nmonitor: false\ncanary: false\nrollback: false\nauth: { metricsPublic: true }\n`,
);
const keysFile = join(work, 'keys.json');
const added = spawnSync(
  process.execPath,
  ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'keys', 'add', '--file', keysFile, '--role', 'predict'],
  {
    cwd: root,
    encoding: 'utf8',
  },
);
if (added.status !== 0) throw new Error(`keys add failed: ${added.stderr}`);
const key = added.stdout.trim();
process.env.RAMPART_BENCH_KEY = key;
const server = await startServe([
  '--model',
  join(work, 'model'),
  '--keys',
  keysFile,
  '--config',
  join(work, 'serve.yaml'),
  '--log-level',
  'warn',
]);

try {
  const data = takeFirst(selectData({ spec: 'mnist', splitSeed: 1, subset: 'all' }).splits.test, 512);
  // Distinct rows, cycled, in the row-major form attacks hand the target.
  const rows = new Float32Array(rowsPerRound * 784);
  for (let i = 0; i < rowsPerRound; i++) rows.set(data.x.subarray((i % data.count) * 784, ((i % data.count) + 1) * 784), i * 784);

  const { classifier } = await loadHttpModel({
    url: `${server.url}/v1/predict`,
    output: 'scores',
    inputShape: [28, 28, 1],
    numClasses: 10,
    authHeader: 'authorization',
    authEnv: 'RAMPART_BENCH_KEY',
    authPrefix: 'Bearer ',
    batchSize: batch,
    concurrency,
    fingerprintProbes: batch,
  });

  /** The reference: the same bodies through fetch at the same concurrency, JSON parsed, nothing else. */
  async function bare(): Promise<void> {
    const bodies = Array.from({ length: rowsPerRound / batch }, (_, r) =>
      JSON.stringify({
        inputs: Array.from({ length: batch }, (_, k) => Array.from(rows.subarray((r * batch + k) * 784, (r * batch + k + 1) * 784))),
      }),
    );
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < bodies.length) {
        const body = bodies[next++] as string;
        const res = await fetch(`${server.url}/v1/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body,
        });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        await res.json();
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  }
  /** The target as an attack uses it: chunks of 256 rows through queryScores. */
  async function target(): Promise<void> {
    for (let start = 0; start < rowsPerRound; start += 256) {
      const end = Math.min(rowsPerRound, start + 256);
      await classifier.queryScores(rows.subarray(start * 784, end * 784), end - start);
    }
  }
  async function served(): Promise<number> {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith('rampart_http_requests_total{') && l.includes('route="/v1/predict"') && l.includes('status="200"'));
    return line ? Number(line.split(' ').at(-1)) : 0;
  }
  const timed = async (f: () => Promise<void>): Promise<number> => {
    const t0 = performance.now();
    await f();
    return rowsPerRound / ((performance.now() - t0) / 1000);
  };

  await bare();
  await target();
  const results = { target: [] as number[], bare: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    // Alternate which goes first, so drift on the shared machine hits both alike.
    for (const which of round % 2 === 0 ? (['target', 'bare'] as const) : (['bare', 'target'] as const)) {
      results[which].push(await timed(which === 'target' ? target : bare));
    }
  }
  const requestsBefore = await served();
  const statsBefore = classifier.stats();
  await target();
  const sentRows = classifier.stats().queries - statsBefore.queries;
  const answeredRows = ((await served()) - requestsBefore) * batch;
  const exact = sentRows === answeredRows && sentRows === rowsPerRound && classifier.stats().retries === 0;
  const summary = {
    kind: 'rampart.bench.http-target',
    createdAt: new Date().toISOString(),
    backend: engine.backend,
    arch,
    batch,
    concurrency,
    rowsPerRound,
    rounds,
    loadavg: loadavg().map((v) => Math.round(v * 100) / 100),
    queriesPerSecond: { target: Math.round(median(results.target)), bare: Math.round(median(results.bare)), rounds: results },
    ratio: Math.round((median(results.target) / median(results.bare)) * 1000) / 1000,
    count: { sentRows, answeredRows, exact },
    target: { queriesPerSecond: 500, met: median(results.target) >= 500 && exact },
  };
  await writeJsonFile(out, summary);
  console.log(
    `HTTP target: ${summary.queriesPerSecond.target} queries/s (bare fetch ${summary.queriesPerSecond.bare}, ratio ${summary.ratio}), ` +
      `batch ${batch}, concurrency ${concurrency}; count ${exact ? 'exact' : 'WRONG'} (${sentRows} sent, ${answeredRows} answered); ` +
      `target >= 500 q/s ${summary.target.met ? 'met' : 'NOT met'}. Written to ${out}.`,
  );
} finally {
  await server.stop();
}
