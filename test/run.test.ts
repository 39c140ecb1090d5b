/**
 * `runPlan` end to end on a tiny plan (an MLP on 300 digits, one or two epochs, 40
 * evaluation examples): every stage runs, an unchanged rerun does no work, a crash
 * mid-stage reruns only that stage, a criteria change reruns only the gate onwards, and
 * the run lands in governance.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, statSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { openGovernance } from '../src/governance/index.js';
import { parsePlanText } from '../src/pipeline/plan/load.js';
import { loadResults } from '../src/eval/results.js';
import { runPlan, type RunPlanResult } from '../src/pipeline/run/run-plan.js';
import { stageRecordPath } from '../src/pipeline/run/runner.js';
import type { RunEvent } from '../src/pipeline/run/types.js';
import { engine } from './fixtures.js';

const PLAN = `
name: tiny
seed: 3
threats:
  - { id: linf-0.1, channel: image, technique: gradient, norm: linf, epsilon: 0.1, likelihood: likely, impact: moderate, owner: team-a }
  - { id: l2-1, channel: image, technique: gradient, norm: l2, epsilon: 1, likelihood: possible, impact: minor, owner: team-a }
data: { dataset: mnist, splitSeed: 1, trainLimit: 300 }
model:
  architecture: mlp
  baseline: { epochs: 1, learningRate: 0.002 }
training:
  method: pgd-at
  threat: linf-0.1
  steps: 2
  epochs: 2
  learningRate: 0.002
  phases: [{ epochs: 1, epsilonScale: 0.5 }, { epochs: 1, epsilonScale: 1 }]
  robustValidation: { steps: 2, limit: 50 }
evaluation:
  limit: 40
  attacks: [{ id: fgsm }, { id: pgd, options: { steps: 3 } }]
  suite: standard:quick
  masking: false
  certification: { sigma: 0.25, samples: 100, selectionSamples: 10, limit: 10 }
  latencySamples: 20
  examples: 3
criteria:
  cleanAccuracy: 0.3
  robustAccuracy: { linf-0.1: 0.05 }
  certifiedAccuracy: { l2-1: 0 }
  ece: 0.5
  latencyP99Ms: 1000
  maxRegression: 0.05
`;

/** The baseline and hardened model of a plan that builds its image model. */
function built(result: RunPlanResult): Required<Pick<RunPlanResult, 'baseline' | 'hardened'>> {
  assert.ok(result.baseline && result.hardened, 'the plan builds its image model');
  return { baseline: result.baseline, hardened: result.hardened };
}

function statuses(result: RunPlanResult): string[] {
  return result.stages.map((s) => `${s.id}:${s.status}`);
}

