import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, truncate, unlink, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { fileSystemHandler } from './file-handler.js';
import { weightByteCount } from './weights.js';
import { RampartError } from '../../core/errors.js';

function mlp(): tf.Sequential {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  return tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [6], units: 8, activation: 'relu', kernelInitializer: init(1) }),
      tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(2) }),
    ],
  });
}

/** What tfjs-node 4.x's `file://` handler (NodeFileSystem.save) writes, reproduced as the reference. */
function tfjsNodeFiles(a: tf.io.ModelArtifacts): { json: Buffer; bin: Buffer } {
  const modelJSON: Record<string, unknown> = {
    modelTopology: a.modelTopology,
    weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
    format: a.format,
    generatedBy: a.generatedBy,
    convertedBy: a.convertedBy,
  };
  if (a.trainingConfig != null) modelJSON.trainingConfig = a.trainingConfig;
  if (a.signature != null) modelJSON.signature = a.signature;
  if (a.userDefinedMetadata != null) modelJSON.userDefinedMetadata = a.userDefinedMetadata;
  return {
    json: Buffer.from(JSON.stringify(modelJSON), 'utf8'),
    bin: Buffer.from(tf.io.CompositeArrayBuffer.join(a.weightData)),
  };
}

async function artifactsOf(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      captured = a;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
    }),
  );
  assert.ok(captured);
  return captured;
}

