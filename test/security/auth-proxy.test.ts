/**
 * Issue 20.10 against a real `rampart serve` behind a (simulated) trusted proxy: with
 * `trustProxy` set to the proxy's address, X-Forwarded-For names the client, and the
 * per-address budget holds an IPv6 client by its /64, so rotating addresses inside its
 * own prefix does not escape it, while a neighbouring /64 and an IPv4 client keep theirs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { modelDir, startServe, writeConfig, QUIET, type Served } from './auth-serve.js';

describe('per-address limits behind a trusted proxy (rampart serve)', () => {
  let server: Served | undefined;

  before(async () => {
    const { dir, model } = await modelDir('rampart-proxy-');
    const config = await writeConfig(dir, 'serve.json', {
      ...QUIET,
      trustProxy: '127.0.0.1',
      layers: { rateLimit: { perAddress: { max: 5, timeWindowMs: 60_000 } }, queryPattern: false, ood: false, abstain: false },
    });
    server = await startServe(['--model', model, '--config', config]);
  });

  after(async () => {
    await server?.stop();
  });

  const body = JSON.stringify({ inputs: [new Array<number>(784).fill(0)] });
  const predictFrom = async (client: string): Promise<{ status: number; code?: string }> => {
    const res = await fetch(`${server?.url}/v1/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': client },
      body,
    });
    const json = (await res.json()) as { error?: { code: string } };
    return { status: res.status, ...(json.error ? { code: json.error.code } : {}) };
  };

  test('an IPv6 client rotating addresses inside its /64 meets one budget', async () => {
    const answers: Array<{ status: number; code?: string }> = [];
    for (let i = 1; i <= 8; i++) answers.push(await predictFrom(`2001:db8:1:2:${i.toString(16)}::${i}`));
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200, 200, 200, 200, 429, 429, 429],
    );
    assert.equal(answers[5]?.code, 'E_RATE_LIMITED');
    // The neighbouring /64 and an IPv4 client are other clients.
    assert.equal((await predictFrom('2001:db8:1:3::1')).status, 200);
    assert.equal((await predictFrom('198.51.100.9')).status, 200);
    // An IPv4-mapped IPv6 address is the IPv4 client it maps.
    for (let i = 0; i < 4; i++) assert.equal((await predictFrom('198.51.100.10')).status, 200);
    assert.equal((await predictFrom('::ffff:198.51.100.10')).status, 200);
    assert.equal((await predictFrom('198.51.100.10')).status, 429);
  });
});
