/**
 * The closed loop end to end on tiny data: a plan run registers a model and production
 * serves it from the registry; an FGSM campaign hits the server and the flagged inputs
 * are captured (the flush timer is far beyond the test, so only the SIGTERM drain writes
 * them); a reviewer confirms them with their true labels; refresh trains a candidate with
 * the confirmed attacks mixed in, and the gate requires it to classify them; the
 * candidate descends from production and the set; the staged rollout of the plan's
 * `rollout.phases` (shadow → canary → full, one second each) promotes it; and the audit
 * chain verifies.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { engine, smallMnist, TINY_IMAGE_PLAN_PART } from './fixtures.js';
import { startServe, type ServeProcess } from './serve-process.js';
import { parsePlanText } from '../src/pipeline/plan/load.js';
import { runPlan } from '../src/pipeline/run/run-plan.js';
import { refresh } from '../src/pipeline/refresh.js';
import { openGovernance } from '../src/governance/index.js';
import { decideReview, listReview, showReview } from '../src/governance/review.js';
import { loadClassifierModel } from '../src/models/store.js';
import { adversarialExamples } from '../src/eval/adversarial-examples.js';
import { threatModel } from '../src/threats/threat-model.js';
import { buildServer } from '../src/serve/app.js';
import { registrySource } from '../src/serve/model-source.js';

const PLAN = `
name: loop
seed: 1
threats:
  - { id: linf-0.3, channel: image, technique: gradient, norm: linf, epsilon: 0.3, likelihood: likely, impact: moderate, owner: team }
${TINY_IMAGE_PLAN_PART}criteria:
  cleanAccuracy: 0.1
rollout:
  phases:
    - { name: shadow, traffic: 0, duration: 1s, criteria: { minSamples: 3, maxLatencyP99Ms: 10000 } }
    - { name: canary, traffic: 0.5, duration: 1s, criteria: { maxAnomalyRate: 1 } }
    - { name: full, traffic: 1, duration: 1s }
`;

let dir: string;
let server: ServeProcess | undefined;
after(() => server?.kill());
before(async () => {
  await engine();
  dir = await mkdtemp(join(tmpdir(), 'rampart-loop-e2e-'));
});

test('capture → review → adversarial set → refresh → gate on the confirmed attacks', async () => {
  const registry = join(dir, '.rampart');
  const first = await runPlan(parsePlanText(PLAN, 'loop.yaml'), { dir: registry });
  const production = first.governance?.models.hardened as string;
  let gov = openGovernance(registry, { mustExist: true, actor: 'release-bot' });
  gov.registry.promote(production, 'production', { reason: 'first release' });
  gov.close();

  // The campaign: FGSM examples that fool the production model.
  const stored = await loadClassifierModel(join(first.runDir, first.hardened.training.modelDir));
  const campaign = await adversarialExamples({
    model: stored.classifier,
    name: 'campaign',
    data: smallMnist().test,
    threat: threatModel({ id: 'linf-0.3', norm: 'linf', epsilon: 0.3 }),
    attack: { id: 'fgsm' },
    count: 40,
    seed: 1,
  });
  stored.model.dispose();
  const attacks = campaign.items.filter((e) => e.adversarialPrediction !== e.label);
  assert.ok(attacks.length >= 5, `only ${attacks.length} successful attacks`);

  await writeFile(
    join(dir, 'serve.yaml'),
    [
      'layers: { ood: false, queryPattern: false, rateLimit: false, abstain: { threshold: 0.9999, action: flag } }',
      'canary: false',
      'capture: { flushMs: 60000, batchSize: 1024 }',
    ].join('\n'),
  );
  server = await startServe(['--registry', registry, '--tag', 'production', '--config', join(dir, 'serve.yaml')]);
  const flaggedLabels: number[] = [];
  const flaggedInputs = new Set<string>();
  for (const e of attacks) {
    const res = await fetch(`${server.url}/v1/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [e.adversarial] }),
    });
    assert.equal(res.status, 200);
    if (((await res.json()) as { flagged: boolean }).flagged) {
      flaggedLabels.push(e.label);
      flaggedInputs.add(e.adversarial.join(','));
    }
  }
  assert.ok(flaggedLabels.length > 0);
  assert.equal(await server.stop(), 0, server.stderr());

  // Review: the reviewer knows the digit under the noise.
  gov = openGovernance(registry, { mustExist: true, actor: 'alice' });
  try {
    const pending = listReview(gov, { limit: 500 });
    assert.equal(pending.length, flaggedLabels.length);
    const key = (x: ArrayLike<number>): string => Array.from(x, (v) => Math.fround(v)).join(',');
    const truth = new Map(attacks.map((e) => [key(e.adversarial), e.label]));
    for (const item of pending) {
      const { input } = showReview(gov, item.id);
      assert.equal(input.kind, 'image');
      const label = input.kind === 'image' ? truth.get(key(input.x)) : undefined;
      assert.notEqual(label, undefined, 'a captured input differs from every input sent');
      decideReview(gov, item.id, { verdict: 'attack', label, reason: 'FGSM noise over a clear digit' }, 'alice');
    }
  } finally {
    gov.close();
  }

  const r = await refresh({ dir: registry, weight: 40, minAccuracy: 0.6 });
  assert.ok(r.built, 'refresh built no set from the confirmed attacks');
  const adv = r.run.hardened.evaluation.results.adversarialSet;
  // One item per distinct input: the set is deduplicated by content.
  assert.equal(adv?.n, flaggedInputs.size);
  const check = r.run.gate.checks.find((c) => c.id === 'adversarial-set');
  assert.ok(check?.passed, check?.message);
  assert.ok(r.passed, r.run.gate.checks.map((c) => c.message).join('; '));

  // Staged rollout on a compressed schedule: shadow → canary → full, then the tag moves.
  const app = await buildServer({
    source: registrySource({ governance: openGovernance(registry, { mustExist: true, actor: 'rampart-serve' }), tag: 'production' }),
    timers: false,
    config: { layers: { ood: false, queryPattern: false, rateLimit: false }, canary: false, rollback: false, monitor: false },
  });
  try {
    // No phases in the request: the server carries out the plan's rollout section.
    await app.rollout.start({ ref: r.candidate, reason: 'refresh passed its gate' }, 'e2e');
    const send = async (): Promise<void> => {
      for (const e of attacks.slice(0, 4)) {
        const res = await app.inject({ method: 'POST', url: '/v1/predict', payload: { inputs: [e.adversarial] } });
        assert.equal(res.statusCode, 200);
      }
    };
    const decisions: string[] = [];
    for (let phase = 0; phase < 3; phase++) {
      await send();
      await new Promise((resolve) => setTimeout(resolve, 1050));
      decisions.push((await app.rollout.tick())?.kind ?? 'none');
    }
    assert.deepEqual(decisions, ['advance', 'advance', 'promote']);
  } finally {
    await app.close();
  }

  gov = openGovernance(registry, { mustExist: true });
  try {
    assert.equal(gov.registry.resolveTag('production'), r.candidate);
    assert.equal(gov.registry.resolveTag('candidate'), r.candidate);
    const parents = gov.registry.get(r.candidate).parents;
    assert.ok(parents.includes(production), 'the candidate does not descend from production');
    assert.ok(parents.includes(r.built as string), 'the candidate does not descend from the adversarial set');
    const evaluation = gov.registry.list({ kind: 'evaluation' }).find((a) => a.meta.model === r.candidate && a.meta.candidate === true);
    assert.ok(evaluation?.meta.adversarialSet, 'the candidate evaluation does not record the confirmed attacks');
    assert.equal(gov.audit.list({ action: 'refresh' }).length, 1);
    assert.equal(gov.audit.list({ action: 'rollout.start' })[0]?.details.phasesFrom, 'plan');
    assert.equal(gov.audit.list({ action: 'rollout.promote' }).length, 1);
    assert.equal(gov.audit.list({ action: 'review.decide' }).length, flaggedLabels.length);
    const check = gov.check();
    assert.ok(check.ok, JSON.stringify(check.audit));
  } finally {
    gov.close();
  }
});
