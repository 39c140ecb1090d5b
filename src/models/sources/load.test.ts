/**
 * Model sources: every shorthand and the object form parse to one spec, bad ones are refused
 * with the forms that work, and a saved-model directory loads white-box with the digest of
 * its files as identity, freeing its tensors on dispose.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { RampartError } from '../../core/errors.js';
import { initEngine } from '../../engine/backend.js';
import { saveClassifierModel } from '../store.js';
import { directoryDigest, isWhiteBoxSource, loadModelSource, parseModelSource } from './load.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof RampartError, String(error));
    return error.code;
  }
  return assert.fail('accepted');
}

describe('model sources', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-sources-'));
  after(() => rm(dir, { recursive: true, force: true }));

  it('parses every shorthand to its kind', () => {
    const cases: [string, object][] = [
      ['onnx:models/a.onnx', { kind: 'onnx', path: 'models/a.onnx' }],
      ['onnxruntime:a.onnx', { kind: 'onnxruntime', path: 'a.onnx' }],
      ['tfjs:web/model.json', { kind: 'tfjs', path: 'web/model.json' }],
      ['http://127.0.0.1:8080/predict', { kind: 'http', url: 'http://127.0.0.1:8080/predict' }],
      ['https://api.example/v1', { kind: 'http', url: 'https://api.example/v1' }],
      ['http:https://api.example/v1', { kind: 'http', url: 'https://api.example/v1' }],
      ['exports/Model.ONNX', { kind: 'onnx', path: 'exports/Model.ONNX' }],
      ['runs/mnist/model', { kind: 'built', path: 'runs/mnist/model' }],
      ['built:runs/x', { kind: 'built', path: 'runs/x' }],
    ];
    for (const [text, spec] of cases) assert.deepEqual(parseModelSource(text), spec, text);
    assert.equal(isWhiteBoxSource(parseModelSource('onnx:a.onnx')), true);
    assert.equal(isWhiteBoxSource(parseModelSource('onnxruntime:a.onnx')), false);
  });

  it('takes the object form with preprocessing; http objects keep their mapping fields for the HTTP target', () => {
    assert.deepEqual(parseModelSource({ kind: 'onnx', path: 'm.onnx', preprocess: { layout: 'nchw', mean: [0.5], std: [0.25] } }), {
      kind: 'onnx',
      path: 'm.onnx',
      preprocess: { layout: 'nchw', mean: [0.5], std: [0.25] },
    });
    assert.deepEqual(parseModelSource({ kind: 'http', url: 'http://h/p', output: '$.scores' } as never), {
      kind: 'http',
      url: 'http://h/p',
      output: '$.scores',
    });
  });

  it('refuses what it cannot name with E_MODEL_SOURCE', () => {
    for (const bad of ['', 'onnx:', 'ftp://h/m.onnx', 'http:nope', { kind: 'onnx' }, { kind: 'built', path: 'x', preprocess: {} }]) {
      assert.equal(
        codeOf(() => parseModelSource(bad as never)),
        'E_MODEL_SOURCE',
        JSON.stringify(bad),
      );
    }
    assert.equal(
      codeOf(() => parseModelSource({ kind: 'onnx', path: 'm', preprocess: { mean: [0.1, 0.2], std: [1] } })),
      'E_MODEL_SOURCE',
    );
  });

  it('loads a saved model white-box, named by the digest of its files; dispose frees it', async () => {
    await initEngine();
    const modelDir = join(dir, 'model');
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 2 })] });
    await saveClassifierModel(model, modelDir, { architecture: 'linear', inputShape: [3], numClasses: 2, bounds: { min: -1, max: 1 } });
    model.dispose();
    const before = tf.memory().numTensors;
    const loaded = await loadModelSource(modelDir);
    assert.equal(loaded.source, 'built');
    assert.equal(loaded.classifier.differentiable, true);
    assert.deepEqual(loaded.classifier.inputShape, [3]);
    assert.deepEqual(loaded.classifier.bounds, { min: -1, max: 1 });
    const digest = await directoryDigest(modelDir);
    assert.deepEqual(loaded.identity, { kind: 'file', digest, path: modelDir });
    loaded.dispose();
    loaded.dispose();
    assert.equal(tf.memory().numTensors, before);
    // A changed file is a different model.
    writeFileSync(join(modelDir, 'notes.txt'), 'changed');
    assert.notEqual(await directoryDigest(modelDir), digest);
  });

  it('names the kinds this build cannot load yet with E_SOURCE_UNAVAILABLE', async () => {
    await assert.rejects(
      loadModelSource('tfjs:web/model.json'),
      (e: unknown) => e instanceof RampartError && e.code === 'E_SOURCE_UNAVAILABLE',
    );
  });
});
