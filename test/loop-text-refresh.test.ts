/**
 * The closed loop on a text-only plan: a spam filter (200 SpamAssassin messages) goes to
 * production, texts it gets wrong are captured and relabelled by a reviewer, and
 * `rampart refresh` builds a text adversarial set, mixes it into the plan's text training
 * (`text.adversarial`), and gates the new filter on those confirmed attacks
 * (`criteria.adversarialSet`, measured by the trained filter behind its normaliser). The
 * production filter, under the same criterion and the same set but without the set in its
 * training (the plan's evaluation of it as its own `text.source`), fails the gate; the
 * refreshed one passes, descends from production and the set, and its evaluation verifies
 * the text threat's vulnerability. Real training, attacks, gate and registry.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { engine } from './fixtures.js';
import { openGovernance } from '../src/governance/index.js';
import { decideReview } from '../src/governance/review.js';
import { loadSavedTextFilter } from '../src/defenses/normalize-text/saved-filter.js';
import { parsePlanText } from '../src/pipeline/plan/load.js';
import { runPlan } from '../src/pipeline/run/run-plan.js';
import { refresh } from '../src/pipeline/refresh.js';

const ATTACKS = [
  'Cl4im y0ur fr33 pr1ze n0w, w1re the f33 t0day',
  'W1N B1G at our c4sino, cl1ck h3re f0r b0nus c0ins',
  'Ch3ap m3ds w1thout pr3scr1ption, 0rder t0day',
  'Y0u h4ve b33n s3lected f0r a c4sh r3ward',
  'zorblat quintex vexillum marplot snood',
  'gribble wimbly ferrule scrivener quoin',
  'L0w r4te l0ans, n0 cr3dit ch3ck, 4pply n0w',
  'Hot s1ngles 1n y0ur 4rea w4nt t0 m33t',
];

const THREAT = `  - { id: spam-typo, channel: text, technique: character, budget: { maxWordFraction: 0.2 }, families: [char-edit, typo], likelihood: likely, impact: minor, owner: t }`;
const TEXT_RUN = `  maxChars: 600
  attack: { id: greedy, options: { maxQueries: 60 } }
  limit: 4
  examples: 1`;

const PLAN = `
name: text-refresh
seed: 4
threats:
${THREAT}
text:
  dataset: spam-assassin
  trainLimit: 200
  model: { hidden: 8, epochs: 6, learningRate: 0.01 }
${TEXT_RUN}
criteria:
  cleanAccuracy: 0.3
`;

/** The production filter evaluated as the plan's own (`text.source`): the set is measured, never trained on. */
const ownFilterPlan = (modelDir: string, set: string) => `
name: text-own-filter
seed: 4
threats:
${THREAT}
text:
  dataset: spam-assassin
  source: ${JSON.stringify(modelDir)}
  adversarial: [{ ref: ${set} }]
${TEXT_RUN}
criteria:
  cleanAccuracy: 0.3
  adversarialSet: { minAccuracy: 0.75 }
`;

let dir: string;
before(async () => {
  await engine();
  dir = await mkdtemp(join(tmpdir(), 'rampart-loop-text-refresh-'));
});
after(() => rm(dir, { recursive: true, force: true }));

