/**
 * `tfjs:PATH`: a LayersModel and a GraphModel of a non-MNIST shape load as classifiers with
 * their files' manifest digest; a graph TF.js can differentiate is white-box (PGD runs on it),
 * one it cannot is a score target; bad paths, files and sizes are coded errors.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { RampartError } from '../core/errors.js';
import { engine } from '../../test/fixtures.js';
import { createAttack } from '../attacks/registry.js';
import { threatModel } from '../threats/threat-model.js';
import { saveModel } from './io/index.js';
import { loadTfjsModel } from './tfjs-source.js';

before(engine);

const b64 = (v: string) => Buffer.from(v).toString('base64');
const dims = (...d: number[]) => ({ dim: d.map((x) => ({ size: String(x) })) });
const float = { type: 'DT_FLOAT' };
const konst = (name: string, dtype: 'DT_FLOAT' | 'DT_INT32', ...shape: number[]) => ({
  name,
  op: 'Const',
  attr: { dtype: { type: dtype }, value: { tensor: { dtype, tensorShape: dims(...shape) } } },
});

/** A hand-written TF.js graph model: 8x8x3 -> conv 3x3x4 -> relu -> flatten -> dense 5 (-> softmax). */
async function writeGraphModel(dir: string, softmax = false): Promise<void> {
  const node = [
    { name: 'x', op: 'Placeholder', attr: { dtype: float, shape: { shape: dims(-1, 8, 8, 3) } } },
    konst('k', 'DT_FLOAT', 3, 3, 3, 4),
    {
      name: 'conv',
      op: 'Conv2D',
      input: ['x', 'k'],
      attr: {
        T: float,
        strides: { list: { i: ['1', '1', '1', '1'] } },
        padding: { s: b64('VALID') },
        data_format: { s: b64('NHWC') },
        dilations: { list: { i: ['1', '1', '1', '1'] } },
      },
    },
    { name: 'relu', op: 'Relu', input: ['conv'], attr: { T: float } },
    konst('shape', 'DT_INT32', 2),
    { name: 'flat', op: 'Reshape', input: ['relu', 'shape'], attr: { T: float } },
    konst('w', 'DT_FLOAT', 144, 5),
    { name: 'mm', op: 'MatMul', input: ['flat', 'w'], attr: { T: float } },
    konst('b', 'DT_FLOAT', 5),
    { name: 'logits', op: 'BiasAdd', input: ['mm', 'b'], attr: { T: float } },
    ...(softmax ? [{ name: 'probs', op: 'Softmax', input: ['logits'], attr: { T: float } }] : []),
  ];
  const weights = [
    { name: 'k', shape: [3, 3, 3, 4], dtype: 'float32' },
    { name: 'shape', shape: [2], dtype: 'int32' },
    { name: 'w', shape: [144, 5], dtype: 'float32' },
    { name: 'b', shape: [5], dtype: 'float32' },
  ];
  const data = [
    Float32Array.from({ length: 108 }, (_, i) => Math.sin(i)),
    Int32Array.from([-1, 144]),
    Float32Array.from({ length: 720 }, (_, i) => Math.cos(i) / 10),
    Float32Array.from({ length: 5 }, (_, i) => i / 10),
  ];
  await mkdir(dir, { recursive: true });
  const json = {
    modelTopology: { node, versions: { producer: 1 } },
    format: 'graph-model',
    weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights }],
  };
  await writeFile(join(dir, 'model.json'), JSON.stringify(json));
  await writeFile(join(dir, 'group1-shard1of1.bin'), Buffer.concat(data.map((a) => Buffer.from(a.buffer))));
}

/** The digest the registry gives a directory holding exactly these files. */
async function expectedDigest(dir: string, files: string[]): Promise<string> {
  const entries = await Promise.all(
    [...files].sort().map(async (path) => {
      const bytes = await readFile(join(dir, path));
      return { digest: createHash('sha256').update(bytes).digest('hex'), path, size: bytes.byteLength };
    }),
  );
  return createHash('sha256')
    .update(JSON.stringify({ files: entries }))
    .digest('hex');
}

const codeIs = (code: string, pattern?: RegExp) => (e: unknown) =>
  e instanceof RampartError && e.code === code && (pattern?.test(e.message) ?? true);