function assertCode(code: string, ...messageParts: Array<string | RegExp>) {
  return (e: unknown) => {
    assert.ok(e instanceof RampartError, `expected a RampartError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    for (const part of messageParts)
      assert.match(e.message, typeof part === 'string' ? new RegExp(part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : part);
    return true;
  };
}

describe('fileSystemHandler', () => {
  let root: string;
  let n = 0;
  let model: tf.Sequential;
  let x: tf.Tensor;
  const fresh = () => join(root, `m${n++}`);
  const saved = async () => {
    const dir = fresh();
    await model.save(fileSystemHandler(dir));
    return dir;
  };

  before(async () => {
    await tf.setBackend('cpu');
    root = await mkdtemp(join(tmpdir(), 'rampart-handler-'));
    model = mlp();
    x = tf.randomUniform([4, 6], 0, 1, 'float32', 7);
  });
  after(async () => {
    model.dispose();
    x.dispose();
    await rm(root, { recursive: true, force: true });
  });

  describe('format', () => {
    it('writes model.json and weights.bin byte-identical to tfjs-node', async () => {
      const tagged = mlp();
      tagged.setUserDefinedMetadata({ classes: ['a', 'b', 'c'], bounds: { min: 0, max: 1 } });
      try {
        const dir = fresh();
        await tagged.save(fileSystemHandler(dir));
        const reference = tfjsNodeFiles(await artifactsOf(tagged));
        assert.ok((await readFile(join(dir, 'model.json'))).equals(reference.json), 'model.json bytes');
        assert.ok((await readFile(join(dir, 'weights.bin'))).equals(reference.bin), 'weights.bin bytes');
      } finally {
        tagged.dispose();
      }
    });

    it('writes the standard LayersModel fields', async () => {
      const json = JSON.parse(await readFile(join(await saved(), 'model.json'), 'utf8')) as Record<string, unknown>;
      assert.deepEqual(Object.keys(json), ['modelTopology', 'weightsManifest', 'format', 'generatedBy', 'convertedBy']);
      assert.equal(json.format, 'layers-model');
      assert.match(String(json.generatedBy), /^TensorFlow\.js tfjs-layers v/);
      assert.equal(json.convertedBy, null);
      const manifest = json.weightsManifest as tf.io.WeightsManifestConfig;
      assert.equal(manifest.length, 1);
      assert.deepEqual(manifest[0]?.paths, ['weights.bin']);
      assert.deepEqual(
        manifest[0]?.weights.map((w) => [w.shape, w.dtype]),
        [
          [[6, 8], 'float32'],
          [[8], 'float32'],
          [[8, 3], 'float32'],
          [[3], 'float32'],
        ],
      );
    });

    it('loads with stock tf.loadLayersModel through getModelArtifactsForJSON + fromMemory', async () => {
      const dir = await saved();
      const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
      const bin = await readFile(join(dir, 'weights.bin'));
      const artifacts = await tf.io.getModelArtifactsForJSON(json, async (manifest) => [
        tf.io.getWeightSpecs(manifest),
        bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer,
      ]);
      const stock = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
      try {
        const [a, b] = [model.predict(x) as tf.Tensor, stock.predict(x) as tf.Tensor];
        assert.deepEqual(b.dataSync(), a.dataSync());
        tf.dispose([a, b]);
      } finally {
        stock.dispose();
      }
    });

    it('loads a directory written by the tfjs-node reference writer', async () => {
      const dir = fresh();
      const ref = tfjsNodeFiles(await artifactsOf(model));
      await mkdir(dir);
      await writeFile(join(dir, 'model.json'), ref.json);
      await writeFile(join(dir, 'weights.bin'), ref.bin);
      const loaded = await tf.loadLayersModel(fileSystemHandler(dir));
      try {
        const [a, b] = [model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor];
        assert.deepEqual(b.dataSync(), a.dataSync());
        tf.dispose([a, b]);
      } finally {
        loaded.dispose();
      }
    });

    it('loads weights sharded over several files and groups (tfjs converter layout)', async () => {
      const dir = await saved();
      const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
      const bin = await readFile(join(dir, 'weights.bin'));
      const [first, ...rest] = json.weightsManifest[0]?.weights ?? [];
      assert.ok(first);
      const split = 6 * 8 * 4; // first weight is the [6, 8] float32 kernel
      await writeFile(join(dir, 'group1-shard1of2.bin'), bin.subarray(0, 100));
      await writeFile(join(dir, 'group1-shard2of2.bin'), bin.subarray(100, split));
      await writeFile(join(dir, 'group2-shard1of1.bin'), bin.subarray(split));
      json.weightsManifest = [
        { paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'], weights: [first] },
        { paths: ['group2-shard1of1.bin'], weights: rest },
      ];
      await writeFile(join(dir, 'model.json'), JSON.stringify(json));
      await unlink(join(dir, 'weights.bin'));
      const artifacts = await fileSystemHandler(dir).load();
      assert.ok(Buffer.from(tf.io.CompositeArrayBuffer.join(artifacts.weightData)).equals(bin));
    });
  });

  describe('load errors', () => {
    it('E_MODEL_MISSING for a directory that does not exist, naming it', async () => {
      const dir = join(root, 'nope', 'model');
      await assert.rejects(fileSystemHandler(dir).load(), assertCode('E_MODEL_MISSING', dir, 'does not exist'));
    });

    it('E_MODEL_MISSING for a directory without model.json', async () => {
      const dir = fresh();
      await mkdir(dir);
      await assert.rejects(fileSystemHandler(dir).load(), assertCode('E_MODEL_MISSING', dir, 'model.json'));
    });

    it('E_MODEL_MISSING for a path that is a file', async () => {
      const dir = join(await saved(), 'model.json');
      await assert.rejects(fileSystemHandler(dir).load(), assertCode('E_MODEL_MISSING', 'is a file'));
    });

    it('E_MODEL_CORRUPT for unparsable model.json', async () => {
      const dir = await saved();
      const path = join(dir, 'model.json');
      await truncate(path, 40);
      await assert.rejects(fileSystemHandler(dir).load(), assertCode('E_MODEL_CORRUPT', path, 'not valid JSON'));
    });

    it('E_MODEL_CORRUPT for an empty model.json', async () => {
      const dir = await saved();
      await truncate(join(dir, 'model.json'), 0);
      await assert.rejects(fileSystemHandler(dir).load(), assertCode('E_MODEL_CORRUPT'));
    });

    it('E_MODEL_CORRUPT for JSON that is not a model', async () => {
      for (const body of [
        '[]',
        '{}',
        '{"modelTopology": {}}',
        '{"modelTopology": {}, "weightsManifest": [{"paths": ["weights.bin"], "weights": [{"name": "w", "shape": [-1], "dtype": "float32"}]}]}',
      ]) {
        const dir = await saved();
        await writeFile(join(dir, 'model.json'), body);
        await assert.rejects(fileSystemHandler(dir).load(), assertCode('E_MODEL_CORRUPT', 'not a TF.js model.json'), body);
      }
    });

    it('E_MODEL_CORRUPT with expected vs actual bytes for a truncated weights.bin', async () => {
      const dir = await saved();
      const expected = (await readFile(join(dir, 'weights.bin'))).byteLength;
      await truncate(join(dir, 'weights.bin'), expected - 4);
      await assert.rejects(fileSystemHandler(dir).load(), (e: unknown) => {
        assertCode('E_MODEL_CORRUPT', `holds ${expected - 4} bytes`, `describes ${expected} bytes`)(e);
        assert.deepEqual((e as RampartError).details.expectedBytes, expected);
        assert.deepEqual((e as RampartError).details.actualBytes, expected - 4);
        return true;
      });
    });

    it('E_MODEL_CORRUPT for an over-long weights.bin', async () => {
      const dir = await saved();
      await appendFile(join(dir, 'weights.bin'), Buffer.alloc(4));
      await assert.rejects(fileSystemHandler(dir).load(), assertCode('E_MODEL_CORRUPT'));
    });

    it('E_MODEL_CORRUPT for a missing weights.bin', async () => {
      const dir = await saved();
      await unlink(join(dir, 'weights.bin'));
      await assert.rejects(fileSystemHandler(dir).load(), assertCode('E_MODEL_CORRUPT', 'weights.bin', 'is missing'));
    });

    it('E_MODEL_CORRUPT for a weights path outside the model directory', async () => {
      const dir = await saved();
      const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
      json.weightsManifest[0]!.paths = ['../m0/weights.bin'];
      await writeFile(join(dir, 'model.json'), JSON.stringify(json));
      await assert.rejects(fileSystemHandler(dir).load(), assertCode('E_MODEL_CORRUPT', 'outside its directory'));
    });
  });

  describe('save checks', () => {
    it('E_MODEL_ARTIFACTS for weight data that does not match its specs, writing nothing', async () => {
      const artifacts = await artifactsOf(model);
      const dir = fresh();
      const short = tf.io.CompositeArrayBuffer.join(artifacts.weightData).slice(4);
      await assert.rejects(fileSystemHandler(dir).save({ ...artifacts, weightData: short }), assertCode('E_MODEL_ARTIFACTS'));
      await assert.rejects(readFile(join(dir, 'model.json')), { code: 'ENOENT' });
    });

    it('E_MODEL_ARTIFACTS for a binary topology', async () => {
      await assert.rejects(fileSystemHandler(fresh()).save({ modelTopology: new ArrayBuffer(8) }), assertCode('E_MODEL_ARTIFACTS'));
    });

    it('saves weightData given as several buffers', async () => {
      const artifacts = await artifactsOf(model);
      const whole = tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      const dir = fresh();
      await fileSystemHandler(dir).save({ ...artifacts, weightData: [whole.slice(0, 10), whole.slice(10)] });
      assert.ok((await readFile(join(dir, 'weights.bin'))).equals(Buffer.from(whole)));
    });

    it('wraps a file-system failure as E_MODEL_WRITE and keeps the old model', async () => {
      const dir = await saved();
      const before = await readFile(join(dir, 'weights.bin'));
      const crash = fileSystemHandler(dir, {
        beforeCommit: () => {
          throw new Error('disk full');
        },
      });
      const other = mlp();
      await assert.rejects(crash.save(await artifactsOf(other)), assertCode('E_MODEL_WRITE', 'disk full'));
      other.dispose();
      assert.ok((await readFile(join(dir, 'weights.bin'))).equals(before));
    });
  });

  describe('weightByteCount', () => {
    it('counts string weights from their length prefixes', async () => {
      const s = tf.tensor(['ab', 'cde', ''], [3], 'string');
      const { data, specs } = await tf.io.encodeWeights({ s });
      s.dispose();
      const bytes = new Uint8Array(data);
      assert.deepEqual(weightByteCount(specs, bytes), { expected: 3 * 4 + 5, exact: true });
      assert.equal(weightByteCount(specs, bytes.subarray(0, 5)).exact, false);
    });

    it('counts quantized weights in their stored dtype', () => {
      const spec: tf.io.WeightsManifestEntry = {
        name: 'q',
        shape: [10],
        dtype: 'float32',
        quantization: { dtype: 'uint8', min: 0, scale: 1 },
      };
      assert.deepEqual(weightByteCount([spec], new Uint8Array(10)), { expected: 10, exact: true });
    });
  });
});
