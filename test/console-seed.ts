/**
 * A real registry for the console tests and screenshots: a tiny plan run through `runPlan`
 * (an MLP on 300 digits, FGSM on 20), run twice with different seeds so there are runs to
 * compare, the second model promoted to production, review items (evaluation examples and a
 * flagged text), a metrics snapshot series written
 * through the serve snapshot store, and keys for an operator and an admin. Not a test file.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureLimitsSchema, importEvaluationExamples, openGovernance } from '../src/governance/index.js';
import { parsePlanText } from '../src/pipeline/plan/load.js';
import { runPlan } from '../src/pipeline/run/run-plan.js';
import { addApiKey } from '../src/serve/auth.js';
import { SnapshotStore } from '../src/serve/snapshots.js';
import { engine } from './fixtures.js';

const plan = (name: string, seed: number): string => `
name: ${name}
seed: ${seed}
threats:
  - { id: linf-0.1, channel: image, technique: gradient, norm: linf, epsilon: 0.1, likelihood: likely, impact: moderate, owner: team-a }
  - { id: linf-0.2, channel: image, technique: gradient, norm: linf, epsilon: 0.2, likelihood: possible, impact: major, owner: team-a }
data: { dataset: mnist, splitSeed: 1, trainLimit: 300 }
model:
  architecture: mlp
  baseline: { epochs: 1, learningRate: 0.002 }
training:
  method: standard
  epochs: 1
  learningRate: 0.002
evaluation:
  limit: 20
  attacks: [{ id: fgsm }]
  suite: none
  masking: false
  temperatureScaling: false
  latencySamples: 10
  examples: 2
criteria:
  cleanAccuracy: 0.3
  robustAccuracy: { linf-0.1: 0.05, linf-0.2: 0.9 }
`;

export interface ConsoleSeed {
  /** The temporary directory holding the registry and the keys (remove it when done). */
  root: string;
  dir: string;
  keysFile: string;
  operatorKey: string;
  adminKey: string;
}

/** Markup a test expects to see as text: registered as the name of one more run. */
export const HOSTILE_NAME = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">';

/** Builds the registry in a fresh temporary directory, with one run whose name is {@link HOSTILE_NAME}. */
export async function seedConsoleRegistry(): Promise<ConsoleSeed> {
  await engine();
  const root = mkdtempSync(join(tmpdir(), 'rampart-console-'));
  const dir = join(root, '.rampart');
  mkdirSync(dir, { recursive: true });
  // Each run's borderline adversarial examples go to the review queue noting their evaluation,
  // as `rampart review import --evaluation` does; the console shows them as the vulnerability's evidence.
  const work = join(dir, 'runs', 'digits', 'work');
  const imported = new Set<string>();
  for (const [file, seed] of [
    ['a.yaml', 3],
    ['b.yaml', 4],
  ] as const) {
    const result = await runPlan(parsePlanText(plan('digits', seed), file), { dir });
    const evaluation = result.governance?.evaluations.hardened;
    const gov = openGovernance(dir, { actor: 'seed' });
    try {
      for (const stage of readdirSync(work).filter((d) => d.startsWith('evaluate-') && !imported.has(d))) {
        imported.add(stage);
        const examples = JSON.parse(readFileSync(join(work, stage, 'examples.json'), 'utf8')) as unknown;
        importEvaluationExamples(gov, examples, { borderlineOnly: false, max: 2, ...(evaluation ? { evaluation } : {}) });
      }
    } finally {
      gov.close();
    }
  }
  const gov = openGovernance(dir, { actor: 'seed' });
  try {
    const models = gov.registry.list({ kind: 'model' });
    const newest = models.at(-1);
    if (newest) gov.registry.promote(newest.digest, 'production', { reason: 'seed: first production model' });
    const first = models[0];
    if (first) gov.registry.tag(first.digest, 'candidate', { reason: 'seed' });
    const evaluation = gov.registry.list({ kind: 'evaluation' })[0];
    if (evaluation) {
      const results = gov.registry.readJson<Record<string, unknown>>(evaluation.digest);
      gov.registry.put({
        kind: 'evaluation',
        name: HOSTILE_NAME,
        json: { ...results, model: { name: HOSTILE_NAME } },
        meta: evaluation.meta,
        parents: evaluation.parents,
      });
    }
    // One flagged text with an invisible character, as the server captures it.
    gov.captures.write(
      [
        {
          source: 'flag',
          model: 'digits/hardened',
          client: 'key:seed',
          at: new Date().toISOString(),
          decisions: [{ layer: 'ood', decision: 'flag', score: 0.91 }],
          text: 'Claim your fr\u200Bee prize now',
          predicted: 0,
        },
      ],
      { limits: captureLimitsSchema.parse({}) },
    );
    // The audit head signed with an Ed25519 key, as RAMPART_AUDIT_KEY does on every append.
    gov.audit.sign(generateKeyPairSync('ed25519').privateKey);
  } finally {
    gov.close();
  }
  const store = new SnapshotStore(dir);
  const now = Date.now();
  for (let i = 0; i < 30; i++) {
    store.write({
      at: new Date(now - (30 - i) * 60_000).toISOString(),
      model: 'digits/hardened',
      anomalyRate: 0.02 + 0.01 * Math.sin(i / 3),
      canaryAccuracy: 0.8 - i * 0.002,
      drift: { confidence: 0.05 + i * 0.01, 'input-mean': 0.03 },
      denials: { 'rate-limit': i * 2, 'query-pattern': i },
      rollbacks: 0,
      requests: i * 100,
    });
  }
  store.close();
  const keysFile = join(root, 'keys.json');
  const operatorKey = (await addApiKey(keysFile, { role: 'operator', name: 'olive' })).key;
  const adminKey = (await addApiKey(keysFile, { role: 'admin', name: 'ada' })).key;
  return { root, dir, keysFile, operatorKey, adminKey };
}