test('a layers model of any input shape loads from its directory or model.json, with its files digest and saved bounds', async () => {
  const dir = join(await mkdtemp(join(tmpdir(), 'rampart-tfjs-')), 'layers');
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [12, 10, 3], filters: 2, kernelSize: 3, activation: 'relu', seed: 1 } as never),
      tf.layers.flatten(),
      tf.layers.dense({ units: 4, activation: 'softmax' }),
    ],
  });
  await saveModel(model, dir, { bounds: { min: -1, max: 1 } });
  const loaded = await loadTfjsModel({ path: dir });
  const viaJson = await loadTfjsModel({ path: join(dir, 'model.json'), id: 'named', preprocess: { scale: 2 } });
  const { classifier } = loaded;
  assert.deepEqual(
    [classifier.inputShape, classifier.numClasses, classifier.bounds, classifier.differentiable],
    [[12, 10, 3], 4, { min: -1, max: 1 }, true],
  );
  assert.equal(loaded.source, 'tfjs');
  assert.deepEqual(loaded.identity, { kind: 'file', digest: await expectedDigest(dir, ['model.json', 'weights.bin']), path: dir });
  assert.deepEqual(viaJson.identity, loaded.identity);
  assert.equal(viaJson.classifier.id, 'named');
  const x = tf.randomUniform([2, 12, 10, 3], -0.5, 0.5, 'float32', 3);
  const [ours, theirs, scaled, doubled] = tf.tidy(() => [
    classifier.logits(x),
    tf.log(model.predict(x) as tf.Tensor),
    viaJson.classifier.logits(x),
    classifier.logits(tf.mul(x, 2)),
  ]);
  assert.deepEqual(
    Array.from(await ours!.data()).map((v) => v.toFixed(5)),
    Array.from(await theirs!.data()).map((v) => v.toFixed(5)),
  );
  assert.deepEqual(await scaled!.data(), await doubled!.data(), 'preprocess.scale multiplies the input inside the graph');
  tf.dispose([ours!, theirs!, scaled!, doubled!, x]);
  loaded.dispose();
  loaded.dispose();
  viaJson.dispose();
  model.dispose();
});

test('a graph model TF.js can differentiate is white-box: PGD runs on it without leaking tensors', async () => {
  const dir = join(await mkdtemp(join(tmpdir(), 'rampart-tfjs-')), 'graph');
  await writeGraphModel(dir);
  const loaded = await loadTfjsModel({ path: dir });
  const { classifier } = loaded;
  assert.deepEqual(
    [classifier.inputShape, classifier.numClasses, classifier.differentiable, classifier.access],
    [[8, 8, 3], 5, true, 'gradients'],
  );
  assert.deepEqual(loaded.identity, { kind: 'file', digest: await expectedDigest(dir, ['model.json', 'group1-shard1of1.bin']), path: dir });
  const x = tf.randomUniform([3, 8, 8, 3], 0, 1, 'float32', 5);
  const labels = Int32Array.from(await tf.tidy(() => tf.argMax(classifier.logits(x), 1)).data());
  const pgd = createAttack('pgd', { steps: 5 });
  const threat = threatModel({ norm: 'linf', epsilon: 0.3 });
  const warm = await pgd.run(classifier, x, labels, threat);
  warm.adversarial.dispose();
  const before = tf.memory().numTensors;
  const result = await pgd.run(classifier, x, labels, threat);
  assert.ok(
    result.success.some((s) => s === 1),
    'PGD breaks the random graph at epsilon 0.3',
  );
  result.adversarial.dispose();
  assert.equal(tf.memory().numTensors, before);
  x.dispose();

  const softDir = join(dir, '..', 'soft');
  await writeGraphModel(softDir, true);
  const soft = await loadTfjsModel({ path: softDir });
  const probe = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 6);
  const [a, b] = tf.tidy(() => [tf.logSoftmax(classifier.logits(probe)), soft.classifier.logits(probe)]);
  assert.deepEqual(
    Array.from(await a!.data()).map((v) => v.toFixed(4)),
    Array.from(await b!.data()).map((v) => v.toFixed(4)),
    'softmax outputs become log-probabilities',
  );
  tf.dispose([a!, b!, probe]);
  assert.notEqual(soft.identity.kind === 'file' && soft.identity.digest, loaded.identity.kind === 'file' && loaded.identity.digest);
  soft.dispose();
  loaded.dispose();
});

test('a graph TF.js cannot differentiate (TopK) is a score target', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rampart-tfjs-'));
  const node = [
    { name: 'x', op: 'Placeholder', attr: { dtype: float, shape: { shape: dims(-1, 6) } } },
    konst('k', 'DT_INT32'),
    { name: 'top', op: 'TopKV2', input: ['x', 'k'], attr: { T: float, sorted: { b: true } } },
    { name: 'out', op: 'Identity', input: ['top'], attr: { T: float } },
  ];
  const json = {
    modelTopology: { node, versions: { producer: 1 } },
    format: 'graph-model',
    weightsManifest: [{ paths: ['w.bin'], weights: [{ name: 'k', shape: [], dtype: 'int32' }] }],
  };
  await writeFile(join(dir, 'model.json'), JSON.stringify(json));
  await writeFile(join(dir, 'w.bin'), Buffer.from(Int32Array.from([3]).buffer));
  const loaded = await loadTfjsModel({ path: dir });
  assert.deepEqual([loaded.classifier.differentiable, loaded.classifier.access, loaded.classifier.numClasses], [false, 'scores', 3]);
  await assert.rejects(
    createAttack('pgd').run(loaded.classifier, tf.zeros([1, 6]), Int32Array.from([0]), threatModel({ norm: 'linf', epsilon: 0.1 })),
    codeIs('E_NOT_DIFFERENTIABLE', /'square'/),
  );
  loaded.dispose();
});

