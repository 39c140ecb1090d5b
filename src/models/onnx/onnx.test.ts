/**
 * The importer on the committed fixtures (PyTorch exports) against onnxruntime, its errors
 * (unsupported op, malformed and oversized files), ownership of its tensors, and the
 * declared preprocessing as part of the differentiated graph.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { engine } from '../../../test/fixtures.js';
import { buildModel, init, maxAbsDiff, randomValues, runOrt, values } from '../../../test/onnx-builder.js';
import { RampartError } from '../../core/errors.js';
import type { PreprocessedClassifier } from '../preprocess.js';
import type { OnnxClassifier } from './classifier.js';
import { importOnnx, loadOnnxModel, sha256, SUPPORTED_OPS } from './index.js';

before(engine);

const FIXTURES = join(import.meta.dirname, '..', '..', '..', 'fixtures', 'onnx');
const fixture = (name: string): string => join(FIXTURES, `${name}.onnx`);

async function rejectsWith(fn: () => Promise<unknown> | unknown, code: string, ...mentions: string[]): Promise<RampartError> {
  try {
    await fn();
  } catch (error) {
    assert.ok(error instanceof RampartError, `expected a RampartError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    for (const m of mentions) assert.ok(error.message.includes(m), `message should mention '${m}': ${error.message}`);
    return error;
  }
  assert.fail(`expected ${code}`);
}

for (const name of ['mnist-cnn', 'cifar-resnet', 'tabular-mlp']) {
  test(`fixture ${name}: imported output within 1e-4 of onnxruntime`, async () => {
    const loaded = await loadOnnxModel({ path: fixture(name) });
    try {
      const model = loaded.classifier as OnnxClassifier;
      const shape = [5, ...model.inputShape];
      const x = Float32Array.from(
        randomValues(
          shape.reduce((p, d) => p * d, 1),
          3,
          0,
          1,
        ),
      );
      const expected = await runOrt(readFileSync(fixture(name)), x, shape);
      const ours = await values(tf.tidy(() => model.forward(tf.tensor(x, shape))));
      const diff = maxAbsDiff(ours, expected.data);
      assert.ok(diff <= 1e-4, `max abs diff ${diff}`);
      assert.deepEqual(loaded.identity, { kind: 'file', digest: sha256(readFileSync(fixture(name))), path: fixture(name) });
    } finally {
      loaded.dispose();
    }
  });
}

test('a graph ending in Softmax gives log-probabilities as logits', async () => {
  const loaded = await loadOnnxModel({ path: fixture('tabular-mlp') });
  try {
    const model = loaded.classifier as OnnxClassifier;
    assert.equal(model.outputsProbabilities, true);
    assert.deepEqual([model.inputShape, model.numClasses], [[10], 2]);
    const x = tf.randomNormal([4, 10], 0, 1, 'float32', 2);
    const probs = await values(tf.tidy(() => model.forward(x)));
    const logits = await values(tf.tidy(() => model.logits(x)));
    assert.ok(maxAbsDiff(logits, probs.map(Math.log)) < 1e-5);
    x.dispose();
  } finally {
    loaded.dispose();
  }
});

test('an unsupported op names the op, its node, the supported list and the onnxruntime target', async () => {
  const bytes = buildModel({ input: [-1, 3], nodes: [{ op: 'Hardmax', inputs: ['x'], outputs: ['y'], name: 'head' }] });
  const error = await rejectsWith(
    () => importOnnx({ bytes, path: 'm.onnx', id: 'm' }),
    'E_ONNX_UNSUPPORTED_OP',
    'Hardmax',
    "'head'",
    'onnxruntime:m.onnx',
    'Conv',
  );
  assert.deepEqual(error.details.supported, SUPPORTED_OPS);
});

test('malformed, truncated, empty and missing files fail with coded errors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-onnx-'));
  const garbage = join(dir, 'garbage.onnx');
  writeFileSync(garbage, Buffer.from('this is not a protobuf at all \u00ff\u00fe', 'latin1'));
  await rejectsWith(() => loadOnnxModel({ path: garbage }), 'E_ONNX_MALFORMED', garbage);
  const truncated = join(dir, 'truncated.onnx');
  writeFileSync(truncated, readFileSync(fixture('mnist-cnn')).subarray(0, 5000));
  await rejectsWith(() => loadOnnxModel({ path: truncated }), 'E_ONNX_MALFORMED');
  const empty = join(dir, 'empty.onnx');
  writeFileSync(empty, new Uint8Array(0));
  await rejectsWith(() => loadOnnxModel({ path: empty }), 'E_ONNX_MALFORMED');
  await rejectsWith(() => loadOnnxModel({ path: join(dir, 'nope.onnx') }), 'E_MODEL_MISSING');
  // A node reading a value nothing defines.
  const dangling = buildModel({ input: [-1, 3], nodes: [{ op: 'Add', inputs: ['x', 'ghost'], outputs: ['y'] }] });
  await rejectsWith(() => importOnnx({ bytes: dangling, path: 'd.onnx', id: 'd' }), 'E_ONNX_MALFORMED', 'ghost');
});

test('size caps are checked before allocation: file bytes and declared parameters', async () => {
  const path = fixture('mnist-cnn');
  await rejectsWith(() => loadOnnxModel({ path }, { maxFileBytes: 1000, maxParameters: 1e9, maxNodes: 100 }), 'E_ONNX_TOO_LARGE', '1000');
  await rejectsWith(
    () => loadOnnxModel({ path }, { maxFileBytes: 1e9, maxParameters: 1000, maxNodes: 100 }),
    'E_ONNX_TOO_LARGE',
    'parameters',
  );
  // A tensor that declares a billion elements but holds four: refused by the cap, nothing allocated for it.
  const huge = buildModel({
    input: [-1, 4],
    inits: [{ name: 'w', dims: [1000, 1000, 1000], values: [1, 2, 3, 4] }],
    nodes: [{ op: 'Add', inputs: ['x', 'w'], outputs: ['y'] }],
  });
  await rejectsWith(() => importOnnx({ bytes: huge, path: 'h.onnx', id: 'h' }), 'E_ONNX_TOO_LARGE');
  // Sizes that would allocate at run time: an enormous example, an enormous pad.
  const wide = buildModel({ input: [-1, 5000, 5000], nodes: [{ op: 'Flatten', inputs: ['x'], outputs: ['y'] }] });
  await rejectsWith(() => importOnnx({ bytes: wide, path: 'w.onnx', id: 'w' }), 'E_ONNX_TOO_LARGE', 'over the limit');
  const padded = buildModel({
    input: [-1, 3],
    inits: [{ name: 'p', dims: [4], values: [0, 0, 0, 1e7], int64: true }],
    nodes: [{ op: 'Pad', inputs: ['x', 'p'], outputs: ['y'] }],
  });
  await rejectsWith(() => importOnnx({ bytes: padded, path: 'p.onnx', id: 'p' }), 'E_ONNX_UNSUPPORTED_ATTRIBUTE', 'pads above');
});

test('a batch fixed at 1 and a non-classifier output are refused at import', async () => {
  const fixed = buildModel({
    input: [1, 3],
    inits: [init('w', [3, 2], 1)],
    nodes: [
      { op: 'MatMul', inputs: ['x', 'w'], outputs: ['h'] },
      { op: 'Flatten', inputs: ['h'], outputs: ['y'], attrs: { axis: 0 } },
    ],
  });
  await rejectsWith(() => importOnnx({ bytes: fixed, path: 'f.onnx', id: 'f' }), 'E_ONNX_OUTPUT_SHAPE', 'dynamic_axes');
});

test('repeated logits and input gradients leave the tensor count unchanged; dispose frees the model', async () => {
  const start = tf.memory().numTensors;
  const loaded = await loadOnnxModel({
    path: fixture('cifar-resnet'),
    preprocess: { layout: 'nchw', mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
  });
  const model = loaded.classifier;
  const x = tf.randomUniform([3, 32, 32, 3]);
  const step = (): void => {
    tf.tidy(() => {
      model.logits(x);
      tf.grad((t: tf.Tensor) => tf.sum(model.logits(t)))(x);
    });
  };
  step();
  const steady = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) step();
  assert.equal(tf.memory().numTensors, steady);
  loaded.dispose();
  loaded.dispose();
  x.dispose();
  assert.equal(tf.memory().numTensors, start);
  assert.throws(() => tf.tidy(() => model.logits(tf.zeros([1, 32, 32, 3]))), /disposed/);
});

test('nchw preprocessing takes NHWC data in [0,1]: same logits as normalising and transposing by hand, gradients in data units', async () => {
  const preprocess = { layout: 'nchw' as const, scale: 2, mean: [0.2, 0.4, 0.6], std: [0.5, 1, 2] };
  const loaded = await loadOnnxModel({ path: fixture('cifar-resnet'), preprocess });
  const raw = await loadOnnxModel({ path: fixture('cifar-resnet') });
  try {
    const model = loaded.classifier as PreprocessedClassifier;
    assert.deepEqual(model.inputShape, [32, 32, 3]);
    const x = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 9);
    const byHand = (t: tf.Tensor): tf.Tensor =>
      raw.classifier.logits(
        tf.transpose(tf.div(tf.sub(tf.mul(t, 2), tf.tensor1d([0.2, 0.4, 0.6])), tf.tensor1d([0.5, 1, 2])), [0, 3, 1, 2]),
      );
    const a = await values(tf.tidy(() => model.logits(x)));
    const b = await values(tf.tidy(() => byHand(x)));
    assert.ok(maxAbsDiff(a, b) < 1e-4);
    const ga = await values(tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(model.logits(t)))(x)));
    const gb = await values(tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(byHand(t)))(x)));
    assert.ok(maxAbsDiff(ga, gb) < 1e-4);
    x.dispose();
  } finally {
    loaded.dispose();
    raw.dispose();
  }
});

test('preprocessing that does not fit the model is E_PREPROCESS', async () => {
  await rejectsWith(
    () => loadOnnxModel({ path: fixture('cifar-resnet'), preprocess: { layout: 'nchw', mean: [0.1, 0.2] } }),
    'E_PREPROCESS',
    'mean',
  );
  await rejectsWith(() => loadOnnxModel({ path: fixture('tabular-mlp'), preprocess: { layout: 'nchw' } }), 'E_PREPROCESS', 'nchw');
});
