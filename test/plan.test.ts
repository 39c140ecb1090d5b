/** Plan validation: the bundled plan loads; each broken plan fails with the bad field's path and the allowed values. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { exitCodeFor } from '../src/core/errors.js';
import { loadPlan, parsePlanText, PlanError } from '../src/pipeline/plan/load.js';

const EXAMPLE = readFileSync(new URL('../examples/rampart.yaml', import.meta.url), 'utf8');

/** The example with one edit; fails the test if the edit does not apply. */
function broken(from: string, to: string): string {
  assert.ok(EXAMPLE.includes(from), `fixture edit does not apply: ${from}`);
  return EXAMPLE.replace(from, to);
}

function issuesOf(text: string): { code: string; lines: string[] } {
  try {
    parsePlanText(text, 'rampart.yaml');
  } catch (error) {
    assert.ok(error instanceof PlanError, `expected a PlanError, got ${String(error)}`);
    assert.equal(exitCodeFor(error), 2);
    return { code: error.code, lines: error.issues.map((i) => `${i.path}: ${i.message}`) };
  }
  assert.fail('the plan was accepted');
}

describe('plan loading', () => {
  it('loads the bundled example with defaults filled in', async () => {
    const plan = await loadPlan('examples/rampart.yaml');
    assert.equal(plan.name, 'mnist-example');
    assert.equal(plan.threats.length, 4);
    assert.equal(plan.training?.method, 'pgd-at');
    assert.deepEqual(
      plan.training?.phases?.map((p) => p.epsilonScale),
      [0.33, 0.67, 1],
    );
    assert.equal(plan.threats[0]?.goal, 'untargeted');
    assert.equal(plan.evaluation.calibrationBins, 15);
  });

  it('accepts a diversified ensemble of heads on one shared trunk in place of whole members', () => {
    const plan = parsePlanText(broken('method: pgd-at', 'method: diversified\n  heads: 4\n  diversity: 0.5'), 'heads.yaml');
    assert.equal(plan.training?.method, 'diversified');
    assert.equal(plan.training?.heads, 4);
    assert.equal(plan.training?.members, undefined);
  });

  it('evaluates with the standard suite and the masking checks unless the plan opts out', async () => {
    const plan = await loadPlan('examples/rampart.yaml');
    assert.equal(plan.evaluation.suite, 'standard:quick');
    assert.deepEqual(plan.evaluation.masking, { limit: 50 });
    const text = EXAMPLE.replace(/\n {2}suite: [^\n]+/, '').replace(/\n {2}masking: [^\n]+/, '');
    const defaults = parsePlanText(text, 'defaults.yaml');
    assert.equal(defaults.evaluation.suite, 'standard');
    assert.deepEqual(defaults.evaluation.masking, { limit: 50 });
    const optedOut = parsePlanText(text.replace('evaluation:\n', 'evaluation:\n  suite: none\n  masking: false\n'), 'none.yaml');
    assert.equal(optedOut.evaluation.suite, 'none');
    assert.equal(optedOut.evaluation.masking, false);
    const lower = parsePlanText(text.replace('criteria:\n', 'criteria:\n  confidence: lower-bound\n'), 'lower.yaml');
    assert.equal(lower.criteria.confidence, 'lower-bound');
    assert.match(
      issuesOf(text.replace('criteria:\n', 'criteria:\n  confidence: maybe\n')).lines.join('\n'),
      /^criteria\.confidence: must be one of 'point', 'lower-bound' \(got 'maybe'\)/m,
    );
    assert.match(
      issuesOf(text.replace('evaluation:\n', 'evaluation:\n  suite: autoattack\n')).lines.join('\n'),
      /^evaluation\.suite: must be one of 'standard', 'standard:quick', 'quick', 'standard:rand', 'none'/m,
    );
  });

  const cases: { name: string; from: string; to: string; expect: RegExp[] }[] = [
    {
      name: 'epsilon above the L∞ range',
      from: 'epsilon: 0.2',
      to: 'epsilon: 3',
      expect: [/^threats\[1\]\.epsilon: must be ≤ 1 .*\(got 3\)/],
    },
    {
      name: 'unknown channel',
      from: 'channel: image',
      to: 'channel: img',
      expect: [/^threats\[0\]\.channel: must be one of 'image', 'text', 'tabular' \(got 'img'\)/],
    },
    {
      name: 'unknown norm',
      from: 'norm: l2',
      to: 'norm: l7',
      expect: [/^threats\[3\]\.norm: must be one of 'linf', 'l2', 'l0', 'patch', 'occlusion' \(got 'l7'\)/],
    },
    {
      name: 'unknown likelihood',
      from: 'likelihood: likely',
      to: 'likelihood: often',
      expect: [/^threats\[0\]\.likelihood: must be one of 'rare', 'unlikely', 'possible', 'likely', 'almost-certain' \(got 'often'\)/],
    },
    {
      name: 'unknown method',
      from: 'method: pgd-at',
      to: 'method: madry',
      expect: [
        /^training\.method: must be one of 'standard', 'pgd-at', 'trades', 'fgsm-rs', 'noise', 'patch-at', 'sparse-at', 'occlusion-at', 'diversified' \(got 'madry'\)/,
      ],
    },
    {
      name: 'training threat that does not exist',
      from: 'threat: linf-0.3\n  steps',
      to: 'threat: linf-0.9\n  steps',
      expect: [/^training\.threat: must name an image threat: one of 'linf-0.1', 'linf-0.2', 'linf-0.3', 'l2-1.5' \(got 'linf-0.9'\)/],
    },
    {
      name: 'option the method does not take',
      from: 'steps: 5',
      to: 'steps: 5\n  beta: 6',
      expect: [
        /^training\.beta: method 'pgd-at' does not take this option; its options are 'steps', 'stepSize', 'randomStart', 'mixRatio'/,
      ],
    },
    {
      name: 'criteria out of range and naming no threat',
      from: '    linf-0.1: 0.85',
      to: '    linf-0.1: 1.5\n    bogus: 0.2',
      expect: [
        /^criteria\.robustAccuracy\.linf-0\.1: must be ≤ 1 \(got 1\.5\)/,
        /^criteria\.robustAccuracy\.bogus: names no threat; use one of 'linf-0\.1', 'linf-0\.2', 'linf-0\.3', 'l2-1\.5'/,
      ],
    },
    {
      name: 'misspelt field',
      from: '  epochs: 6',
      to: '  epoch: 6',
      expect: [/^training\.epoch: unknown field; allowed fields: method, threat, .*epochs/, /^training\.epochs: is required \(a number\)/],
    },
    {
      name: 'unknown schedule kind',
      from: 'schedule: { kind: cosine }\n\ntraining',
      to: 'schedule: { kind: cos }\n\ntraining',
      expect: [/^model\.baseline\.schedule\.kind: must be one of 'constant', 'cosine', 'one-cycle', 'step' \(got 'cos'\)/],
    },
    {
      name: 'phase scale of zero',
      from: '{ epochs: 1, epsilonScale: 0.33 }',
      to: '{ epochs: 1, epsilonScale: 0 }',
      expect: [/^training\.phases\[0\]\.epsilonScale: must be > 0 \(got 0\)/],
    },
    {
      name: 'unknown data set',
      from: 'dataset: mnist',
      to: 'dataset: cifar',
      expect: [/^data\.dataset: Unknown data 'cifar'; use one of mnist, idx:IMAGES,LABELS, folder:DIR, .*\(got 'cifar'\)/],
    },
    {
      name: 'duplicate threat id',
      from: '  - id: linf-0.2',
      to: '  - id: linf-0.1',
      expect: [/^threats\[1\]\.id: duplicate threat id 'linf-0\.1' \(also threats\[0\]\)/],
    },
    { name: 'wrong type', from: 'limit: 500', to: 'limit: lots', expect: [/^evaluation\.limit: must be a number \(got 'lots'\)/] },
    {
      name: 'fraction above 1',
      from: 'traffic: 0.05',
      to: 'traffic: 5',
      expect: [/^rollout\.phases\[1\]\.traffic: must be ≤ 1 \(got 5\)/],
    },
    {
      name: 'a patch budget that is not whole pixels',
      from: 'norm: l2',
      to: 'norm: patch',
      expect: [/^threats\[3\]\.epsilon: must be a whole number of pixels for a patch threat/],
    },
    {
      name: 'diversified without members',
      from: 'method: pgd-at',
      to: 'method: diversified',
      expect: [/^training\.members: is required for method 'diversified'/],
    },
    {
      name: 'members for another method',
      from: 'method: pgd-at',
      to: 'method: pgd-at\n  members: 3',
      expect: [/^training\.members: is an option of method 'diversified' \(an ensemble\) only/],
    },
    {
      name: 'members and heads together',
      from: 'method: pgd-at',
      to: 'method: diversified\n  members: 3\n  heads: 4',
      expect: [
        /^training\.heads: and members are two kinds of ensemble: give members \(whole models\) or heads \(one shared trunk\), not both/,
      ],
    },
    {
      name: 'heads for another method',
      from: 'method: pgd-at',
      to: 'method: pgd-at\n  heads: 4',
      expect: [/^training\.heads: is an option of method 'diversified' \(an ensemble\) only/],
    },
    {
      name: 'heads out of range',
      from: 'method: pgd-at',
      to: 'method: diversified\n  heads: 17',
      expect: [/^training\.heads: /],
    },
    {
      name: 'patch-at against an L∞ threat',
      from: 'method: pgd-at',
      to: 'method: patch-at',
      expect: [/^training\.threat: method 'patch-at' trains against a patch threat; 'linf-0\.3' is linf/],
    },
    {
      name: 'a defended-stack criterion without the evaluation that measures it',
      from: 'criteria:\n  cleanAccuracy',
      to: 'criteria:\n  defendedStack: { minRobustAccuracy: 0.5 }\n  cleanAccuracy',
      expect: [/^evaluation\.defendedStack: is required when criteria\.defendedStack is set/],
    },
  ];
  for (const c of cases) {
    it(`rejects a plan with ${c.name}`, () => {
      const { code, lines } = issuesOf(broken(c.from, c.to));
      assert.equal(code, 'E_PLAN_INVALID');
      for (const pattern of c.expect)
        assert.ok(
          lines.some((l) => pattern.test(l)),
          `no issue matches ${pattern}; got:\n${lines.join('\n')}`,
        );
    });
  }

  it('reports every problem at once', () => {
    const { lines } = issuesOf(
      broken('epsilon: 0.2', 'epsilon: 3').replace('norm: l2', 'norm: l7').replace('method: pgd-at', 'method: madry'),
    );
    assert.ok(lines.length >= 3, lines.join('\n'));
  });

  it('rejects YAML syntax errors with line and column', () => {
    const { code, lines } = issuesOf(broken('owner: ml-platform\n    description: Faint', 'owner: [ml-platform\n    description: Faint'));
    assert.equal(code, 'E_PLAN_YAML');
    assert.match(lines[0] ?? '', /^line \d+, column \d+: /);
  });

  it("requires a text threat budget in the text attacks' terms", () => {
    const text = broken(
      'threats:\n',
      'threats:\n  - { id: spam, channel: text, technique: character, budget: { maxEdits: 3 }, likelihood: likely, impact: minor, owner: t }\n',
    );
    const { lines } = issuesOf(text);
    assert.ok(
      lines.some((l) =>
        /^threats\[0\]\.budget\.maxEdits: unknown field; allowed fields: maxWordFraction, maxWords, maxCharEditsPerWord, protectedTokens/.test(
          l,
        ),
      ),
      lines.join('\n'),
    );
    assert.ok(
      lines.some((l) => /^threats\[0\]\.budget\.maxWordFraction: is required/.test(l)),
      lines.join('\n'),
    );
  });

  it('names a missing plan file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rampart-plan-'));
    await assert.rejects(
      loadPlan(join(dir, 'nope.yaml')),
      (e: Error & { code?: string }) => e.code === 'E_PLAN_MISSING' && e.message.includes('nope.yaml'),
    );
    writeFileSync(join(dir, 'empty.yaml'), '');
    await assert.rejects(loadPlan(join(dir, 'empty.yaml')), (e: Error & { code?: string }) => e.code === 'E_PLAN_INVALID');
  });
});
