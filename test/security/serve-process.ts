/**
 * Helpers for the serve security tests: a real `rampart serve` child process on loopback,
 * tiny models saved to a temporary directory, API keys, JSON requests and bounded waits.
 * Not a test file itself.
 */
import { smallMnist, trainedMlp } from '../fixtures.js';
import { buildModel } from '../../src/models/architectures.js';
import { saveClassifierModel } from '../../src/models/store.js';
import { addApiKey, type Role } from '../../src/serve/auth.js';

export { startServe, type ServeProcess } from '../serve-process.js';

const DATA = {
  spec: 'mnist',
  name: 'mnist-bundled',
  sha256: 'fixture',
  split: { seed: 7, fractions: { train: 0.8, validation: 0.1, test: 0.1 } },
};
const INFO = { architecture: 'mlp', inputShape: [28, 28, 1], numClasses: 10, bounds: { min: 0, max: 1 } };

/** Saves the trained fixture MLP (about 90% accurate) with its data metadata, so the server can fit its OOD detector. */
export async function saveGood(dir: string): Promise<string> {
  await saveClassifierModel((await trainedMlp()).model, dir, { ...INFO, data: DATA });
  return dir;
}

/** Saves an untrained MLP (about chance accuracy); `withData` adds the data metadata. */
export async function saveUntrained(dir: string, seed: number, withData = true): Promise<string> {
  const model = buildModel('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed });
  await saveClassifierModel(model, dir, { ...INFO, ...(withData ? { data: DATA } : {}) });
  model.dispose();
  return dir;
}

/** Adds a key with `role` to the keys file and returns it. */
export async function key(file: string, role: Role): Promise<string> {
  return (await addApiKey(file, { role })).key;
}

/** Test digit `i` as a flat array. */
export function digit(i: number): number[] {
  return Array.from(smallMnist().test.x.subarray(i * 784, (i + 1) * 784));
}

/** A JSON request; returns the status and the parsed body (loosely typed, as `inject().json()` is). */
export async function call(
  url: string,
  options: { method?: string; key?: string; body?: unknown } = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {};
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, {
    method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (metrics)
  }
  return { status: res.status, body };
}

/** Polls `check` every `everyMs` until it returns true or `withinMs` passes; returns whether it did. */
export async function eventually(check: () => Promise<boolean>, withinMs: number, everyMs = 100): Promise<boolean> {
  const end = Date.now() + withinMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
