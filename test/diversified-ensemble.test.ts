import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTraining, type TrainRunReport } from '../src/pipeline/train-run.js';
import { ensembleOf } from '../src/pipeline/run/stages/train.js';
import { fusedHeads } from '../src/defenses/ensemble/fused-serve.js';
import { loadClassifierModel } from '../src/models/store.js';
import { parseDataSpec } from '../src/data/index.js';
import { engine } from './fixtures.js';

before(engine);

test('runTraining with method diversified and members trains, saves and reports one ensemble model', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rampart-ensemble-'));
  const { report, model, classifier } = await runTraining({
    data: { spec: parseDataSpec('mnist'), splitSeed: 1, limit: 256 },
    architecture: 'linear',
    outDir: dir,
    epochs: 1,
    batchSize: 64,
    optimizer: 'adam',
    learningRate: 2e-3,
    seed: 1,
    method: 'diversified',
    ensemble: { members: 2, diversity: 0.5 },
    robustValidation: false,
  });
  assert.equal(report.training.config.objective.id, 'diversified');
  assert.equal(model.outputs.length, 1);
  assert.equal(classifier.numClasses, 10);
  assert.ok(report.testAccuracy > 0.3, `accuracy ${report.testAccuracy}`);
  model.dispose();
});

test('runTraining with heads trains one shared trunk with K heads, saved as a model served as its heads', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rampart-heads-'));
  const { report, model } = await runTraining({
    data: { spec: parseDataSpec('mnist'), splitSeed: 1, limit: 256 },
    architecture: 'mlp',
    outDir: dir,
    epochs: 1,
    batchSize: 64,
    optimizer: 'adam',
    learningRate: 2e-3,
    seed: 1,
    method: 'diversified',
    ensemble: { members: 3, diversity: 0.5, heads: true },
    robustValidation: false,
  });
  assert.equal(report.training.config.objective.id, 'diversified');
  assert.equal((report.training.config.objective.config as { ensemble?: number }).ensemble, 3);
  // The MLP's two hidden layers once, then three heads (kernel and bias each).
  assert.equal(model.trainableWeights.length, 2 * 2 + 3 * 2);
  assert.ok(report.testAccuracy > 0.3, `accuracy ${report.testAccuracy}`);
  const { model: loaded } = await loadClassifierModel(join(dir, 'model'));
  const heads = fusedHeads(loaded, { dir: join(dir, 'model') });
  assert.equal(heads?.members, 3);
  await heads?.ready();
  assert.equal(heads?.mode(), 'inline');
  heads?.dispose();
  loaded.dispose();
  model.dispose();
});

test("a plan's diversified training names whole members or heads on one trunk", () => {
  const base = { method: 'diversified' } as const;
  assert.deepEqual(ensembleOf({ ...base, heads: 4, diversity: 0.2 } as Parameters<typeof ensembleOf>[0]), {
    ensemble: { members: 4, diversity: 0.2, heads: true },
  });
  assert.deepEqual(ensembleOf({ ...base, members: 3 } as Parameters<typeof ensembleOf>[0]), { ensemble: { members: 3 } });
});

describe('rampart train --method diversified --heads', () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const rampart = (...args: string[]): { code: number; stdout: string; stderr: string } => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, RAMPART_BACKEND: '' },
    });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };

  test('trains a multi-head model through the CLI', async () => {
    const out = await mkdtemp(join(tmpdir(), 'rampart-heads-cli-'));
    const r = rampart(
      'train',
      '--method',
      'diversified',
      '--heads',
      '3',
      '--arch',
      'linear',
      '--epochs',
      '1',
      '--limit',
      '256',
      '--out',
      out,
      '--quiet',
    );
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(await readFile(join(out, 'train-report.json'), 'utf8')) as TrainRunReport;
    assert.equal(report.training.config.objective.id, 'diversified');
    const { model } = await loadClassifierModel(join(out, 'model'));
    assert.equal(fusedHeads(model, { threads: false })?.members, 3);
    model.dispose();
  });

  test('refuses heads with members, with another method, or a diversified ensemble of neither', () => {
    const out = join(tmpdir(), 'rampart-never');
    const both = rampart('train', '--method', 'diversified', '--heads', '3', '--members', '2', '--out', out, '--quiet');
    assert.equal(both.code, 2);
    assert.match(both.stderr, /E_MEMBERS: --members \(whole models\) and --heads \(one shared trunk\) are two kinds of ensemble/);
    const other = rampart('train', '--method', 'standard', '--heads', '3', '--out', out, '--quiet');
    assert.equal(other.code, 2);
    assert.match(other.stderr, /E_MEMBERS: --heads is an option of --method diversified/);
    const neither = rampart('train', '--method', 'diversified', '--out', out, '--quiet');
    assert.equal(neither.code, 2);
    assert.match(neither.stderr, /--members N \(2-16\) for whole models or --heads N/);
  });
});
