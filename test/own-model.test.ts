/**
 * End to end, your own model: `rampart eval` on an ONNX file (white-box) and through
 * onnxruntime (scores only: Square, reported as a black-box upper bound), `rampart attack`
 * on a real `rampart serve` named only by its address, `rampart eval` of a TF.js model on an
 * image folder (and the folder's own fix when the shapes differ), and plans whose models are
 * ONNX files (image through white-box and onnxruntime, tabular-only) through the pipeline,
 * registered by the file's digest.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadResults } from '../src/eval/results.js';
import { openGovernance } from '../src/governance/index.js';
import { saveClassifierModel } from '../src/models/store.js';
import { parsePlanText } from '../src/pipeline/plan/load.js';
import { runPlan } from '../src/pipeline/run/run-plan.js';
import { engine } from './fixtures.js';
import { startServe } from './serve-process.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const CNN = 'fixtures/onnx/mnist-cnn.onnx';
const dir = mkdtempSync(join(tmpdir(), 'rampart-own-model-'));
after(() => rm(dir, { recursive: true, force: true }));

function rampart(...args: string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, RAMPART_BACKEND: '' },
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** An untrained conv net of `inputShape` with `classes` outputs, saved where Rampart saves models. */
async function savedModel(path: string, inputShape: [number, number, number], classes: number): Promise<string> {
  await engine();
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape, filters: 2, kernelSize: 3, activation: 'relu', seed: 1 } as never),
      tf.layers.flatten(),
      tf.layers.dense({ units: classes, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
  await saveClassifierModel(model, path, { architecture: 'cnn', inputShape, numClasses: classes, bounds: { min: 0, max: 1 } });
  model.dispose();
  return path;
}

describe('rampart eval and attack on your own model', () => {
  it('evaluates an ONNX file white-box, fed channels-first without a declared layout', () => {
    const run = rampart('eval', '--model', CNN, '--data', 'mnist', '--limit', '6', '--attacks', 'fgsm', '--epsilons', '0,0.1', '--quiet');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /channels-first/);
    assert.match(run.stdout, /clean accuracy \d/);
    assert.match(run.stdout, /fgsm\s+0\.1/);
  });

  it('evaluates an onnxruntime target with Square only and says the numbers are black-box upper bounds', () => {
    const out = join(dir, 'ort.json');
    const run = rampart(
      'eval',
      '--model',
      `onnxruntime:${CNN}`,
      '--data',
      'mnist',
      '--limit',
      '4',
      '--epsilons',
      '0.1',
      '--out',
      out,
      '--quiet',
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /upper bound from black-box attacks only/);
    const report = JSON.parse(readFileSync(out, 'utf8')) as { results: Array<{ attack: string }> };
    assert.deepEqual([...new Set(report.results.map((a) => a.attack))], ['square']);
    // A gradient attack named on purpose is refused, naming what can run.
    const pgd = rampart('eval', '--model', `onnxruntime:${CNN}`, '--data', 'mnist', '--limit', '2', '--attacks', 'pgd', '--quiet');
    assert.equal(pgd.code, 1);
    assert.match(pgd.stderr, /E_NOT_DIFFERENTIABLE.*square/);
  });

  it('attacks a model behind a real rampart serve named only by its address', async () => {
    const model = await savedModel(join(dir, 'served'), [28, 28, 1], 10);
    // The defences that would (rightly) slow an attacker are off: this measures the model through the API.
    const config = join(dir, 'serve.yaml');
    writeFileSync(
      config,
      'layers: { rateLimit: false, queryPattern: false, ood: false, ensemble: false, abstain: false, normalizeText: false }\n' +
        'monitor: false\ncanary: false\nrollback: false\n',
    );
    const server = await startServe(['--model', model, '--config', config, '--log-level', 'error']);
    try {
      const out = join(dir, 'http.json');
      const run = rampart('attack', '--model', server.url, '--data', 'mnist', '--limit', '3', '--attack', 'square', '--epsilon', '0.3');
      assert.equal(run.code, 0, run.stderr);
      const gradient = rampart('attack', '--model', server.url, '--data', 'mnist', '--limit', '2', '--attack', 'pgd', '--out', out);
      assert.equal(gradient.code, 1);
      assert.match(gradient.stderr, /E_NOT_DIFFERENTIABLE/);
    } finally {
      await server.stop();
    }
  });

  it('evaluates a TF.js model on an image folder, and names the folder fix when the shapes differ', async () => {
    const fits = await savedModel(join(dir, 'shapes8'), [8, 8, 1], 3);
    const run = rampart(
      'eval',
      '--model',
      `tfjs:${fits}`,
      '--data',
      'folder:fixtures/data/shapes',
      '--subset',
      'all',
      '--epsilons',
      '0.1',
      '--quiet',
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /12 examples/);
    const bigger = await savedModel(join(dir, 'shapes16'), [16, 16, 1], 3);
    const refused = rampart('eval', '--model', `tfjs:${bigger}`, '--data', 'folder:fixtures/data/shapes', '--subset', 'all', '--quiet');
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /E_INPUT_SHAPE.*folder:fixtures\/data\/shapes\?resize=16x16&channels=1/);
  });
});

