/**
 * Plans for any channel: a text-only, a tabular-only and an image plan with an external
 * model are valid; a plan with no channel, a threat whose channel has no section, a half
 * image section, an external model with training and malformed model sources each fail
 * with every problem at its path.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadPlan, parsePlanText, PlanError } from '../src/pipeline/plan/load.js';
import { imageSectionOf, planChannels } from '../src/pipeline/plan/channels.js';
import { planStages } from '../src/pipeline/run/run-plan.js';

const TEXT_THREAT =
  '  - { id: spam-typo, channel: text, technique: character, budget: { maxWordFraction: 0.2 }, likelihood: likely, impact: minor, owner: t }\n';
const TABULAR_THREAT =
  '  - { id: tab-linf, channel: tabular, technique: feature, norm: linf, epsilon: 2.5, likelihood: possible, impact: major, owner: t }\n';
const IMAGE_THREAT =
  '  - { id: linf-0.1, channel: image, technique: gradient, norm: linf, epsilon: 0.1, likelihood: likely, impact: moderate, owner: t }\n';

const TEXT_ONLY = `name: spam-only
threats:
${TEXT_THREAT}text:
  dataset: jsonl:data/spam.jsonl
criteria:
  robustAccuracy: { spam-typo: 0.5 }
`;

const TABULAR_ONLY = `name: credit
threats:
${TABULAR_THREAT}tabular:
  dataset: csv:data/credit.csv
  model: { source: models/credit }
criteria:
  cleanAccuracy: 0.8
  robustAccuracy: { tab-linf: 0.5 }
`;

const IMAGE_EXTERNAL = `name: mine
threats:
${IMAGE_THREAT}data: { dataset: mnist }
model: { source: 'onnx:fixtures/onnx/mnist-cnn.onnx' }
evaluation: { suite: standard:quick }
criteria:
  robustAccuracy: { linf-0.1: 0.5 }
`;

function issues(text: string): string[] {
  try {
    parsePlanText(text, 'rampart.yaml');
  } catch (error) {
    assert.ok(error instanceof PlanError, `expected a PlanError, got ${String(error)}`);
    assert.equal(error.code, 'E_PLAN_INVALID');
    return error.issues.map((i) => `${i.path}: ${i.message}`);
  }
  return assert.fail('the plan was accepted');
}

function expectIssues(text: string, expected: RegExp[]): void {
  const lines = issues(text);
  for (const pattern of expected)
    assert.ok(
      lines.some((l) => pattern.test(l)),
      `no issue matches ${pattern}; got:\n${lines.join('\n')}`,
    );
}

describe('plans for any channel', () => {
  it('a text-only plan is valid and runs only the text stages', () => {
    const plan = parsePlanText(TEXT_ONLY, 'spam.yaml');
    assert.deepEqual(planChannels(plan), ['text']);
    assert.equal(imageSectionOf(plan), undefined);
    assert.deepEqual(
      planStages(plan, { governance: true }).map((s) => s.id),
      ['text-train', 'text-attack', 'evaluate', 'gate', 'report', 'register'],
    );
  });

  it('a tabular-only plan is valid, with an L∞ budget in feature units above 1', () => {
    const plan = parsePlanText(TABULAR_ONLY, 'credit.yaml');
    assert.deepEqual(planChannels(plan), ['tabular']);
    assert.deepEqual(plan.tabular?.model && 'source' in plan.tabular.model ? plan.tabular.model.source : undefined, {
      kind: 'built',
      path: 'models/credit',
    });
    assert.equal(plan.tabular?.labelColumn, 'label');
    assert.deepEqual(
      planStages(plan, { governance: false }).map((s) => s.id),
      ['tabular', 'evaluate', 'gate', 'report'],
    );
  });

  it('an image plan with an external model evaluates it as is: no baseline, no training, no calibration', () => {
    const plan = parsePlanText(IMAGE_EXTERNAL, 'mine.yaml');
    const image = imageSectionOf(plan);
    assert.equal(image?.kind, 'external');
    assert.deepEqual(image?.kind === 'external' ? image.source : undefined, { kind: 'onnx', path: 'fixtures/onnx/mnist-cnn.onnx' });
    assert.deepEqual(
      planStages(plan, { governance: true }).map((s) => s.id),
      ['data', 'image-model', 'evaluate', 'gate', 'report', 'register'],
    );
  });

  it('a plan with all three channels runs the stages of each before the one evaluation that joins them', () => {
    const plan = parsePlanText(
      IMAGE_EXTERNAL.replace(IMAGE_THREAT, IMAGE_THREAT + TEXT_THREAT + TABULAR_THREAT).replace(
        'evaluation:',
        'text: { dataset: spam-assassin }\ntabular: { dataset: csv:x.csv, model: { source: tab/model } }\nevaluation:',
      ),
      'all.yaml',
    );
    assert.deepEqual(planChannels(plan), ['image', 'tabular', 'text']);
    const stages = planStages(plan, { governance: true });
    assert.deepEqual(
      stages.map((s) => s.id),
      ['data', 'image-model', 'text-train', 'text-attack', 'tabular', 'evaluate', 'gate', 'report', 'register'],
    );
    assert.deepEqual([...(stages.find((s) => s.id === 'evaluate')?.dependsOn ?? [])].sort(), [
      'data',
      'image-model',
      'tabular',
      'text-attack',
      'text-train',
    ]);
  });

  it('takes the model source in its object form, with preprocessing', () => {
    const plan = parsePlanText(
      IMAGE_EXTERNAL.replace(
        "model: { source: 'onnx:fixtures/onnx/mnist-cnn.onnx' }",
        'model:\n  source: { kind: onnx, path: m.onnx, preprocess: { layout: nchw, scale: 255, mean: [0.1307], std: [0.3081] } }',
      ),
      'mine.yaml',
    );
    const image = imageSectionOf(plan);
    assert.deepEqual(image?.kind === 'external' ? image.source : undefined, {
      kind: 'onnx',
      path: 'm.onnx',
      preprocess: { layout: 'nchw', scale: 255, mean: [0.1307], std: [0.3081] },
    });
  });

  it('the bundled example still builds and hardens its model', async () => {
    const plan = await loadPlan('examples/rampart.yaml');
    assert.equal(imageSectionOf(plan)?.kind, 'built');
    assert.deepEqual(
      planStages(plan, { governance: true }).map((s) => s.id),
      ['data', 'baseline', 'attack', 'harden', 'calibrate', 'evaluate', 'gate', 'report', 'register'],
    );
  });

  it('the examples of your own model validate: ONNX image plan and text-only plan', async () => {
    const onnx = await loadPlan('examples/onnx/rampart.yaml');
    assert.deepEqual(imageSectionOf(onnx), {
      kind: 'external',
      data: onnx.data,
      source: { kind: 'onnx', path: 'fixtures/onnx/mnist-cnn.onnx', preprocess: { layout: 'nchw' } },
    });
    assert.equal(onnx.evaluation.suite, 'standard:quick');
    const text = await loadPlan('examples/text/rampart.yaml');
    assert.deepEqual(planChannels(text), ['text']);
  });

  it('refuses a plan without any channel', () => {
    expectIssues(`name: nothing\nthreats:\n${IMAGE_THREAT}criteria: {}\n`, [
      /^\(plan\): needs at least one channel/,
      /^threats\[0\]\.channel: is 'image' but the plan has no image section/,
    ]);
  });

  it('names every threat whose channel has no section, and criteria that name no threat', () => {
    expectIssues(
      TEXT_ONLY.replace(TEXT_THREAT, TEXT_THREAT + TABULAR_THREAT + IMAGE_THREAT).replace('spam-typo: 0.5', 'spam-typo: 0.5, nope: 0.1'),
      [
        /^threats\[1\]\.channel: is 'tabular' but the plan has no tabular section; add a tabular section/,
        /^threats\[2\]\.channel: is 'image' but the plan has no image section; add the image section/,
        /^criteria\.robustAccuracy\.nope: names no threat/,
      ],
    );
  });

  it('refuses an external model with training, a baseline, or an architecture beside it', () => {
    expectIssues(
      IMAGE_EXTERNAL.replace(
        "model: { source: 'onnx:fixtures/onnx/mnist-cnn.onnx' }",
        "model: { source: 'onnx:m.onnx', architecture: mlp, baseline: { epochs: 1, learningRate: 0.01 } }\ntraining: { method: standard, epochs: 1, learningRate: 0.01 }",
      ),
      [
        /^model\.source: give either source .* or architecture \+ baseline/,
        /^model\.baseline: trains a model Rampart builds; remove it for model\.source/,
        /^training: must be absent for an external model \(model\.source\)/,
      ],
    );
  });

  it('refuses half an image section: a model without data, a built model without training or baseline', () => {
    expectIssues(IMAGE_EXTERNAL.replace('data: { dataset: mnist }\n', ''), [/^data: is required with an image model/]);
    expectIssues(IMAGE_EXTERNAL.replace("model: { source: 'onnx:fixtures/onnx/mnist-cnn.onnx' }", 'model: { architecture: mlp }'), [
      /^model\.baseline: is required with model\.architecture/,
      /^training: is required to harden the model Rampart builds/,
    ]);
    expectIssues(IMAGE_EXTERNAL.replace("model: { source: 'onnx:fixtures/onnx/mnist-cnn.onnx' }", 'model: {}'), [
      /^model: needs architecture \+ baseline .* or source/,
    ]);
  });

  it('refuses malformed model sources with their path', () => {
    expectIssues(IMAGE_EXTERNAL.replace("'onnx:fixtures/onnx/mnist-cnn.onnx'", "'onnx:'"), [/^model\.source: .*'onnx:' names no path/]);
    expectIssues(IMAGE_EXTERNAL.replace("'onnx:fixtures/onnx/mnist-cnn.onnx'", "'ftp://host/m.onnx'"), [
      /^model\.source: .*scheme Rampart does not load/,
    ]);
    expectIssues(
      IMAGE_EXTERNAL.replace(
        "'onnx:fixtures/onnx/mnist-cnn.onnx'",
        '{ kind: onnx, path: m.onnx, preprocess: { mean: [0.5, 0.5], std: [0.2] } }',
      ),
      [/model\.source/],
    );
    expectIssues(TABULAR_ONLY.replace('dataset: csv:data/credit.csv', 'dataset: data/credit.csv'), [/^tabular\.dataset: Unknown data/]);
    expectIssues(TABULAR_ONLY.replace('dataset: csv:data/credit.csv', 'dataset: npz:data/credit.npz'), [
      /^tabular\.dataset: must be a CSV source/,
    ]);
  });

  it('takes your own text filter (text.source) as is, without the text-train stage; augmenting it is refused', () => {
    const plan = parsePlanText(TEXT_ONLY.replace('text:\n', 'text:\n  source: filters/spam\n'), 'own.yaml');
    assert.deepEqual(
      planStages(plan, { governance: false }).map((s) => s.id),
      ['text-attack', 'evaluate', 'gate', 'report'],
    );
    expectIssues(TEXT_ONLY.replace('text:\n', 'text:\n  source: filters/spam\n  augment: { threat: spam-typo }\n'), [
      /^text\.augment: hardens a filter Rampart trains; remove it for text\.source/,
    ]);
  });

  it('keeps the L∞ ≤ 1 rule for image threats only', () => {
    expectIssues(IMAGE_EXTERNAL.replace('epsilon: 0.1', 'epsilon: 2'), [/^threats\[0\]\.epsilon: must be ≤ 1/]);
  });
});
