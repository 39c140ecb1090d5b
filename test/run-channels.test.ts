/**
 * `runPlan` for plans without an image model Rampart trains, on tiny data: a text-only plan
 * (a spam filter on 120 made-up messages), a tabular-only plan (a saved two-feature linear
 * model on a CSV) and an image plan whose model is an external saved-model directory
 * (evaluated as is, no training). Each runs only its channel's stages, gates on its numbers,
 * reports only its sections, and registers its models with their lineage; an external model
 * is registered by the digest of its files.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { openGovernance } from '../src/governance/index.js';
import { buildModel } from '../src/models/architectures.js';
import { directoryDigest } from '../src/models/sources/load.js';
import { saveClassifierModel } from '../src/models/store.js';
import { parsePlanText } from '../src/pipeline/plan/load.js';
import { loadResults } from '../src/eval/results.js';
import { runPlan } from '../src/pipeline/run/run-plan.js';
import { trainModel } from '../src/training/trainer.js';
import { engine, smallMnist } from './fixtures.js';
import { takeFirst } from '../src/data/index.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'rampart-run-channels-'));
after(() => rm(dir, { recursive: true, force: true }));

const SPAM = ['win', 'cash', 'prize', 'free', 'offer', 'click', 'money', 'bonus'];
const HAM = ['meeting', 'lunch', 'report', 'family', 'project', 'weekend', 'notes', 'garden'];

/** 120 short messages: spam made of spam words, ham of ham words, in a fixed order. */
function spamJsonl(path: string): void {
  const lines: string[] = [];
  for (let i = 0; i < 120; i++) {
    const spam = i % 2 === 0;
    const words = spam ? SPAM : HAM;
    const text = Array.from({ length: 6 }, (_, k) => words[(i * 3 + k * 5) % words.length]).join(' ');
    lines.push(JSON.stringify({ text, label: spam ? 'spam' : 'ham' }));
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
}

/**
 * Two features in [0, 10], class 1 when a + b > 10, every row at least 1 from the line in
 * a + b; and a saved linear model that separates them exactly.
 */
async function creditFixture(csv: string, modelDir: string): Promise<void> {
  const rows = ['a,b,label'];
  for (let i = 0; i < 100; i++) {
    const a = (i * 37) % 11;
    const b = (i * 53 + 3) % 11;
    if (Math.abs(a + b - 10.5) < 1) continue;
    rows.push(`${a},${b},${a + b > 10 ? 1 : 0}`);
  }
  writeFileSync(csv, `${rows.join('\n')}\n`);
  const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 2 })] });
  model.layers[0]?.setWeights([
    tf.tensor2d([
      [-1, 1],
      [-1, 1],
    ]),
    tf.tensor1d([10.5, -10.5]),
  ]);
  await saveClassifierModel(model, modelDir, { architecture: 'linear', inputShape: [2], numClasses: 2, bounds: { min: 0, max: 10 } });
  model.dispose();
}

