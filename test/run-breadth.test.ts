/**
 * `runPlan` on a tiny plan that uses the threat breadth end to end: a patch threat, a
 * targeted threat, a transfer threat with the plan's surrogate, a diversity-regularised
 * ensemble as the hardened model, the defended stack (abstain + OOD) attacked adaptively,
 * and the gradient-masking checks and latency under attack as gate criteria.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { parsePlanText } from '../src/pipeline/plan/load.js';
import { loadResults } from '../src/eval/results.js';
import { runPlan, type RunPlanResult } from '../src/pipeline/run/run-plan.js';
import { engine } from './fixtures.js';

const PLAN = `
name: breadth
seed: 2
threats:
  - { id: linf-0.1, channel: image, technique: gradient, norm: linf, epsilon: 0.1, likelihood: likely, impact: moderate, owner: a }
  - { id: patch-4, channel: image, technique: gradient, norm: patch, epsilon: 4, likelihood: possible, impact: moderate, owner: a }
  - { id: to-zero, channel: image, technique: gradient, goal: targeted, target: 0, norm: linf, epsilon: 0.1, likelihood: possible, impact: major, owner: a }
  - { id: transfer-0.1, channel: image, technique: transfer, norm: linf, epsilon: 0.1, likelihood: likely, impact: minor, owner: a }
data: { dataset: mnist, splitSeed: 1, trainLimit: 200 }
model:
  architecture: mlp
  baseline: { epochs: 1, learningRate: 0.002 }
training: { method: diversified, members: 2, diversity: 0.5, threat: linf-0.1, steps: 2, epochs: 1, learningRate: 0.002, robustValidation: false }
evaluation:
  limit: 16
  attacks: [{ id: pgd, options: { steps: 3 } }]
  suite: none
  masking: { limit: 8 }
  temperatureScaling: false
  latencySamples: 10
  examples: 0
  surrogate: { architecture: linear, epochs: 1, limit: 200 }
  defendedStack: { threat: linf-0.1, limit: 12, steps: 3 }
criteria:
  defendedStack: { minRobustAccuracy: 0 }
  latencyUnderAttackP99Ms: 100000
  masking: true
`;

describe('runPlan with patch, targeted and transfer threats, an ensemble and the defended stack', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-breadth-'));
  let run: RunPlanResult;
  let leaked = 0;

  before(async () => {
    await engine();
    const tensors = tf.memory().numTensors;
    run = await runPlan(parsePlanText(PLAN, 'breadth.yaml'), { dir });
    leaked = tf.memory().numTensors - tensors;
  });

  it('measures every threat, with how it was evaluated and the targeted success', async () => {
    const results = await loadResults(run.files.results);
    assert.deepEqual(Object.keys(results.robustAccuracy).sort(), ['linf-0.1', 'patch-4', 'to-zero', 'transfer-0.1']);
    assert.deepEqual(results.unmeasured, {});
    assert.match(results.threatNotes?.['patch-4'] ?? '', /patch threat/);
    assert.match(results.threatNotes?.['transfer-0.1'] ?? '', /surrogate 'surrogate-linear'/);
    const targeted = results.targetedSuccess?.['to-zero'];
    assert.equal(targeted?.target, 0);
    assert.ok(targeted !== undefined && targeted.n > 0 && targeted.value >= 0 && targeted.value <= 1);
  });

  it('hardens with the diversified ensemble: one model, trained by the diversified objective', () => {
    assert.equal(run.hardened?.training.method, 'diversified');
  });

  it('gates on the defended stack, latency under attack and the masking checks, each with a measured value', async () => {
    const check = (id: string) => run.gate.checks.find((c) => c.id === id);
    const stack = check('defended-stack');
    assert.ok(stack && stack.measured !== null, JSON.stringify(run.gate.checks));
    assert.equal(stack.status, 'passed');
    assert.ok((check('latency-under-attack-p99')?.measured ?? 0) > 0);
    assert.ok(
      run.gate.checks.some((c) => c.id.startsWith('masking')),
      run.gate.checks.map((c) => c.id).join(','),
    );
    const results = await loadResults(run.files.results);
    const report = results.defendedStack;
    assert.ok(report);
    assert.deepEqual(
      report.configs.map((c) => c.layers.join('+')),
      ['', 'abstain', 'ood', 'abstain+ood'],
    );
    assert.equal(results.defendedStackRobustAccuracy, report.robustAccuracy.value);
    assert.ok('abstain' in report.added && 'ood' in report.added);
  });

  it('shows the threat details and what each layer adds in the Markdown summary and the HTML report', async () => {
    const markdown = await readFile(run.files.markdown, 'utf8');
    assert.match(markdown, /### How threats were evaluated/);
    assert.match(markdown, /### Targeted threats/);
    assert.match(markdown, /### Defended stack/);
    assert.match(markdown, /abstain \+ ood/);
    const html = await readFile(run.files.report, 'utf8');
    assert.match(html, /Threat details and defended stack/);
    assert.match(html, /adds \(points\)/);
  });

  it('disposes every tensor it made', () => {
    assert.equal(leaked, 0);
  });
});
