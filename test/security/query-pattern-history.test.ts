/**
 * Issue 20.4 against a real `rampart serve`: the query-pattern history is counted in
 * examples, so near-duplicate probes padded with ordinary digits in 64-example requests
 * are still caught, and a flag inside a batch names the examples it is about.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../../src/core/rng.js';
import { loadBundledMnist } from '../../src/data/index.js';
import { join } from 'node:path';
import { addKey, modelDir, startServe, writeConfig, QUIET, type Served } from './auth-serve.js';

const mnist = loadBundledMnist();
const digit = (i: number): number[] => Array.from(mnist.x.subarray(i * 784, (i + 1) * 784), (v) => Math.round(v * 1000) / 1000);
const rng = createRng(20);
/** The attacker's probe: one digit plus a little uniform noise, different every time. */
const probe = (base: number[]): number[] =>
  base.map((v) => Math.round(Math.min(1, Math.max(0, v + 0.1 * (rng.next() - 0.5))) * 1000) / 1000);

interface Answer {
  status: number;
  code?: string;
  reason?: string;
  flags: Array<string[] | undefined>;
}

describe('query-pattern history (rampart serve, default thresholds)', () => {
  let server: Served | undefined;
  // One key per test: each is its own client with its own history.
  const keys: string[] = [];

  before(async () => {
    const { dir, model } = await modelDir('rampart-qp-');
    // Only the layers under test: OOD and abstain would flag an untrained model's answers.
    // `disclosure: full`: these tests read the flags and reasons; least disclosure is tested in serve-disclosure.
    const config = await writeConfig(dir, 'serve.json', {
      ...QUIET,
      disclosure: 'full',
      layers: { rateLimit: false, ood: false, abstain: false },
    });
    const file = join(dir, 'keys.json');
    keys.push(addKey(file, 'predict'), addKey(file, 'predict'));
    server = await startServe(['--model', model, '--config', config, '--keys', file]);
  });

  after(async () => {
    await server?.stop();
  });

  const predict = async (inputs: number[][], key: string): Promise<Answer> => {
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}` };
    const res = await fetch(`${server?.url}/v1/predict`, { method: 'POST', headers, body: JSON.stringify({ inputs }) });
    const json = (await res.json()) as { predictions?: Array<{ flags?: string[] }>; error?: { code: string; message: string } };
    return {
      status: res.status,
      ...(json.error ? { code: json.error.code, reason: json.error.message } : {}),
      flags: (json.predictions ?? []).map((p) => p.flags),
    };
  };

  test('30 probes each padded with 63 ordinary digits in 64-example requests are flagged, then denied', async () => {
    const base = digit(9000);
    const answers: Answer[] = [];
    for (let r = 0; r < 30; r++) {
      const padding = Array.from({ length: 63 }, (_, i) => digit(r * 63 + i));
      const a = await predict([probe(base), ...padding], keys[0] as string);
      answers.push(a);
      if (a.status !== 200) break;
    }
    const denied = answers.findIndex((a) => a.status !== 200);
    assert.ok(denied >= 0, `never denied: ${answers.length} requests answered 200`);
    assert.equal(answers[denied]?.status, 429);
    assert.equal(answers[denied]?.code, 'E_QUERY_PATTERN');
    // The probe at request k has k − 1 near-duplicates: flagged from the 9th, denied at the 25th.
    assert.equal(denied, 24, `denied at request ${denied + 1}`);
    assert.match(answers[denied]?.reason ?? '', /example 0/);
    for (let r = 8; r < denied; r++) assert.deepEqual(answers[r]?.flags[0], ['query-pattern'], `request ${r + 1}`);
    for (let r = 0; r < 8; r++) assert.equal(answers[r]?.flags[0], undefined, `request ${r + 1}`);
  });

  test('inside one batch each example is scored against the ones before it, and flags name the examples', async () => {
    const base = digit(9500);
    const ordinary = Array.from({ length: 54 }, (_, i) => digit(2000 + i));
    const first = await predict([...Array.from({ length: 10 }, () => probe(base)), ...ordinary], keys[1] as string);
    assert.equal(first.status, 200);
    // The k-th copy has k − 1 near-duplicates before it: copies 9 and 10 reach the flag threshold of 8.
    const flagged = first.flags.flatMap((f, i) => (f?.includes('query-pattern') ? [i] : []));
    assert.deepEqual(flagged, [8, 9]);
    const second = await predict(
      Array.from({ length: 20 }, () => probe(base)),
      keys[1] as string,
    );
    assert.equal(second.status, 429);
    assert.equal(second.code, 'E_QUERY_PATTERN');
  });
});