describe('a text-only plan', () => {
  it('trains and attacks the text filter, gates on its numbers and registers it', async () => {
    await engine();
    const data = join(dir, 'spam.jsonl');
    spamJsonl(data);
    const planText = `name: spam-only
seed: 2
threats:
  - { id: spam-typo, channel: text, technique: character, budget: { maxWordFraction: 0.3 }, families: [char-edit, typo], likelihood: likely, impact: minor, owner: t }
text:
  dataset: jsonl:${data}
  model: { hidden: 4, epochs: 3, learningRate: 0.05 }
  attack: { id: greedy, options: { maxQueries: 60 } }
  limit: 8
  examples: 1
criteria:
  cleanAccuracy: 0.6
  robustAccuracy: { spam-typo: 0 }
`;
    const plan = parsePlanText(planText, 'spam.yaml');
    const result = await runPlan(plan, { dir: join(dir, 'text') });
    assert.deepEqual(
      result.stages.map((s) => `${s.id}:${s.status}`),
      ['text-train:ran', 'text-attack:ran', 'evaluate:ran', 'gate:ran', 'report:ran', 'register:ran'],
    );
    assert.equal(result.baseline, undefined);
    assert.equal(result.files.baselineResults, undefined);
    const results = await loadResults(result.files.results);
    assert.equal(results.model.name, 'spam-only/candidate');
    assert.equal(results.model.sha256, result.text?.training.sha256);
    assert.equal(results.cleanAccuracy, result.text?.attack.cleanAccuracy);
    assert.deepEqual(Object.keys(results.robustAccuracy), ['spam-typo']);
    assert.deepEqual(results.unmeasured, {});
    assert.ok(results.cleanAccuracy >= 0.6, `clean ${results.cleanAccuracy}`);
    assert.equal(result.gate.passed, true, JSON.stringify(result.gate.checks));

    const html = await readFile(result.files.report, 'utf8');
    assert.match(html, /<h2>Text attacks<\/h2>/);
    assert.doesNotMatch(html, /Accuracy against ε|Gradient-masking checks|Adversarial examples/);

    const registered = result.governance;
    assert.ok(registered);
    assert.deepEqual(Object.keys(registered.models), ['text']);
    assert.equal(registered.dataset, undefined);
    const gov = openGovernance(join(dir, 'text'));
    try {
      const lineage = gov.registry.lineage(registered.evaluations.candidate);
      const parents = lineage.ancestors
        .filter((a) => a.depth === 1)
        .map((a) => a.kind)
        .sort();
      assert.deepEqual(parents, ['dataset', 'model', 'plan']);
      assert.ok(gov.risks.find('spam-typo'), 'the text threat is in the risk register');
    } finally {
      gov.close();
    }

    // The same filter as the plan's own (text.source): attacked as is, no training, the same numbers.
    const own = join(result.runDir, result.text?.training.modelDir as string);
    const ownPlan = parsePlanText(
      planText.replace('name: spam-only', 'name: spam-own').replace('  model: { hidden: 4', `  source: ${own}\n  model: { hidden: 4`),
      'own.yaml',
    );
    const ownRun = await runPlan(ownPlan, { dir: join(dir, 'text') });
    assert.deepEqual(
      ownRun.stages.map((s) => s.id),
      ['text-attack', 'evaluate', 'gate', 'report', 'register'],
    );
    assert.equal(ownRun.text, undefined);
    const ownResults = await loadResults(ownRun.files.results);
    assert.deepEqual(ownResults.robustAccuracy, results.robustAccuracy);
    assert.equal(ownResults.cleanAccuracy, results.cleanAccuracy);
    assert.equal(ownRun.textAttack?.model?.sha256, await directoryDigest(own));
    assert.equal(ownResults.model.sha256, ownRun.textAttack?.model?.sha256);
    // Content addressing: the same files are the same registry artifact, whoever trained them.
    assert.equal(ownRun.governance?.models.text, registered.models.text);
    assert.notEqual(ownRun.governance?.evaluations.candidate, registered.evaluations.candidate);

    // `rampart report` rebuilds the report from this plan's own stages.
    const planFile = join(dir, 'spam.yaml');
    writeFileSync(planFile, planText);
    const rebuilt = join(dir, 'rebuilt.html');
    const cli = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'report', planFile, '--dir', join(dir, 'text'), '--out', rebuilt], {
      encoding: 'utf8',
    });
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(await readFile(rebuilt, 'utf8'), /<h2>Text attacks<\/h2>[^]*<code>text-attack<\/code>/);
  });
});

describe('a tabular-only plan', () => {
  const csv = join(dir, 'credit.csv');
  const modelDir = join(dir, 'credit-model');

  before(async () => {
    await engine();
    await creditFixture(csv, modelDir);
  });

  it('attacks the model in feature units: a budget beyond the margin breaks it, one below does not', async () => {
    const plan = parsePlanText(
      `name: credit
threats:
  - { id: small, channel: tabular, technique: feature, norm: linf, epsilon: 0.2, likelihood: possible, impact: major, owner: t }
  - { id: large, channel: tabular, technique: feature, norm: linf, epsilon: 3, likelihood: unlikely, impact: major, owner: t }
tabular:
  dataset: csv:${csv}
  model: { source: ${modelDir} }
  attacks: [{ id: pgd, options: { steps: 10 } }]
  limit: 40
evaluation: { latencySamples: 10 }
criteria:
  cleanAccuracy: 0.99
  robustAccuracy: { small: 0.99, large: 0.5 }
`,
      'credit.yaml',
    );
    const tensors = tf.memory().numTensors;
    const result = await runPlan(plan, { dir: join(dir, 'tabular') });
    assert.equal(tf.memory().numTensors, tensors, 'the tabular stage disposes every tensor it made');
    assert.deepEqual(
      result.stages.map((s) => s.id),
      ['tabular', 'evaluate', 'gate', 'report', 'register'],
    );
    const tab = result.tabular;
    assert.ok(tab);
    assert.deepEqual(tab.data.features, ['a', 'b']);
    assert.deepEqual(tab.data.bounds, { min: 0, max: 10 });
    assert.equal(tab.model.sha256, await directoryDigest(modelDir));
    const results = await loadResults(result.files.results);
    assert.equal(results.cleanAccuracy, 1);
    // Every row is at least 1 from the boundary in a + b, so an L∞ step of 0.2 per feature (0.4 in a + b) cannot cross it.
    assert.equal(results.robustAccuracy.small, 1);
    assert.ok((results.robustAccuracy.large as number) < 0.5, `large: ${results.robustAccuracy.large}`);
    assert.equal(results.data?.count, tab.evaluated.count);
    assert.ok(results.ece !== undefined && results.latencyP99Ms !== undefined);
    const checks = Object.fromEntries(result.gate.checks.map((c) => [c.id, c.status]));
    assert.equal(checks['robust-accuracy:small'], 'passed');
    assert.equal(checks['robust-accuracy:large'], 'failed');

    const html = await readFile(result.files.report, 'utf8');
    assert.doesNotMatch(html, /Text attacks|Gradient-masking checks/);
    assert.match(html, /feature constraints were not applied/);

    const gov = openGovernance(join(dir, 'tabular'));
    try {
      const registered = result.governance;
      assert.ok(registered);
      const model = gov.registry.get(registered.models.tabular as string);
      assert.equal(model.storage, 'manifest', 'the saved model directory is stored by content');
      assert.deepEqual((model.meta.identity as { digest: string }).digest, tab.model.sha256);
      assert.equal(registered.vulnerabilities.length, 1, 'one vulnerability for the failed large-budget criterion');
    } finally {
      gov.close();
    }
  });
});

