/**
 * The queue's pieces that need no Redis: blobs keep float32 bits exactly (NaN payloads,
 * -0, subnormals), malformed blobs, jobs and URLs fail typed, a worker's error comes back
 * with its code and kind, and the tfjs-layers codec rebuilds a model that computes the
 * same logits, leaving no tensors behind.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../src/core/errors.js';
import type { ShardTarget } from '../src/execution/handlers/registry.js';
import { decodeJobError, encodeJobError, parseShardJob } from '../src/execution/queue/job.js';
import {
  createQueueExecutor,
  encodeModel,
  modelCodec,
  redactUrl,
  redisConnection,
  registerModelCodec,
  tfjsLayersCodec,
} from '../src/execution/queue/index.js';
import { joinArrays, packBlob, packValue, splitArrays, unpackBlob, unpackValue } from '../src/execution/queue/pack.js';
import { engine, trainedMlp } from './fixtures.js';

function code(expected: string): (error: Error & { code?: string }) => boolean {
  return (error) => {
    assert.equal(error.code, expected, error.message);
    return true;
  };
}

describe('queue codecs', () => {
  before(engine);

  it('packs typed arrays bit for bit, skeleton and all', () => {
    const bits = new Uint32Array([0x7fc00001, 0xffc12345, 0x80000000, 0x00000001, 0x7f7fffff, 0x3f800000]);
    const f = new Float32Array(bits.buffer.slice(0));
    const value = {
      a: f,
      nested: { labels: new Int32Array([1, -2, 3]), flags: new Uint8Array([0, 1]) },
      seed: 7,
      id: 'pgd',
      list: [1, 'x', null],
    };
    const back = unpackValue(packValue(value)) as typeof value;
    assert.deepEqual(new Uint32Array(back.a.buffer), bits);
    assert.deepEqual(back.nested.labels, value.nested.labels);
    assert.deepEqual(back.nested.flags, value.nested.flags);
    assert.deepEqual({ seed: back.seed, id: back.id, list: back.list }, { seed: 7, id: 'pgd', list: [1, 'x', null] });
    // A sub-view is packed as its own elements, not its whole buffer.
    const view = new Float32Array([1, 2, 3, 4]).subarray(1, 3);
    const { skeleton, arrays } = splitArrays({ view });
    const rebuilt = joinArrays(skeleton, unpackBlob(packBlob(arrays)).arrays) as { view: Float32Array };
    assert.deepEqual([...rebuilt.view], [2, 3]);
  });

  it('refuses blobs, values and jobs it cannot carry, with typed errors', () => {
    assert.throws(() => unpackBlob(Buffer.from('not a blob at all')), code('E_QUEUE_PAYLOAD'));
    const blob = packValue({ x: new Float32Array(100) });
    assert.throws(() => unpackBlob(blob.subarray(0, blob.length - 16)), code('E_QUEUE_PAYLOAD'));
    assert.throws(() => splitArrays({ f: () => 1 }), code('E_QUEUE_PAYLOAD'));
    assert.throws(() => splitArrays({ v: Number.POSITIVE_INFINITY }), code('E_QUEUE_PAYLOAD'));
    assert.throws(() => unpackValue(packBlob([new Float32Array(2)])), code('E_QUEUE_PAYLOAD'));
    assert.throws(() => parseShardJob({ v: 1, kind: 'attack' }), code('E_QUEUE_JOB'));
    const digest = 'a'.repeat(64);
    const job = {
      v: 1,
      kind: 'attack',
      model: { kind: 'tfjs-layers', digest },
      payload: {},
      data: { digest, bytes: 8 },
      run: 'r1',
      shard: 0,
      rows: [0, 8],
    };
    assert.equal(parseShardJob(job).kind, 'attack');
    assert.throws(() => parseShardJob({ ...job, run: 'has:colon' }), code('E_QUEUE_JOB'));
  });

  it('parses Redis URLs, hides passwords, and rejects options before connecting', async () => {
    assert.deepEqual(redisConnection('redis://:s3cret@10.0.0.5:6380/2'), {
      host: '10.0.0.5',
      port: 6380,
      password: 's3cret',
      db: 2,
      maxRetriesPerRequest: null,
    });
    assert.equal(redisConnection('rediss://h').port, 6379);
    assert.equal(redactUrl('redis://:s3cret@h:1'), 'redis://:***@h:1');
    assert.throws(() => redisConnection('http://h:1'), code('E_QUEUE_URL'));
    await assert.rejects(createQueueExecutor({ url: 'localhost:6379' }), code('E_QUEUE_URL'));
    await assert.rejects(createQueueExecutor({ url: 'redis://127.0.0.1:1', attempts: 0 }), code('E_QUEUE_OPTION'));
    // Nothing listens on port 1: a coded error after the connection timeout, not a hang.
    await assert.rejects(createQueueExecutor({ url: 'redis://127.0.0.1:1', connectionTimeoutMs: 300 }), code('E_QUEUE_CONNECTION'));
  });

  it("brings a worker's error back with its code and kind", () => {
    const original = new InputError('E_INPUT_SHAPE', 'rows do not fit the model', { details: { shape: [2] } });
    const back = decodeJobError(encodeJobError(original), 'run-s3', 2) as Error & {
      code: string;
      kind: string;
      details: Record<string, unknown>;
    };
    assert.equal(back.code, 'E_INPUT_SHAPE');
    assert.equal(back.kind, 'input');
    assert.deepEqual([back.details.jobId, back.details.attempts], ['run-s3', 2]);
    assert.match(back.message, /rows do not fit the model.*run-s3/);
    assert.equal((decodeJobError('garbage', 'j', 1) as Error & { code: string }).code, 'E_QUEUE_JOB_FAILED');
    assert.equal((decodeJobError('job stalled more than allowable limit', 'j', 1) as Error & { code: string }).code, 'E_QUEUE_STALLED');
  });

  it('ships a TF.js model by digest: same logits after decoding, no tensors left', async () => {
    const classifier = await trainedMlp();
    const encoded = await encodeModel(classifier);
    assert.equal(encoded?.kind, 'tfjs-layers');
    const again = await encodeModel(classifier);
    assert.equal(Buffer.compare(Buffer.from(encoded?.bytes ?? []), Buffer.from(again?.bytes ?? [])), 0, 'same model, same bytes');
    const x = tf.randomUniform([5, 28, 28, 1], 0, 1, 'float32', 3);
    const before = tf.memory().numTensors;
    const { target, dispose } = await modelCodec('tfjs-layers').decode(encoded?.bytes as Uint8Array);
    const want = tf.tidy(() => classifier.logits(x));
    const got = tf.tidy(() => (target as ShardTarget).classifier.logits(x));
    assert.equal(Buffer.compare(Buffer.from((await want.data()).buffer), Buffer.from((await got.data()).buffer)), 0);
    want.dispose();
    got.dispose();
    dispose();
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
    // Another kind is one registration away; the same kind twice is refused, an unknown kind names the known ones.
    assert.throws(() => registerModelCodec(tfjsLayersCodec), code('E_QUEUE_MODEL_KIND'));
    assert.throws(() => modelCodec('keras-h5'), code('E_QUEUE_MODEL_KIND'));
  });
});
