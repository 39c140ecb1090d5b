/** The serving building blocks on their own: defence layers, body parsing, auth, drift, rollback policy, hot swap. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng } from '../src/core/rng.js';
import { RampartError } from '../src/core/errors.js';
import type { GuardContext, ModelOutput, ModelView } from '../src/defenses/layer.js';
import { parseImageBody, parseTextBody, validateLayer } from '../src/defenses/validate/index.js';
import { queryPatternLayer } from '../src/defenses/query-pattern/index.js';
import { fitOodDetector, loadOodDetector, oodLayer, saveOodDetector } from '../src/defenses/ood/index.js';
import { ensembleLayer } from '../src/defenses/ensemble/index.js';
import { abstainLayer } from '../src/defenses/abstain/index.js';
import { nestingExceeds, parseJsonBody } from '../src/serve/body.js';
import { KeyStore, addApiKey, authorize, presentedKey, readKeysFile } from '../src/serve/auth.js';
import { DriftMonitor, psi } from '../src/serve/monitor.js';
import { RollbackController } from '../src/serve/rollback.js';
import { ModelHolder } from '../src/serve/model-holder.js';
import { outputFromLogits, type ServedModel } from '../src/serve/served-model.js';
import { parseServeConfig } from '../src/serve/config.js';
import { AnomalyWindow, clientWeightedRate } from '../src/serve/anomaly-window.js';
import { roundProbabilities } from '../src/serve/disclosure.js';
import { normalizeTextLayer } from '../src/serve/text-normalize-layer.js';

const view: ModelView = { id: 'm', kind: 'image', inputShape: [4, 4, 1], bounds: { min: 0, max: 1 }, numClasses: 3 };

function ctx(partial: Partial<GuardContext> = {}): GuardContext {
  return { clientId: 'c1', address: '127.0.0.1', model: view, body: undefined, ...partial };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof RampartError ? e.code : 'not-rampart';
  }
  return undefined;
}

function gaussianRows(rng: ReturnType<typeof createRng>, n: number, mean: number[], sd: number): Float32Array[] {
  return Array.from({ length: n }, () => Float32Array.from(mean, (m) => m + sd * rng.normal()));
}

describe('validate layer', () => {
  test('accepts flat and nested examples and refuses bad ones with a code', () => {
    const flat = parseImageBody({ inputs: [new Array(16).fill(0.5)] }, view);
    assert.equal(flat.count, 1);
    const nested = parseImageBody({ inputs: [Array.from({ length: 4 }, () => Array.from({ length: 4 }, () => [0.25]))] }, view);
    assert.deepEqual(Array.from(nested.x), new Array(16).fill(0.25));
    assert.equal(
      codeOf(() => parseImageBody([1, 2], view)),
      'E_BODY_SHAPE',
    );
    assert.equal(
      codeOf(() => parseImageBody({ inputs: [] }, view)),
      'E_BODY_SHAPE',
    );
    assert.equal(
      codeOf(() => parseImageBody({ inputs: [new Array(15).fill(0)] }, view)),
      'E_INPUT_SHAPE',
    );
    assert.equal(
      codeOf(() => parseImageBody({ inputs: [[[0, 0, 0, 0]]] }, view)),
      'E_INPUT_SHAPE',
    );
    assert.equal(
      codeOf(() => parseImageBody({ inputs: [[...new Array(15).fill(0), 'x']] }, view)),
      'E_INPUT_TYPE',
    );
    assert.equal(
      codeOf(() => parseImageBody({ inputs: [[...new Array(15).fill(0), Infinity]] }, view)),
      'E_INPUT_NONFINITE',
    );
    assert.equal(
      codeOf(() => parseImageBody({ inputs: [[...new Array(15).fill(0), 1.5]] }, view)),
      'E_INPUT_RANGE',
    );
    assert.equal(parseImageBody({ inputs: [[...new Array(15).fill(0), 1.5]] }, view, { outOfRange: 'clip' }).x[15], 1);
    assert.equal(
      codeOf(() => parseImageBody({ inputs: new Array(3).fill(new Array(16).fill(0)) }, view, { maxBatch: 2 })),
      'E_BATCH_SIZE',
    );
  });

  test('texts: type, length and lone surrogates', () => {
    assert.deepEqual(parseTextBody({ texts: ['hi'] }), ['hi']);
    assert.equal(
      codeOf(() => parseTextBody({ texts: [3] })),
      'E_TEXT_TYPE',
    );
    assert.equal(
      codeOf(() => parseTextBody({ texts: ['abc'] }, { maxTextLength: 2 })),
      'E_TEXT_LENGTH',
    );
    assert.equal(
      codeOf(() => parseTextBody({ texts: ['a\uD800b'] })),
      'E_TEXT_ENCODING',
    );
    assert.deepEqual(parseTextBody({ texts: ['emoji \uD83D\uDE00'] }), ['emoji \uD83D\uDE00']);
  });

  test('the layer fills the context', () => {
    const c = ctx({ body: { inputs: [new Array(16).fill(0)] } });
    assert.equal((validateLayer().check(c) as { decision: string }).decision, 'pass');
    assert.equal(c.batch?.count, 1);
  });
});

describe('body parser', () => {
  test('UTF-8, nesting and JSON errors have their own codes', () => {
    assert.deepEqual(parseJsonBody(Buffer.from('{"a":[1,2]}'), 4), { a: [1, 2] });
    assert.equal(
      codeOf(() => parseJsonBody(Buffer.from([0x7b, 0xff, 0x7d]), 4)),
      'E_BODY_UTF8',
    );
    assert.equal(
      codeOf(() => parseJsonBody(Buffer.from('['.repeat(10) + ']'.repeat(10)), 4)),
      'E_BODY_DEPTH',
    );
    assert.equal(
      codeOf(() => parseJsonBody(Buffer.from('{"a":'), 4)),
      'E_BODY_JSON',
    );
    assert.equal(
      codeOf(() => parseJsonBody(Buffer.from(''), 4)),
      'E_BODY_JSON',
    );
    // Brackets inside strings do not count as nesting.
    assert.equal(nestingExceeds('{"a":"[[[[[[[[\\"[["}', 2), false);
  });
});

describe('query-pattern layer', () => {
  test('near-duplicates from one client flag, then deny; other clients and distinct inputs pass', () => {
    let now = 0;
    const layer = queryPatternLayer({ flagAt: 3, denyAt: 6, distance: 0.05, windowMs: 1000, now: () => now });
    const rng = createRng(1);
    const base = Float32Array.from({ length: 16 }, () => rng.next());
    const noisy = (): Float32Array => Float32Array.from(base, (v) => Math.min(1, Math.max(0, v + 0.03 * (rng.next() - 0.5))));
    const decisions: string[] = [];
    for (let i = 0; i < 7; i++) {
      const c = ctx({ batch: { x: noisy(), count: 1, shape: [4, 4, 1] } });
      decisions.push((layer.check(c) as { decision: string }).decision);
    }
    assert.deepEqual(decisions, ['pass', 'pass', 'pass', 'flag', 'flag', 'flag', 'deny']);
    // Another client sending the same image is not affected.
    assert.equal(
      (layer.check(ctx({ clientId: 'c2', batch: { x: noisy(), count: 1, shape: [4, 4, 1] } })) as { decision: string }).decision,
      'pass',
    );
    // Distinct inputs from the first client do not count as duplicates.
    const other = Float32Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? 1 : 0));
    assert.equal((layer.check(ctx({ batch: { x: other, count: 1, shape: [4, 4, 1] } })) as { score: number }).score, 0);
    // The window forgets old queries.
    now = 5000;
    assert.equal((layer.check(ctx({ batch: { x: noisy(), count: 1, shape: [4, 4, 1] } })) as { decision: string }).decision, 'pass');
  });

  test('texts: word-set similarity', () => {
    const layer = queryPatternLayer({ flagAt: 2, denyAt: 100 });
    const base = 'congratulations you have been selected to win a free prize claim it now';
    const texts = [base, base.replace('free', 'fr3e'), base.replace('now', 'today'), base.replace('prize', 'pr1ze')];
    const out = texts.map((t) => layer.check(ctx({ model: { ...view, kind: 'text' }, texts: [t] })) as { decision: string });
    assert.equal(out[out.length - 1]?.decision, 'flag');
    assert.equal((layer.check(ctx({ clientId: 'x', texts: ['meeting at noon'] })) as { decision: string }).decision, 'pass');
  });

  test('memory is bounded by maxClients', () => {
    const layer = queryPatternLayer({ maxClients: 5 });
    for (let i = 0; i < 20; i++) layer.check(ctx({ clientId: `c${i}`, texts: ['x'] }));
    assert.equal(layer.clients(), 5);
  });
});

describe('OOD detector', () => {
  test('fits class means, flags far-away features, round-trips through JSON', async () => {
    const rng = createRng(2);
    const features = [...gaussianRows(rng, 200, [0, 0, 0, 0, 0, 0], 1), ...gaussianRows(rng, 200, [4, 4, 4, 0, 0, 0], 1)];
    const labels = Int32Array.from(features, (_, i) => (i < 200 ? 0 : 1));
    const detector = fitOodDetector({ features, labels, numClasses: 2, quantile: 0.99 });
    const inside = gaussianRows(rng, 200, [0, 0, 0, 0, 0, 0], 1).filter((f) => detector.score(f) > detector.threshold).length;
    assert.ok(inside <= 10, `${inside} of 200 in-distribution rows flagged`);
    const far = Float32Array.from([10, -10, 10, -10, 10, -10]);
    assert.ok(detector.score(far) > 5 * detector.threshold);
    const dir = await mkdtemp(join(tmpdir(), 'rampart-ood-'));
    await saveOodDetector(detector, dir);
    const loaded = await loadOodDetector(dir);
    assert.ok(loaded);
    assert.ok(Math.abs(loaded.score(far) - detector.score(far)) < 1e-3 * detector.score(far));
    assert.equal(await loadOodDetector(join(dir, 'missing')), undefined);

    const layer = oodLayer(() => detector, { denyAt: 50 });
    const out = (rows: Float32Array[]): ModelOutput => ({
      ...outputFromLogits(
        rows.map(() => Float32Array.from([0, 0])),
        1,
      ),
      features: rows,
    });
    assert.equal((await layer.check(ctx({ output: out([features[0] as Float32Array]) }))).decision, 'pass');
    assert.equal(
      (await layer.check(ctx({ output: out([features[0] as Float32Array, Float32Array.from([8, -8, 8, -8, 8, -8])]) }))).decision,
      'flag',
    );
    assert.equal((await layer.check(ctx({ output: out([Float32Array.from([80, -80, 80, -80, 80, -80])]) }))).decision, 'deny');
    assert.equal((await oodLayer(() => undefined).check(ctx({ output: out([far]) }))).decision, 'pass');
  });
});

describe('ensemble and abstain layers', () => {
  const output = outputFromLogits([Float32Array.from([5, 0, 0]), Float32Array.from([0.1, 0, 0])], 1);
  test('ensemble: agreement passes, disagreement flags the examples', async () => {
    const agree = { id: 'a', predictBatch: () => Int32Array.from([0, 0]) };
    const disagree = { id: 'b', predictBatch: () => Int32Array.from([0, 2]) };
    const batch = { x: new Float32Array(32), count: 2, shape: [4, 4, 1] };
    assert.equal((await ensembleLayer([agree, agree]).check(ctx({ batch, output }))).decision, 'pass');
    const v = await ensembleLayer([agree, disagree], { flagAt: 0.5 }).check(ctx({ batch, output }));
    assert.equal(v.decision, 'flag');
    assert.deepEqual(v.examples, [1]);
    assert.equal((await ensembleLayer([disagree], { denyAt: 1 }).check(ctx({ batch, output }))).decision, 'deny');
    assert.throws(() => ensembleLayer([]), /E_ENSEMBLE_SIZE|at least one model/);
  });

  test('abstain: low calibrated confidence abstains, temperature matters', async () => {
    const v = await abstainLayer({ threshold: 0.5 }).check(ctx({ output }));
    assert.equal(v.decision, 'flag');
    assert.deepEqual(v.examples, [1]);
    // The same logits at a high temperature are no longer confident.
    const hot = outputFromLogits([Float32Array.from([5, 0, 0])], 20);
    assert.equal((await abstainLayer({ threshold: 0.5 }).check(ctx({ output: hot }))).decision, 'flag');
    assert.equal((await abstainLayer({ threshold: 0.5, action: 'deny' }).check(ctx({ output }))).decision, 'deny');
    assert.equal((await abstainLayer({ threshold: 0.2 }).check(ctx({ output }))).decision, 'pass');
  });
});

describe('API keys', () => {
  test('hashed storage, roles, 401 and 403 codes, scrypt', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rampart-keys-'));
    const file = join(dir, 'keys.json');
    const admin = await addApiKey(file, { role: 'admin', name: 'ops' });
    const predict = await addApiKey(file, { role: 'predict' });
    const slow = await addApiKey(file, { role: 'operator', hash: 'scrypt' });
    const text = await readFile(file, 'utf8');
    // The secret is base64url, which has '_' in its alphabet: take everything after `rk_<id>_`.
    for (const k of [admin, predict, slow]) {
      const secret = k.key.slice(`rk_${k.record.id}_`.length);
      assert.equal(secret.length, 43);
      assert.ok(!text.includes(secret), 'the secret must not be stored');
    }
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await readKeysFile(file)).keys.length, 3);
    const store = await KeyStore.fromFile(file);
    assert.equal((await store.authenticate(admin.key)).role, 'admin');
    assert.equal((await store.authenticate(slow.key)).role, 'operator');
    assert.equal((await store.authenticate(slow.key)).keyId, slow.record.id);
    const code = async (p: Promise<unknown>): Promise<string> =>
      p.then(
        () => 'ok',
        (e: RampartError) => `${e.code}/${e.kind}`,
      );
    assert.equal(await code(store.authenticate(undefined)), 'E_AUTH_REQUIRED/auth');
    const tampered = `${admin.key.slice(0, -1)}${admin.key.endsWith('A') ? 'B' : 'A'}`;
    assert.equal(await code(store.authenticate(tampered)), 'E_AUTH_INVALID/auth');
    assert.equal(await code(store.authenticate('rk_0000000000000000_' + 'a'.repeat(43))), 'E_AUTH_INVALID/auth');
    assert.equal(await code(store.authenticate('garbage')), 'E_AUTH_INVALID/auth');
    const p = await store.authenticate(predict.key);
    assert.equal(
      codeOf(() => authorize(p, 'admin')),
      'E_FORBIDDEN',
    );
    assert.equal(
      codeOf(() => authorize(p, 'predict')),
      undefined,
    );
    assert.equal(presentedKey({ authorization: 'Bearer abc' }), 'abc');
    assert.equal(presentedKey({ 'x-api-key': 'def' }), 'def');
  });
});

describe('drift monitor', () => {
  test('PSI is near zero for the same distribution and large for a shifted one', () => {
    const rng = createRng(3);
    const ref = Array.from({ length: 2000 }, () => rng.normal());
    const same = Array.from({ length: 1000 }, () => rng.normal());
    const shifted = Array.from({ length: 1000 }, () => rng.normal() + 1);
    assert.ok(psi(ref, same) < 0.05, `same: ${psi(ref, same)}`);
    assert.ok(psi(ref, shifted) > 0.25, `shifted: ${psi(ref, shifted)}`);
  });

  test('logs drift once per excursion and tracks the anomaly rate', () => {
    const rng = createRng(4);
    const drifts: number[] = [];
    const monitor = new DriftMonitor(
      { referenceSize: 300, window: 200, minSamples: 100, anomalyWindow: 10 },
      { onDrift: (_s, v) => drifts.push(v) },
    );
    for (let i = 0; i < 600; i++) monitor.observe({ confidence: rng.next() });
    assert.equal(drifts.length, 0);
    for (let i = 0; i < 400; i++) monitor.observe({ confidence: 0.9 + 0.1 * rng.next() });
    assert.equal(drifts.length, 1);
    assert.ok((monitor.snapshot().drift.confidence?.psi ?? 0) > 0.25);
    for (let i = 0; i < 10; i++) monitor.recordRequest(i < 3);
    assert.equal(monitor.anomalyRate(), 0.3);
    monitor.resetForNewModel();
    assert.equal(monitor.snapshot().drift.confidence, undefined);
  });
});

describe('rollback policy', () => {
  test('canary: acts after consecutive breaches, then waits for recovery (hysteresis)', () => {
    let now = 0;
    const c = new RollbackController({ canary: { below: 0.5, rearmAbove: 0.7 }, anomaly: false, consecutive: 2, cooldownMs: 0 }, () => now);
    const seq = [0.8, 0.4, 0.45, 0.3, 0.2, 0.6, 0.4, 0.35, 0.75, 0.4, 0.3];
    const fired = seq.map((a) => {
      now += 1000;
      const t = c.observeCanary(a);
      if (t) c.rolledBack();
      return t ? 1 : 0;
    });
    // Fires on the 2nd breach; 0.6 is between the levels so it stays disarmed; 0.75 re-arms; fires again.
    assert.deepEqual(fired, [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]);
  });

  test('canary default: relative to the first run; anomaly rate needs samples; cooldown', () => {
    let now = 0;
    const c = new RollbackController(
      { canary: { maxDrop: 0.2 }, anomaly: { above: 0.5, minSamples: 10 }, consecutive: 1, cooldownMs: 10_000 },
      () => now,
    );
    assert.equal(c.observeCanary(0.9), undefined);
    assert.ok(Math.abs((c.canaryLevels()?.below ?? 0) - 0.7) < 1e-9);
    assert.equal(c.observeAnomalyRate(0.9, 5), undefined);
    const t = c.observeAnomalyRate(0.9, 50);
    assert.equal(t?.signal, 'anomaly');
    c.rolledBack();
    now = 1000;
    assert.equal(c.observeCanary(0.1), undefined, 'inside the cooldown');
    now = 20_000;
    assert.equal(c.observeCanary(0.1)?.signal, 'canary');
  });
});

describe('model holder', () => {
  test('a swapped-out model is disposed only after its last lease returns', () => {
    const disposed: string[] = [];
    const fake = (id: string): ServedModel => ({ view: { ...view, id }, dispose: () => disposed.push(id) }) as unknown as ServedModel;
    const holder = new ModelHolder(fake('a'));
    const lease = holder.acquire();
    holder.swap(fake('b'));
    assert.equal(holder.current.view.id, 'b');
    assert.deepEqual(disposed, []);
    assert.equal(lease.model.view.id, 'a');
    lease.release();
    lease.release();
    assert.deepEqual(disposed, ['a']);
    holder.swap(fake('c'));
    assert.deepEqual(disposed, ['a', 'b']);
  });
});

describe('config', () => {
  test('defaults and coded errors', () => {
    const c = parseServeConfig({});
    assert.equal(c.layers.validate.maxBatch, 64);
    assert.equal(c.layers.ensemble, false);
    assert.equal(
      codeOf(() => parseServeConfig({ layers: { abstain: { threshold: 2 } } })),
      'E_SERVE_CONFIG',
    );
    assert.equal(
      codeOf(() => parseServeConfig({ layerz: {} })),
      'E_SERVE_CONFIG',
    );
  });
});

describe('anomaly window', () => {
  test('per example and weighted per client: one flooding client weighs what a quiet one does', () => {
    const w = new AnomalyWindow(100, 10);
    // A batch of 64 with one odd example is 1/64 anomalous, not one anomalous request.
    w.record('batch', [true, ...new Array<boolean>(63).fill(false)]);
    assert.ok(Math.abs(w.rate() - 1 / 64) < 1e-12);
    // A second client flooding anomalies moves the mean over clients to about half, whatever its volume.
    w.record('flood', new Array<boolean>(30).fill(true));
    assert.equal(w.clients(), 2);
    assert.ok(Math.abs(w.rate() - (1 / 64 + 1) / 2) < 1e-12);
  });

  test('incremental counts match a recount as the window slides', () => {
    const rng = createRng(9);
    const w = new AnomalyWindow(50, 5);
    const all: Array<{ client: string; anomalous: boolean }> = [];
    for (let r = 0; r < 40; r++) {
      const client = `c${Math.floor(rng.next() * 6)}`;
      const flags = Array.from({ length: 1 + Math.floor(rng.next() * 8) }, () => rng.next() < 0.3);
      w.record(
        client,
        flags,
        flags.map(() => ({ text: client })),
      );
      for (const anomalous of flags) all.push({ client, anomalous });
      const expected = clientWeightedRate(all.slice(-50));
      assert.ok(Math.abs(w.rate() - expected.rate) < 1e-12);
      assert.equal(w.clients(), expected.clients);
    }
    assert.equal(w.sampled().length, 5);
    w.clear();
    assert.equal(w.rate(), 0);
  });

  test('rounded probabilities have 4 decimals and still sum to 1', () => {
    const p = Float32Array.from([0.123456, 0.234567, 0.3, 0.341977]);
    const r = roundProbabilities(p);
    for (const v of r) assert.ok(Math.abs(v * 1e4 - Math.round(v * 1e4)) < 1e-9);
    assert.ok(Math.abs(r.reduce((s, v) => s + v, 0) - 1) < 1e-9);
    r.forEach((v, i) => assert.ok(Math.abs(v - (p[i] as number)) < 1e-4));
  });
});

describe('normalize-text layer budgets', () => {
  test('a word cut to the length budget flags its example, and the text the model reads is bounded', () => {
    const layer = normalizeTextLayer();
    const c = ctx({ model: { ...view, kind: 'text', inputShape: [] }, texts: ['hello there', `buy ${'x'.repeat(5000)} now`] });
    const verdict = layer.check(c);
    assert.ok(!(verdict instanceof Promise));
    assert.equal(verdict.decision, 'flag');
    assert.deepEqual(verdict.examples, [1]);
    assert.match(verdict.reason ?? '', /over-long words cut/);
    assert.ok((c.texts?.[1]?.length ?? Infinity) < 200);
  });
});

describe('request work budget', () => {
  test('a layer loop past the deadline refuses the request with E_REQUEST_BUDGET naming the budget', () => {
    const layer = normalizeTextLayer();
    const c = ctx({
      model: { ...view, kind: 'text', inputShape: [] },
      texts: ['one', 'two'],
      deadline: performance.now() - 1,
      budgetMs: 5,
    });
    assert.throws(
      () => layer.check(c),
      (e: unknown) => e instanceof RampartError && e.code === 'E_REQUEST_BUDGET' && /5 ms \(limits\.workMs\)/.test(e.message),
    );
    assert.equal(parseServeConfig({}).limits.workMs, 2000);
  });
});