describe('runPlan', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-run-'));
  const plan = parsePlanText(PLAN, 'tiny.yaml');
  let first: RunPlanResult;
  let leaked = 0;

  before(async () => {
    await engine();
    const tensors = tf.memory().numTensors;
    first = await runPlan(plan, { dir });
    leaked = tf.memory().numTensors - tensors;
  });

  it('disposes every tensor it made', () => {
    assert.equal(leaked, 0);
  });

  it('runs every stage and writes results, JUnit, Markdown, HTML and the run record', async () => {
    assert.deepEqual(statuses(first), [
      'data:ran',
      'baseline:ran',
      'attack:ran',
      'harden:ran',
      'calibrate:ran',
      'certify:ran',
      'evaluate:ran',
      'gate:ran',
      'report:ran',
      'register:ran',
    ]);
    const results = await loadResults(first.files.results);
    assert.equal(results.model.name, 'tiny/hardened');
    assert.deepEqual(Object.keys(results.robustAccuracy).sort(), ['l2-1', 'linf-0.1']);
    // Every threat has its channel's section (the schema refuses one that does not), so every threat is measured.
    assert.deepEqual(results.unmeasured, {});
    assert.ok(results.cleanAccuracy > 0.3, `clean accuracy ${results.cleanAccuracy}`);
    // The hardened model resists the threat it trained against better than the baseline.
    const baseline = built(first).baseline.evaluation.results;
    assert.ok((results.robustAccuracy['linf-0.1'] as number) > (baseline.robustAccuracy['linf-0.1'] as number));
    assert.equal(results.curves.find((c) => c.norm === 'linf')?.points.length, 2);
    // Calibration at the temperature shipped in the model's metadata, certification at the L2 radius.
    assert.equal(results.temperature, built(first).hardened.calibration?.temperature);
    assert.ok(results.ece !== undefined && results.ece >= 0 && results.ece <= 1);
    assert.equal(results.reliability?.length, 15);
    assert.equal(baseline.temperature, 1);
    const stored = JSON.parse(await readFile(join(first.runDir, built(first).hardened.training.modelDir, 'model.json'), 'utf8')) as {
      userDefinedMetadata: { rampart: { temperature?: number } };
    };
    assert.equal(stored.userDefinedMetadata.rampart.temperature, results.temperature);
    assert.equal(built(first).hardened.certification?.count, 10);
    assert.ok(results.certifiedAccuracy?.['l2-1'] !== undefined);
    // Every rate with its n and interval; robust accuracy from the quick suite and the plan's attacks.
    assert.equal(results.rates?.clean?.n, 40);
    assert.equal(results.rates?.robust['linf-0.1']?.value, results.robustAccuracy['linf-0.1']);
    assert.equal(results.rates?.certified?.['l2-1']?.n, 10);
    // Attack success: of the examples classified correctly, the share the attacks broke, with its interval.
    const success = results.rates?.attackSuccess?.['linf-0.1'];
    assert.equal(success?.n, results.rates?.clean?.count);
    assert.equal(success?.count, (results.rates?.clean?.count ?? 0) - (results.rates?.robust['linf-0.1']?.count ?? 0));
    assert.ok(success !== undefined && success.lower <= success.value && success.value <= success.upper);
    assert.deepEqual(results.method, { suite: 'standard:quick', attacks: ['fgsm', 'pgd'], upperBound: false });
    assert.match(first.gate.checks.find((c) => c.id === 'robust-accuracy:linf-0.1')?.message ?? '', /\(95% CI [\d.]+%–[\d.]+%, n=40\)/);
    assert.equal(first.gate.passed, true, JSON.stringify(first.gate.checks));
    assert.equal(first.gate.checks.find((c) => c.id === 'regression')?.status, 'skipped');
    assert.match(await readFile(first.files.junit, 'utf8'), /<testsuite name="rampart gate: tiny" tests="6" failures="0"/);
    assert.match(await readFile(first.files.markdown, 'utf8'), /✅ PASSED/);
    const html = await readFile(first.files.report, 'utf8');
    assert.match(html, /Robust accuracy vs L∞ ε/);
    // Per model, 3 examples of clean, adversarial and perturbation plus their attributions before and after, and the set's |Δ| heatmap.
    assert.equal((html.match(/<img /g) ?? []).length, 2 * (3 * 3 + 3 * 2 + 1));
    assert.match(html, /Where the attack moved the model/);
    assert.equal((html.match(/<svg /g) ?? []).length, 2 + 2);
    const run = JSON.parse(await readFile(first.files.run, 'utf8')) as { passed: boolean; stages: unknown[] };
    assert.equal(run.passed, true);
    assert.equal(run.stages.length, 10);
  });

  it('records the run in governance: lineage, risks with measurements, audit', () => {
    const gov = openGovernance(dir);
    try {
      const registered = first.governance;
      assert.ok(registered);
      const lineage = gov.registry.lineage(registered.evaluations.hardened as string);
      const ancestors = lineage.ancestors.map((a) => a.kind).sort();
      assert.deepEqual([...new Set(ancestors)], ['dataset', 'model', 'plan']);
      assert.ok(lineage.descendants.some((d) => d.kind === 'report'));
      const risk = gov.risks.find('linf-0.1');
      assert.equal(risk?.likelihood, 4);
      assert.equal(risk?.impact, 3);
      assert.ok(risk?.measuredSuccess !== null && risk?.measuredSuccess !== undefined);
      assert.ok(typeof gov.risks.find('l2-1')?.measuredSuccess === 'number');
      const actions = new Set(gov.audit.list().map((e) => e.action));
      for (const a of ['register', 'train', 'evaluate', 'gate', 'risk.measure']) assert.ok(actions.has(a), a);
      assert.equal(gov.audit.verify().ok, true);
      assert.deepEqual(registered.vulnerabilities, []);
    } finally {
      gov.close();
    }
  });

  it('an unchanged rerun does no work', async () => {
    const modelFile = join(first.runDir, built(first).hardened.training.modelDir, 'weights.bin');
    const modelTime = statSync(modelFile).mtimeMs;
    const recordTime = statSync(stageRecordPath(first.runDir, 'evaluate')).mtimeMs;
    const events: RunEvent[] = [];
    const tensors = tf.memory().numTensors;
    const again = await runPlan(plan, { dir, onEvent: (e) => events.push(e) });
    assert.deepEqual(statuses(again), [
      'data:cached',
      'baseline:cached',
      'attack:cached',
      'harden:cached',
      'calibrate:cached',
      'certify:cached',
      'evaluate:cached',
      'gate:cached',
      'report:cached',
      'register:cached',
    ]);
    assert.equal(events.filter((e) => e.type === 'stage-progress').length, 0);
    assert.equal(statSync(modelFile).mtimeMs, modelTime);
    assert.equal(statSync(stageRecordPath(first.runDir, 'evaluate')).mtimeMs, recordTime);
    assert.equal(tf.memory().numTensors, tensors);
    assert.deepEqual(built(again).hardened.evaluation.results, built(first).hardened.evaluation.results);
  });

  it('after a crash in adversarial training, reruns that stage (resuming from its checkpoints) and nothing whose inputs did not change', async () => {
    // A crash leaves no stage record behind, only the stage's partial work.
    await rm(stageRecordPath(first.runDir, 'harden'));
    const events: RunEvent[] = [];
    const resumed = await runPlan(plan, { dir, onEvent: (e) => events.push(e) });
    assert.deepEqual(statuses(resumed), [
      'data:cached',
      'baseline:cached',
      'attack:cached',
      'harden:ran',
      'calibrate:ran',
      'certify:cached',
      'evaluate:cached',
      'gate:cached',
      'report:cached',
      'register:cached',
    ]);
    // Every epoch was checkpointed, so no training step ran again; the weights are the same.
    assert.equal(events.filter((e) => e.type === 'stage-progress' && e.stage === 'harden').length, 0);
    assert.equal(built(resumed).hardened.training.sha256, built(first).hardened.training.sha256);
    // Training rewrote the model without its temperature, so calibration ran again: same fit, stored again.
    assert.equal(built(resumed).hardened.calibration?.temperature, built(first).hardened.calibration?.temperature);
    const stored = JSON.parse(await readFile(join(first.runDir, built(first).hardened.training.modelDir, 'model.json'), 'utf8')) as {
      userDefinedMetadata: { rampart: { temperature?: number } };
    };
    assert.equal(stored.userDefinedMetadata.rampart.temperature, built(first).hardened.calibration?.temperature);
  });

  it('a criteria change reruns only the gate and what follows it; a regressed candidate fails and files a vulnerability', async () => {
    const production = {
      ...built(first).hardened.evaluation.results,
      model: { name: 'tiny/production' },
      cleanAccuracy: Math.min(1, built(first).hardened.evaluation.results.cleanAccuracy + 0.2),
    };
    const stricter = parsePlanText(PLAN.replace('maxRegression: 0.05', 'maxRegression: 0.01'), 'tiny.yaml');
    const gated = await runPlan(stricter, { dir, production });
    assert.deepEqual(statuses(gated), [
      'data:cached',
      'baseline:cached',
      'attack:cached',
      'harden:cached',
      'calibrate:cached',
      'certify:cached',
      'evaluate:cached',
      'gate:ran',
      'report:ran',
      'register:ran',
    ]);
    assert.equal(gated.gate.passed, false);
    assert.deepEqual(
      gated.gate.checks.filter((c) => !c.passed).map((c) => c.id),
      ['regression:clean-accuracy'],
    );
    assert.match(await readFile(gated.files.junit, 'utf8'), /failures="1"/);
    assert.equal(gated.governance?.vulnerabilities.length, 1);
    const gov = openGovernance(dir);
    try {
      const vuln = gov.vulnerabilities.get(gated.governance?.vulnerabilities[0] as string);
      assert.equal(vuln.threatId, 'regression:clean-accuracy');
      assert.equal(vuln.status, 'open');
    } finally {
      gov.close();
    }
  });

  it('compares with the registry model tagged production by default', async () => {
    const gov = openGovernance(dir);
    try {
      gov.registry.promote(first.governance?.models.hardened as string, 'production', { reason: 'first release' });
    } finally {
      gov.close();
    }
    const compared = await runPlan(plan, { dir });
    assert.deepEqual(statuses(compared).slice(-4), ['evaluate:cached', 'gate:ran', 'report:ran', 'register:ran']);
    assert.equal(compared.gate.comparedWith, 'tiny/hardened');
    assert.equal(compared.production?.cleanAccuracy, built(first).hardened.evaluation.results.cleanAccuracy);
    const regression = compared.gate.checks.filter((c) => c.id.startsWith('regression:'));
    assert.deepEqual(
      regression.map((c) => c.id),
      ['regression:clean-accuracy', 'regression:robust-accuracy:linf-0.1', 'regression:robust-accuracy:l2-1'],
    );
    assert.ok(regression.every((c) => c.passed));
  });
});