describe('an image plan with an external saved model', () => {
  const modelDir = join(dir, 'digits-model');
  const csv = join(dir, 'credit-2.csv');
  const tabularModel = join(dir, 'credit-model-2');

  before(async () => {
    await engine();
    await creditFixture(csv, tabularModel);
    const model = buildModel('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 3 });
    await trainModel({
      model,
      train: takeFirst(smallMnist().train, 300),
      epochs: 1,
      batchSize: 64,
      optimizer: 'adam',
      learningRate: 2e-3,
      seed: 3,
    });
    await saveClassifierModel(model, modelDir, {
      architecture: 'mlp',
      inputShape: [28, 28, 1],
      numClasses: 10,
      bounds: { min: 0, max: 1 },
    });
    model.dispose();
  });

  it('evaluates it as is beside a tabular model: no training stages, each model named by its files, a rerun cached', async () => {
    const text = `name: digits-external
threats:
  - { id: linf-0.1, channel: image, technique: gradient, norm: linf, epsilon: 0.1, likelihood: likely, impact: moderate, owner: t }
  - { id: tab, channel: tabular, technique: feature, norm: l2, epsilon: 0.2, likelihood: possible, impact: minor, owner: t }
data: { dataset: mnist, splitSeed: 1 }
model: { source: ${modelDir} }
tabular: { dataset: 'csv:${csv}', model: { source: ${tabularModel} }, limit: 20 }
evaluation:
  limit: 20
  attacks: [{ id: fgsm }]
  suite: none
  masking: false
  latencySamples: 10
  examples: 1
criteria:
  cleanAccuracy: 0.2
`;
    const plan = parsePlanText(text, 'digits.yaml');
    const result = await runPlan(plan, { dir: join(dir, 'image') });
    assert.deepEqual(
      result.stages.map((s) => `${s.id}:${s.status}`),
      ['data:ran', 'image-model:ran', 'tabular:ran', 'evaluate:ran', 'gate:ran', 'report:ran', 'register:ran'],
    );
    assert.equal(result.hardened, undefined);
    const digest = await directoryDigest(modelDir);
    assert.deepEqual(result.imageModel?.identity, { kind: 'file', digest, path: modelDir });
    const results = await loadResults(result.files.results);
    assert.equal(results.model.sha256, digest);
    assert.equal(results.temperature, 1, 'an external model is not recalibrated');
    assert.ok(results.cleanAccuracy > 0.2, `clean ${results.cleanAccuracy}`);
    assert.ok((results.robustAccuracy['linf-0.1'] as number) <= results.cleanAccuracy);
    // The tabular model's numbers join the image model's; an L2 step of 0.2 cannot cross a margin of 1 in a + b.
    assert.equal(results.robustAccuracy.tab, 1);
    assert.equal(results.rates?.attackSuccess?.tab?.value, 0);
    assert.equal(results.data?.count, 20, 'the results name the image evaluation set');
    assert.deepEqual(Object.keys(result.governance?.models ?? {}).sort(), ['image', 'tabular']);
    const gov = openGovernance(join(dir, 'image'));
    try {
      const parents = gov.registry.get(result.governance?.evaluations.candidate as string).parents;
      assert.ok(
        parents.includes(result.governance?.models.image as string) && parents.includes(result.governance?.models.tabular as string),
      );
    } finally {
      gov.close();
    }
    const html = await readFile(result.files.report, 'utf8');
    assert.match(html, /evaluated as is: no baseline, no adversarial training/);

    const again = await runPlan(plan, { dir: join(dir, 'image') });
    assert.ok(
      again.stages.every((s) => s.status === 'cached'),
      again.stages.map((s) => `${s.id}:${s.status}`).join(' '),
    );
  });
});
