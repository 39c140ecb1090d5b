/**
 * `npm run bench:console`: how fast console pages answer on a big registry. Seeds a fresh
 * registry through the library (1,000 runs: plan, dataset, model and evaluation each, plus
 * risks, vulnerabilities, tags, 500 review items, 2,000 metrics snapshots, and audit entries up to 100,000),
 * builds the console in this process and times each page with `inject` (the full Fastify
 * path: auth, query, render), alternating pages round by round, against `/healthz` measured
 * in the same rounds as the reference. Target: every median under 300 ms. Flags:
 *   --runs 1000   --audit 100000   --rounds 15
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConsole } from '../src/console/app.js';
import { captureLimitsSchema, openGovernance, type Governance } from '../src/governance/index.js';
import { KeyStore, generateApiKey, hashApiKey } from '../src/serve/auth.js';
import { SnapshotStore } from '../src/serve/snapshots.js';
import { median, positiveFlag, reportErrorsPlainly } from './support.js';

reportErrorsPlainly();
const RUNS = positiveFlag('runs', 1000);
const AUDIT = positiveFlag('audit', 100_000);
const ROUNDS = positiveFlag('rounds', 15);
const THREATS = ['linf-0.1', 'linf-0.3', 'l2-1'];

function results(i: number): object {
  const robust = Object.fromEntries(THREATS.map((t, k) => [t, Math.max(0, 0.9 - 0.2 * k - (i % 17) / 100)]));
  const rate = (v: number): object => ({
    count: Math.round(v * 500),
    n: 500,
    value: Math.round(v * 500) / 500,
    lower: Math.max(0, v - 0.04),
    upper: Math.min(1, v + 0.04),
  });
  return {
    kind: 'rampart.evaluation-results',
    schemaVersion: 1,
    model: { name: `model-${i}` },
    cleanAccuracy: 0.95 - (i % 13) / 200,
    robustAccuracy: robust,
    curves: [
      {
        norm: 'linf',
        points: [0, 0.05, 0.1, 0.2, 0.3].map((e) => ({ epsilon: e, robustAccuracy: Math.max(0, 0.95 - e * (2 + (i % 5))) })),
      },
    ],
    unmeasured: {},
    rates: { robust: Object.fromEntries(Object.entries(robust).map(([t, v]) => [t, rate(v)])) },
  };
}

function seed(gov: Governance): void {
  gov.risks.syncFromThreats(THREATS.map((id) => ({ id, title: `threat ${id}`, likelihood: 3, impact: 4, owner: 'team' })));
  for (let batch = 0; batch < RUNS; batch += 100) {
    gov.transaction(() => {
      for (let i = batch; i < Math.min(RUNS, batch + 100); i++) {
        const plan = gov.registry.put({ kind: 'plan', name: `plan-${i % 10}`, json: { name: `plan-${i % 10}`, i } });
        const data = gov.registry.put({ kind: 'dataset', name: 'mnist', json: { i }, parents: [plan.digest] });
        const model = gov.registry.put({
          kind: 'model',
          name: `plan-${i % 10}/hardened`,
          bytes: `weights ${i}`,
          parents: [plan.digest, data.digest],
        });
        const threats = Object.fromEntries(THREATS.map((t, k) => [t, { passed: k < 2, attackSuccessRate: 0.1 + k * 0.2 }]));
        gov.registry.put({
          kind: 'evaluation',
          name: `plan-${i % 10}/hardened`,
          json: results(i),
          meta: { passed: i % 3 !== 0, threats, metrics: { cleanAccuracy: 0.9 }, model: model.digest, candidate: true },
          parents: [model.digest, data.digest, plan.digest],
        });
        if (i === RUNS - 2) gov.registry.promote(model.digest, 'production', { reason: 'bench' });
        if (i === RUNS - 1) gov.registry.tag(model.digest, 'candidate');
      }
    });
  }
  for (let k = 0; k < 20; k++) {
    const evaluation = gov.registry.list({ kind: 'evaluation', name: `plan-${k % 10}/hardened` })[0];
    gov.vulnerabilities.file({
      threatId: THREATS[k % 3] as string,
      attack: 'pgd',
      evidence: {
        metric: 'robustAccuracy',
        measured: 0.2,
        required: 0.5,
        examples: [{ original: 'win a free prize', adversarial: 'win a fr3e prize', label: 'spam' }],
      },
      severity: 'high',
      owner: 'team',
      remediation: 'adversarial training',
      ...(evaluation ? { evaluationDigest: evaluation.digest } : {}),
    });
  }
  let count = gov.audit.list({ limit: 1 })[0]?.seq ?? 0;
  while (count < AUDIT) {
    const n = Math.min(10_000, AUDIT - count);
    gov.transaction(() => {
      for (let j = 0; j < n; j++)
        gov.audit.append({ action: j % 50 === 0 ? 'gate' : 'predict.note', subject: `s-${count + j}`, details: { j } });
    });
    count += n;
  }
  const at = new Date().toISOString();
  const captures = Array.from({ length: 500 }, (_, i) => ({
    source: 'flag' as const,
    model: 'm',
    client: `key:${i % 7}`,
    at,
    decisions: [{ layer: 'ood', decision: 'flag' as const, score: 0.9 }],
    ...(i % 2 === 0
      ? { text: `win a fr\u200Bee prize ${i}` }
      : { x: Array.from({ length: 784 }, (_v, k) => ((k + i) % 17) / 17), shape: [28, 28, 1] }),
    predicted: i % 10,
  }));
  gov.captures.write(captures, { limits: captureLimitsSchema.parse({}) });
  const store = new SnapshotStore(gov.dir);
  const now = Date.now();
  for (let i = 0; i < 2000; i++) {
    store.write({
      at: new Date(now - (2000 - i) * 30_000).toISOString(),
      model: 'm',
      anomalyRate: 0.02,
      canaryAccuracy: 0.8,
      drift: { confidence: 0.1, ood: 0.05, 'input-mean': 0.02 },
      denials: { 'rate-limit': i },
      rollbacks: 0,
      requests: i * 10,
    });
  }
  store.close();
}

const root = mkdtempSync(join(tmpdir(), 'rampart-bench-console-'));
const dir = join(root, '.rampart');
const gov = openGovernance(dir, { actor: 'bench' });
const t = performance.now();
seed(gov);
console.log(`seeded ${RUNS} runs and ${gov.audit.verify().entries} audit entries in ${((performance.now() - t) / 1000).toFixed(1)} s`);
const { key } = generateApiKey();
const keys = new KeyStore([{ id: key.split('_')[1] as string, role: 'operator', hash: await hashApiKey(key) }]);
const app = await buildConsole({ gov, keys });
await app.ready();
const production = gov.registry.resolveTag('production') as string;
const evals = gov.registry.list({ kind: 'evaluation' }).slice(-3);
const pages: Record<string, string> = {
  overview: '/',
  runs: '/runs',
  'runs page 15': '/runs?page=15',
  'runs by plan': '/runs?plan=plan-3',
  compare: `/runs/compare?d=${evals[0]?.digest}&d=${evals[1]?.digest}&d=${evals[2]?.digest}`,
  models: '/models',
  model: `/models/${production}`,
  risks: '/risks',
  monitor: '/monitor?range=30d',
  review: '/review',
  audit: '/audit',
  'audit older': '/audit?before=50000',
  'audit search': '/audit?q=s-7777',
  healthz: '/healthz',
};
const headers = { authorization: `Bearer ${key}` };
// Warm-up (and a check that every page answers 200).
for (const [name, url] of Object.entries(pages)) {
  const r = await app.inject({ url, headers });
  if (r.statusCode !== 200) throw new Error(`${name} ${url} answered ${r.statusCode}: ${r.body.slice(0, 300)}`);
}
const times = new Map<string, number[]>(Object.keys(pages).map((n) => [n, []]));
for (let round = 0; round < ROUNDS; round++) {
  const order = Object.entries(pages);
  if (round % 2 === 1) order.reverse();
  for (const [name, url] of order) {
    const start = performance.now();
    await app.inject({ url, headers });
    times.get(name)?.push(performance.now() - start);
  }
}
const reference = median(times.get('healthz') ?? []);
console.log(`\npage              median ms   max ms   × healthz   (${ROUNDS} rounds; target: median < 300 ms)`);
let worst = 0;
for (const [name, xs] of times) {
  const m = median(xs);
  if (name !== 'healthz') worst = Math.max(worst, m);
  console.log(
    `${name.padEnd(17)} ${m.toFixed(1).padStart(9)} ${Math.max(...xs)
      .toFixed(1)
      .padStart(8)} ${(m / reference).toFixed(0).padStart(10)}`,
  );
}
console.log(`\nslowest page median: ${worst.toFixed(1)} ms (${worst < 300 ? 'within' : 'OVER'} the 300 ms target)`);
await app.close();
gov.close();
rmSync(root, { recursive: true, force: true });
