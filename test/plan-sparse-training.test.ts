/**
 * Plans that harden against sparse threats: an `l0` or `occlusion` image threat is trained
 * against with its own method (`sparse-at`, `occlusion-at`), whose budget is the threat's
 * epsilon; naming an L∞/L2 method for it, or the reverse, is refused with the method to use.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parsePlanText, PlanError } from '../src/pipeline/plan/load.js';
import { methodOptions } from '../src/pipeline/run/stages/train.js';
import { createObjective } from '../src/training/objectives/registry.js';

const EXAMPLE = readFileSync(new URL('../examples/rampart.yaml', import.meta.url), 'utf8');
const THREAT = '  - id: linf-0.3\n    channel: image\n    technique: gradient\n    goal: untargeted\n    norm: linf\n    epsilon: 0.3\n';
const PHASES = / {2}# Phased exposure[\s\S]*?(?=\n\S)/;

/** The example plan training against a `norm` threat of budget `epsilon` with `method`. */
function planWith(norm: string, epsilon: number, method: string): string {
  assert.ok(EXAMPLE.includes(THREAT) && PHASES.test(EXAMPLE), 'the example plan changed; update the fixture edits');
  return EXAMPLE.replace(THREAT, THREAT.replace('norm: linf', `norm: ${norm}`).replace('epsilon: 0.3', `epsilon: ${epsilon}`))
    .replace('  method: pgd-at\n', `  method: ${method}\n`)
    .replace('  steps: 5\n', '')
    .replace(PHASES, '');
}

function issues(text: string): string[] {
  try {
    parsePlanText(text, 'rampart.yaml');
  } catch (error) {
    assert.ok(error instanceof PlanError, String(error));
    return error.issues.map((i) => `${i.path}: ${i.message}`);
  }
  return [];
}

describe('plans with sparse threats', () => {
  it('train against an l0 threat with sparse-at, k = the threat epsilon', () => {
    const plan = parsePlanText(planWith('l0', 12, 'sparse-at'), 'rampart.yaml');
    const options = methodOptions(plan);
    assert.deepEqual(options, { pixels: 12 });
    assert.equal(createObjective('sparse-at', options).config.pixels, 12);
  });

  it('train against an occlusion threat with occlusion-at, the box side = the threat epsilon', () => {
    const plan = parsePlanText(planWith('occlusion', 8, 'occlusion-at'), 'rampart.yaml');
    const options = methodOptions(plan);
    assert.deepEqual(options, { size: 8 });
    assert.equal(createObjective('occlusion-at', options).config.size, 8);
  });

  it('refuses a method that does not match the threat, naming the one to use', () => {
    assert.ok(
      issues(planWith('l0', 12, 'pgd-at')).some((l) =>
        /^training\.threat: method 'pgd-at' does not train against a l0 threat; 'linf-0\.3' is l0: use method 'sparse-at'/.test(l),
      ),
    );
    assert.ok(issues(planWith('occlusion', 8, 'sparse-at')).some((l) => /use method 'occlusion-at'/.test(l)));
    assert.ok(
      issues(planWith('linf', 0.3, 'occlusion-at')).some((l) =>
        /^training\.threat: method 'occlusion-at' trains against a occlusion threat; 'linf-0\.3' is linf/.test(l),
      ),
    );
  });

  it('refuses an option the method does not take', () => {
    const text = planWith('occlusion', 8, 'occlusion-at').replace('  method: occlusion-at\n', '  method: occlusion-at\n  steps: 3\n');
    assert.ok(
      issues(text).some((l) => /^training\.steps: method 'occlusion-at' does not take this option/.test(l)),
      issues(text).join('\n'),
    );
  });
});
