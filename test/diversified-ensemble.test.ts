import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTraining } from '../src/pipeline/train-run.js';
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