test('a graph with an op TF.js cannot run is a coded error naming the way out', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rampart-tfjs-'));
  const node = [
    { name: 'x', op: 'Placeholder', attr: { dtype: float, shape: { shape: dims(-1, 4) } } },
    { name: 'out', op: 'NoSuchOp', input: ['x'], attr: { T: float } },
  ];
  const json = { modelTopology: { node, versions: { producer: 1 } }, format: 'graph-model', weightsManifest: [] };
  await writeFile(join(dir, 'model.json'), JSON.stringify(json));
  const before = tf.memory().numTensors;
  await assert.rejects(loadTfjsModel({ path: dir }), codeIs('E_MODEL_GRAPH', /onnx/));
  assert.equal(tf.memory().numTensors, before, 'the refused model was disposed');
});

test('missing, malformed, oversized and escaping model files are coded errors that say what to fix', async () => {
  const root = await mkdtemp(join(tmpdir(), 'rampart-tfjs-'));
  await assert.rejects(loadTfjsModel({ path: join(root, 'none') }), codeIs('E_MODEL_MISSING', /does not exist/));
  await writeFile(join(root, 'other.json'), '{}');
  await assert.rejects(loadTfjsModel({ path: join(root, 'other.json') }), codeIs('E_MODEL_PATH', /model\.json/));
  const dir = join(root, 'g');
  await writeGraphModel(dir);
  await assert.rejects(loadTfjsModel({ path: dir, maxWeightBytes: 100 }), codeIs('E_MODEL_TOO_LARGE', /maxWeightBytes/));
  await assert.rejects(loadTfjsModel({ path: dir, maxModelJsonBytes: 100 }), codeIs('E_MODEL_TOO_LARGE', /maxModelJsonBytes/));
  await assert.rejects(
    loadTfjsModel({ path: dir, preprocess: { mean: [0.5, 0.5], std: [1, 1] } }),
    codeIs('E_PREPROCESS', /one per channel/),
  );
  const weights = await readFile(join(dir, 'group1-shard1of1.bin'));
  await writeFile(join(dir, 'group1-shard1of1.bin'), weights.subarray(4));
  await assert.rejects(loadTfjsModel({ path: dir }), codeIs('E_MODEL_CORRUPT', /bytes/));
  const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as { weightsManifest: Array<{ paths: string[] }> };
  json.weightsManifest[0]!.paths = ['../../etc/passwd'];
  await writeFile(join(dir, 'model.json'), JSON.stringify(json));
  await assert.rejects(loadTfjsModel({ path: dir }), codeIs('E_MODEL_CORRUPT', /outside its directory/));
  json.weightsManifest[0]!.paths = ['gone.bin'];
  await writeFile(join(dir, 'model.json'), JSON.stringify(json));
  await assert.rejects(loadTfjsModel({ path: dir }), codeIs('E_MODEL_CORRUPT', /missing/));
  await writeFile(join(dir, 'model.json'), '{"modelTopology": ');
  await assert.rejects(loadTfjsModel({ path: dir }), codeIs('E_MODEL_CORRUPT', /not valid JSON/));
});

test('declared preprocessing (per-channel mean/std, scale) is part of the differentiated graph, and dispose frees it', async () => {
  const dir = join(await mkdtemp(join(tmpdir(), 'rampart-tfjs-')), 'g');
  await writeGraphModel(dir);
  const before = tf.memory().numTensors;
  const plain = await loadTfjsModel({ path: dir });
  const mean = [0.1, 0.2, 0.3];
  const std = [0.5, 0.25, 2];
  const normalised = await loadTfjsModel({ path: dir, preprocess: { scale: 2, mean, std } });
  assert.deepEqual(normalised.classifier.inputShape, [8, 8, 3]);
  assert.equal(normalised.classifier.differentiable, true);
  const x = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 5);
  const [ours, manual, grad] = tf.tidy(() => [
    normalised.classifier.logits(x),
    plain.classifier.logits(tf.div(tf.sub(tf.mul(x, 2), tf.tensor1d(mean)), tf.tensor1d(std))),
    tf.grad((v: tf.Tensor) => tf.sum(normalised.classifier.logits(v)))(x),
  ]);
  assert.deepEqual(
    Array.from(await ours!.data()).map((v) => v.toFixed(4)),
    Array.from(await manual!.data()).map((v) => v.toFixed(4)),
  );
  assert.deepEqual(grad!.shape, [2, 8, 8, 3]);
  tf.dispose([ours!, manual!, grad!, x]);
  normalised.dispose();
  plain.dispose();
  assert.equal(tf.memory().numTensors, before);
});