const IMAGE_THREAT =
  '  - { id: linf-0.1, channel: image, technique: gradient, norm: linf, epsilon: 0.1, likelihood: likely, impact: moderate, owner: t }\n';

describe('plans with ONNX models', () => {
  it('evaluates model.source: onnx:… as is, registered by the file digest', async () => {
    const plan = parsePlanText(
      `name: own-onnx
threats:
${IMAGE_THREAT}data: { dataset: mnist }
model: { source: { kind: onnx, path: ${CNN}, preprocess: { layout: nchw } } }
evaluation: { limit: 12, suite: none, attacks: [{ id: fgsm }], masking: false, latencySamples: 10, examples: 1 }
criteria: { cleanAccuracy: 0.5 }
`,
      'own.yaml',
    );
    const result = await runPlan(plan, { dir: join(dir, 'onnx') });
    const digest = sha256(join(root, CNN));
    assert.deepEqual(result.imageModel?.identity, { kind: 'file', digest, path: CNN });
    const results = await loadResults(result.files.results);
    assert.equal(results.model.sha256, digest);
    assert.ok(results.cleanAccuracy >= 0.5, `clean ${results.cleanAccuracy}`);
    const gov = openGovernance(join(dir, 'onnx'));
    try {
      const model = gov.registry.get(result.governance?.models.image as string);
      assert.equal((model.meta.identity as { digest: string }).digest, digest);
    } finally {
      gov.close();
    }
  });

  it('evaluates an onnxruntime image model with the suite’s Square stage only, as a black-box upper bound', async () => {
    const plan = parsePlanText(
      `name: own-ort
threats:
${IMAGE_THREAT}data: { dataset: mnist }
model: { source: { kind: onnxruntime, path: ${CNN}, preprocess: { layout: nchw } } }
evaluation: { limit: 6, suite: standard:quick, attacks: [{ id: pgd }], masking: { limit: 4 }, latencySamples: 10, examples: 1 }
criteria: { cleanAccuracy: 0.5 }
`,
      'ort.yaml',
    );
    const result = await runPlan(plan, { dir: join(dir, 'ort'), governance: false });
    const results = await loadResults(result.files.results);
    assert.equal(results.method?.suite, 'standard:quick');
    assert.deepEqual(results.method?.attacks, ['square']);
    assert.equal(results.method?.upperBound, true);
    assert.match(results.method?.note ?? '', /black-box attacks only/);
    assert.equal(results.masking, undefined, 'no gradients, no masking checks');
    assert.ok(results.robustAccuracy['linf-0.1'] !== undefined);
  });

  it('runs the tabular-only example on the committed ONNX MLP and passes its gate', async () => {
    const text = readFileSync(join(root, 'examples/tabular/rampart.yaml'), 'utf8');
    const result = await runPlan(parsePlanText(text, 'examples/tabular/rampart.yaml'), { dir: join(dir, 'tabular') });
    assert.deepEqual(
      result.stages.map((s) => s.id),
      ['tabular', 'evaluate', 'gate', 'report', 'register'],
    );
    assert.equal(result.gate.passed, true, JSON.stringify(result.gate));
    const results = await loadResults(result.files.results);
    assert.equal(results.model.sha256, sha256(join(root, 'fixtures/onnx/tabular-mlp.onnx')));
  });
});
