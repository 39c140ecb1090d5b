/**
 * Security: a model.json is checked against its weights before TF.js builds any layer.
 * TF.js allocates every declared weight first and compares with the saved ones after, so
 * a model.json declaring a huge Dense layer over a 4-byte weights.bin allocated the kernel
 * before being refused.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { RampartError } from '../../src/core/errors.js';
import { initEngine } from '../../src/engine/backend.js';
import { loadModel, saveModel } from '../../src/models/io/index.js';

/** A Sequential model.json of one Dense layer, with a manifest that promises a 1x1 kernel. */
function denseModelJson(inputs: number, units: number): object {
  return {
    modelTopology: {
      class_name: 'Sequential',
      config: {
        name: 'bomb',
        layers: [
          {
            class_name: 'Dense',
            config: { name: 'huge', units, use_bias: false, activation: 'linear', batch_input_shape: [null, inputs], dtype: 'float32' },
          },
        ],
      },
      keras_version: 'tfjs-layers 4.22.0',
      backend: 'tensor_flow.js',
    },
    weightsManifest: [{ paths: ['weights.bin'], weights: [{ name: 'huge/kernel', shape: [1, 1], dtype: 'float32' }] }],
    format: 'layers-model',
  };
}

function hasCode(code: string): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof RampartError, `expected a RampartError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  };
}

describe('model files checked against the declared architecture', () => {
  let tmp: string;
  before(async () => {
    await initEngine();
    tmp = await mkdtemp(join(tmpdir(), 'rampart-sec-model-'));
  });
  after(() => rm(tmp, { recursive: true, force: true }));

  async function modelDir(name: string, json: object, weights = Buffer.alloc(4)): Promise<string> {
    const dir = join(tmp, name);
    await mkdir(dir);
    await writeFile(join(dir, 'model.json'), JSON.stringify(json));
    await writeFile(join(dir, 'weights.bin'), weights);
    return dir;
  }

  test('a Dense layer larger than its 4-byte weights is refused before any tensor exists', async () => {
    // 2048 x 2048 floats (16 MB) would be allocated by TF.js before its own shape check.
    const dir = await modelDir('mismatch', denseModelJson(2048, 2048));
    const before = tf.memory();
    await assert.rejects(loadModel(dir), (e: unknown) => {
      hasCode('E_MODEL_ARCHITECTURE')(e);
      assert.match(
        (e as Error).message,
        /layer 'huge' \(Dense\) declares weight huge\/kernel as \[2048,2048\] but the weights manifest holds \[1,1\]/,
      );
      return true;
    });
    const now = tf.memory();
    assert.equal(now.numTensors, before.numTensors);
    assert.equal(now.numBytes, before.numBytes);
  });

  test('declared parameters above the cap are refused (default 100M, or maxParameters)', async () => {
    // 1e5 x 1e6 = 1e11 parameters: 400 GB if TF.js ever tried.
    const huge = await modelDir('over-cap', denseModelJson(100_000, 1_000_000));
    await assert.rejects(loadModel(huge), hasCode('E_MODEL_TOO_LARGE'));
    const small = await modelDir('small-cap', denseModelJson(64, 64));
    await assert.rejects(loadModel(small, { maxParameters: 1000 }), hasCode('E_MODEL_TOO_LARGE'));
  });

  test('a layer whose weight is missing from the manifest is refused', async () => {
    const json = denseModelJson(1, 1) as { weightsManifest: Array<{ weights: Array<{ name: string }> }> };
    json.weightsManifest[0]!.weights[0]!.name = 'other/kernel';
    const dir = await modelDir('missing', json);
    await assert.rejects(loadModel(dir), hasCode('E_MODEL_ARCHITECTURE'));
  });

  test('honest Sequential and functional models still load', async () => {
    const seq = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 2, kernelSize: 3, padding: 'same' }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.flatten(),
        tf.layers.dropout({ rate: 0.1 }),
        tf.layers.dense({ units: 3 }),
      ],
    });
    const input = tf.input({ shape: [5] });
    const hidden = tf.layers.dense({ units: 4, activation: 'relu' }).apply(input) as tf.SymbolicTensor;
    const fn = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2 }).apply(hidden) as tf.SymbolicTensor });
    for (const [name, model] of [
      ['seq', seq],
      ['fn', fn],
    ] as const) {
      const dir = join(tmp, `honest-${name}`);
      await saveModel(model, dir);
      const loaded = await loadModel(dir);
      assert.equal(loaded.model.countParams(), model.countParams());
      loaded.model.dispose();
      model.dispose();
    }
  });
});
