import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadModel, readModelMetadata, saveModel } from './index.js';
import { RampartError } from '../../core/errors.js';

const init = (seed: number) => tf.initializers.glorotUniform({ seed });

function cnn(): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, activation: 'relu', kernelInitializer: init(1) }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(2) }),
    ],
  });
}

function mlp(): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [6], units: 16, activation: 'relu', kernelInitializer: init(3), biasInitializer: 'randomNormal' }),
      tf.layers.dense({ units: 8, activation: 'tanh', kernelInitializer: init(4) }),
      tf.layers.dense({ units: 3, kernelInitializer: init(5) }),
    ],
  });
}

/** Bytes of a tensor's values, for bitwise (not approximate) comparison. */
function bytesOf(t: tf.Tensor): Buffer {
  const v = t.dataSync() as Float32Array;
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

function assertSameWeights(a: tf.LayersModel, b: tf.LayersModel): void {
  const [wa, wb] = [a.getWeights(), b.getWeights()];
  assert.equal(wb.length, wa.length);
  wa.forEach((w, i) => {
    const other = wb[i];
    assert.ok(other);
    assert.deepEqual(other.shape, w.shape);
    assert.ok(bytesOf(other).equals(bytesOf(w)), `weight ${i} differs`);
  });
}

function assertSamePredictions(a: tf.LayersModel, b: tf.LayersModel, x: tf.Tensor): void {
  const [pa, pb] = [a.predict(x) as tf.Tensor, b.predict(x) as tf.Tensor];
  assert.ok(bytesOf(pb).equals(bytesOf(pa)), 'predictions differ');
  tf.dispose([pa, pb]);
}

describe('saveModel / loadModel', () => {
  let root: string;
  let n = 0;
  const fresh = () => join(root, `m${n++}`);

  before(async () => {
    await tf.setBackend('cpu');
    root = await mkdtemp(join(tmpdir(), 'rampart-models-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const cases: Array<[string, () => tf.Sequential, number[]]> = [
    ['CNN (conv2d, maxPooling2d, flatten, dense)', cnn, [5, 8, 8, 1]],
    ['MLP (dense)', mlp, [5, 6]],
  ];
  for (const [name, build, shape] of cases) {
    it(`round-trips a ${name}: bitwise-equal weights and identical predictions`, async () => {
      const model = build();
      const x = tf.randomUniform(shape, 0, 1, 'float32', 11);
      const dir = fresh();
      await saveModel(model, dir);
      const { model: loaded, metadata } = await loadModel(dir);
      try {
        assert.deepEqual(metadata, {});
        assert.deepEqual(loaded.inputs[0]?.shape, model.inputs[0]?.shape);
        assert.deepEqual(
          loaded.layers.map((l) => l.getClassName()),
          model.layers.map((l) => l.getClassName()),
        );
        assertSameWeights(model, loaded);
        assertSamePredictions(model, loaded, x);
      } finally {
        model.dispose();
        loaded.dispose();
        x.dispose();
      }
    });
  }

  it('round-trips metadata and reads it without loading the model', async () => {
    const metadata = {
      architecture: 'mnist-cnn',
      bounds: { min: 0, max: 1 },
      classNames: ['zero', 'one', 'deux', '三'],
      training: { objective: 'pgd-at', epsilon: 0.3, steps: 40, seed: 1234, phases: [{ epochs: 2, lr: 1e-3 }] },
      notes: null,
      calibrated: false,
    };
    const model = cnn();
    const dir = fresh();
    await saveModel(model, dir, metadata);
    assert.equal(model.getUserDefinedMetadata(), undefined, 'the caller’s model is not mutated');
    const loaded = await loadModel(dir);
    loaded.model.dispose();
    model.dispose();
    assert.deepEqual(loaded.metadata, metadata);
    // Only model.json is needed for metadata.
    await unlink(join(dir, 'weights.bin'));
    assert.deepEqual(await readModelMetadata(dir), metadata);
  });

  it("saves the model's own metadata when none is passed, and the argument replaces it", async () => {
    const model = mlp();
    model.setUserDefinedMetadata({ architecture: 'own' });
    const [own, given] = [fresh(), fresh()];
    await saveModel(model, own);
    await saveModel(model, given, { architecture: 'given' });
    model.dispose();
    assert.deepEqual(await readModelMetadata(own), { architecture: 'own' });
    assert.deepEqual(await readModelMetadata(given), { architecture: 'given' });
  });

  it('rejects non-JSON metadata before writing anything', async () => {
    const model = mlp();
    const dir = fresh();
    await assert.rejects(saveModel(model, dir, { bounds: { min: -Infinity, max: Infinity } }), { code: 'E_MODEL_METADATA' });
    model.dispose();
    await assert.rejects(readdir(dir), { code: 'ENOENT' });
  });

  it('replaces a saved model whole when saving into the same directory', async () => {
    const [first, second] = [mlp(), cnn()];
    const x = tf.randomUniform([2, 8, 8, 1], 0, 1, 'float32', 3);
    const parent = fresh();
    const dir = join(parent, 'model');
    await saveModel(first, dir, { version: 1, extra: 'only in v1' });
    await saveModel(second, dir, { version: 2 });
    const { model: loaded, metadata } = await loadModel(dir);
    try {
      assert.deepEqual(metadata, { version: 2 });
      assertSameWeights(second, loaded);
      assertSamePredictions(second, loaded, x);
      assert.deepEqual((await readdir(dir)).sort(), ['model.json', 'weights.bin']);
      assert.deepEqual(await readdir(parent), ['model'], 'no temporary or retired siblings left');
    } finally {
      for (const m of [first, second, loaded]) m.dispose();
      x.dispose();
    }
  });

  it('a stale temporary directory from a crashed save neither loads nor blocks the next save', async () => {
    const model = mlp();
    const parent = fresh();
    const dir = join(parent, 'model');
    await saveModel(model, dir, { version: 1 });
    const stale = join(parent, '.model.tmp-99999-deadbeef0000');
    await mkdir(stale);
    await writeFile(join(stale, 'model.json'), await readFile(join(dir, 'model.json')));
    await writeFile(join(stale, 'weights.bin'), Buffer.alloc(3));
    assert.deepEqual((await loadModel(dir).then((l) => (l.model.dispose(), l))).metadata, { version: 1 });
    await saveModel(model, dir, { version: 2 });
    assert.deepEqual(await readModelMetadata(dir), { version: 2 });
    model.dispose();
  });

  it('a truncated save fails to load with E_MODEL_CORRUPT and leaks no tensors', async () => {
    const model = mlp();
    const dir = fresh();
    await saveModel(model, dir);
    model.dispose();
    const size = (await readFile(join(dir, 'weights.bin'))).byteLength;
    await truncate(join(dir, 'weights.bin'), Math.floor(size / 2));
    const before = tf.memory().numTensors;
    await assert.rejects(loadModel(dir), (e: unknown) => {
      assert.ok(e instanceof RampartError);
      assert.equal(e.code, 'E_MODEL_CORRUPT');
      assert.match(e.message, new RegExp(`holds ${Math.floor(size / 2)} bytes.*describes ${size} bytes`));
      return true;
    });
    assert.equal(tf.memory().numTensors, before);
  });

  it('E_MODEL_MISSING names the directory', async () => {
    const dir = join(root, 'never-saved');
    await assert.rejects(
      loadModel(dir),
      (e: unknown) => e instanceof RampartError && e.code === 'E_MODEL_MISSING' && e.message.includes(dir),
    );
    await assert.rejects(readModelMetadata(dir), { code: 'E_MODEL_MISSING' });
  });

  it('E_MODEL_FORMAT for a graph model', async () => {
    const model = mlp();
    const dir = fresh();
    await saveModel(model, dir);
    model.dispose();
    const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(join(dir, 'model.json'), JSON.stringify({ ...json, format: 'graph-model' }));
    await assert.rejects(loadModel(dir), { code: 'E_MODEL_FORMAT' });
  });

  it('E_MODEL_CORRUPT when TF.js cannot rebuild the topology', async () => {
    const model = mlp();
    const dir = fresh();
    await saveModel(model, dir);
    model.dispose();
    const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as {
      modelTopology: { config: { layers: Array<{ class_name: string }> } };
    };
    json.modelTopology.config.layers[0]!.class_name = 'NoSuchLayer';
    await writeFile(join(dir, 'model.json'), JSON.stringify(json));
    await assert.rejects(
      loadModel(dir),
      (e: unknown) => e instanceof RampartError && e.code === 'E_MODEL_CORRUPT' && e.cause instanceof Error,
    );
  });

  it('does not grow tf.memory() across repeated save/load cycles', async () => {
    const model = cnn();
    const dir = fresh();
    const cycle = async () => {
      await saveModel(model, dir, { step: 1 });
      (await loadModel(dir)).model.dispose();
    };
    await cycle(); // warm up lazily created state
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) await cycle();
    assert.equal(tf.memory().numTensors, before);
    model.dispose();
  });
});
