/**
 * The breadth criteria selectable in plans: latency p99 on adversarial inputs (measured by the
 * plan's evaluation when asked for) and the defended stack's robust accuracy (from the
 * adaptive stack evaluation).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { takeFirst } from '../src/data/index.js';
import { evaluateGate } from '../src/eval/gate.js';
import { abstainDetector, evaluateDefendedStack } from '../src/eval/adaptive/index.js';
import { latencyUnderAttackP99Ms } from '../src/eval/latency.js';
import { createAttack } from '../src/attacks/registry.js';
import { threatModel } from '../src/threats/threat-model.js';
import { parsePlanText } from '../src/pipeline/plan/load.js';
import { evaluateModel } from '../src/pipeline/run/evaluate-model.js';
import { engine, smallMnist, trainedMlp } from './fixtures.js';

const PLAN = (criteria: string) => `
name: breadth
seed: 1
threats:
  - { id: linf-0.1, channel: image, technique: gradient, norm: linf, epsilon: 0.1, likelihood: likely, impact: major, owner: team-a }
data: { dataset: mnist }
model: { architecture: mlp, baseline: { epochs: 1, learningRate: 0.002 } }
training: { method: standard, epochs: 1, learningRate: 0.002 }
evaluation:
  attacks: [{ id: pgd, options: { steps: 5 } }]
  suite: none
  masking: false
  latencySamples: 10
  examples: 0
criteria:
${criteria}
`;

describe('breadth gate criteria', () => {
  before(engine);

  it('latency under attack: measured on adversarial inputs only when the plan asks, and gated', async () => {
    const model = await trainedMlp();
    const data = takeFirst(smallMnist().test, 20);
    const asked = parsePlanText(PLAN('  latencyUnderAttackP99Ms: 100000'), 'plan.yaml');
    const { results } = await evaluateModel({ plan: asked, model, name: 'candidate', sha256: 'x', data });
    assert.ok((results.latencyUnderAttackP99Ms ?? 0) > 0, 'measured');
    assert.equal(evaluateGate(asked.criteria, results).passed, true);
    const strict = evaluateGate({ latencyUnderAttackP99Ms: 1e-9 }, results);
    assert.equal(strict.passed, false);
    assert.match(strict.checks[0]?.message ?? '', /latency p99 on adversarial inputs/);
    const notAsked = parsePlanText(PLAN('  cleanAccuracy: 0'), 'plan.yaml');
    const plain = await evaluateModel({ plan: notAsked, model, name: 'candidate', sha256: 'x', data });
    assert.equal(plain.results.latencyUnderAttackP99Ms, undefined);
    assert.equal(evaluateGate({ latencyUnderAttackP99Ms: 5 }, plain.results).passed, false, 'not measured fails');
  });

  it('latencyUnderAttackP99Ms times inference on the attack’s outputs', async () => {
    const model = await trainedMlp();
    const data = takeFirst(smallMnist().test, 8);
    const p99 = await latencyUnderAttackP99Ms({
      model,
      data,
      attack: createAttack('fgsm'),
      threat: threatModel({ norm: 'linf', epsilon: 0.1 }),
      repeats: 5,
    });
    assert.ok(p99 > 0);
  });

  it('defendedStack: the stack evaluation feeds the criterion; unmeasured fails and says how to measure', async () => {
    const model = await trainedMlp();
    const data = takeFirst(smallMnist().test, 16);
    const report = await evaluateDefendedStack({
      model,
      detectors: [abstainDetector({ threshold: 0.7 })],
      data,
      threat: threatModel({ norm: 'linf', epsilon: 0.1 }),
      steps: 5,
      bare: [{ id: 'fgsm' }],
    });
    const base = parsePlanText(PLAN('  cleanAccuracy: 0'), 'plan.yaml');
    const { results } = await evaluateModel({ plan: base, model, name: 'candidate', sha256: 'x', data });
    const withStack = { ...results, defendedStackRobustAccuracy: report.robustAccuracy.value };
    // A plan with this criterion must also ask for the evaluation (checked by the schema); the gate reads the number alone.
    const criteria = { ...base.criteria, defendedStack: { minRobustAccuracy: 0 } };
    assert.equal(evaluateGate(criteria, withStack).passed, true);
    const tooHigh = evaluateGate({ defendedStack: { minRobustAccuracy: Math.min(1, report.robustAccuracy.value + 0.01) } }, withStack);
    assert.equal(tooHigh.passed, false);
    const missing = evaluateGate(criteria, results);
    assert.equal(missing.passed, false);
    assert.match(missing.checks.find((c) => c.id === 'defended-stack')?.message ?? '', /evaluateDefendedStack/);
  });
});
