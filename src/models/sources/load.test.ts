/**
 * Model sources: every shorthand and the object form parse to one spec, bad ones are refused
 * with the forms that work, and a saved-model directory loads white-box with the digest of
 * its files as identity, freeing its tensors on dispose; ONNX, onnxruntime and TF.js files load
 * at their access level under their file digest, and an HTTP source without a shape asks the
 * rampart serve it names.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { RampartError } from '../../core/errors.js';
import { initEngine } from '../../engine/backend.js';
import { accessOf } from '../classifier.js';
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
      ['http://127.0.0.1:8080/predict', { kind: 'http', url: 'http://127.0.0.1:8080/predict', output: 'scores' }],
      ['https://api.example/v1', { kind: 'http', url: 'https://api.example/v1', output: 'scores' }],
      ['http:https://api.example/v1', { kind: 'http', url: 'https://api.example/v1', output: 'scores' }],
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
    const mapped = { kind: 'http', url: 'http://h/p', output: 'scores', outputPath: '$.scores', inputShape: [4], numClasses: 3 } as const;
    assert.deepEqual(parseModelSource(mapped), mapped);
    // The HTTP target's own schema checks the fields: a bad output, an unknown field, auth without its variable.
    for (const bad of [
      { ...mapped, output: '$.scores' },
      { ...mapped, retires: 3 },
      { ...mapped, authHeader: 'authorization' },
      { ...mapped, numClasses: 1 },
    ])
      assert.equal(
        codeOf(() => parseModelSource(bad as never)),
        'E_MODEL_SOURCE',
        JSON.stringify(bad),
      );
    assert.match(
      (() => {
        try {
          parseModelSource({ ...mapped, output: 'probabilities' } as never);
        } catch (error) {
          return (error as Error).message;
        }
        return '';
      })(),
      /output/,
    );
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

  it('loads onnx, onnxruntime and tfjs files at their access level, named by the file digest', async () => {
    await initEngine();
    const path = 'fixtures/onnx/mnist-cnn.onnx';
    const digest = createHash('sha256').update(readFileSync(path)).digest('hex');
    const before = tf.memory().numTensors;
    const imported = await loadModelSource(path);
    const runtime = await loadModelSource({ kind: 'onnxruntime', path, preprocess: { layout: 'nchw' } });
    try {
      assert.equal(imported.source, 'onnx');
      assert.equal(accessOf(imported.classifier), 'gradients');
      assert.equal(runtime.source, 'onnxruntime');
      assert.equal(accessOf(runtime.classifier), 'scores');
      assert.deepEqual(imported.identity, { kind: 'file', digest, path });
      assert.deepEqual(runtime.identity, { kind: 'file', digest, path });
      assert.deepEqual(runtime.classifier.inputShape, [28, 28, 1]);
    } finally {
      imported.dispose();
      runtime.dispose();
    }
    assert.equal(tf.memory().numTensors, before);
    const modelDir = join(dir, 'tfjs');
    const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [2, 2, 3] }), tf.layers.dense({ units: 2 })] });
    await saveClassifierModel(model, modelDir, {
      architecture: 'linear',
      inputShape: [2, 2, 3],
      numClasses: 2,
      bounds: { min: 0, max: 1 },
    });
    model.dispose();
    const tfjs = await loadModelSource({ kind: 'tfjs', path: modelDir, preprocess: { mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2] } });
    assert.equal(tfjs.source, 'tfjs');
    assert.equal(accessOf(tfjs.classifier), 'gradients');
    tfjs.dispose();
    assert.equal(tf.memory().numTensors, before);
  });

  it('an http source that declares no shape is read from the rampart serve it names; one that cannot answer is E_TARGET_*', async () => {
    await assert.rejects(loadModelSource('http://127.0.0.1:9/'), (e: unknown) => e instanceof RampartError && /^E_TARGET_/.test(e.code));
  });
});
