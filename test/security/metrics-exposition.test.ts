/**
 * Issue 20.12 and the metrics part of 20.5 against a real `rampart serve`: `/metrics` is
 * for operator keys by default (the anomaly rate and canary accuracy are a timer for an
 * attacker), and what it serves passes `promtool check metrics` when promtool is on PATH
 * (Debian's `prometheus` package), and Prometheus' naming rules checked here otherwise.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { addKey, modelDir, startServe, writeConfig, QUIET, type Served } from './auth-serve.js';

/** The naming rules promtool's linter applies, for machines without promtool. */
function namingProblems(text: string): string[] {
  const problems: string[] = [];
  const types = new Map<string, string>();
  const helped = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1] as string, type[2] as string);
    const help = /^# HELP (\S+) \S/.exec(line);
    if (help) helped.add(help[1] as string);
  }
  for (const [name, type] of types) {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) problems.push(`${name}: invalid name`);
    if (/[A-Z]/.test(name)) problems.push(`${name}: not snake_case`);
    if (type === 'counter' && !name.endsWith('_total')) problems.push(`${name}: counter without _total`);
    if (type !== 'counter' && name.endsWith('_total')) problems.push(`${name}: ${type} named _total`);
    if (type !== 'histogram' && type !== 'summary' && /_(count|sum|bucket)$/.test(name))
      problems.push(`${name}: ${type} with a reserved suffix`);
    if (/_(milliseconds|millis|microseconds|kilobytes|megabytes)(_|$)/.test(name)) problems.push(`${name}: not a base unit`);
    if (!helped.has(name)) problems.push(`${name}: no HELP`);
  }
  if (types.size === 0) problems.push('no metrics');
  return problems;
}

describe('/metrics (rampart serve with keys, default settings)', () => {
  let server: Served | undefined;
  const keys = { predict: '', operator: '' };

  before(async () => {
    const { dir, model } = await modelDir('rampart-metrics-');
    const file = join(dir, 'keys.json');
    keys.predict = addKey(file, 'predict');
    keys.operator = addKey(file, 'operator');
    const config = await writeConfig(dir, 'serve.json', { ...QUIET, layers: { ood: false } });
    server = await startServe(['--model', model, '--config', config, '--keys', file]);
  });

  after(async () => {
    await server?.stop();
  });

  const get = async (key?: string): Promise<{ status: number; text: string }> => {
    const res = await fetch(`${server?.url}/metrics`, key ? { headers: { authorization: `Bearer ${key}` } } : {});
    return { status: res.status, text: await res.text() };
  };

  test('needs an operator key', async () => {
    const none = await get();
    assert.equal(none.status, 401);
    assert.match(none.text, /E_AUTH_REQUIRED/);
    const predict = await get(keys.predict);
    assert.equal(predict.status, 403);
    assert.match(predict.text, /E_FORBIDDEN/);
    assert.equal((await get(keys.operator)).status, 200);
  });

  test('passes promtool check metrics (or its naming rules without promtool)', async () => {
    const body = JSON.stringify({ inputs: [new Array<number>(784).fill(0)] });
    const res = await fetch(`${server?.url}/v1/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${keys.predict}` },
      body,
    });
    assert.equal(res.status, 200);
    const { status, text } = await get(keys.operator);
    assert.equal(status, 200);
    assert.match(text, /rampart_http_requests_total\{route="\/v1\/predict",method="POST",status="200"\} 1/);
    assert.deepEqual(namingProblems(text), []);
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 10_000 });
    if (promtool.error && (promtool.error as NodeJS.ErrnoException).code === 'ENOENT') {
      console.log('# promtool not on PATH; checked the naming rules only (apt-get install prometheus for the full check)');
      return;
    }
    assert.equal(promtool.status, 0, `promtool check metrics:\n${promtool.stdout}${promtool.stderr}`);
  });
});