test('refresh on a text-only plan: the gate measures the confirmed text attacks, and the new filter passes it', async () => {
  const registry = join(dir, '.rampart');
  const first = await runPlan(parsePlanText(PLAN, 'text-refresh.yaml'), { dir: registry });
  assert.ok(first.text && first.governance?.models.text);
  const productionDir = join(first.runDir, first.text.training.modelDir);

  // The reviewer's true label for each capture is the class production did not give it: every one is a miss.
  const { model, filter } = await loadSavedTextFilter(productionDir);
  const predicted = await (async () => {
    try {
      return (await filter.predictProba(ATTACKS)).map((row) => row.indexOf(Math.max(...row)));
    } finally {
      model.dispose();
    }
  })();
  const gov = openGovernance(registry, { actor: 'ci' });
  let vuln: string;
  try {
    gov.registry.tag(first.governance.models.text, 'production', { reason: 'first release' });
    const { ids } = gov.captures.write(
      ATTACKS.map((text, i) => ({
        source: 'flag' as const,
        model: 'text-filter',
        client: 'key:k1',
        at: new Date().toISOString(),
        decisions: [{ layer: 'normalize-text', decision: 'flag' as const, score: 1 }],
        text,
        predicted: predicted[i] as number,
        threat: 'spam-typo',
      })),
      { limits: { maxItems: 100, maxBytes: 1 << 20, maxAge: 365 * 86_400_000 * 100, maxInputBytes: 4096 } },
    );
    ids.forEach((id, i) => decideReview(gov, id, { verdict: 'relabel', label: 1 - (predicted[i] as number), reason: 'review' }, 'alice'));
    vuln = gov.vulnerabilities.file({
      threatId: 'spam-typo',
      attack: 'captured obfuscations',
      evidence: { metric: 'robustAccuracy', measured: 0, required: '>= 0.75' },
      severity: 'high',
      owner: 't',
      remediation: 'refresh',
    }).id;
    gov.vulnerabilities.transition(vuln, 'fixed', { note: 'refreshing' });
  } finally {
    gov.close();
  }

  const r = await refresh({ dir: registry, weight: 4, minAccuracy: 0.75 });
  assert.ok(r.built, 'refresh built no text set from the confirmed attacks');
  assert.deepEqual(r.builtSets, [r.built]);
  assert.deepEqual(r.plan.text?.adversarial, [{ ref: r.built, weight: 4 }]);
  assert.equal(r.plan.data, undefined);
  const adv = r.run.candidate.results.adversarialSet;
  assert.ok(adv, 'the refreshed evaluation did not measure the confirmed text attacks');
  assert.equal(adv.n, ATTACKS.length);
  assert.equal(adv.bySet?.[r.built]?.channel, 'text');
  assert.ok(adv.accuracy >= 0.75, `the refreshed filter classifies ${adv.accuracy} of the confirmed attacks`);
  const checks = Object.fromEntries(r.run.gate.checks.map((c) => [c.id, c.passed]));
  assert.equal(checks['adversarial-set'], true);
  assert.equal(checks['adversarial-set:spam-typo'], true);
  assert.equal(r.passed, true, r.run.gate.checks.map((c) => c.message).join('; '));

  // Without the set in its training (production's filter as the plan's own), the same criterion fails.
  const own = await runPlan(parsePlanText(ownFilterPlan(productionDir, r.built), 'own.yaml'), { dir: registry, governance: false });
  const ownAdv = own.candidate.results.adversarialSet;
  assert.equal(ownAdv?.n, ATTACKS.length);
  assert.equal(ownAdv?.accuracy, 0, 'production was wrong on every confirmed attack by construction');
  assert.equal(own.gate.checks.find((c) => c.id === 'adversarial-set')?.passed, false);
  assert.equal(own.gate.passed, false);

  const check = openGovernance(registry, { mustExist: true });
  try {
    assert.equal(r.candidate, r.run.governance?.models.text, 'the candidate is the refreshed text filter');
    assert.equal(check.registry.resolveTag('candidate'), r.candidate);
    const parents = check.registry.get(r.candidate).parents;
    assert.ok(parents.includes(r.production), 'the candidate does not descend from production');
    assert.ok(parents.includes(r.built), 'the candidate does not descend from the text adversarial set');
    const evaluation = check.registry.list({ kind: 'evaluation' }).find((a) => a.meta.candidate === true && a.meta.model === r.candidate);
    assert.ok(evaluation, 'no candidate evaluation for the refreshed filter');
    assert.deepEqual((evaluation.meta.adversarialSet as { threats: object }).threats, {
      'spam-typo': { passed: true, accuracy: adv.byThreat['spam-typo']?.accuracy },
    });
    assert.equal(check.vulnerabilities.transition(vuln, 'verified', { evaluationDigest: evaluation.digest }).status, 'verified');
  } finally {
    check.close();
  }
});

test('refresh with nothing reviewed since production says so', async () => {
  const registry = join(dir, 'nothing');
  const first = await runPlan(parsePlanText(PLAN, 'text-refresh.yaml'), { dir: registry });
  const gov = openGovernance(registry, { actor: 'ci' });
  try {
    gov.registry.tag(first.governance?.models.text as string, 'production', { reason: 'first release' });
  } finally {
    gov.close();
  }
  await assert.rejects(refresh({ dir: registry }), { code: 'E_REFRESH_NOTHING' });
});
